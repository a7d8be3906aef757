"""The package version, read by setup.cfg and written into every model manifest."""

__version__ = "0.1.0"
