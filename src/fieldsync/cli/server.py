"""Server-side commands: serve, users, the project, and the demo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from fieldsync.cli.common import DbOption, console, failures
from fieldsync.errors import BadRequest, InvalidProject
from fieldsync.project import Project, project_from_dict
from fieldsync.server.settings import HELP, Settings, variable

if TYPE_CHECKING:
    from fieldsync.server.customization import Report
    from fieldsync.server.db import Database

# The server's modules (SQLAlchemy, Alembic, Argon2) are imported by the commands that use
# them: `fieldsync device …` starts without them.

user_app = typer.Typer(help="Manage server users.", no_args_is_help=True)
db_app = typer.Typer(help="The server database: schema upgrades, tombstones.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens: sign users or devices out.", no_args_is_help=True)
project_app = typer.Typer(
    help="The customization: entities, fields, On Conflict.", no_args_is_help=True
)


@contextmanager
def _database(db: str | None, *, upgrade: bool = False) -> Iterator[Database]:
    """The prepared database, closed when the command ends."""
    from fieldsync.server.db import Database

    with failures():
        database = Database(db)
    try:
        with failures():
            database.prepare(upgrade=upgrade)
        yield database
    finally:
        database.dispose()


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes on this port.")] = 1,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", help="Upgrade an older database schema first.")
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(help=HELP["forwarded_allow_ips"], envvar=variable("forwarded_allow_ips")),
    ] = Settings.forwarded_allow_ips,
    devices_per_user: Annotated[
        int,
        typer.Option(min=1, help=HELP["devices_per_user"], envvar=variable("devices_per_user")),
    ] = Settings.devices_per_user,
    login_concurrency: Annotated[
        int,
        typer.Option(min=1, help=HELP["login_concurrency"], envvar=variable("login_concurrency")),
    ] = Settings.login_concurrency,
    body_timeout: Annotated[
        float,
        typer.Option(min=0.1, help=HELP["body_timeout"], envvar=variable("body_timeout")),
    ] = Settings.body_timeout,
    keep_alive_timeout: Annotated[
        int, typer.Option(min=1, help="Seconds an idle connection is kept between requests.")
    ] = 5,
    limit_concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Connections and requests at once per process (then 503)."),
    ] = None,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="Serve HTTPS with this certificate (PEM, the chain after it)."),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="The certificate's private key (PEM).")
    ] = None,
) -> None:
    """Run the CRM server and sync endpoint.

    Example: fieldsync serve --db postgresql://fieldsync@db-host/crm --workers 4
    --forwarded-allow-ips 10.0.0.5
    """
    import uvicorn

    from fieldsync.server import password_hashes
    from fieldsync.server.asgi import serving

    settings = Settings(forwarded_allow_ips, devices_per_user, login_concurrency, body_timeout)
    # Without a trusted proxy, X-Forwarded-For is nobody's word: the peer is the client.
    proxies = {
        "proxy_headers": bool(forwarded_allow_ips),
        "forwarded_allow_ips": forwarded_allow_ips or None,
    }
    certfile, keyfile = _tls(ssl_certfile, ssl_keyfile)
    scheme = "https" if certfile else "http"
    with _database(db, upgrade=upgrade) as database:
        console.print(f"fieldsync serving {database.display_url} on {scheme}://{host}:{port}")
        if password_hashes.cheap_for_tests():
            console.print(
                f"[bold red]{password_hashes.CHEAP_FOR_TESTS}=1: new password hashes are "
                "cheap to crack; for the test suite only[/]"
            )
        if workers == 1:
            app = serving(database, settings)
            uvicorn.run(
                app,
                host=host,
                port=port,
                log_level="info",
                timeout_keep_alive=keep_alive_timeout,
                limit_concurrency=limit_concurrency,
                ssl_certfile=certfile,
                ssl_keyfile=keyfile,
                **proxies,  # type: ignore[arg-type]
            )
            return
    os.environ.update({"FIELDSYNC_DB": database.url, **settings.to_env()})
    uvicorn.run(
        "fieldsync.server.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_keep_alive=keep_alive_timeout,
        limit_concurrency=limit_concurrency,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        **proxies,  # type: ignore[arg-type]
    )


def _tls(certfile: Path | None, keyfile: Path | None) -> tuple[str | None, str | None]:
    """uvicorn's TLS options: both files or neither (a phone's browser runs the field app's
    service worker only from an HTTPS origin)."""
    if certfile is None and keyfile is None:
        return None, None
    if certfile is None or keyfile is None:
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")
    for path in (certfile, keyfile):
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file")
    return str(certfile), str(keyfile)


@user_app.command("add")
def user_add(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    is_admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    db: DbOption = None,
) -> None:
    """Add a user (the password policy applies: docs/security.md).

    Example: fieldsync user add alice --password 'harbour lantern'
    """
    from fieldsync.server import users

    with failures(), _database(db) as database, database.write() as conn:
        users.enroll(conn, name, password, admin=is_admin)
    console.print(f"added {'admin' if is_admin else 'user'} {name}")


@user_app.command("passwd")
def user_passwd(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    db: DbOption = None,
) -> None:
    """Give a user a new password: every token they hold is revoked (devices log in again).

    Example: fieldsync user passwd alice
    """
    from fieldsync.server import users

    with failures(), _database(db) as database, database.write() as conn:
        count = users.set_password(conn, users.find(conn, name), password)
    console.print(f"password of {name} changed; revoked {count} token{'' if count == 1 else 's'}")


@token_app.command("revoke")
def token_revoke(
    user: Annotated[str | None, typer.Option(help="Every token of this user.")] = None,
    device: Annotated[str | None, typer.Option(help="Every token of this device id.")] = None,
    db: DbOption = None,
) -> None:
    """Revoke tokens now: the user's or the device's apps must log in again.

    Example: fieldsync token revoke --user alice
    """
    from fieldsync.server import users

    if (user is None) == (device is None):
        raise typer.BadParameter("give --user or --device")
    with failures(), _database(db) as database, database.write() as conn:
        if user is not None:
            count = users.revoke_user(conn, users.find(conn, user))
        else:
            count = users.revoke_device(conn, str(device))
    console.print(f"revoked {count} token{'' if count == 1 else 's'}")


@project_app.command("export")
def project_export(file: Path, db: DbOption = None) -> None:
    """Write the current project to a YAML file.

    Example: fieldsync project export project.yaml
    """
    from fieldsync.server import projects

    with _database(db) as database, database.read() as conn:
        data = projects.current(conn).to_dict()
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    console.print(f"exported project version {data['version']} to {file}")


@project_app.command("import")
def project_import(
    file: Path,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what it would break; publish nothing.")
    ] = False,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Publish it even if it breaks stored data.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Publish a project from a YAML file as the next version.

    A project that drops entities or fields, or that stored values no longer fit, is
    refused unless --confirm; --dry-run shows what it would break.

    Example: fieldsync project import project.yaml --dry-run
    """
    from fieldsync.server import admin

    if dry_run and confirm:
        raise typer.BadParameter("--dry-run and --confirm exclude each other")
    with failures():
        imported = _project_in(file)
        with _database(db) as database:
            if dry_run:
                with database.read() as conn:
                    _show(admin.preview_import(conn, imported))
                return
            with database.write() as conn:
                published = admin.import_project(conn, None, imported, confirm=confirm)
    console.print(f"published project version {published.version}")


