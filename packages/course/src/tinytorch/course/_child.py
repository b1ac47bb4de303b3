"""The program of a test or script run against chosen source folders (see ``testrun.py``).

It is run as ``python -c <this file's text>`` so that nothing of the calling environment's
TinyTorch is imported first. It reads ``$TINYTORCH_CHILD`` (JSON):

- ``namespace``: the ``src/tinytorch`` folders that make up the ``tinytorch`` namespace. The
  namespace module is created here, before any import, so installed TinyTorch packages (an
  editable install, the meta-package) can never shadow the code under test;
- ``mode``: ``"pytest"`` (``argv`` are pytest's arguments; a JSON report of every test goes to
  ``report``) or ``"run"`` (``argv[0]`` is a script, run as ``__main__``);
- ``shrink``: false to skip hypothesis's search for the smallest failing example (it can take
  seconds per failing test, and a skeleton fails hundreds of them);
- ``limits``: ``{"memory_bytes": ..., "cpu_seconds": ...}`` set with ``resource.setrlimit``
  before anything else runs (grading: student code never runs without them).

The report is written one JSON line per event as it happens (``collected`` with the node ids,
then one line per test outcome), so a run killed at its time limit still reports the tests that
finished before.
"""

import importlib.machinery
import json
import os
import runpy
import sys
import types

config = json.loads(os.environ.pop("TINYTORCH_CHILD"))
limits = config.get("limits") or {}
if limits:
    import resource

    for name, key in (("RLIMIT_AS", "memory_bytes"), ("RLIMIT_CPU", "cpu_seconds")):
        if limits.get(key) and hasattr(resource, name):
            value = int(limits[key])
            resource.setrlimit(getattr(resource, name), (value, value))
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
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:  # a skip
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    lines = str(report.longrepr).strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or ["(no message)"])[-1]


class Reporter:
    """Writes one JSON line per event: the collected node ids, then each test's outcome (and
    each collection error) as soon as it is known."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- open for the session
        self.tests = {}

    def _write(self, entry):
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()

    def pytest_collection_finish(self, session):
        self._write({"collected": [item.nodeid for item in session.items]})

    def pytest_collectreport(self, report):
        if report.failed:
            self._write({"test": report.nodeid or "collection", "outcome": "error",
                         "message": _message(report)})  # fmt: skip

    def pytest_runtest_logreport(self, report):
        outcome, message = self.tests.get(report.nodeid, ["passed", ""])
        if report.failed and outcome != "failed":
            outcome = "failed" if report.when == "call" else "error"
            message = _message(report)
        elif report.skipped and outcome == "passed":
            outcome = "skipped"
            message = _message(report)
        self.tests[report.nodeid] = [outcome, message]
        if report.when == "teardown":
            self._write({"test": report.nodeid, "outcome": outcome, "message": message})

    def pytest_sessionfinish(self, session, exitstatus):
        self._write({"exitstatus": int(exitstatus)})
        self.file.close()


if config["mode"] == "pytest":
    import pytest

    sys.exit(pytest.main(list(config["argv"]), plugins=[Reporter(config["report"])]))
else:
    sys.argv = list(config["argv"])
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except NotImplementedError as error:  # a stub still to write: where, not a long traceback
        import traceback

        frame = traceback.extract_tb(error.__traceback__)[-1]
        place = os.path.relpath(frame.filename) if frame.filename else "?"
        print(f"NotImplementedError: {error}\n  at {place}:{frame.lineno} ({frame.name})",
              file=sys.stderr)  # fmt: skip
        print("  code still to write: `tinytorch test NN` shows which tests it fails",
              file=sys.stderr)  # fmt: skip
        sys.exit(1)
