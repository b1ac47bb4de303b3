"""The course syllabus as data, and which TinyTorch packages are installed.

Every one of the twenty modules is a separate distribution (``tinytorch-<name>``) that installs
into the shared ``tinytorch`` namespace (``import tinytorch.<name>``). ``MODULES`` lists them in
course order with their dependencies; ``installed_packages()`` asks ``importlib.metadata`` which
of them this Python environment holds, and whether each is an editable (development) install.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata

__all__ = [
    "META_PACKAGE",
    "MODULES",
    "InstalledPackage",
    "ModuleInfo",
    "find_module",
    "installed_packages",
]


@dataclass(frozen=True)
class ModuleInfo:
    """One module of the course: ``01`` .. ``20``."""

    number: str  # two digits, "01" .. "20"
    name: str  # "tensor"
    package: str  # distribution name for pip: "tinytorch-tensor"
    import_name: str  # "tinytorch.tensor"
    title: str  # one line: what the module builds
    depends: tuple[str, ...] = ()  # names of the TinyTorch modules it builds on

    @property
    def folder(self) -> str:
        """Folder of the package in the repository, e.g. ``02-tensor``."""
        return f"{self.number}-{self.name}"


def _m(number: str, name: str, title: str, depends: str = "") -> ModuleInfo:
    """Build a ModuleInfo; ``depends`` is a space-separated list of module names."""
    package, import_name = f"tinytorch-{name}", f"tinytorch.{name}"
    return ModuleInfo(number, name, package, import_name, title, tuple(depends.split()))


MODULES: tuple[ModuleInfo, ...] = (
    _m("01", "setup", "CLI (doctor, status), progress, measurement, test helpers", ""),
    _m("02", "tensor", "Tensor, ops with forward and backward, version counters", "setup"),
    _m("03", "layers", "Module, Parameter, Linear, Dropout; manual backward", "tensor"),
    _m("04", "activations", "ReLU, GELU, SiLU, Softmax, ... (stable forms)", "layers"),
    _m("05", "networks", "Sequential, MLP builder, init schemes, save/load", "layers activations"),
    _m("06", "autograd", "Computational graph and reverse-mode backward()", "tensor"),
    _m("07", "spatial", "Conv1d/2d, ConvTranspose2d, pooling, Batch/GroupNorm", "autograd"),
    _m("08", "optimizers", "SGD, Adam, AdamW, learning-rate schedulers", "autograd"),
    _m("09", "dataloader", "Dataset, DataLoader, transforms, MNIST/CIFAR readers", "tensor"),
    _m("10", "training", "Losses, Trainer, checkpoint/resume", "spatial optimizers dataloader"),
    _m("11", "tokenization", "Character and BPE tokenizers", "setup"),
    _m("12", "embeddings", "Embedding, positional encodings", "autograd"),
    _m("13", "attention", "Scaled dot-product and multi-head attention", "embeddings activations"),
    _m("14", "transformers", "LayerNorm, TransformerBlock, TinyGPT", "attention"),
    _m("15", "generation", "Sampling and TinyGPT training", "transformers tokenization training"),
    _m("16", "profiling", "Timers, memory profiler, FLOP counting, reports", "networks autograd"),
    _m("17", "kernels", "Tiled matmul, fused ops, parallel execution", "autograd spatial"),
    _m("18", "compression", "Pruning, INT8/INT16 quantization, distillation", "training"),
    _m("19", "kvcache", "KV cache for fast generation", "generation"),
    _m(
        "20", "competition", "Benchmarks, submissions, leaderboard", "profiling compression kvcache"
    ),
)

META_PACKAGE = "tinytorch"
"""The meta-package that re-exports everything. A *different* project owns this name on PyPI."""

_META_MARKER = "TinyTorch meta-package"  # our meta-package's Summary contains this text


def find_module(key: str | int) -> ModuleInfo:
    """Look a module up by number (``7``, ``"7"``, ``"07"``), name (``"spatial"``) or package.

    Raises ``ValueError`` listing every valid module when ``key`` matches none.
    """
    text = str(key).strip().lower()
    if text.isdigit():
        text = text.zfill(2)
    for info in MODULES:
        if text in (info.number, info.name, info.package, info.folder, info.import_name):
            return info
    valid = ", ".join(f"{m.number} {m.name}" for m in MODULES)
    raise ValueError(f"Unknown TinyTorch module {key!r}. Valid modules: {valid}.")


@dataclass(frozen=True)
class InstalledPackage:
    """A TinyTorch distribution found in the running environment."""

    number: str  # "01" .. "20", or "--" for the meta-package
    distribution: str  # "tinytorch-tensor"
    version: str
    location: str  # source folder for editable installs, else the site-packages folder
    editable: bool  # installed with `pip install -e` (PEP 660 / PEP 610 dir_info.editable)
    foreign: bool = False  # a "tinytorch" distribution that is not ours (the PyPI project)

    @property
    def kind(self) -> str:
        """``editable``, ``installed`` or ``foreign`` -- for tables."""
        if self.foreign:
            return "foreign"
        return "editable" if self.editable else "installed"


def _editable_source(dist: metadata.Distribution) -> str | None:
    """The source folder of an editable install, read from PEP 610 ``direct_url.json``."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not info.get("dir_info", {}).get("editable", False):
        return None
    url = str(info.get("url", ""))
    return url.removeprefix("file://") or "?"


def _describe(number: str, name: str) -> InstalledPackage | None:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    source = _editable_source(dist)
    location = source or str(dist.locate_file(""))
    summary = (dist.metadata.get_all("Summary") or [""])[0]
    foreign = name == META_PACKAGE and _META_MARKER not in summary
    return InstalledPackage(number, name, dist.version, location, source is not None, foreign)


def installed_packages() -> list[InstalledPackage]:
    """Every TinyTorch distribution in this environment, in course order (meta-package last).

    A ``tinytorch`` distribution whose Summary lacks "TinyTorch meta-package" is reported with
    ``foreign=True``: it is the unrelated project that owns that name on PyPI.
    """
    found = [_describe(info.number, info.package) for info in MODULES]
    found.append(_describe("--", META_PACKAGE))
    return [pkg for pkg in found if pkg is not None]
