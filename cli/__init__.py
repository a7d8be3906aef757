"""The ``acquire`` command line (installed as ``acquire.cli``): a thin layer over the public API."""

from acquire.cli.main import cli, main

__all__ = ["cli", "main"]
