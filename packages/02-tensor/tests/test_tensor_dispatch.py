"""The dispatch point is the single extension point: every computing method goes through `apply`.

A recorder installed in ``dispatch.hooks`` (as module 06 will) sees every differentiable op, with
its inputs and its output; comparisons and argmax compute without being recorded.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.setup.testing import assert_close
from tinytorch.tensor import Op, Tensor, apply, install_autograd, ops
from tinytorch.tensor.dispatch import hooks


@pytest.fixture
def recorded():
    """Install a recorder that lists ``(op, inputs, output)``; restore the hooks afterwards."""
    saved = hooks.recorder, hooks.backward
    calls: list[tuple[Op, tuple[Tensor, ...], Tensor]] = []
    hooks.recorder = lambda op, inputs, out: calls.append((op, inputs, out))
    hooks.backward = None
    yield calls
    hooks.recorder, hooks.backward = saved


def names(calls) -> list[str]:
    return [op.name for op, _, _ in calls]


# Every Tensor method and function that computes, and the ops it must run through `apply`.
# x: (2, 3) float32, y: (2, 3) float32, w: (3, 2) float32.
EXPRESSIONS = {
    "__add__": (lambda x, y, w: x + y, ["add"]),
    "__radd__": (lambda x, y, w: 1.0 + x, ["add"]),
    "__sub__": (lambda x, y, w: x - 1.0, ["sub"]),
    "__rsub__": (lambda x, y, w: 2 - x, ["sub"]),
    "__mul__": (lambda x, y, w: x * y, ["mul"]),
    "__rmul__": (lambda x, y, w: 3 * x, ["mul"]),
    "__truediv__": (lambda x, y, w: x / 2, ["div"]),
    "__rtruediv__": (lambda x, y, w: 2 / x, ["div"]),
    "__pow__": (lambda x, y, w: x**2, ["pow"]),
    "__rpow__": (lambda x, y, w: 2**x, ["pow"]),
    "__matmul__": (lambda x, y, w: x @ w, ["matmul"]),
    "__rmatmul__": (lambda x, y, w: np.ones((2, 2), dtype=np.float32) @ x, ["matmul"]),
    "__neg__": (lambda x, y, w: -x, ["neg"]),
    "__floordiv__": (lambda x, y, w: x // y, ["floordivide"]),
    "__rfloordiv__": (lambda x, y, w: 3 // x, ["floordivide"]),
    "__mod__": (lambda x, y, w: x % 0.3, ["remainder"]),
    "__rmod__": (lambda x, y, w: 1 % x, ["remainder"]),
    "add": (lambda x, y, w: x.add(y, alpha=2), ["mul", "add"]),
    "sub": (lambda x, y, w: x.sub(y), ["sub"]),
    "mul": (lambda x, y, w: x.mul(2), ["mul"]),
    "div": (lambda x, y, w: x.div(y), ["div"]),
    "pow": (lambda x, y, w: x.pow(y), ["pow"]),
    "matmul": (lambda x, y, w: x.matmul(w), ["matmul"]),
    "neg": (lambda x, y, w: x.neg(), ["neg"]),
    "clone": (lambda x, y, w: x.clone(), ["contiguous"]),
    "float": (lambda x, y, w: x.double().float(), ["astype", "astype"]),
    "double": (lambda x, y, w: x.double(), ["astype"]),
    "long": (lambda x, y, w: x.long(), ["astype"]),
    "to": (lambda x, y, w: x.to(np.float64), ["astype"]),
    "gather": (lambda x, y, w: x.gather(1, tt.tensor([[0], [2]])), ["gather"]),
    "exp": (lambda x, y, w: x.exp(), ["exp"]),
    "log": (lambda x, y, w: x.log(), ["log"]),
    "sqrt": (lambda x, y, w: x.sqrt(), ["sqrt"]),
    "abs": (lambda x, y, w: x.abs(), ["abs"]),
    "maximum": (lambda x, y, w: x.maximum(y), ["maximum"]),
    "minimum": (lambda x, y, w: x.minimum(0.5), ["minimum"]),
    "clip": (lambda x, y, w: x.clip(0.0, 1.0), ["clip"]),
    "clamp": (lambda x, y, w: x.clamp(max=1.0), ["clip"]),
    "astype": (lambda x, y, w: x.astype(np.float64), ["astype"]),
    "sum": (lambda x, y, w: x.sum(dim=1), ["sum"]),
    "mean": (lambda x, y, w: x.mean(), ["mean"]),
    "max": (lambda x, y, w: x.max(), ["max"]),
    "max(dim)": (lambda x, y, w: x.max(dim=0), ["gather", "reshape", "reshape"]),  # argmax: not
    "min": (lambda x, y, w: x.min(), ["min"]),
    "min(dim)": (lambda x, y, w: x.min(1, keepdim=True), ["gather"]),
    "amax": (lambda x, y, w: x.amax(dim=(0, 1)), ["max"]),
    "amin": (lambda x, y, w: x.amin(dim=-1), ["min"]),
    "var": (lambda x, y, w: x.var(dim=-1), ["var"]),
    "std": (lambda x, y, w: x.std(), ["var", "sqrt"]),
    "reshape": (lambda x, y, w: x.reshape(3, 2), ["reshape"]),
    "view": (lambda x, y, w: x.view(-1), ["reshape"]),
    "permute": (lambda x, y, w: x.permute(1, 0), ["permute"]),
    "transpose": (lambda x, y, w: x.transpose(0, 1), ["permute"]),
    "T": (lambda x, y, w: x.T, ["permute"]),
    "squeeze": (lambda x, y, w: x.squeeze(), ["reshape"]),
    "unsqueeze": (lambda x, y, w: x.unsqueeze(0), ["reshape"]),
    "flatten": (lambda x, y, w: x.flatten(), ["reshape"]),
    "expand": (lambda x, y, w: x.expand(4, 2, 3), ["expand"]),
    "contiguous": (lambda x, y, w: x.T.contiguous(), ["permute", "contiguous"]),
    "__getitem__": (lambda x, y, w: x[0, 1:], ["getitem"]),
    "__iter__": (lambda x, y, w: list(x), ["getitem", "getitem"]),
    "concatenate": (lambda x, y, w: tt.concatenate([x, y], dim=1), ["concatenate"]),
    "cat": (lambda x, y, w: tt.cat([x, y]), ["concatenate"]),
    "stack": (lambda x, y, w: tt.stack([x, y]), ["stack"]),
    "where": (lambda x, y, w: tt.where(x > 0.5, x, y), ["where"]),  # the comparison: not recorded
    "tt.maximum": (lambda x, y, w: tt.maximum(x, 0.0), ["maximum"]),
    "tt.minimum": (lambda x, y, w: tt.minimum(0.0, x), ["minimum"]),
    # added in 0.2.0: methods, then the functions of the same names
    "sin": (lambda x, y, w: x.sin(), ["sin"]),
    "cos": (lambda x, y, w: x.cos(), ["cos"]),
    "rsqrt": (lambda x, y, w: x.rsqrt(), ["rsqrt"]),
    "log2": (lambda x, y, w: x.log2(), ["log2"]),
    "exp2": (lambda x, y, w: x.exp2(), ["exp2"]),
    "sign": (lambda x, y, w: x.sign(), ["sign"]),
    "erf": (lambda x, y, w: x.erf(), ["erf"]),
    "masked_fill": (lambda x, y, w: x.masked_fill(x > 0.5, 0.0), ["maskedfill"]),
    "masked_fill (0-d tensor)": (
        lambda x, y, w: x.masked_fill(x > 0.5, tt.tensor(1.0)),
        ["where"],  # the value's gradient flows too
    ),
    "tril": (lambda x, y, w: x.tril(), ["tril"]),
    "triu": (lambda x, y, w: x.triu(1), ["triu"]),
    "split": (lambda x, y, w: x.split(2, dim=1), ["getitem", "getitem"]),
    "chunk": (lambda x, y, w: x.chunk(2), ["getitem", "getitem"]),
    "scatter_add": (
        lambda x, y, w: x.scatter_add(0, tt.tensor([[1, 0, 1]]), y),
        ["scatteradd"],
    ),
    "index_select": (lambda x, y, w: x.index_select(1, tt.tensor([2, 0])), ["indexselect"]),
    "prod": (lambda x, y, w: x.prod(1), ["prod"]),
    "cumsum": (lambda x, y, w: x.cumsum(-1), ["cumsum"]),
    "logsumexp": (lambda x, y, w: x.logsumexp(1, keepdim=True), ["logsumexp"]),
    "flip": (lambda x, y, w: x.flip(0), ["flip"]),
    "roll": (lambda x, y, w: x.roll(1, 1), ["roll"]),
    "repeat": (lambda x, y, w: x.repeat(2, 1), ["repeat"]),
    "tt.sin": (lambda x, y, w: tt.sin(x), ["sin"]),
    "tt.cos": (lambda x, y, w: tt.cos(x), ["cos"]),
    "tt.rsqrt": (lambda x, y, w: tt.rsqrt(x), ["rsqrt"]),
    "tt.log2": (lambda x, y, w: tt.log2(x), ["log2"]),
    "tt.exp2": (lambda x, y, w: tt.exp2(x), ["exp2"]),
    "tt.sign": (lambda x, y, w: tt.sign(x), ["sign"]),
    "tt.erf": (lambda x, y, w: tt.erf(x), ["erf"]),
    "tt.masked_fill": (lambda x, y, w: tt.masked_fill(x, x > 0.5, 1.0), ["maskedfill"]),
    "tt.tril": (lambda x, y, w: tt.tril(x, -1), ["tril"]),
    "tt.triu": (lambda x, y, w: tt.triu(x), ["triu"]),
    "tt.split": (lambda x, y, w: tt.split(x, [1, 2], 1), ["getitem", "getitem"]),
    "tt.chunk": (lambda x, y, w: tt.chunk(x, 3, 1), ["getitem"] * 3),
    "tt.gather": (lambda x, y, w: tt.gather(x, 1, tt.tensor([[0], [2]])), ["gather"]),
    "tt.scatter_add": (
        lambda x, y, w: tt.scatter_add(x, 1, tt.tensor([[0], [0]]), y),
        ["scatteradd"],
    ),
    "tt.index_select": (lambda x, y, w: tt.index_select(x, 0, tt.tensor([1])), ["indexselect"]),
    "tt.prod": (lambda x, y, w: tt.prod(x), ["prod"]),
    "tt.cumsum": (lambda x, y, w: tt.cumsum(x, 0), ["cumsum"]),
    "tt.logsumexp": (lambda x, y, w: tt.logsumexp(x, (0, 1)), ["logsumexp"]),
    "tt.flip": (lambda x, y, w: tt.flip(x, (0, 1)), ["flip"]),
    "tt.roll": (lambda x, y, w: tt.roll(x, 1), ["roll"]),
    "tt.pad": (lambda x, y, w: tt.pad(x, (1, 1), mode="reflect"), ["pad"]),
    "tt.einsum": (lambda x, y, w: tt.einsum("ij,jk->ik", x, w), ["einsum"]),
}

NOT_RECORDED = {
    "__eq__": lambda x, y: x == y,
    "__ne__": lambda x, y: x != 0.5,
    "__lt__": lambda x, y: x < y,
    "__le__": lambda x, y: x <= y,
    "__gt__": lambda x, y: x > 0.5,
    "__ge__": lambda x, y: x >= y,
    "argmax": lambda x, y: x.argmax(dim=1),
    "argmin": lambda x, y: x.argmin(),
    "any": lambda x, y: x.any(),
    "all": lambda x, y: x.all(dim=1),
    "tt.any": lambda x, y: tt.any(x > 0.5, 0),
    "tt.all": lambda x, y: tt.all(x),
    "tt.one_hot": lambda x, y: tt.one_hot(x.argmax(dim=1), 3),
}

OPERATOR_NAMES = (
    "add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg floordiv rfloordiv "
    "mod rmod eq ne lt le gt ge getitem iter setitem iadd isub imul itruediv"
)

# In-place writes: computed with NumPy into the tensor's own storage, never recorded (PyTorch
# would record them; TinyTorch refuses them where a graph could see them), version bumped.
# x: (2, 3) float32 of values in (0.1, 1); y: the same shape.
IN_PLACE = {
    "add_": (lambda x, y: x.add_(y, alpha=2), lambda a, b: a + 2 * b),
    "sub_": (lambda x, y: x.sub_(1.0), lambda a, b: a - 1.0),
    "mul_": (lambda x, y: x.mul_(y), lambda a, b: a * b),
    "div_": (lambda x, y: x.div_(2), lambda a, b: a / 2),
    "clamp_": (lambda x, y: x.clamp_(0.2, 0.5), lambda a, b: np.clip(a, 0.2, 0.5)),
    "zero_": (lambda x, y: x.zero_(), lambda a, b: np.zeros_like(a)),
    "fill_": (lambda x, y: x.fill_(3.0), lambda a, b: np.full_like(a, 3.0)),
    "copy_": (lambda x, y: x.copy_(y.data[0]), lambda a, b: np.broadcast_to(b[0], a.shape)),
    "__iadd__": (lambda x, y: x.__iadd__(y), lambda a, b: a + b),
    "__isub__": (lambda x, y: x.__isub__(2), lambda a, b: a - 2),
    "__imul__": (lambda x, y: x.__imul__(y), lambda a, b: a * b),
    "__itruediv__": (lambda x, y: x.__itruediv__(y), lambda a, b: a / b),
    "__setitem__": (lambda x, y: x.__setitem__((0, slice(1, None)), 5.0), None),
}

# Built in module 04 (activations): the methods import it when first called.
DELEGATED = {
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0)),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "tanh": (lambda x: x.tanh(), np.tanh),
    "softmax": (lambda x: x.softmax(1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True)),
    "log_softmax": (
        lambda x: x.log_softmax(-1),
        lambda a: a - np.log(np.exp(a).sum(-1, keepdims=True)),
    ),
}

# Methods that compute nothing (attributes, conversions, in-place writes, autograd plumbing).
NON_COMPUTING = {
    "T",  # listed in EXPRESSIONS; a property, not a method
    "backward",
    "detach",
    "dim",
    "dtype",
    "is_contiguous",
    "is_leaf",
    "item",
    "nbytes",
    "ndim",
    "numel",
    "numpy",
    "requires_grad_",
    "shape",
    "size",
    "strides",
    "tolist",
}


@pytest.fixture
def xyw():
    rng = np.random.default_rng(0)
    return (
        Tensor(rng.uniform(0.1, 1.0, (2, 3))),
        Tensor(rng.uniform(0.1, 1.0, (2, 3))),
        Tensor(rng.uniform(0.1, 1.0, (3, 2))),
    )


@pytest.mark.parametrize("method", EXPRESSIONS)
def test_every_computing_method_runs_through_apply(method, recorded, xyw):
    expression, expected = EXPRESSIONS[method]
    result = expression(*xyw)
    assert names(recorded) == expected
    if isinstance(result, tt.MinMax):  # the values are recorded, the int64 indices need not be
        assert any(out is result.values for _, _, out in recorded)
    else:
        outputs = list(result) if isinstance(result, (list, tuple)) else [result]
        assert recorded[-1][2] is outputs[-1], "the recorder must see the very tensor returned"
    for op, inputs, out in recorded:
        assert isinstance(op, Op)
        assert all(isinstance(t, Tensor) for t in inputs) and isinstance(out, Tensor)


@pytest.mark.parametrize("method", NOT_RECORDED)
def test_comparisons_argmax_any_all_one_hot_compute_but_are_not_recorded(method, recorded, xyw):
    x, y, _ = xyw
    result = NOT_RECORDED[method](x, y)
    assert isinstance(result, Tensor)
    assert recorded == []


def test_the_tables_cover_every_function_of_the_package():
    functions = {
        name
        for name in [*tt.__all__, "any", "all"]
        if callable(getattr(tt, name))
        and getattr(tt, name).__module__.startswith("tinytorch.tensor")
    }
    not_ops = {"Tensor", "MinMax", "Op", "apply", "accumulate_grad", "install_autograd", "vjp"}
    not_ops |= {"is_grad_enabled", "tensor", "zeros", "ones", "full", "arange", "rand", "randn"}
    not_ops |= {"footprint_table", "memory_footprint", "traversal_timing", "view_costs"}
    listed = {name.removeprefix("tt.") for name in [*EXPRESSIONS, *NOT_RECORDED]}
    assert functions - not_ops - listed == set(), "add new functions to EXPRESSIONS"


def test_the_tables_cover_every_public_method_of_tensor():
    operators = {f"__{name}__" for name in OPERATOR_NAMES.split()}
    public = {name for name in vars(Tensor) if not name.startswith("_") or name in operators}
    covered = set(EXPRESSIONS) | set(NOT_RECORDED) | set(IN_PLACE) | set(DELEGATED)
    covered |= NON_COMPUTING
    assert public - covered == set(), "add new Tensor methods to EXPRESSIONS or NON_COMPUTING"


@pytest.mark.parametrize("method", IN_PLACE)
def test_in_place_methods_write_the_storage_bump_the_version_and_are_not_recorded(
    method, recorded, xyw
):
    x, y, _ = xyw
    data, before, version = x.data, x.data.copy(), x._version
    write, expected = IN_PLACE[method]
    result = write(x, y)
    assert recorded == [], "an in-place write must not be recorded"
    assert x.data is data, "an in-place write keeps the storage"
    assert x._version == version + 1
    if method == "__setitem__":
        before[0, 1:] = 5.0
        np.testing.assert_array_equal(x.data, before)
        return
    assert result is x
    assert_close(x.data, expected(before, y.data).astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("method", DELEGATED)
def test_activation_methods_delegate_to_module_04(method, xyw):
    x = xyw[0]
    call, expected = DELEGATED[method]
    try:
        import tinytorch.activations  # noqa: F401
    except ImportError:  # module 02 alone (nox -s test-02): the error says what to install
        with pytest.raises(ImportError, match=r"module 04.*tinytorch-activations"):
            call(x)
        return
    assert_close(call(x), expected(x.data.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_the_recorder_gets_the_inputs_and_the_op_with_its_settings(recorded, xyw):
    x = xyw[0]
    out = (x * 2).sum(dim=(0, -1), keepdim=True)
    (mul, mul_inputs, mul_out), (total, total_inputs, total_out) = recorded
    assert isinstance(mul, ops.Mul) and mul_inputs[0] is x and mul_inputs[1].item() == 2.0
    assert isinstance(total, ops.Sum) and total.dim == (0, -1) and total.keepdim
    assert total_inputs == (mul_out,) and total_out is out


def test_ops_built_without_tensor_methods_are_recorded_too(recorded):
    out = apply(ops.Add(), [1.0, 2.0], np.array([3.0, 4.0]))  # array-likes become Tensors
    assert out.data.tolist() == [4.0, 6.0] and out.dtype == np.float32
    ((op, inputs, _),) = recorded
    assert isinstance(op, ops.Add) and all(isinstance(t, Tensor) for t in inputs)


def test_a_new_op_is_a_subclass_run_through_apply(recorded):
    class Cube(Op):
        """x**3, the way a later module adds an operation: no change to Tensor."""

        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * x * x

    out = apply(Cube(), Tensor([1.0, 2.0]))
    assert out.data.tolist() == [1.0, 8.0]
    assert names(recorded) == ["cube"]
    assert repr(Cube()) == "Cube()"
    assert repr(ops.Sum(1, True)) == "Sum(dim=1, keepdim=True)"


def test_an_op_without_forward_says_so():
    with pytest.raises(NotImplementedError, match=r"Op\.forward is not implemented"):
        apply(Op(), Tensor([1.0]))


def test_install_autograd_sets_both_hooks(recorded):
    def recorder(op, inputs, out):
        return None

    def engine(tensor, grad, retain_graph):
        return None

    install_autograd(recorder, engine)
    assert hooks.recorder is recorder and hooks.backward is engine


def test_without_a_recorder_nothing_is_recorded_and_results_are_leaves():
    saved = hooks.recorder
    hooks.recorder = None
    try:
        out = Tensor([1.0], requires_grad=True) * 2
    finally:
        hooks.recorder = saved
    assert out.is_leaf and not out.requires_grad


def test_an_observer_sees_every_forward_and_backward_with_its_time() -> None:
    from tinytorch.tensor import vjp

    seen: list[tuple[str, str, float]] = []

    class Recorder:
        def forward(self, op, inputs, output, seconds):  # type: ignore[no-untyped-def]
            seen.append(("forward", op.name, seconds))

        def backward(self, op, grad, grads, seconds):  # type: ignore[no-untyped-def]
            seen.append(("backward", op.name, seconds))

    hooks.observer = Recorder()
    try:
        op = ops.Mul()
        apply(op, Tensor([1.0, 2.0]), Tensor([3.0, 4.0]))
        vjp(op, np.ones(2, dtype=np.float32), (True, True))
    finally:
        hooks.observer = None
    assert [(kind, name) for kind, name, _ in seen] == [("forward", "mul"), ("backward", "mul")]
    assert all(seconds >= 0 for _, _, seconds in seen)
    apply(ops.Add(), Tensor([1.0]), Tensor([2.0]))
    assert len(seen) == 2  # nothing observed once the observer is gone