def _show(report: Report) -> None:
    """A dry run's report, one line per breakage."""
    from fieldsync.server.customization import PENDING_EDITS

    if not report.destructive:
        console.print("nothing stored is broken by this change; nothing was published")
        return
    console.print("this change would break (nothing was published):")
    for breakage in report.breakages:
        console.print(f"  {breakage.message()}", markup=False)
    console.print(f"devices that synced: {', '.join(report.devices) or 'none'}", markup=False)
    console.print(PENDING_EDITS)
    console.print("publish it with --confirm")


def _project_in(file: Path) -> Project:
    """The project a file defines, or a refusal that names the file."""
    data = _project_file(file)
    try:
        return project_from_dict(data)
    except InvalidProject as failure:
        raise InvalidProject(f"{file}: {failure.message}") from None


def _project_file(file: Path) -> dict[str, Any]:
    """The mapping a project file holds, or a refusal saying what is wrong and where."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        reason = getattr(failure, "strerror", None) or str(failure)
        raise BadRequest(f"cannot read {file}: {reason}", code="unreadable_file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as failure:
        raise BadRequest(f"{file}: {_yaml_problem(failure)}", code="invalid_yaml") from None
    except yaml.YAMLError as failure:
        raise BadRequest(f"{file}: not valid YAML: {failure}", code="invalid_yaml") from None
    if data is None:
        raise BadRequest(
            f"{file} is empty; export a project to see the format", code="not_a_project"
        )
    if not isinstance(data, dict):
        kinds: dict[type, str] = {list: "a list", str: "a text"}
        kind = kinds.get(type(data), type(data).__name__)
        raise BadRequest(
            f"{file} must hold a project (a mapping with `entities`), not {kind}",
            code="not_a_project",
        )
    if "entities" not in data:  # a forgotten key, not a wish to drop every entity
        raise BadRequest(f"{file} has no `entities:` list", code="not_a_project")
    return data


def _yaml_problem(failure: yaml.MarkedYAMLError) -> str:
    """Where a YAML error is (1-based, as editors count) and what it is."""
    mark = failure.problem_mark or failure.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}{failure.problem or failure.context or 'not valid YAML'}"


@project_app.command("set")
def project_set(
    entity: str,
    on_conflict: Annotated[
        str | None,
        typer.Option(help="server_wins, partial_device_wins, full_device_wins or user_action"),
    ] = None,
    detection: Annotated[str | None, typer.Option(help="record or field")] = None,
    sync_filter: Annotated[str | None, typer.Option(help="all, owned or none")] = None,
    db: DbOption = None,
) -> None:
    """Change an entity's conflict settings.

    Example: fieldsync project set account --on-conflict user_action --detection field
    """
    from fieldsync.server import admin
    from fieldsync.server.users import Principal

    cli_admin = Principal(user_id="cli", username="cli", role="admin")
    changes = {
        "on_conflict": on_conflict,
        "conflict_detection": detection,
        "sync_filter": sync_filter,
    }
    with failures(), _database(db) as database, database.write() as conn:
        changed = admin.update_entity(
            conn, cli_admin, entity, {k: v for k, v in changes.items() if v is not None}
        )
    console.print(
        f"{changed.name}: on_conflict={changed.on_conflict}, "
        f"detection={changed.conflict_detection}, sync_filter={changed.sync_filter}"
    )


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Upgrade the database schema to this fieldsync's (back it up first).

    Example: fieldsync db upgrade --db postgresql://fieldsync@db-host/crm
    """
    from fieldsync.server import migrate

    with _database(db, upgrade=True):
        console.print(f"schema at revision {migrate.head()}")


