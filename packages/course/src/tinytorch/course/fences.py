"""Solution fences: from the reference implementation to a student skeleton, and back.

The parts a student writes are fenced in the reference source: the lines between a comment line
``# BEGIN SOLUTION`` and a comment line ``# END SOLUTION``, both at the indentation of the code
they enclose, optionally preceded by ``# HINT: ...`` comment lines (see ``relu_backward`` in
``tinytorch.activations.ops``).

``strip_solutions`` replaces every fenced region, markers included, by one line at the fence's
indentation, ``raise NotImplementedError("<module>: <function> - see the HINT above")``, where
``<module>`` is the module's name (``layers``) and ``<function>`` the innermost ``def`` around
the fence (``Linear.forward`` for a method). Hint lines stay. Code after the fence stays too: it
is plumbing, and the ``raise`` comes first. ``restore_solutions`` puts the fenced regions back,
so ``restore_solutions(strip_solutions(s, m), s) == s``.

Markers are found among comment tokens only, so a marker quoted inside a string is never a fence.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "BEGIN",
    "END",
    "HINT",
    "STUB_PATTERN",
    "Fence",
    "FenceError",
    "find_fences",
    "restore_solutions",
    "solution_leaks",
    "strip_solutions",
    "stub_line",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
HINT = "# HINT:"
STUB_PATTERN = re.compile(r'^(\s*)raise NotImplementedError\(".*: .* - see the HINT above"\)\s*$')


class FenceError(ValueError):
    """A file whose fences cannot be processed: unbalanced, mis-indented, or not Python."""


@dataclass(frozen=True)
class Fence:
    """One fenced region of a source file (line numbers are 1-based, markers included)."""

    path: str
    begin: int  # line of "# BEGIN SOLUTION"
    end: int  # line of "# END SOLUTION"
    indent: str  # leading whitespace of the BEGIN marker
    function: str  # innermost enclosing def, "Class.method" for methods; "<module>" outside any
    hints: tuple[str, ...]  # the "# HINT:" lines just above the fence, stripped
    body: tuple[str, ...]  # the lines between the markers, as written

    @property
    def location(self) -> str:
        """``path:line`` of the BEGIN marker, for messages."""
        return f"{self.path}:{self.begin}"


def _functions(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, dotted name) of every def, classes included in the name."""
    found: list[tuple[int, int, str]] = []
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno or child.lineno, name))
                stack.append((child, f"{name}."))
            else:
                stack.append((child, prefix))
    return found


def _enclosing_function(functions: list[tuple[int, int, str]], line: int) -> str:
    around = [(start, name) for start, end, name in functions if start <= line <= end]
    return max(around)[1] if around else "<module>"


def _hints_above(lines: list[str], begin_index: int) -> tuple[str, ...]:
    hints: list[str] = []
    index = begin_index - 1
    while index >= 0 and lines[index].strip().startswith(HINT):
        hints.insert(0, lines[index].strip())
        index -= 1
    return tuple(hints)


