"""An architecture as data: a model described by JSON and rebuilt from it, never unpickled.

A submission ships weights (``.npz``, read with ``allow_pickle=False``) and an architecture
spec, a tree of ``{"type": name, "args": {...}, "children": [...]}``. `model_spec(model)`
writes the spec from a built model; `build_from_spec(spec)` constructs the model again. Only
the layer types in `allowed_types()` can be named, so loading a submission runs TinyTorch's own
constructors and nothing else: the safety pickle cannot give.

How a layer's arguments are found: each constructor parameter (``inspect.signature``) is read
back from the attribute of the same name (TinyTorch layers keep them under PyTorch's names:
``Conv2d.in_channels``, ``.kernel_size``...); ``bias`` becomes ``bias is not None``. `model_spec`
checks its own work: the rebuilt model must have the same parameter names and shapes.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import numpy as np

from tinytorch.layers import Module

__all__ = ["SpecError", "allowed_types", "build_from_spec", "model_spec", "spec_packages"]

# Where each allowed layer type lives. Later modules (kernels' fused layers, compression's
# quantized layers) are allowed when they are installed.
LAYER_PACKAGES: dict[str, tuple[str, ...]] = {
    "tinytorch.layers": ("Linear", "Dropout"),
    "tinytorch.activations": ("ReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "LeakyReLU"),
    "tinytorch.networks": ("Sequential",),
    "tinytorch.spatial": (
        "Conv2d",
        "BatchNorm2d",
        "MaxPool2d",
        "AvgPool2d",
        "GlobalAvgPool2d",
        "Flatten",
    ),
    "tinytorch.transformers": ("TinyGPT",),
    "tinytorch.kernels": ("BatchNormReLU2d", "Identity"),
    "tinytorch.compression": ("QuantizedLinear", "QuantizedConv2d"),
}
SKIPPED_ARGS = ("self", "rng", "generator", "dtype", "args", "kwargs")

# Quantized layers (module 18) are built from a float layer by ``from_float``: their spec holds
# the float layer's arguments and how it was quantized; the integers come with the weights.
QUANTIZED_FLOAT_TYPES = {"QuantizedLinear": "Linear", "QuantizedConv2d": "Conv2d"}
FLOAT_ARGS = {
    "Linear": ("in_features", "out_features"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation"),
}


class SpecError(ValueError):
    """An architecture spec that cannot be written or rebuilt (unknown type, bad arguments)."""


def allowed_types() -> dict[str, type]:
    """Every layer type a spec may name, by class name, from the packages installed here."""
    types: dict[str, type] = {}
    for package, names in LAYER_PACKAGES.items():
        try:
            module = importlib.import_module(package)
        except ModuleNotFoundError:
            continue
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type):
                types[name] = cls
    return types


def spec_packages(spec: Any) -> set[str]:
    """The TinyTorch packages whose layer types ``spec`` names (e.g. ``tinytorch.spatial``)."""
    owners = {name: package for package, names in LAYER_PACKAGES.items() for name in names}
    if not isinstance(spec, dict):
        return set()
    found = {owners[spec["type"]]} if spec.get("type") in owners else set()
    children = spec.get("children", [])
    for child in children if isinstance(children, list) else []:
        found |= spec_packages(child)
    return found


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a constructor argument (tuples become lists, NumPy scalars numbers)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SpecError(f"model_spec: argument value {value!r} ({type(value).__name__}) is not JSON")


def _arguments(module: Module) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for name, parameter in inspect.signature(type(module)).parameters.items():
        if name in SKIPPED_ARGS or parameter.kind is parameter.VAR_POSITIONAL:
            continue
        if not hasattr(module, name):
            if parameter.default is inspect.Parameter.empty:
                raise SpecError(
                    f"model_spec: {type(module).__name__} keeps no attribute {name!r} for its "
                    f"required argument, so it cannot be rebuilt from a spec"
                )
            continue
        value = getattr(module, name)
        if name == "bias" and not isinstance(value, bool):
            value = value is not None  # a Parameter or None -> whether there is one
        args[name] = _plain(value)
    return args


def model_spec(model: Module) -> dict[str, Any]:
    """The JSON spec of ``model``: its type, constructor arguments and (for Sequential) children.

    Raises SpecError for a layer type outside `allowed_types()` or one whose rebuilt copy would
    not have the same parameters and buffers (names, shapes and dtypes).
    """
    spec = _describe(model)
    rebuilt = build_from_spec(spec)
    want = {k: (v.shape, v.dtype.name) for k, v in model.state_dict().items()}
    got = {k: (v.shape, v.dtype.name) for k, v in rebuilt.state_dict().items()}
    if want != got:
        differ = sorted(set(want.items()) ^ set(got.items()))[:4]
        raise SpecError(f"model_spec: the rebuilt model differs from the original at {differ}")
    return spec


def _describe(module: Module) -> dict[str, Any]:
    name = type(module).__name__
    if allowed_types().get(name) is not type(module):
        raise SpecError(
            f"model_spec: {name} is not an allowed layer type (allowed: "
            f"{', '.join(sorted(allowed_types()))})"
        )
    if name == "Sequential":
        return {"type": name, "children": [_describe(child) for child in module.children()]}
    if name in QUANTIZED_FLOAT_TYPES:
        return _describe_quantized(module)
    spec: dict[str, Any] = {"type": name, "args": _arguments(module)}
    replaced = {
        path: _describe_quantized(sub)
        for path, sub in module.named_modules()
        if path and type(sub).__name__ in QUANTIZED_FLOAT_TYPES
    }
    if replaced:  # e.g. quantize_dynamic(TinyGPT): its Linear layers, by their names
        spec["replaced"] = replaced
    return spec


def _set_submodule(root: Module, path: str, new: Module) -> None:
    """``root.<path> = new`` for a dotted path through attributes and lists ("h.0.mlp.c_fc")."""
    *parents, last = path.split(".")
    owner: Any = root
    for part in parents:
        owner = owner[int(part)] if isinstance(owner, list) else getattr(owner, part, None)
        if owner is None:
            raise SpecError(f"build_from_spec: no submodule {path!r} to replace")
    if isinstance(owner, list) and last.isdigit() and int(last) < len(owner):
        owner[int(last)] = new
    elif isinstance(getattr(owner, last, None), Module):
        setattr(owner, last, new)
    else:
        raise SpecError(f"build_from_spec: no submodule {path!r} to replace")


def _describe_quantized(module: Any) -> dict[str, Any]:
    """A quantized layer: its float twin's arguments and the quantization settings."""
    float_type = QUANTIZED_FLOAT_TYPES[type(module).__name__]
    args = {name: _plain(getattr(module, name)) for name in FLOAT_ARGS[float_type]}
    args["bias"] = module.bias is not None
    padding = args.get("padding")
    if isinstance(padding, list) and all(isinstance(side, list) for side in padding):
        if any(before != after for before, after in padding):  # ((top, bottom), (left, right))
            raise SpecError(f"model_spec: asymmetric padding {padding} has no Conv2d argument")
        args["padding"] = [before for before, _ in padding]
    quant = {
        "dtype": module.weight.dtype.name,
        "per_channel": module.scale.ndim == 1,
        "symmetric": module.zero_point is None,
        "weight_range": _plain(module.weight_range),
        "act_bits": None if module.act_bits is None else int(module.act_bits),  # None: weight-only
        "accumulate": str(module.accumulate),
        "static": module.input_qparams is not None,
    }
    if type(module).__name__ == "QuantizedConv2d":
        quant["relu"] = bool(module.relu)  # a ReLU fused in (compression's `convert`)
    return {"type": type(module).__name__, "args": args, "quant": quant}


