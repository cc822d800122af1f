"""`python -m fieldsync` runs the CLI."""

from fieldsync.cli.main import app

app()
