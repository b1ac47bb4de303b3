"""``python -m tinytorch.generation train|sample ...`` (see `tinytorch.generation.cli`)."""

from tinytorch.generation.cli import main

raise SystemExit(main())
