"""The syllabus data, module lookup and installed-package discovery."""

import json
from pathlib import Path

import pytest

from tinytorch.setup import MODULES, __version__, find_module, installed_packages
from tinytorch.setup.modules import InstalledPackage

NAMES = [
    "setup",
    "tensor",
    "layers",
    "activations",
    "networks",
    "autograd",
    "spatial",
    "optimizers",
    "dataloader",
    "training",
    "tokenization",
    "embeddings",
    "attention",
    "transformers",
    "generation",
    "profiling",
    "kernels",
    "compression",
    "kvcache",
    "competition",
]


def test_twenty_modules_in_course_order():
    assert [m.name for m in MODULES] == NAMES
    assert [m.number for m in MODULES] == [f"{i:02d}" for i in range(1, 21)]
    for m in MODULES:
        assert m.package == f"tinytorch-{m.name}"
        assert m.import_name == f"tinytorch.{m.name}"
        assert m.folder == f"{m.number}-{m.name}"
        assert m.title


def test_each_module_depends_only_on_earlier_modules():
    seen: set[str] = set()
    for m in MODULES:
        assert set(m.depends) <= seen, f"{m.name} depends on a later module: {m.depends}"
        seen.add(m.name)
    assert find_module("training").depends == ("spatial", "optimizers", "dataloader")


@pytest.mark.parametrize("key", ["7", "07", 7, "spatial", "SPATIAL", "tinytorch-spatial"])
def test_find_module_accepts_numbers_and_names(key):
    assert find_module(key).name == "spatial"


def test_find_module_unknown_lists_valid_modules():
    with pytest.raises(ValueError, match="Unknown TinyTorch module 'tensorflow'") as err:
        find_module("tensorflow")
    assert "02 tensor" in str(err.value) and "20 competition" in str(err.value)
    with pytest.raises(ValueError):
        find_module("21")


def _fake_dist(site: Path, name: str, version: str, summary: str = "", editable_dir: str = ""):
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(meta + (f"Summary: {summary}\n" if summary else ""))
    if editable_dir:
        url = {"url": f"file://{editable_dir}", "dir_info": {"editable": True}}
        (info / "direct_url.json").write_text(json.dumps(url))


def test_installed_packages_finds_editable_regular_and_foreign(tmp_path, monkeypatch):
    _fake_dist(tmp_path, "tinytorch-tensor", "0.3.0", editable_dir="/src/packages/02-tensor")
    _fake_dist(tmp_path, "tinytorch-layers", "0.2.0")
    _fake_dist(tmp_path, "tinytorch", "9.9.9", summary="Someone else's project")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {p.distribution: p for p in installed_packages()}

    tensor = found["tinytorch-tensor"]
    assert (tensor.number, tensor.version, tensor.editable) == ("02", "0.3.0", True)
    assert tensor.location == "/src/packages/02-tensor"
    assert tensor.kind == "editable"

    layers = found["tinytorch-layers"]
    assert (layers.number, layers.editable, layers.kind) == ("03", False, "installed")
    assert Path(layers.location) == tmp_path

    assert found["tinytorch"].foreign and found["tinytorch"].kind == "foreign"
    numbers = [p.number for p in installed_packages()]
    assert numbers[-1] == "--" and numbers[:-1] == sorted(numbers[:-1])


def test_our_meta_package_is_not_foreign(tmp_path, monkeypatch):
    _fake_dist(tmp_path, "tinytorch", "0.1.0", summary="TinyTorch meta-package: everything")
    monkeypatch.syspath_prepend(str(tmp_path))
    meta = [p for p in installed_packages() if p.distribution == "tinytorch"]
    assert meta == [InstalledPackage("--", "tinytorch", "0.1.0", str(tmp_path), False, False)]


def test_this_package_is_found_when_installed():
    setup = [p for p in installed_packages() if p.distribution == "tinytorch-setup"]
    if not setup:
        pytest.skip("tinytorch-setup is imported from source, not installed")
    assert setup[0].number == "01" and setup[0].version == __version__
