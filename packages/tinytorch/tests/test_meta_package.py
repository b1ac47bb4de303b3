"""The meta-package: lazy re-exports, an open namespace, the CLI entry point."""

from __future__ import annotations

import importlib
import inspect
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
    assert loaded == "['tinytorch.__about__', 'tinytorch._lazy', 'tinytorch.exports']"


def test_importing_one_package_imports_no_other_module_package() -> None:
    loaded = _run(
        "import sys, tinytorch.tensor; print(' '.join({m.split('.')[1] for m in "
        "sys.modules if m.startswith('tinytorch.')}))"
    )
    assert "tensor" in loaded.split()
    assert set(loaded.split()) <= {"__about__", "_lazy", "exports", "setup", "tensor"}


def test_reexport_is_the_package_object() -> None:
    import tinytorch.tensor

    assert tinytorch.Tensor is tinytorch.tensor.Tensor


def test_unknown_name_says_so() -> None:
    with pytest.raises(AttributeError, match=r"module 'tinytorch' has no attribute 'NoSuchThing'"):
        tinytorch.NoSuchThing  # noqa: B018


def test_every_exported_name_is_unique_and_comes_from_its_owner() -> None:
    from tinytorch.exports import EXPORTS

    names = [name for package_names in EXPORTS.values() for name in package_names]
    assert len(names) == len(set(names)), "a name is listed under two packages"
    for package, package_names in EXPORTS.items():
        module = importlib.import_module(f"tinytorch.{package}")
        for name in package_names:
            value = getattr(tinytorch, name)
            assert value is getattr(module, name), name
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__module__.startswith(f"tinytorch.{package}"), (name, package)


def test_the_table_lists_every_public_class_and_function_a_package_owns() -> None:
    """Completeness: nothing a package defines and exports is left out, except where two
    packages define one spelling (the table names the owner PyTorch users mean)."""
    from tinytorch.exports import EXPORTS, SHADOWED

    for package in tinytorch.installed_modules():
        module = importlib.import_module(f"tinytorch.{package}")
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            owned = (inspect.isclass(value) or inspect.isfunction(value)) and (
                value.__module__.startswith(f"tinytorch.{package}")
            )
            if owned and name not in SHADOWED.get(package, ()):
                assert name in EXPORTS.get(package, ()), f"tinytorch.{package}.{name}"


def test_pytorch_layout_views_are_the_package_objects() -> None:
    import tinytorch.nn as nn
    import tinytorch.nn.functional as F
    from tinytorch import optim
    from tinytorch.utils import data

    for view in (nn, F, nn.init, nn.utils, optim, optim.lr_scheduler, data):
        for name, owner in view.EXPORTS.items():
            assert getattr(view, name) is getattr(importlib.import_module(owner), name), name
    assert tinytorch.nn is nn and nn.functional is F


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