def _build_quantized(cls: Any, spec: dict[str, Any]) -> Module:
    quant = spec.get("quant")
    keys = {"dtype", "per_channel", "symmetric", "weight_range", "act_bits", "accumulate", "static"}
    if spec["type"] == "QuantizedConv2d":
        keys.add("relu")
    if not isinstance(quant, dict) or set(quant) != keys:
        raise SpecError(
            f"build_from_spec: {spec['type']} needs a 'quant' dict with keys {sorted(keys)}"
        )
    if quant["dtype"] not in ("int8", "int16"):
        raise SpecError(
            f"build_from_spec: {spec['type']} weights are int8 or int16, not {quant['dtype']!r}"
        )
    float_layer = build_from_spec(
        {"type": QUANTIZED_FLOAT_TYPES[spec["type"]], "args": spec.get("args", {})}
    )
    try:
        layer = cls.from_float(
            float_layer,
            dtype=np.dtype(quant["dtype"]).type,
            per_channel=bool(quant["per_channel"]),
            symmetric=bool(quant["symmetric"]),
            act_bits=None if quant["act_bits"] is None else int(quant["act_bits"]),
        )
    except (TypeError, ValueError) as error:
        raise SpecError(f"build_from_spec: {spec['type']}.from_float failed: {error}") from error
    layer.weight_range = tuple(int(v) for v in quant["weight_range"])
    layer.accumulate = str(quant["accumulate"])
    if "relu" in quant:
        layer.relu = bool(quant["relu"])
    if quant["static"]:
        layer.set_input_qparams(
            1.0, 0
        )  # a placeholder: the calibrated values load with the weights
    return layer


