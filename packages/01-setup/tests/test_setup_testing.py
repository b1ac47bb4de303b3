"""assert_close, numerical_gradient and gradcheck."""

import numpy as np
import pytest
from hypothesis import given, settings

from tinytorch.setup import assert_close, gradcheck, numerical_gradient, to_numpy
from tinytorch.setup.strategies import arrays, shapes

FAST = settings(max_examples=30, deadline=None, database=None)


class DataTensor:  # a later module's Tensor keeps its values in `.data`
    def __init__(self, data):
        self.data = np.asarray(data)


class NumpyTensor:  # PyTorch-style: values through `.numpy()`
    def __init__(self, data):
        self._data = np.asarray(data)

    def numpy(self):
        return self._data


# ---------------------------------------------------------------------------- assert_close


def test_to_numpy_accepts_arrays_scalars_lists_and_tensors():
    a = np.arange(3.0)
    assert to_numpy(a) is a
    assert to_numpy(DataTensor(a)) is a.data or np.array_equal(to_numpy(DataTensor(a)), a)
    assert np.array_equal(to_numpy(NumpyTensor([1, 2])), [1, 2])
    assert to_numpy(2.5).shape == ()
    assert to_numpy([[1, 2]]).shape == (1, 2)


def test_assert_close_passes_within_tolerance():
    a = np.linspace(0, 1, 12).reshape(3, 4)
    assert_close(a, a + 1e-9)
    assert_close(a.astype(np.float32), a, rtol=1e-6)
    assert_close(DataTensor(a), NumpyTensor(a))
    assert_close(3.0, np.float64(3.0))
    assert_close(np.array([np.nan, np.inf, -np.inf]), [np.nan, np.inf, -np.inf])
    assert_close(np.zeros((0, 3)), np.zeros((0, 3)))


def test_assert_close_failure_names_the_worst_element():
    expected = np.arange(12.0).reshape(3, 4)
    actual = expected.copy()
    actual[1, 2] += 0.5
    actual[2, 3] += 0.1
    with pytest.raises(AssertionError) as err:
        assert_close(actual.astype(np.float32), expected, msg="layer output")
    text = str(err.value)
    assert text.startswith("layer output")
    assert "index (1, 2)" in text
    assert "actual=6.5" in text and "expected=6.0" in text
    assert "2 of 12 elements mismatch" in text
    assert "actual (3, 4), expected (3, 4)" in text
    assert "float32" in text and "float64" in text
    assert "max abs error: 0.5" in text


