"""Parsing a project: a good one round-trips, each kind of bad one is refused with a
message saying what is wrong (pure: no server, no database)."""

from __future__ import annotations

from typing import Any

import pytest

from fieldsync.demo_project import demo_project
from fieldsync.errors import InvalidProject
from fieldsync.project import (
    NAME_LENGTH,
    Detection,
    FieldType,
    Policy,
    SyncFilter,
    apply_settings,
    project_from_dict,
    with_entity,
)


def test_the_demo_project_round_trips_through_its_dict() -> None:
    project = demo_project()
    shown = project.to_dict()
    assert project_from_dict(shown) == project
    assert project_from_dict(shown).to_dict() == shown
    account = shown["entities"][0]
    assert list(account) == [
        "name",
        "label",
        "on_conflict",
        "conflict_detection",
        "sync_filter",
        "fields",
        "upcoming_field",
    ]
    assert shown["entities"][2]["upcoming_field"] == "start"
    assert account["fields"][0] == {
        "name": "name",
        "type": "string",
        "label": "Name",
        "required": True,
        "max_length": 160,
        "options": [],
        "target": None,
    }


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ("subject", "upcoming_field of appointment must name one of its date or datetime fields"),
        ("nowhere", "upcoming_field of appointment must name one of its date or datetime fields"),
        (7, "entities.2.upcoming_field: Input should be a valid string"),
    ],
)
def test_an_upcoming_field_must_be_a_date_or_datetime_field_of_its_entity(
    named: object, message: str
) -> None:
    shown = demo_project().to_dict()
    shown["entities"][2]["upcoming_field"] = named
    with pytest.raises(InvalidProject, match=message):
        project_from_dict(shown)


def test_a_minimal_project_gets_the_defaults() -> None:
    project = project_from_dict(
        {
            "entities": [
                {"name": "site", "fields": [{"name": "title", "type": "string"}]},
                {"name": "visit", "fields": [{"name": "site", "type": "lookup", "target": "site"}]},
            ]
        }
    )
    site = project.entity("site")
    assert site is not None
    assert project.version == 1
    assert (site.label, site.on_conflict, site.conflict_detection, site.sync_filter) == (
        "Site",
        Policy.SERVER_WINS,
        Detection.RECORD,
        SyncFilter.ALL,
    )
    title = site.field("title")
    assert title is not None
    assert (title.label, title.required, title.max_length, title.options, title.target) == (
        "title",
        False,
        None,
        (),
        None,
    )
    visit = project.entity("visit")
    assert visit is not None
    assert [f.name for f in visit.lookup_fields] == ["site"]


def test_lenient_inputs_are_read_as_before() -> None:
    project = project_from_dict(
        {
            "version": "3",
            "entities": [
                {
                    "name": "site",
                    "label": None,
                    "fields": [
                        {"name": "kind", "type": "picklist", "options": [1, "two"], "required": 1},
                        {"name": "note", "type": "string", "target": "site", "extra": "ignored"},
                    ],
                }
            ],
        }
    )
    site = project.entity("site")
    assert project.version == 3
    assert site is not None
    assert site.label == "Site"
    kind, note = site.fields
    assert (kind.type, kind.options, kind.required) == (FieldType.PICKLIST, ("1", "two"), True)
    assert note.target is None  # only a lookup has a target


def entity(**definition: Any) -> dict[str, Any]:
    return {"entities": [{"name": "site", **definition}]}


