"""The `fieldsync` command: a thin layer over the server and device libraries."""

from __future__ import annotations

import typer

from fieldsync.cli import device, server

app = typer.Typer(
    help="fieldsync: offline-first CRM sync with per-entity On Conflict policies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server.register(app)
app.add_typer(device.app, name="device")

if __name__ == "__main__":
    app()