def test_assert_close_reports_shape_mismatch_without_broadcasting():
    with pytest.raises(AssertionError, match=r"\(3, 1\).*\(3,\)"):
        assert_close(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(AssertionError, match="Shape mismatch"):
        assert_close(np.zeros(3), 0.0)


def test_assert_close_nan_positions_must_match():
    with pytest.raises(AssertionError, match=r"NaN mismatch .* index \(1,\)"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def test_assert_close_infinities_of_opposite_sign_fail():
    with pytest.raises(AssertionError, match="index \\(0,\\)"):
        assert_close(np.array([np.inf, 1.0]), np.array([-np.inf, 1.0]))


def test_assert_close_zero_dimensional_index():
    with pytest.raises(AssertionError, match=r"index \(\)"):
        assert_close(1.0, 2.0)


@FAST
@given(arrays(dtype=np.float64))
def test_assert_close_accepts_a_copy(a):
    assert_close(a, a.copy())


# ---------------------------------------------------------------------------- finite differences


def test_numerical_gradient_of_sum_of_squares():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    (grad,) = numerical_gradient(lambda x: x**2, [x])
    assert_close(grad, 2 * x, rtol=1e-6, atol=1e-6)


def test_numerical_gradient_with_grad_output_and_scalar_output():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    g = np.array([1.0, -1.0, 2.0])
    gx, gy = numerical_gradient(lambda a, b: a * b, [x, y], grad_output=g)
    assert_close(gx, g * y, atol=1e-6)
    assert_close(gy, g * x, atol=1e-6)
    (gs,) = numerical_gradient(lambda a: float(np.sum(a**3)), [x])
    assert_close(gs, 3 * x**2, rtol=1e-5)


def test_numerical_gradient_does_not_modify_inputs_and_checks_shapes():
    x = np.array([1.0, 2.0], dtype=np.float32)
    numerical_gradient(np.sin, [x])
    assert x.dtype == np.float32 and np.array_equal(x, [1.0, 2.0])
    with pytest.raises(ValueError, match="grad_output has shape"):
        numerical_gradient(np.sin, [x], grad_output=np.ones(3))


# ---------------------------------------------------------------------------- gradcheck

rng = np.random.default_rng(42)


def test_gradcheck_passes_for_correct_gradients():
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    result = gradcheck(lambda a, b: a * b, [x, y], lambda a, b, g: (g * b, g * a))
    assert result.ok and len(result.inputs) == 2
    assert max(result.max_abs_errors) < 1e-7
    assert len(result.max_rel_errors) == 2

    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    gradcheck(np.matmul, [a, b], lambda a, b, g: (g @ b.T, a.T @ g))


def test_gradcheck_warns_about_float32_inputs_and_checks_them_as_float64():
    x = rng.standard_normal((3, 4))
    with pytest.warns(
        UserWarning, match=r"gradcheck: input 1 is float32; finite differences "
    ) as w:
        result = gradcheck(
            lambda a, b: a * b, [x, x.astype(np.float32)], lambda a, b, g: (g * b, g * a)
        )
    assert result.ok and len(w) == 1
    assert "Tensor(np.float64 array) makes float32 unless dtype=np.float64" in str(w[0].message)


def test_gradcheck_refuses_a_float32_result():
    x = rng.standard_normal(4)

    def float32_sin(a):  # what Tensor(a) without dtype=np.float64 does inside fn
        return np.sin(a.astype(np.float32))

    with pytest.raises(
        TypeError, match=r"gradcheck: fn returned float32 for float64 inputs.*"
    ) as err:
        gradcheck(float32_sin, [x], lambda a, g: [g * np.cos(a)])
    assert "dtype=np.float64" in str(err.value)
    with pytest.raises(TypeError, match="fn returned float16"):
        numerical_gradient(lambda a: a.astype(np.float16), [x])
    assert gradcheck(lambda a: (a > 0).sum(), [x], lambda a, g: [np.zeros_like(a)]).ok  # ints


def test_gradcheck_accepts_a_single_array_and_scalar_output():
    x = rng.standard_normal(5)
    gradcheck(lambda a: np.sum(a**2), [x], lambda a, g: 2 * a * g)


def test_gradcheck_fails_on_a_wrong_gradient_and_names_the_worst_index():
    x = rng.standard_normal((3, 4))

    def wrong_backward(a, g):
        grad = g * np.cos(a)
        grad[1, 2] += 0.25  # a bug in one element
        return [grad]

    with pytest.raises(AssertionError) as err:
        gradcheck(np.sin, [x], wrong_backward)
    text = str(err.value)
    assert "input 0" in text and "index (1, 2)" in text
    assert "analytic=" in text and "numeric=" in text and "abs error=0.25" in text

    result = gradcheck(np.sin, [x], wrong_backward, raise_on_failure=False)
    assert not result.ok
    check = result.inputs[0]
    assert check.worst_index == (1, 2)
    assert check.analytic - check.numeric == pytest.approx(0.25, abs=1e-6)
    assert "MISMATCH" in result.report()


def test_gradcheck_catches_a_backward_that_ignores_grad_output():
    x = rng.standard_normal(4)
    with pytest.raises(AssertionError, match="input 0"):
        gradcheck(np.sin, [x], lambda a, g: [np.cos(a)])


def test_gradcheck_names_the_failing_input_only():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    with pytest.raises(AssertionError) as err:
        gradcheck(lambda a, b: a * b, [x, y], lambda a, b, g: (g * b, g * b))
    assert "input 1" in str(err.value) and "input 0" not in str(err.value)


def test_gradcheck_reports_wrong_count_or_shape():
    x = rng.standard_normal((2, 3))
    with pytest.raises(AssertionError, match="returned 2 gradients for 1 inputs"):
        gradcheck(np.sin, [x], lambda a, g: (g, g))
    with pytest.raises(AssertionError, match=r"shape \(3, 2\)"):
        gradcheck(np.sin, [x], lambda a, g: [(g * np.cos(a)).T])


@FAST
@given(shapes(max_dims=3, max_side=3).flatmap(lambda s: arrays(s, np.float64, -3, 3)))
def test_gradcheck_property_tanh(x):
    gradcheck(np.tanh, [x], lambda a, g: [g * (1 - np.tanh(a) ** 2)])
