"""Parity with PyTorch: quantize_per_tensor / quantize_per_channel integer representations,
the observers' scales and zero points, and Hinton's loss (value and gradient) against
torch's ``kl_div`` formula."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.compression import (
    MinMaxObserver,
    PerChannelMinMaxObserver,
    distillation_loss,
    quantize_per_channel,
    quantize_per_tensor,
)
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Tensor

torch = pytest.importorskip(
    "torch", reason="PyTorch not installed: parity tests need torch==2.13.0"
)

pytestmark = [
    pytest.mark.parity,
    # torch 2.13 deprecates its quantized tensors (the int_repr we compare with still works)
    pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning"),
]


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(("dtype", "torch_dtype"), [("int8", "qint8"), ("uint8", "quint8")])
def test_quantize_per_tensor_int_repr(dtype: str, torch_dtype: str) -> None:
    x = rng(1).normal(0, 2, (40, 9)).astype(np.float32)
    x[0, :4] = [0.5 * 0.05, 1.5 * 0.05, -2.5 * 0.05, 100.0]  # ties and a saturating value
    point = 3 if dtype == "int8" else 128
    ours = quantize_per_tensor(x, 0.05, point, np.dtype(dtype))
    theirs = torch.quantize_per_tensor(
        torch.from_numpy(x), 0.05, point, getattr(torch, torch_dtype)
    )
    np.testing.assert_array_equal(ours, theirs.int_repr().numpy())
    assert ours.dtype == theirs.int_repr().numpy().dtype


def test_quantize_per_channel_int_repr() -> None:
    w = rng(2).normal(0, 1, (6, 4, 3, 3)) * rng(3).uniform(0.01, 3, (6, 1, 1, 1))
    w = w.astype(np.float32)
    scales = (np.abs(w).reshape(6, -1).max(1) / 127.5).astype(np.float64)
    points = np.array([0, 1, -2, 0, 5, 0])
    ours = quantize_per_channel(w, scales, points, 0, np.int8)
    theirs = torch.quantize_per_channel(
        torch.from_numpy(w), torch.from_numpy(scales), torch.from_numpy(points), 0, torch.qint8
    )
    np.testing.assert_array_equal(ours, theirs.int_repr().numpy())


@pytest.mark.parametrize("qscheme", ["per_tensor_affine", "per_tensor_symmetric"])
def test_min_max_observer_qparams(qscheme: str) -> None:
    from torch.ao.quantization import MinMaxObserver as TorchObserver

    batches = [rng(i).normal(0.4, 1.5, (16, 5)).astype(np.float32) for i in range(3)]
    ours = MinMaxObserver(np.uint8, qscheme)
    theirs = TorchObserver(dtype=torch.quint8, qscheme=getattr(torch, qscheme))
    for batch in batches:
        ours(batch)
        theirs(torch.from_numpy(batch))
    scale, point = ours.calculate_qparams()
    torch_scale, torch_point = theirs.calculate_qparams()
    assert scale == pytest.approx(float(torch_scale), rel=1e-6)
    assert point == int(torch_point)


def test_per_channel_observer_qparams() -> None:
    from torch.ao.quantization import PerChannelMinMaxObserver as TorchObserver

    w = rng(4).normal(0, 1, (5, 12)).astype(np.float32)
    ours = PerChannelMinMaxObserver(0, np.int8, "per_channel_symmetric")
    theirs = TorchObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    ours(w)
    theirs(torch.from_numpy(w))
    scales, points = ours.calculate_qparams()
    torch_scales, torch_points = theirs.calculate_qparams()
    np.testing.assert_allclose(scales, torch_scales.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(points, torch_points.numpy())


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (4.0, 0.9), (8.0, 0.3)])
def test_distillation_loss_and_gradient_match_torch(temperature: float, alpha: float) -> None:
    s = rng(5).normal(0, 2, (12, 10))
    t = rng(6).normal(0, 2, (12, 10))
    y = rng(7).integers(0, 10, 12)
    student = Tensor(s, dtype=np.float64, requires_grad=True)
    loss = distillation_loss(student, Tensor(t, dtype=np.float64), Tensor(y), temperature, alpha)
    loss.backward()

    functional = torch.nn.functional
    torch_student = torch.tensor(s, requires_grad=True)
    soft = functional.kl_div(
        functional.log_softmax(torch_student / temperature, dim=1),
        functional.softmax(torch.tensor(t) / temperature, dim=1),
        reduction="batchmean",
    )
    hard = functional.cross_entropy(torch_student, torch.tensor(y))
    torch_loss = alpha * temperature**2 * soft + (1 - alpha) * hard
    torch_loss.backward()
    assert float(loss.item()) == pytest.approx(float(torch_loss.detach()), rel=1e-10)
    assert_close(student.grad, torch_student.grad.numpy(), rtol=1e-9, atol=1e-12)
