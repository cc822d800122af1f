"""The stored project: every published version is kept, the newest is current."""

from __future__ import annotations

from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fieldsync.clock import now
from fieldsync.demo_project import demo_project
from fieldsync.errors import NotFound
from fieldsync.project import Entity, Project, project_from_dict, with_entity
from fieldsync.server import scopes
from fieldsync.server.schema import projects

# The newest project each database served, as parsed, by when it was published.
# A published version never changes, so another process publishing a newer one
# only makes an entry stale, which the stamp read by every `current` call notices.
_parsed: WeakKeyDictionary[Engine, tuple[tuple[int, str], Project]] = WeakKeyDictionary()
_NEWEST = (
    sa.select(projects.c.version, projects.c.created_at)
    .order_by(projects.c.version.desc())
    .limit(1)
)


def current(conn: Connection) -> Project:
    """The project devices download now.

    Every push and pull needs it: reading its version is one index lookup, while
    reading and parsing the definition took a few milliseconds a request.
    """
    version, created_at = conn.execute(_NEWEST).one()
    cached = _parsed.get(conn.engine)
    if cached is not None and cached[0] == (version, created_at):
        return cached[1]
    definition = conn.execute(
        sa.select(projects.c.definition).where(projects.c.version == version)
    ).scalar_one()
    project = project_from_dict(definition)
    _parsed[conn.engine] = ((version, created_at), project)
    return project


def entity(conn: Connection, name: str) -> Entity:
    """One entity of the current project, or 404."""
    return entity_in(current(conn), name)


def entity_in(project: Project, name: str) -> Entity:
    """One entity of `project`, or 404."""
    found = project.entity(name)
    if found is None:
        raise NotFound(f"no entity {name!r:.80}", code="unknown_entity")
    return found


def publish(conn: Connection, project: Project, user_id: str | None) -> Project:
    """Store `project` as the newest version, and the scope changes it makes."""
    published = conn.execute(_NEWEST).first() is not None
    scopes.note(conn, current(conn) if published else None, project)
    conn.execute(
        sa.insert(projects).values(
            version=project.version,
            definition=project.to_dict(),
            created_at=now(),
            created_by=user_id,
        )
    )
    return project


def publish_entity(conn: Connection, changed: Entity, user_id: str) -> Project:
    """Publish the next version with one entity replaced (or added)."""
    return publish(conn, with_entity(current(conn), changed), user_id)


def replace_all(conn: Connection, imported: Project, user_id: str | None) -> Project:
    """Publish an imported project as the next version."""
    version = current(conn).version + 1
    return publish(conn, Project(version=version, entities=imported.entities), user_id)


def seed(conn: Connection) -> None:
    """Give a new database the demo project."""
    publish(conn, demo_project(), None)
