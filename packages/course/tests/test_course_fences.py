"""Solution fences: finding them, stubbing them, putting them back, and refusing bad ones."""

import ast
import textwrap

import pytest

from tinytorch.course.fences import (
    FenceError,
    find_fences,
    restore_solutions,
    solution_leaks,
    strip_solutions,
)

OPEN, CLOSE = "# BEGIN " + "SOLUTION", "# END " + "SOLUTION"


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n").replace("<open>", OPEN).replace("<close>", CLOSE)


SOURCE = src(
    '''
    import copy

    MARKER = "<open>"  # a marker inside a string is no fence


    def relu(x):
        """max(x, 0)."""
        # HINT: the mask x > 0
        # HINT: is where x passes
        <open>
        mask = x > 0
        return x * mask
        <close>


    class Linear:
        def backward(self, g):
            checked = copy.copy(g)
            <open>
            grad_input = checked * 2  # the secret sauce
            <close>
            return grad_input

        def outer(self):
            def inner(values):
                for v in values:
                    <open>
                    v.clear()
                    <close>
            return inner
    '''
)


def test_find_fences_locations_functions_and_hints():
    fences = find_fences(SOURCE, "ops.py")
    assert [f.function for f in fences] == ["relu", "Linear.backward", "Linear.outer.inner"]
    assert [f.begin for f in fences] == [10, 19, 27]
    assert fences[0].hints == ("# HINT: the mask x > 0", "# HINT: is where x passes")
    assert fences[1].hints == ()
    assert fences[0].body == ("    mask = x > 0", "    return x * mask")
    assert [len(f.indent) for f in fences] == [4, 8, 16]
    assert fences[0].location == "ops.py:10"


def test_strip_replaces_each_fence_by_one_raise_at_its_indentation():
    skeleton = strip_solutions(SOURCE, "layers", "ops.py")
    lines = skeleton.splitlines()
    assert '    raise NotImplementedError("layers: relu - see the HINT above")' in lines
    assert (
        '        raise NotImplementedError("layers: Linear.backward - see the HINT above")' in lines
    )
    stub = 'raise NotImplementedError("layers: Linear.outer.inner - see the HINT above")'
    assert " " * 16 + stub in lines
    assert "    # HINT: the mask x > 0" in lines and "        return grad_input" in lines
    assert 'MARKER = "' + OPEN + '"  # a marker inside a string is no fence' in lines
    assert "secret sauce" not in skeleton and "mask = x > 0" not in skeleton
    ast.parse(skeleton)
    namespace: dict = {}
    exec(compile(skeleton, "ops.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^layers: relu - see the HINT above$"):
        namespace["relu"](1)


def test_strip_only_selected_fences():
    skeleton = strip_solutions(SOURCE, "layers", select={1})
    assert "mask = x > 0" in skeleton and "v.clear()" in skeleton
    assert "the secret sauce" not in skeleton and skeleton.count("NotImplementedError") == 1


def test_restore_undoes_strip_exactly():
    skeleton = strip_solutions(SOURCE, "layers")
    assert restore_solutions(skeleton, SOURCE) == SOURCE
    no_newline = SOURCE.rstrip("\n")
    assert restore_solutions(strip_solutions(no_newline, "m"), no_newline) == no_newline


def test_restore_refuses_a_mismatched_skeleton():
    skeleton = strip_solutions(SOURCE, "layers").replace(
        'raise NotImplementedError("layers: relu - see the HINT above")', "return x"
    )
    with pytest.raises(FenceError, match="2 NotImplementedError stubs but the reference has 3"):
        restore_solutions(skeleton, SOURCE, "ops.py")


def test_solution_leaks_finds_fenced_lines_and_markers_only():
    skeleton = strip_solutions(SOURCE, "layers")
    assert solution_leaks(SOURCE, skeleton) == []
    leaked = skeleton.replace("        return grad_input", "        mask = x > 0\n        " + CLOSE)
    leaks = solution_leaks(SOURCE, leaked, "ops.py")
    assert leaks == ["ops.py:17: mask = x > 0", f"ops.py:18: {CLOSE}"]


def test_a_file_without_fences_is_unchanged():
    assert find_fences("x = 1\n") == []
    assert strip_solutions("x = 1\n", "m") == "x = 1\n"


def test_module_level_fence():
    fenced = src(
        """
        <open>
        TABLE = {1: 2}
        <close>
        """
    )
    skeleton = strip_solutions(fenced, "m", "t.py")
    assert skeleton == 'raise NotImplementedError("m: <module> - see the HINT above")\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<open>\nx = 1\n<open>\nx = 2\n<close>\n", r"t.py:3: .* inside the fence opened at line"),
        ("x = 1\n<close>\n", r"t.py:2: .* without a .* above it"),
        ("def f():\n    <open>\n    return 1\n", r"t.py:2: .* is never closed"),
        (
            "def f():\n    <open>\n    return 1\n<close>\n",
            r"t.py:4: .* is not indented like its .* at line 2",
        ),
        ("def f(:\n    pass\n", r"t.py:1: not valid Python"),
    ],
)
def test_bad_fences_are_refused_with_file_and_line(text, message):
    with pytest.raises(FenceError, match=message):
        find_fences(src(text), "t.py")


def test_a_fence_that_leaves_invalid_python_is_refused():
    text = src(
        """
        def f(x):
            if x:
            <open>
                return 1
            <close>
            return 0
        """
    )
    with pytest.raises(FenceError, match=r"t.py:\d+: the student version is not valid Python"):
        strip_solutions(text, "m", "t.py")