@db_app.command("vacuum")
def db_vacuum(
    older_than_days: Annotated[
        float, typer.Option(help="Purge tombstones older than this many days.")
    ] = 30,
    db: DbOption = None,
) -> None:
    """Purge old tombstones; devices whose last sync is older re-download everything.

    Example: fieldsync db vacuum --older-than-days 90
    """
    from fieldsync.server import tombstones

    with _database(db) as database, database.write() as conn:
        done = tombstones.vacuum(conn, timedelta(days=older_than_days))
    console.print(f"purged {done.purged} tombstones; cursors before {done.horizon} must resync")


@db_app.command("restored")
def db_restored(db: DbOption = None) -> None:
    """After restoring a backup: every device re-downloads at its next sync, keeping its edits.

    Example: fieldsync db restored --db postgresql://fieldsync@db-host/crm
    """
    from fieldsync.server import cursors

    with _database(db) as database, database.write() as conn:
        cursors.new_epoch(conn)
    console.print("new history started: every device will re-download at its next sync")


def demo() -> None:
    """Show every policy and delete case on a temporary server with two devices.

    Example: fieldsync demo
    """
    from fieldsync.demo import run

    with failures():
        run(console)


def register(app: typer.Typer) -> None:
    """Add the server-side commands to the main app."""
    app.command()(serve)
    app.command()(demo)
    app.add_typer(user_app, name="user")
    app.add_typer(project_app, name="project")
    app.add_typer(db_app, name="db")
    app.add_typer(token_app, name="token")
