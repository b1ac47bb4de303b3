"""``python -m tinytorch.setup`` runs the ``tinytorch`` command line."""

from tinytorch.setup.cli import main

raise SystemExit(main())
