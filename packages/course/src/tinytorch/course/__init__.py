"""TinyTorch course tooling: student workspaces, solution fences, test runs, grading.

Not one of the twenty modules and depends on none of them: it reads the course folder
(``packages/NN-name/``) and runs each module's tests in a child process whose ``tinytorch``
namespace is made of exactly the folders chosen (``testrun``). The ``tinytorch`` command's
course verbs live in ``cli``/``commands``; package discovery shared with the noxfiles in
``packages``.
"""

from tinytorch.course.__about__ import __version__

__all__ = ["__version__"]
