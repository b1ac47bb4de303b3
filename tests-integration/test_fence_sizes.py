"""The "Time:" line of each module's README is what benchmarks/fence_sizes.py measures from the
module's fences now (rerun ``python benchmarks/fence_sizes.py --update-readmes`` after moving
fences), and the estimate follows its stated formula."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "fence_sizes.py"


def _load():
    spec = importlib.util.spec_from_file_location("fence_sizes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fence_sizes"] = module
    spec.loader.exec_module(module)
    return module


pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason="no benchmarks/fence_sizes.py")


def test_counts_a_small_file(tmp_path: Path) -> None:
    fs = _load()
    source = tmp_path / "m.py"
    source.write_text(
        "def f(x):\n"
        "    # HINT: double it\n"
        "    # BEGIN SOLUTION\n"
        "    # a comment is not a line to write\n"
        "    y = 2 * x\n"
        "\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "class A:\n"
        "    def g(self):\n"
        "        # BEGIN SOLUTION\n"
        "        return 1\n"
        "        # END SOLUTION\n"
        "        # BEGIN SOLUTION\n"
        "        pass\n"
        "        # END SOLUTION\n"
    )
    assert fs.file_fences(source) == [("m.py:f", 2), ("m.py:A.g", 1), ("m.py:A.g", 1)]
    assert fs.estimate(0, 0) == 0.0
    expected = fs.READING + fs.PER_FUNCTION * 10 + fs.PER_LINE * 50
    assert abs(fs.estimate(10, 50) - expected) <= 0.25


def test_every_fenced_modules_readme_states_the_measured_time() -> None:
    fs = _load()
    stale = []
    for size in fs.sizes(ROOT):
        readme = ROOT / "packages" / size.module / "README.md"
        if size.fences and readme.is_file():
            text = readme.read_text(encoding="utf-8")
            if size.readme_line()[:-1] not in text:
                stale.append(f"{size.module}: README should say '{size.readme_line()}'")
    assert not stale, "rerun python benchmarks/fence_sizes.py --update-readmes:\n" + "\n".join(
        stale
    )
