"""The meta-package: lazy re-exports, an open namespace, the CLI entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tinytorch


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_import_is_lazy() -> None:
    loaded = _run(
        "import sys, tinytorch; print(sorted(m for m in sys.modules if m.startswith('tinytorch.')))"
    )
    assert loaded == "['tinytorch.__about__']"


def test_importing_one_package_imports_no_other_module_package() -> None:
    loaded = _run(
        "import sys, tinytorch.tensor; print(' '.join({m.split('.')[1] for m in "
        "sys.modules if m.startswith('tinytorch.')}))"
    )
    assert "tensor" in loaded.split()
    assert set(loaded.split()) <= {"__about__", "setup", "tensor"}


def test_reexport_is_the_package_object() -> None:
    import tinytorch.tensor

    assert tinytorch.Tensor is tinytorch.tensor.Tensor


def test_unknown_name_says_what_is_installed() -> None:
    with pytest.raises(
        AttributeError,
        match=r"no installed TinyTorch package exports it "
        r"\(installed: setup, tensor",
    ):
        tinytorch.NoSuchThing  # noqa: B018


def test_dir_lists_reexported_names() -> None:
    assert {"Tensor", "gradcheck"} <= set(dir(tinytorch))


def test_installed_modules_in_course_order() -> None:
    installed = tinytorch.installed_modules()
    from tinytorch.setup.modules import MODULES

    names = [m.name for m in MODULES]
    order = [names.index(m) for m in installed]
    assert installed[:2] == ["setup", "tensor"] and order == sorted(order)


def test_python_dash_m_tinytorch_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinytorch", "no-such-command"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "usage" in result.stderr.lower()
