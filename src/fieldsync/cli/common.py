"""What the CLI commands share: options, output, and errors shown as one clear line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from fieldsync.errors import DeviceError, FieldsyncError, Offline, Refused, ValidationFailed

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line, however long

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="FIELDSYNC_DB",
        help="SQLite file or postgresql:// URL [default: fieldsync.db]",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@contextmanager
def failures() -> Iterator[None]:
    """Turn fieldsync errors into a message and exit code 1."""
    try:
        yield
    except Refused as failure:
        errors.print(f"[red]error:[/red] {escape(failure.message)} ({failure.code})")
        raise typer.Exit(1) from None
    except Offline as failure:
        what = escape(str(failure))
        errors.print(f"[red]offline:[/red] {what}; nothing is lost, changes stay pending")
        raise typer.Exit(1) from None
    except (DeviceError, FieldsyncError) as failure:
        errors.print(f"[red]error:[/red] {escape(str(failure))}")
        raise typer.Exit(1) from None


def print_json(data: Any) -> None:
    """Print data as indented JSON."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def parse_assignments(pairs: list[str], convert: Callable[[str, str], Any]) -> dict[str, Any]:
    """`field=value` words as a dict, each value converted by its field's type."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ValidationFailed("bad_assignment", f"expected field=value, not {pair!r}")
        values[name] = convert(name, text)
    return values
