"""``python -m tinytorch.course`` runs the course verbs (``tinytorch-course``)."""

from tinytorch.course.cli import main

raise SystemExit(main())
