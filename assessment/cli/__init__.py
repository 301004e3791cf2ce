"""The ``dxm`` command line (Typer). Each command group lives in its own module."""

from assessment.cli.main import app

__all__ = ["app"]
