"""Version of the tinytorch-setup package (read by hatchling at build time)."""

__version__ = "0.3.0"
