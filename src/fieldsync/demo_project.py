"""The project a new server starts with: account, contact and appointment."""

from __future__ import annotations

from typing import Any

from fieldsync.project import Entity, Field, FieldType, Project


def _f(name: str, ftype: FieldType = FieldType.STRING, **kw: Any) -> Field:
    return Field(name=name, type=ftype, label=name.replace("_", " ").capitalize(), **kw)


DEMO_ENTITIES = (
    Entity(
        name="account",
        label="Account",
        fields=(
            _f("name", required=True, max_length=160),
            _f("phone", max_length=50),
            _f("email", max_length=100),
            _f("street", max_length=250),
            _f("city", max_length=80),
            _f("zip", max_length=20),
            _f("country", max_length=80),
            _f("revenue", FieldType.DECIMAL),
            _f("employees", FieldType.INTEGER),
            _f(
                "industry",
                FieldType.PICKLIST,
                options=("Agriculture", "Construction", "Consulting", "Manufacturing", "Retail"),
            ),
            _f("description", FieldType.TEXT, max_length=2000),
            _f("active", FieldType.BOOLEAN),
        ),
    ),
    Entity(
        name="contact",
        label="Contact",
        fields=(
            _f("firstname", max_length=50),
            _f("lastname", required=True, max_length=50),
            _f("email", max_length=100),
            _f("phone", max_length=50),
            _f("jobtitle", max_length=100),
            _f("account", FieldType.LOOKUP, target="account"),
        ),
    ),
    Entity(
        name="appointment",
        label="Appointment",
        upcoming_field="start",
        fields=(
            _f("subject", required=True, max_length=200),
            _f("start", FieldType.DATETIME),
            _f("end", FieldType.DATETIME),
            _f("location", max_length=200),
            _f("regarding", FieldType.LOOKUP, target="account"),
            _f("description", FieldType.TEXT, max_length=2000),
        ),
    ),
)


def demo_project() -> Project:
    """The project a new server starts with: account, contact, appointment."""
    return Project(version=1, entities=DEMO_ENTITIES)
