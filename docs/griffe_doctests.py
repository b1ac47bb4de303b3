"""griffe extension (mkdocs.yml, mkdocstrings ``extensions``): doctest examples as code blocks.

TinyTorch's docstrings carry runnable examples as bare doctest lines (``>>> x = ...`` followed by
the expected output), outside any ``Examples:`` section. Markdown would read them as block quotes
and their outputs (``[(5, 8), (5, 1)]``) as reference links; this fences each run of doctest
lines, outputs included, as a ``pycon`` block, so they render as the console session they are.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """Wrap every block of lines starting at a ``>>>`` line, up to the next blank line, in a
    ```` ```pycon ```` fence (left alone inside an existing fence)."""
    out: list[str] = []
    in_fence = in_doctest = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        if not in_doctest and stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and not in_doctest and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out += ([""] if out and out[-1].strip() else []) + [f"{indent}```pycon"]
            in_doctest = True
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
