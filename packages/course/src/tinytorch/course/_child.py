"""The program of a test or script run against chosen source folders (see ``testrun.py``).

It is run as ``python -c <this file's text>`` so that nothing of the calling environment's
TinyTorch is imported first. It reads ``$TINYTORCH_CHILD`` (JSON):

- ``namespace``: the ``src/tinytorch`` folders that make up the ``tinytorch`` namespace. The
  namespace module is created here, before any import, so installed TinyTorch packages (an
  editable install, the meta-package) can never shadow the code under test;
- ``mode``: ``"pytest"`` (``argv`` are pytest's arguments; a JSON report of every test goes to
  ``report``) or ``"run"`` (``argv[0]`` is a script, run as ``__main__``);
- ``shrink``: false to skip hypothesis's search for the smallest failing example (it can take
  seconds per failing test, and a skeleton fails hundreds of them).
"""

import importlib.machinery
import json
import os
import runpy
import sys
import types

config = json.loads(os.environ["TINYTORCH_CHILD"])
spec = importlib.machinery.ModuleSpec("tinytorch", None, is_package=True)
spec.submodule_search_locations = list(config["namespace"])
namespace = types.ModuleType("tinytorch")
namespace.__spec__ = spec
namespace.__path__ = spec.submodule_search_locations
sys.modules["tinytorch"] = namespace

if not config.get("shrink", True):
    try:
        from hypothesis import Phase, settings
    except ImportError:
        pass
    else:
        quick = [phase for phase in Phase if phase not in (Phase.shrink, Phase.explain)]
        settings.register_profile("tinytorch-quick", phases=quick)
        settings.load_profile("tinytorch-quick")


def _message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    lines = str(report.longrepr).strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or ["(no message)"])[-1]


class Reporter:
    """Collects one outcome per test (and per collection error) for the JSON report."""

    def __init__(self):
        self.tests = {}
        self.collected = 0

    def pytest_collection_finish(self, session):
        self.collected = len(session.items)

    def pytest_collectreport(self, report):
        if report.failed:
            self.tests[report.nodeid or "collection"] = ["error", _message(report)]

    def pytest_runtest_logreport(self, report):
        outcome, message = self.tests.get(report.nodeid, ["passed", ""])
        if report.failed and outcome != "failed":
            outcome = "failed" if report.when == "call" else "error"
            message = _message(report)
        elif report.skipped and outcome == "passed":
            outcome = "skipped"
        self.tests[report.nodeid] = [outcome, message]

    def pytest_sessionfinish(self, session, exitstatus):
        with open(config["report"], "w", encoding="utf-8") as file:
            json.dump(
                {"exitstatus": int(exitstatus), "collected": self.collected, "tests": self.tests},
                file,
            )


if config["mode"] == "pytest":
    import pytest

    sys.exit(pytest.main(list(config["argv"]), plugins=[Reporter()]))
else:
    sys.argv = list(config["argv"])
    runpy.run_path(sys.argv[0], run_name="__main__")
