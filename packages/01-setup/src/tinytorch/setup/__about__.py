"""Version of the tinytorch-setup package (read by hatchling at build time)."""

__version__ = "0.2.2"