def field(**definition: Any) -> dict[str, Any]:
    return entity(fields=[{"name": "title", "type": "string", **definition}])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"entities": "site"}, "entities must be a list"),
        ({"entities": ["site"]}, "entities[1] must be a mapping, not 'site'"),
        ({"version": "two", "entities": []}, "version must be a whole number, not 'two'"),
        (entity(name="my site"), "entity name 'my site' is not an identifier"),
        (entity(name=7), "entity name 7 is not an identifier"),
        (
            entity(name="e" * (NAME_LENGTH + 1)),
            f"names are at most {NAME_LENGTH} characters",
        ),
        (entity(fields="title"), "fields of site must be a list"),
        (entity(fields=["title"]), "fields[1] of site must be a mapping, not 'title'"),
        (
            entity(on_conflict="coin_flip"),
            "on_conflict must be one of: server_wins, partial_device_wins, "
            "full_device_wins, user_action",
        ),
        (entity(on_conflict=None), "on_conflict must be one of"),
        (entity(conflict_detection="cell"), "conflict_detection must be one of: record, field"),
        (entity(sync_filter="mine"), "sync_filter must be one of: all, owned, none"),
        (
            entity(fields=[{"name": "a", "type": "string"}, {"name": "a", "type": "text"}]),
            "entity site has duplicate field names",
        ),
        ({"entities": [{"label": "Site"}]}, "entity name None is not an identifier"),
        (entity(fields=[{"type": "string"}]), "field name None is not an identifier"),
        (entity(fields=[{"name": "title"}]), "type of field title must be one of: string"),
        (field(name="2nd"), "field name '2nd' is not an identifier"),
        (field(type="money"), "type of field title must be one of: string, text, integer"),
        (field(type="picklist"), "picklist title needs options"),
        (field(type="picklist", options="ab"), "options of title must be a list"),
        (field(type="lookup"), "lookup title needs a target entity"),
        (field(type="lookup", target="nowhere"), "site.title looks up unknown entity nowhere"),
        (field(max_length=0), "max_length of title must be a positive 64-bit integer"),
        (field(max_length=True), "max_length of title must be a positive 64-bit integer"),
        (field(max_length=12.0), "max_length of title must be a positive 64-bit integer"),
        (field(max_length=2**63), "max_length of title must be a positive 64-bit integer"),
        ({"entities": [{"name": "site"}, {"name": "site"}]}, "duplicate entity names"),
    ],
)
def test_a_bad_project_is_refused_saying_what_is_wrong(data: Any, message: str) -> None:
    with pytest.raises(InvalidProject) as refused:
        project_from_dict(data)
    assert message in refused.value.message
    assert refused.value.code == "invalid_setting"


def test_settings_change_only_what_is_given() -> None:
    account = demo_project().entity("account")
    assert account is not None
    changed = apply_settings(account, {"on_conflict": "user_action", "label": "Customer"})
    assert (changed.on_conflict, changed.label) == (Policy.USER_ACTION, "Customer")
    assert changed.fields == account.fields
    assert changed.name == account.name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red", "name": "other"}, "unknown settings: colour, name"),
        ({"sync_filter": "mine"}, "sync_filter must be one of"),
        ({"fields": [{"name": "x", "type": "lookup", "target": "nowhere"}]}, "unknown entity"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    project = demo_project()
    account = project.entity("account")
    assert account is not None
    with pytest.raises(InvalidProject) as refused:
        with_entity(project, apply_settings(account, changes))
    assert message in refused.value.message


def test_the_next_version_replaces_an_entity_in_place_or_adds_it() -> None:
    project = demo_project()
    contact = project.entity("contact")
    assert contact is not None
    renamed = with_entity(project, apply_settings(contact, {"label": "Person"}))
    assert renamed.version == project.version + 1
    assert [e.name for e in renamed.entities] == ["account", "contact", "appointment"]
    assert renamed.entity("contact") is not None
    assert renamed.entity("contact").label == "Person"  # type: ignore[union-attr]
    site = project_from_dict(entity()).entities[0]
    added = with_entity(project, site)
    assert [e.name for e in added.entities] == ["account", "contact", "appointment", "site"]


def test_a_contact_lookup_needs_its_target_entity_in_the_project() -> None:
    project = demo_project()
    without_accounts = project.to_dict()
    without_accounts["entities"] = without_accounts["entities"][1:]
    with pytest.raises(InvalidProject, match=r"contact\.account looks up unknown entity account"):
        project_from_dict(without_accounts)
