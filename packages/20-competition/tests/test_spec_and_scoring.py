"""Architecture specs round-trip; the all-round score and the Pareto front against brute force."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import no_grad
from tinytorch.competition import (
    ALLROUND_WEIGHTS,
    SpecError,
    allround_score,
    build_from_spec,
    model_spec,
    pareto_front,
)
from tinytorch.layers import Module
from tinytorch.tensor import Tensor
from tinytorch.transformers import TinyGPT


def _same_outputs(model: Module, x: Tensor) -> None:
    spec = json.loads(json.dumps(model_spec(model)))  # through JSON, as a submission stores it
    rebuilt = build_from_spec(spec)
    rebuilt.load_state_dict(model.state_dict())
    model.eval()
    rebuilt.eval()
    with no_grad():
        np.testing.assert_array_equal(rebuilt(x).data, model(x).data)


def test_a_cnn_is_rebuilt_from_its_spec(small_cnn: Callable[[], Module]) -> None:
    x = Tensor(np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32))
    _same_outputs(small_cnn(), x)


def test_a_tinygpt_is_rebuilt_from_its_spec() -> None:
    model = TinyGPT(17, 8, 2, 2, 16, rng=np.random.default_rng(0))
    _same_outputs(model, Tensor(np.array([[1, 2, 3, 4, 5]])))


def test_unknown_types_and_arguments_are_refused() -> None:
    with pytest.raises(SpecError, match=r"'os\.system' is not allowed"):
        build_from_spec({"type": "os.system", "args": {}})
    with pytest.raises(SpecError, match="takes no argument"):
        build_from_spec(
            {"type": "Linear", "args": {"in_features": 2, "out_features": 3, "evil": 1}}
        )
    with pytest.raises(SpecError, match="unknown spec keys"):
        build_from_spec({"type": "Linear", "args": {}, "code": "print(1)"})

    class Custom(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    with pytest.raises(SpecError, match="Custom is not an allowed layer type"):
        model_spec(Custom())


def test_the_baseline_scores_one_and_each_ratio_counts_with_its_weight() -> None:
    base = {"accuracy": 0.77, "latency_1t_ms": 12.0, "peak_memory_bytes": 3e6, "size_bytes": 1e6}
    assert allround_score(base, base) == pytest.approx(1.0)
    better = {"accuracy": 0.76, "latency_1t_ms": 4.0, "peak_memory_bytes": 1e6, "size_bytes": 2.5e5}
    expected = math.exp(
        0.4 * math.log(0.76 / 0.77)
        + 0.2 * math.log(12.0 / 4.0)
        + 0.2 * math.log(3e6 / 1e6)
        + 0.2 * math.log(1e6 / 2.5e5)
    )
    assert allround_score(better, base) == pytest.approx(expected, rel=1e-12)
    assert sum(w for w, _ in ALLROUND_WEIGHTS.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"metrics\['size_bytes'\] must be > 0"):
        allround_score({**better, "size_bytes": 0}, base)


def _dominated(a: tuple[float, ...], b: tuple[float, ...], up: list[bool]) -> bool:
    """b dominates a (brute force on the raw values)."""
    at_least = all((bv >= av) if u else (bv <= av) for av, bv, u in zip(a, b, up, strict=True))
    strictly = any((bv > av) if u else (bv < av) for av, bv, u in zip(a, b, up, strict=True))
    return at_least and strictly


points = st.lists(
    st.tuples(st.integers(0, 5).map(float), st.integers(0, 5).map(float)), min_size=0, max_size=12
)


@settings(max_examples=150, deadline=None)
@given(points=points, up=st.lists(st.booleans(), min_size=2, max_size=2))
def test_pareto_front_matches_brute_force(
    points: list[tuple[float, float]], up: list[bool]
) -> None:
    front = pareto_front(points, up)
    for point, on_front in zip(points, front, strict=True):
        assert on_front == (not any(_dominated(point, other, up) for other in points))


def test_pareto_front_checks_the_number_of_objectives() -> None:
    with pytest.raises(ValueError, match="each point needs 2 values"):
        pareto_front([(1.0, 2.0, 3.0)], [True, False])


def test_quantized_and_fused_models_are_rebuilt_exactly(small_cnn: Callable[[], Module]) -> None:
    from tinytorch.compression import (
        fuse_conv_bn,
        quantize_dynamic,
        quantize_static,
        quantize_weight_only,
    )
    from tinytorch.kernels import fuse
    from tinytorch.layers import Linear
    from tinytorch.spatial import Conv2d

    x = np.random.default_rng(2).normal(size=(8, 3, 8, 8)).astype(np.float32)
    static = quantize_static(fuse_conv_bn(small_cnn().eval()), [x], qconfig_spec={Linear, Conv2d})
    _same_outputs(static, Tensor(x))
    assert static.state_dict()["0.weight"].dtype == np.int8
    assert static.layers[0].relu and model_spec(static)["children"][0]["quant"]["relu"] is True
    _same_outputs(quantize_dynamic(small_cnn().eval(), dtype=np.int16), Tensor(x))
    weight_only = quantize_weight_only(fuse_conv_bn(small_cnn().eval()))
    assert model_spec(weight_only)["children"][0]["quant"]["act_bits"] is None
    _same_outputs(weight_only, Tensor(x))
    _same_outputs(fuse(small_cnn().eval()), Tensor(x))
    gpt = quantize_dynamic(TinyGPT(17, 8, 2, 2, 16, rng=np.random.default_rng(0)).eval())
    assert set(model_spec(gpt)["replaced"]) >= {"h.0.mlp.c_fc", "h.1.attn.c_attn", "lm_head"}
    _same_outputs(gpt, Tensor(np.array([[1, 2, 3, 4, 5]])))
