"""The tinytorch command line: doctor, status, bad usage, registration of new commands."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinytorch.setup
from tinytorch.setup import cli, modules
from tinytorch.setup.modules import InstalledPackage


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich reads it: no wrapped table cells


def _text(capsys) -> str:
    """Captured output with rich's table borders removed and whitespace collapsed."""
    out = re.sub("[\u2500-\u257f]", " ", capsys.readouterr().out)
    return " ".join(out.split())


def test_doctor_prints_every_section(tmp_path, monkeypatch, capsys):
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("First Citizen:")
    monkeypatch.setenv("TINYTORCH_DATA", str(tmp_path))
    assert cli.main(["doctor"]) == 0
    out = _text(capsys)
    for section in ("Python", "NumPy", "BLAS", "CPU", "Memory", "TinyTorch packages", "Data"):
        assert section in out
    assert sys.executable in out
    assert str(tmp_path) in out and "$TINYTORCH_DATA" in out
    assert "tinyshakespeare present" in out and "mnist missing" in out


def test_doctor_with_nothing_installed_and_no_meminfo(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(modules, "installed_packages", lambda: [])
    real_memory_info = cli.system.memory_info
    monkeypatch.setattr(cli.system, "memory_info", lambda: real_memory_info(tmp_path / "nope"))
    assert cli.main(["doctor", "--data-dir", str(tmp_path / "empty")]) == 0
    out = _text(capsys)
    assert "No TinyTorch packages found" in out and "does not exist yet" in out


def test_unknown_or_missing_subcommand_exits_2(capsys):
    for argv in (["bogus"], []):
        with pytest.raises(SystemExit) as err:
            cli.main(argv)
        assert err.value.code == 2
        assert "usage: tinytorch" in capsys.readouterr().err


def test_status_says_plainly_when_no_module_is_installed(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(modules, "installed_packages", lambda: [])
    monkeypatch.chdir(tmp_path)  # outside a course folder: the installed packages
    assert cli.main(["status"]) == 0
    out = _text(capsys)
    assert "No TinyTorch module packages are installed besides tinytorch-setup" in out
    assert "pip install ./packages/NN-name" in out
    for info in modules.MODULES:
        assert info.package in out
    assert out.count("not installed") == 20


def _package(number: str, name: str, version: str = "0.1.0") -> InstalledPackage:
    return InstalledPackage(number, f"tinytorch-{name}", version, "/somewhere", False)


def test_status_lists_installed_versions(monkeypatch, capsys, tmp_path):
    meta = InstalledPackage("--", "tinytorch", "0.1.0", "/somewhere", False)
    fake = [_package("01", "setup"), _package("02", "tensor", "0.4.2"), meta]
    monkeypatch.setattr(modules, "installed_packages", lambda: fake)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["status"]) == 0
    out = _text(capsys)
    assert "02 tensor tinytorch-tensor 0.4.2 installed" in out
    assert out.count("not installed") == 18
    assert "No TinyTorch module packages" not in out
    assert "meta-package: tinytorch 0.1.0 (installed)" in out


def test_status_run_tests_outside_a_course_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(modules, "installed_packages", lambda: [])
    monkeypatch.chdir(tmp_path)
    assert cli.main(["status", "--run-tests"]) == 0
    assert "Cannot run tests" in _text(capsys)


def test_later_modules_can_register_commands(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", dict(cli.COMMANDS))

    def hello(args, console):
        console.print(f"hello {args.who}")
        return 3

    cli.register_command(cli.Command("hello", "Say hello", hello, lambda p: p.add_argument("who")))
    assert cli.main(["hello", "student"]) == 3
    assert "hello student" in capsys.readouterr().out
    with pytest.raises(ValueError, match="already registered"):
        cli.register_command(cli.Command("hello", "again", hello))


def test_python_dash_m_runs_the_cli():
    src = str(Path(tinytorch.setup.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "tinytorch.setup", "bogus"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tinytorch.setup", "--version"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0 and tinytorch.setup.__version__ in proc.stdout


def test_doctor_says_how_to_get_each_missing_dataset(tmp_path, capsys):
    assert cli.main(["doctor", "--data-dir", str(tmp_path)]) == 0
    out = _text(capsys)
    assert f"put its files into the folder shown above (inside {tmp_path})" in out
    assert "mnist missing " + str(tmp_path / "mnist") in out
    for name in ("mnist", "fashion-mnist", "cifar-10"):
        assert f"download('{name}')" in out
    assert "tinyshakespeare/input.txt" in out and "karpathy/char-rnn" in out
