"""A small fake TinyTorch repository for the tests of the course tooling.

Three modules (02 tensor, 03 layers, 04 activations), each a few lines with solution fences and
two or three tests, two milestones and a root pyproject.toml: everything the real repository has,
small enough that a pytest run of one module takes a fraction of a second.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

FENCE_OPEN, FENCE_CLOSE = "# BEGIN " + "SOLUTION", "# END " + "SOLUTION"

FILES = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        addopts = "--import-mode=importlib"
    """,
    "packages/02-tensor/pyproject.toml": """
        [project]
        name = "tinytorch-tensor"
        dynamic = ["version"]
        dependencies = ["numpy>=1.24"]
    """,
    "packages/02-tensor/src/tinytorch/tensor/__about__.py": '__version__ = "0.1.0"\n',
    "packages/02-tensor/src/tinytorch/tensor/__init__.py": """
        from tinytorch.tensor.ops import add, scale

        __all__ = ["add", "scale"]
    """,
    "packages/02-tensor/src/tinytorch/tensor/ops.py": """
        def add(a, b):
            \"\"\"a + b.\"\"\"
            # HINT: one operator
            <open>
            return a + b
            <close>


        def scale(x, k):
            \"\"\"x * k.\"\"\"
            <open>
            product = x * k
            <close>
            return product
    """,
    "packages/02-tensor/src/tinytorch/tensor/testing.py": """
        def assert_equal(actual, expected):
            \"\"\"The fake course's assert_close: later modules' tests use it.\"\"\"
            assert actual == expected, f"{actual!r} != {expected!r}"
    """,
    "packages/02-tensor/tests/test_fake_tensor.py": """
        from tinytorch.tensor import add, scale


        def test_add():
            assert add(2, 3) == 5


        def test_scale():
            assert scale(2, 3) == 6


        def test_plumbing():
            assert callable(add)
    """,
    "packages/03-layers/pyproject.toml": """
        [project]
        name = "tinytorch-layers"
        dynamic = ["version"]
        description = "TinyTorch module 03: a layer that doubles"
        dependencies = [
            "numpy>=1.24",
            "tinytorch-tensor>=0.1,<0.2",
        ]
    """,
    "packages/03-layers/src/tinytorch/layers/__about__.py": '__version__ = "0.1.0"\n',
    "packages/03-layers/src/tinytorch/layers/__init__.py": """
        from tinytorch.layers.core import Doubler, double

        __all__ = ["Doubler", "double"]
    """,
    "packages/03-layers/src/tinytorch/layers/core.py": """
        from tinytorch.tensor import add


        class Doubler:
            def __call__(self, x):
                <open>
                return add(x, x)
                <close>


        def double(x):
            return Doubler()(x)
    """,
    "packages/03-layers/tests/test_fake_layers.py": """
        from tinytorch.layers import double
        from tinytorch.tensor.testing import assert_equal


        def test_double():
            assert_equal(double(4), 8)


        def test_double_negative():
            assert_equal(double(-1), -2)
    """,
    "packages/04-activations/pyproject.toml": """
        [project]
        name = "tinytorch-activations"
        dynamic = ["version"]
        dependencies = ["tinytorch-layers>=0.1,<0.2"]
    """,
    "packages/04-activations/src/tinytorch/activations/__about__.py": '__version__ = "0.1.0"\n',
    "packages/04-activations/src/tinytorch/activations/__init__.py": """
        from tinytorch.layers import double


        def relu(x):
            <open>
            return max(x, 0)
            <close>


        def double_relu(x):
            return double(relu(x))
    """,
    "packages/04-activations/tests/test_fake_activations.py": """
        from tinytorch.activations import double_relu, relu


        def test_relu():
            assert relu(-3) == 0 and relu(2) == 2


        def test_double_relu():
            assert double_relu(3) == 6
    """,
    "milestones/kit.py": """
        from tinytorch.tensor import add  # noqa: F401
    """,
    "milestones/m01_double.py": """
        from tinytorch.layers import double

        print("milestone 01:", double(21))
    """,
    "milestones/m02_relu.py": """
        import kit  # noqa: F401
        import tinytorch.activations

        print(tinytorch.activations.relu(-1))
    """,
}


def write_course(root: Path) -> Path:
    """Write the fake repository under ``root``; returns ``root``."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(text).lstrip("\n")
        text = re.sub(r"<open>", FENCE_OPEN, re.sub(r"<close>", FENCE_CLOSE, text))
        path.write_text(text)
    return root


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A fresh fake repository in ``tmp_path/repo``."""
    return write_course(tmp_path / "repo")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich reads it: no wrapped table cells or lines
