"""Device commands: log in, edit offline, sync, and settle Sync errors."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from fieldsync import forms
from fieldsync.cli.common import (
    JsonOption,
    console,
    errors,
    failures,
    parse_assignments,
    print_json,
)
from fieldsync.device import Device, SyncReport
from fieldsync.errors import Missing, StateConflict, ValidationFailed
from fieldsync.project import Entity

app = typer.Typer(
    help="A field worker's device: offline edits, sync, Sync errors.", no_args_is_help=True
)

DirOption = Annotated[
    Path, typer.Option("--dir", envvar="FIELDSYNC_DEVICE", help="The device directory.")
]


def _open(directory: Path) -> Device:
    return Device(directory)


def _converter(entity: Entity) -> Any:
    def convert(name: str, text: str) -> Any:
        fdef = entity.field(name)
        return text if fdef is None else forms.typed(fdef, text)  # unknown: the server says so

    return convert


@app.command()
def login(
    directory: DirOption,
    server: Annotated[str, typer.Option(help="The server URL.")],
    user: Annotated[str, typer.Option(help="Username.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    ca_file: Annotated[
        Path | None,
        typer.Option(
            help="Trust this CA certificate (PEM) alone for the server's TLS certificate; "
            "kept in the device directory."
        ),
    ] = None,
    discard_unsynced: Annotated[
        bool,
        typer.Option(
            "--discard-unsynced",
            help="Switching user: drop the previous user's changes not yet synced.",
        ),
    ] = False,
) -> None:
    """Log a device directory in to a server and download the project.

    Another user than the last one gets a new device id and their own records; that is
    refused while the previous user has unsynced changes, unless --discard-unsynced.
    Example: fieldsync device login --dir ./phone --server https://crm.example.com --user alice
    """
    with failures(), warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            device = Device.login(
                directory, server, user, password, ca_file, discard_unsynced=discard_unsynced
            )
        except StateConflict as refusal:
            if refusal.code != "unsynced_changes":
                raise
            raise _losing_changes(refusal, directory) from None
    for warning in warned:
        errors.print(f"[yellow]warning:[/yellow] {warning.message}")
    console.print(f"device {device.device_id} logged in as {user}; run `fieldsync device sync`")


def _losing_changes(refusal: StateConflict, directory: Path) -> StateConflict:
    """The refusal to switch user, with the commands that settle it."""
    previous = refusal.details["user"]
    head = refusal.message.rpartition(": ")[0]  # the library's advice is replaced
    return StateConflict(
        f"{head}: run `fieldsync device sync --dir {directory}` first (and settle "
        f"`fieldsync device errors`), or log in again with --discard-unsynced to drop "
        f"{previous}'s changes",
        code=refusal.code,
    )


@app.command("list")
def list_records(entity: str, directory: DirOption, as_json: JsonOption = False) -> None:
    """List the records of an entity on the device.

    Example: fieldsync device list account --dir ./phone
    """
    with failures():
        device = _open(directory)
        fields = device.entity(entity).field_names
        found = device.records(entity)
    if as_json:
        print_json(found)
        return
    table = Table("id", *fields[:5], "state")
    for record_id, values in found.items():
        cells = ["" if values.get(f) is None else str(values.get(f)) for f in fields[:5]]
        table.add_row(record_id, *cells, device.status(entity, record_id) or "")
    console.print(table)


@app.command()
def show(entity: str, record_id: str, directory: DirOption, as_json: JsonOption = False) -> None:
    """Show one record.

    Example: fieldsync device show account 4f0c… --dir ./phone
    """
    with failures():
        device = _open(directory)
        device.entity(entity)
        values = device.get(entity, record_id)
        if values is None:
            raise Missing(f"no {entity} {record_id} on this device", code="not_found")
    if as_json:
        print_json(values)
        return
    table = Table("field", "value")
    for name, value in values.items():
        table.add_row(name, "" if value is None else str(value))
    console.print(table)
    console.print(f"state: {device.status(entity, record_id)}")


@app.command()
def create(entity: str, assignments: list[str], directory: DirOption) -> None:
    """Create a record offline; prints its id.

    Example: fieldsync device create account name=Acme city=Bratislava --dir ./phone
    """
    with failures():
        device = _open(directory)
        values = parse_assignments(assignments, _converter(device.entity(entity)))
        typer.echo(device.create(entity, values))


@app.command()
def edit(entity: str, record_id: str, assignments: list[str], directory: DirOption) -> None:
    """Change fields of a record offline.

    Example: fieldsync device edit account 4f0c… phone="+421 900 000" --dir ./phone
    """
    with failures():
        device = _open(directory)
        values = parse_assignments(assignments, _converter(device.entity(entity)))
        device.update(entity, record_id, values)
    console.print(f"{entity} {record_id} changed; it will be pushed at the next sync")


@app.command()
def delete(entity: str, record_id: str, directory: DirOption) -> None:
    """Delete a record offline.

    Example: fieldsync device delete account 4f0c… --dir ./phone
    """
    with failures():
        _open(directory).delete(entity, record_id)
    console.print(f"{entity} {record_id} deleted; it will be pushed at the next sync")


@app.command()
def sync(directory: DirOption, as_json: JsonOption = False) -> None:
    """Push local changes, pull the server's, and print a summary.

    Exits 0 when the sync itself succeeded, even with conflicts or rejections.
    Example: fieldsync device sync --dir ./phone
    """
    with failures():
        device = _open(directory)
        if as_json:
            print_json(device.sync().as_dict())
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"))
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("syncing…")
            report = device.sync(
                lambda phase, done, downloaded=0: bar.update(
                    task, description=_progress_line(phase, done, downloaded)
                )
            )
    _print_summary(report, device.error_count())


def _progress_line(phase: str, done: int, downloaded: int) -> str:
    if phase == "pull":
        return f"pull: {done} records, {_megabytes(downloaded)}"
    if phase == "first_screen":
        return f"first screen: {done} records, {_megabytes(downloaded)}"
    return f"{phase}: {done}"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _print_summary(report: SyncReport, errors: int) -> None:
    counts = {
        "pushed": report.pushed,
        "applied": report.applied,
        "merged": report.merged,
        "server won": report.server_wins,
        "device won": report.device_wins,
        "conflicts": report.conflicts,
        "rejected": report.rejected,
        "pulled": report.pulled,
    }
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    console.print(f"sync finished: {summary} ({_megabytes(report.downloaded)} downloaded)")
    if errors:
        console.print(f"[yellow]Sync errors ({errors})[/yellow]: run `fieldsync device errors`")


@app.command("errors")
def sync_errors(directory: DirOption, as_json: JsonOption = False) -> None:
    """Show Sync errors: open conflicts and rejected changes.

    Example: fieldsync device errors --dir ./phone --json
    """
    with failures():
        found = _open(directory).errors()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no sync errors")
        return
    for error in found:
        if error["type"] == "conflict":
            _print_conflict(error)
        else:
            console.print(
                f"[red]rejected[/red] {error['entity']} {error['record_id']}: {error['message']}"
            )


def _print_conflict(error: dict[str, Any]) -> None:
    """The three-way table of a conflict: before, mine ("you") and the office's, per field
    changed on either side; the unchanged fields are named on one line below it."""
    title = f"conflict {error['id']}\n{error['entity']} {error['record_id']}: {error['what']}"
    table = Table("field", "before", "you", "office", "changed by", title=title)
    unchanged = []
    for change in error["three_way"]:
        if not change["changed_by"]:
            unchanged.append(change["field"])
            continue
        table.add_row(
            change["field"],
            _value(change["before"]),
            _cell(change["device"], error["device"] is None),
            _cell(change["server"], error["server"] is None),
            change["changed_by"],
        )
    console.print(table)
    if unchanged:
        console.print(f"  unchanged: {', '.join(unchanged)}")
    words = error["choices"]
    console.print(f"  --use device: {words['device']}   --use server: {words['server']}")
    if error["suggested_merge"]:
        picks = " ".join(f"--device-field {name}" for name in error["suggested_merge"])
        console.print(f"  --use merge {picks}: each field from the side that changed it")


def _value(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _cell(value: Any, deleted: bool) -> str:
    return "(deleted)" if deleted else _value(value)


@app.command()
def resolve(
    directory: DirOption,
    conflict_id: Annotated[str | None, typer.Argument(help="The conflict to resolve.")] = None,
    use: Annotated[str, typer.Option(help="device, server or merge")] = "device",
    resolve_all: Annotated[bool, typer.Option("--all", help="Every open conflict.")] = False,
    take_device: Annotated[
        list[str] | None,
        typer.Option("--device-field", help="With --use merge: a field to take from the device."),
    ] = None,
) -> None:
    """Decide an open conflict; the choice is applied at the next sync.

    Example: fieldsync device resolve 7d2e… --use merge --device-field phone --dir ./phone
    """
    with failures():
        device = _open(directory)
        if resolve_all:
            count = device.resolve_all(use)
            console.print(f"{count} conflict(s) will use the {use} version at the next sync")
            return
        if conflict_id is None:
            raise ValidationFailed("missing_conflict", "name a conflict id or give --all")
        picks = {name: "device" for name in take_device or []}
        device.resolve(conflict_id, use, picks)
    console.print(f"conflict {conflict_id}: {use} chosen; run `fieldsync device sync` to apply")


@app.command()
def retry(entity: str, record_id: str, directory: DirOption) -> None:
    """Send a rejected change again at the next sync.

    Example: fieldsync device retry contact 4f0c… --dir ./phone
    """
    with failures():
        _open(directory).retry(entity, record_id)
    console.print(f"{entity} {record_id} will be retried at the next sync")


@app.command()
def discard(entity: str, record_id: str, directory: DirOption) -> None:
    """Drop a rejected change and return to the server's version.

    Example: fieldsync device discard contact 4f0c… --dir ./phone
    """
    with failures():
        _open(directory).discard(entity, record_id)
    console.print(f"{entity} {record_id}: change discarded")
