"""`python -m tinytorch`: the TinyTorch command line (the same as the `tinytorch` command)."""

from tinytorch.setup.cli import main

raise SystemExit(main())
