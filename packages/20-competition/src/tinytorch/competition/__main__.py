"""``python -m tinytorch.competition``: the ``tinytorch compete`` command."""

from tinytorch.competition.cli import main

raise SystemExit(main())
