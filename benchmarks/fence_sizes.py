"""How much a student writes in each module, and about how long it takes: the skeleton's size.

For every module package ``packages/NN-name/``, from the solution fences of its source
(``# BEGIN SOLUTION`` / ``# END SOLUTION``, what the student's skeleton replaces):

- fences: fenced regions;
- functions: distinct functions (or methods) that hold a fence, i.e. functions to write;
- lines: non-blank, non-comment lines inside the fences, i.e. lines to write.

The estimate, in hours, is

    hours = READING + PER_FUNCTION * functions + PER_LINE * lines, rounded to the half hour

READING (2.5 h) is the module's reading and systems lessons (README, docstrings, running the
tests and the lesson functions) whatever its size; each function costs about 5 minutes more
(its contract, its test's failure), each line 1.2 minutes (writing and debugging NumPy-dense
lines: derivatives, index and stride work). The constants are calibrated on the course's stated
load, 4-6 hours for modules 01-15 and 3-4 hours for modules 16-20: the median module of each
group lands in its band (about 4.5 h and 3.5 h). A module well outside its band has too much or
too little to write for one sitting: a signal about its fences, not a reason to tune the
constants per module.

    python benchmarks/fence_sizes.py            the table
    python benchmarks/fence_sizes.py --json     the same, as JSON
    python benchmarks/fence_sizes.py --readme   the "Time:" line of each module's README
    python benchmarks/fence_sizes.py --update-readmes   write it into each README.md

Counting only, no timing: it runs in well under a second. The "Time:" line of each package's
README.md comes from ``--update-readmes`` (rerun it after moving fences).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tinytorch.course.fences import find_fences

ROOT = Path(__file__).resolve().parents[1]
READING = 2.5  # hours per module, whatever its size
PER_FUNCTION = 0.08  # hours per function to write (about 5 minutes)
PER_LINE = 0.02  # hours per line to write (1.2 minutes)
SEED_BAND = {range(1, 16): "4-6 h", range(16, 21): "3-4 h"}


@dataclass
class Size:
    module: str
    fences: int
    functions: int
    lines: int
    hours: float

    @property
    def band(self) -> str:
        number = int(self.module[:2])
        return next(band for numbers, band in SEED_BAND.items() if number in numbers)

    def readme_line(self) -> str:
        return (
            f"Time: about {self.hours:g} hours ({self.functions} functions, "
            f"{self.lines} lines to write)"
        )


def file_fences(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, lines to write) of each fence of one source file: the course
    tooling's own fence parser (``tinytorch.course.fences``), lines that are neither blank nor
    comments counted."""
    fences = find_fences(path.read_text(encoding="utf-8"), str(path))
    return [
        (
            f"{path.name}:{fence.function}",
            sum(1 for line in fence.body if line.strip() and not line.strip().startswith("#")),
        )
        for fence in fences
    ]


def estimate(functions: int, lines: int) -> float:
    """Hours, to the half hour: READING + PER_FUNCTION * functions + PER_LINE * lines."""
    if functions == 0:
        return 0.0
    return round(2 * (READING + PER_FUNCTION * functions + PER_LINE * lines)) / 2


def module_size(folder: Path) -> Size:
    fences = [f for p in sorted((folder / "src").rglob("*.py")) for f in file_fences(p)]
    functions = len({name for name, _ in fences})
    lines = sum(written for _, written in fences)
    return Size(folder.name, len(fences), functions, lines, estimate(functions, lines))


def sizes(root: Path = ROOT) -> list[Size]:
    folders = sorted(p.parent for p in root.glob("packages/[0-9][0-9]-*/pyproject.toml"))
    return [module_size(folder) for folder in folders]


def update_readme(readme: Path, size: Size) -> bool:
    """Replace the README's ``Time: about ...`` paragraph, or add one after the first paragraph
    below the title; True when the file changed."""
    text = readme.read_text(encoding="utf-8")
    line = size.readme_line()[:-1] + "; see `benchmarks/fence_sizes.py`)."
    lines = text.split("\n")
    at = next((i for i, x in enumerate(lines) if x.startswith("Time: about ")), None)
    if at is not None:
        lines[at] = line
    else:
        start = next(i for i, x in enumerate(lines) if i > 0 and x.strip())  # first paragraph
        end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
        lines[end:end] = ["", line]
    new = "\n".join(lines)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--readme", action="store_true", help="print each README's Time: line")
    parser.add_argument(
        "--update-readmes",
        action="store_true",
        help="write the Time: line into each fenced module's README.md",
    )
    args = parser.parse_args(argv)
    table = sizes()
    if args.update_readmes:
        for s in table:
            readme = ROOT / "packages" / s.module / "README.md"
            if s.fences and readme.is_file() and update_readme(readme, s):
                print(f"updated {readme.relative_to(ROOT)}: {s.readme_line()}")
        return 0
    if args.json:
        print(json.dumps([asdict(s) | {"seed_band": s.band} for s in table], indent=2))
        return 0
    if args.readme:
        for s in table:
            print(f"{s.module}: {s.readme_line() if s.fences else '(no fences yet)'}")
        return 0
    print(
        f"hours = {READING} + {PER_FUNCTION} x functions + {PER_LINE} x lines (to the half hour)\n"
    )
    print(f"{'module':<18}{'fences':>7}{'functions':>10}{'lines':>7}{'hours':>7}  seed")
    for s in table:
        hours = f"{s.hours:g}" if s.fences else "-"
        print(f"{s.module:<18}{s.fences:>7}{s.functions:>10}{s.lines:>7}{hours:>7}  {s.band}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
