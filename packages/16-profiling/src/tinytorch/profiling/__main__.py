"""``python -m tinytorch.profiling compare BASELINE.json NEW.json [--min-effect 0.05]
[--alpha 0.01]``: compare every benchmark present in both files; exit 1 if one got slower."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tinytorch.profiling.regression import compare, load_baseline


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinytorch.profiling")
    commands = parser.add_subparsers(dest="command", required=True)
    cmp = commands.add_parser("compare", help="compare NEW benchmark samples to a BASELINE")
    cmp.add_argument("baseline")
    cmp.add_argument("new")
    cmp.add_argument("--min-effect", type=float, default=0.05)
    cmp.add_argument("--alpha", type=float, default=0.01)
    args = parser.parse_args(argv)
    baseline, new = load_baseline(args.baseline), load_baseline(args.new)
    common = [name for name in baseline if name in new]
    if not common:
        print(f"no benchmark is in both {args.baseline} and {args.new}", file=sys.stderr)
        return 2
    regressions = 0
    for name in common:
        result = compare(baseline[name], new[name], args.min_effect, args.alpha)
        regressions += result.verdict == "slower"
        print(f"{name}: {result}")
    if regressions:
        print(f"{regressions} regression(s)", file=sys.stderr)
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