def build_from_spec(spec: dict[str, Any]) -> Module:
    """The model a spec describes, freshly initialised (load its weights next)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise SpecError(f"build_from_spec: a spec is a dict with a 'type' string, got {spec!r:.80}")
    unknown = set(spec) - {"type", "args", "children", "quant", "replaced"}
    if unknown:
        raise SpecError(f"build_from_spec: unknown spec keys {sorted(unknown)} in {spec['type']}")
    types = allowed_types()
    cls = types.get(spec["type"])
    if cls is None:
        raise SpecError(
            f"build_from_spec: layer type {spec['type']!r} is not allowed here (allowed: "
            f"{', '.join(sorted(types))}); a package it needs may be missing"
        )
    if spec["type"] in QUANTIZED_FLOAT_TYPES:
        return _build_quantized(cls, spec)
    if spec["type"] == "Sequential":
        children = spec.get("children", [])
        if not isinstance(children, list):
            raise SpecError("build_from_spec: Sequential's 'children' must be a list of specs")
        return cls(*[build_from_spec(child) for child in children])
    args = spec.get("args", {})
    if not isinstance(args, dict) or any(not isinstance(k, str) for k in args):
        raise SpecError(
            f"build_from_spec: {spec['type']}'s 'args' must be a dict of named arguments"
        )
    accepted = set(inspect.signature(cls).parameters) - set(SKIPPED_ARGS)
    extra = set(args) - accepted
    if extra:
        raise SpecError(f"build_from_spec: {spec['type']} takes no argument(s) {sorted(extra)}")
    try:
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    except (TypeError, ValueError) as error:
        raise SpecError(f"build_from_spec: {spec['type']}(**{args}) failed: {error}") from error
    replaced = spec.get("replaced", {})
    if not isinstance(replaced, dict):
        raise SpecError(
            f"build_from_spec: {spec['type']}'s 'replaced' must map submodule names to specs"
        )
    for path, sub_spec in replaced.items():
        if not isinstance(sub_spec, dict) or sub_spec.get("type") not in QUANTIZED_FLOAT_TYPES:
            raise SpecError(
                f"build_from_spec: only quantized layers replace submodules, not {sub_spec!r:.60}"
            )
        _set_submodule(model, str(path), build_from_spec(sub_spec))
    return model
