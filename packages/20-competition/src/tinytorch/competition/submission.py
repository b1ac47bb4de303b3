"""A submission is an artifact, never a claim: weights, an architecture spec, a manifest.

A submission folder holds exactly two files::

    submission.json   {"schema": 1, "event": ..., "name": ..., "architecture": <spec>,
                       "weights": "weights.npz", "sha256": <hex of weights.npz>,
                       "optimizations": {"kernels": "reference" | "fast",
                                         "kv_cache": bool, "packages": [...]}}
    weights.npz       the model's state_dict, NumPy arrays only (no pickle)

`pack` writes one from a model; `check` enforces the rules before anything of the submission
runs: the schema (no unknown keys, the right types), the weights' sha256, the file-size limit,
the packages it uses (allowed by the event and installed), and arrays that load with
``allow_pickle=False``. Metrics written into the manifest are not part of the schema, so a
submission that brings its own accuracy is rejected rather than believed.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.competition.spec import SpecError, build_from_spec, model_spec, spec_packages
from tinytorch.layers import Module
from tinytorch.networks import save

__all__ = ["MANIFEST", "Rejected", "Submission", "check", "load_model", "pack", "sha256"]

MANIFEST = "submission.json"
WEIGHTS = "weights.npz"
SCHEMA = 1
KEYS = {"schema", "event", "name", "architecture", "weights", "sha256", "optimizations"}
OPTIMIZATION_KEYS = {"kernels", "kv_cache", "packages"}
KERNEL_SETS = ("reference", "fast")


class Rejected(Exception):
    """A submission that breaks a rule. Its message names the rule; nothing is recorded."""


@dataclass(frozen=True)
class Submission:
    """A checked submission: where it is, its manifest, and its identity ``digest``: the sha256
    of the manifest in canonical JSON, which holds the weights' own sha256, so two submissions
    with the same weights but another architecture or other optimisations differ."""

    folder: Path
    manifest: dict[str, Any]
    digest: str

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def optimizations(self) -> dict[str, Any]:
        return dict(self.manifest.get("optimizations", {}))

    @property
    def size_bytes(self) -> int:
        """Bytes on disk of the whole submission (manifest and weights)."""
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())


def sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pack(
    model: Module,
    folder: str | os.PathLike[str],
    event: str,
    name: str,
    kernels: str = "reference",
    kv_cache: bool = False,
) -> Path:
    """Write ``model`` as a submission to ``event`` into ``folder``; returns the folder.

    The packages listed are those whose layer types the architecture names, plus
    ``tinytorch.kernels`` when ``kernels="fast"``.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    architecture = model_spec(model)
    save(model, target / WEIGHTS)
    packages = spec_packages(architecture) | ({"tinytorch.kernels"} if kernels == "fast" else set())
    manifest = {
        "schema": SCHEMA,
        "event": event,
        "name": name,
        "architecture": architecture,
        "weights": WEIGHTS,
        "sha256": sha256(target / WEIGHTS),
        "optimizations": {"kernels": kernels, "kv_cache": kv_cache, "packages": sorted(packages)},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target


def _require(condition: bool, rule: str) -> None:
    if not condition:
        raise Rejected(rule)


def check(
    folder: str | os.PathLike[str],
    event: str,
    allowed_packages: set[str],
    max_bytes: int,
) -> Submission:
    """Enforce every static rule on the submission in ``folder`` for ``event``; raise Rejected.

    ``allowed_packages``: the TinyTorch packages the event permits (each must be installed).
    ``max_bytes``: the file-size limit of the whole submission.
    """
    root = Path(folder)
    _require(root.is_dir(), f"schema: {root} is not a folder")
    files = sorted(p.name for p in root.iterdir())
    _require(
        files == sorted([MANIFEST, WEIGHTS]),
        f"schema: a submission holds exactly {MANIFEST} and {WEIGHTS}; found {files}",
    )
    size = sum(p.stat().st_size for p in root.iterdir())
    _require(size <= max_bytes, f"file size: {size:,} bytes is over the limit of {max_bytes:,}")
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Rejected(f"schema: {MANIFEST} is not JSON ({error})") from error
    _require(isinstance(manifest, dict), f"schema: {MANIFEST} must hold an object")
    extra, missing = set(manifest) - KEYS, KEYS - set(manifest)
    _require(
        not extra,
        f"schema: unknown keys {sorted(extra)} (metrics are measured, never declared)",
    )
    _require(not missing, f"schema: missing keys {sorted(missing)}")
    _require(manifest["schema"] == SCHEMA, f"schema: version {manifest['schema']!r} != {SCHEMA}")
    _require(
        manifest["event"] == event,
        f"event: submitted to {manifest['event']!r}, run for {event!r}",
    )
    _require(
        isinstance(manifest["name"], str) and 0 < len(manifest["name"]) <= 64,
        "schema: name must be a string of 1 to 64 characters",
    )
    _require(manifest["weights"] == WEIGHTS, f"schema: weights must be {WEIGHTS!r}")
    digest = sha256(root / WEIGHTS)
    _require(
        manifest["sha256"] == digest,
        f"integrity: sha256 of {WEIGHTS} is {digest[:16]}..., the manifest says "
        f"{str(manifest['sha256'])[:16]}...",
    )
    try:
        build_from_spec(manifest["architecture"])
    except (SpecError, RecursionError) as error:
        raise Rejected(f"architecture: {error}") from error
    _check_optimizations(manifest["optimizations"], manifest["architecture"], allowed_packages)
    _read_weights(root / WEIGHTS)
    identity = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()
    return Submission(root, manifest, identity)


def _check_optimizations(options: Any, architecture: Any, allowed: set[str]) -> None:
    _require(isinstance(options, dict), "schema: optimizations must be an object")
    unknown = set(options) - OPTIMIZATION_KEYS
    _require(not unknown, f"schema: unknown optimizations {sorted(unknown)}")
    _require(
        options.get("kernels", "reference") in KERNEL_SETS,
        f"schema: kernels must be one of {KERNEL_SETS}",
    )
    _require(isinstance(options.get("kv_cache", False), bool), "schema: kv_cache must be a bool")
    declared = options.get("packages", [])
    _require(
        isinstance(declared, list) and all(isinstance(p, str) for p in declared),
        "schema: packages must be a list of names",
    )
    used = set(declared) | spec_packages(architecture)
    if options.get("kernels") == "fast":
        used.add("tinytorch.kernels")
    forbidden = sorted(used - allowed)
    _require(not forbidden, f"packages: {forbidden} are not allowed in this event")
    for package in sorted(used):
        try:
            metadata.version(package.replace(".", "-"))
        except metadata.PackageNotFoundError:
            raise Rejected(
                f"packages: {package} is not installed on the measuring machine"
            ) from None


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as error:
        raise Rejected(f"weights: {path.name} is not a plain .npz of arrays ({error})") from error


def load_model(submission: Submission) -> Module:
    """The submission's model, built from its spec, weights loaded (strict), in eval mode."""
    model = build_from_spec(submission.manifest["architecture"])
    state = _read_weights(submission.folder / WEIGHTS)
    try:
        model.load_state_dict(state, strict=True)
    except (KeyError, ValueError) as error:
        raise Rejected(f"weights: they do not fit the architecture ({error})") from error
    return model.eval()