def _comment_lines(source: str) -> dict[int, str]:
    """Line number -> comment text, for the lines that hold nothing but a comment."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and not token.line[: token.start[1]].strip():
            found[token.start[0]] = token.string.strip()
    return found


def _parse(source: str, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as error:
        raise FenceError(
            f"{path}:{error.lineno}: not valid Python ({error.msg}); fix the file before "
            f"processing its solution fences"
        ) from None


def find_fences(source: str, path: str = "<string>") -> list[Fence]:
    """Every fenced region of ``source``, in order.

    Raises ``FenceError`` naming the file and line for a BEGIN inside an open fence, an END
    without BEGIN, a fence never closed, or BEGIN and END markers at different indentations.
    """
    tree = _parse(source, path)
    functions = _functions(tree)
    comments = _comment_lines(source)
    lines = source.splitlines()
    fences: list[Fence] = []
    open_at: int | None = None
    for index, line in enumerate(lines):
        marker = comments.get(index + 1)
        if marker == BEGIN:
            if open_at is not None:
                raise FenceError(
                    f"{path}:{index + 1}: '{BEGIN}' inside the fence opened at line "
                    f"{open_at + 1}; close that one with '{END}' first"
                )
            open_at = index
        elif marker == END:
            if open_at is None:
                raise FenceError(f"{path}:{index + 1}: '{END}' without a '{BEGIN}' above it")
            indent = lines[open_at][: len(lines[open_at]) - len(lines[open_at].lstrip())]
            if not line.startswith(indent) or line[len(indent) :] != marker:
                raise FenceError(
                    f"{path}:{index + 1}: '{END}' is not indented like its '{BEGIN}' at line "
                    f"{open_at + 1}; indent both markers like the code between them"
                )
            fences.append(
                Fence(
                    path=path,
                    begin=open_at + 1,
                    end=index + 1,
                    indent=indent,
                    function=_enclosing_function(functions, open_at + 1),
                    hints=_hints_above(lines, open_at),
                    body=tuple(lines[open_at + 1 : index]),
                )
            )
            open_at = None
    if open_at is not None:
        raise FenceError(f"{path}:{open_at + 1}: '{BEGIN}' is never closed with '{END}'")
    return fences


def stub_line(fence: Fence, module: str) -> str:
    """The line that replaces ``fence`` in the student's copy (no newline)."""
    message = f"{module}: {fence.function} - see the HINT above"
    return f'{fence.indent}raise NotImplementedError("{message}")'


def strip_solutions(
    source: str, module: str, path: str = "<string>", select: Collection[int] | None = None
) -> str:
    """``source`` with every fence (or only the fences whose index is in ``select``) stubbed.

    ``module`` names the module in the messages (``"layers"``). The result is checked to be
    valid Python; ``FenceError`` names the file and line otherwise.
    """
    fences = find_fences(source, path)
    lines = source.splitlines(keepends=True)
    for index in reversed(range(len(fences))):
        if select is not None and index not in select:
            continue
        fence = fences[index]
        lines[fence.begin - 1 : fence.end] = [stub_line(fence, module) + "\n"]
    result = "".join(lines)
    try:
        ast.parse(result, filename=path)
    except SyntaxError as error:
        raise FenceError(
            f"{path}:{error.lineno}: the student version is not valid Python after replacing "
            f"the fences ({error.msg}); a fence must hold whole statements at one indentation"
        ) from None
    return result


def restore_solutions(skeleton: str, reference: str, path: str = "<string>") -> str:
    """Put the reference's fenced regions back in place of the stubs of ``skeleton``.

    The k-th stub line (``raise NotImplementedError("...: ... - see the HINT above")``) of
    ``skeleton`` becomes the k-th fence of ``reference``, markers included.
    """
    fences = find_fences(reference, path)
    lines = skeleton.splitlines(keepends=True)
    stubs = [i for i, line in enumerate(lines) if STUB_PATTERN.match(line)]
    if len(stubs) != len(fences):
        raise FenceError(
            f"{path}: the student version has {len(stubs)} NotImplementedError stubs but the "
            f"reference has {len(fences)} fences; they must match one to one"
        )
    reference_lines = reference.splitlines(keepends=True)
    for stub, fence in zip(reversed(stubs), reversed(fences), strict=True):
        region = reference_lines[fence.begin - 1 : fence.end]
        if not region[-1].endswith("\n"):
            region[-1] += "\n"
        lines[stub : stub + 1] = region
    return "".join(lines)


def solution_leaks(reference: str, skeleton: str, path: str = "<string>") -> list[str]:
    """Solution text found in ``skeleton``: a fence marker, or a line that the reference has
    only inside its fences (blank lines and lines also found outside the fences excepted)."""
    fences = find_fences(reference, path)
    inside = {line.strip() for fence in fences for line in fence.body if line.strip()}
    fenced_numbers = {n for fence in fences for n in range(fence.begin, fence.end + 1)}
    outside = {
        line.strip()
        for number, line in enumerate(reference.splitlines(), 1)
        if number not in fenced_numbers
    }
    secret = inside - outside
    leaks = []
    for number, line in enumerate(skeleton.splitlines(), 1):
        text = line.strip()
        if text in (BEGIN, END) or text in secret:
            leaks.append(f"{path}:{number}: {text}")
    return leaks
