"""A pytest plugin that checks, in one process, that every solution fence is tested.

``fencecheck.py`` copies a module's source with each fence preceded by
``if __import__("tinytorch_fence_gate").hit(K): raise NotImplementedError(...)`` and loads this
file as the plugin ``tinytorch_fence_gate``. The run has two phases:

1. every test runs once, as usual, with no fence switched off: it records which fences each
   test reaches (and the tests must pass: this is the reference);
2. for each fence K, the tests that reached K run again with K switched off (``hit(K)`` is true,
   so K raises) until one of them fails. A fence whose tests all still pass is not tested.

The result goes to the JSON file ``$TINYTORCH_FENCE_REPORT``.
"""

from __future__ import annotations

import json
import os

import pytest
from _pytest.runner import runtestprotocol

active: int | None = None  # the fence switched off, or None
reached: set[int] = set()  # fences reached since the last reset


def hit(fence: int) -> bool:
    """Record that ``fence`` ran; true when it is the one switched off."""
    reached.add(fence)
    return fence == active


class _Failures:
    def __init__(self):
        self.failed = set()

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.add(report.nodeid)


def pytest_configure(config):
    config._tinytorch_failures = _Failures()
    config.pluginmanager.register(config._tinytorch_failures)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    global active
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} errors during collection")
    at_import = sorted(reached)
    reach: dict[int, list[int]] = {}
    items = session.items
    for index, item in enumerate(items):
        reached.clear()
        nextitem = items[index + 1] if index + 1 < len(items) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        for fence in reached:
            reach.setdefault(fence, []).append(index)
    count = int(os.environ["TINYTORCH_FENCE_COUNT"])
    fences = []
    for fence in range(count):
        active = fence
        failing = None
        for index in reach.get(fence, []):
            reports = runtestprotocol(items[index], nextitem=None, log=False)
            if any(report.failed for report in reports):
                failing = items[index].nodeid
                break
        fences.append({"reached_by": len(reach.get(fence, [])), "failing_test": failing})
    active = None
    report = {
        "tests": len(items),
        "reference_failures": sorted(session.config._tinytorch_failures.failed),
        "at_import": at_import,
        "fences": fences,
    }
    with open(os.environ["TINYTORCH_FENCE_REPORT"], "w", encoding="utf-8") as file:
        json.dump(report, file)
    return True
