"""The dashboard: counts at a glance and the last two weeks as a small chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection

from fieldsync.project import Policy
from fieldsync.server import activity, projects, schema
from fieldsync.server.activity import Day
from fieldsync.server.api.deps import Db
from fieldsync.server.console.render import page
from fieldsync.server.console.session import Current

router = APIRouter()
DAYS = 14
CHART_HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart, in SVG units."""

    x: float
    y: float
    height: float
    css: str
    title: str


def _bars(days: list[Day]) -> list[Bar]:
    """Per day: a grey bar of syncs and, beside it, conflicts stacked by policy."""
    top = max([d.syncs for d in days] + [d.total_conflicts for d in days] + [1])
    scale = CHART_HEIGHT / top
    bars: list[Bar] = []
    for i, day in enumerate(days):
        x = 10 + i * 40
        height = day.syncs * scale
        bars.append(Bar(x, CHART_HEIGHT - height, height, "syncs", f"{day.day}: {day.syncs} syncs"))
        y = float(CHART_HEIGHT)
        for policy in Policy:
            count = day.conflicts.get(policy.value, 0)
            if count:
                height = count * scale
                y -= height
                title = f"{day.day}: {count} conflicts under {policy.value}"
                bars.append(Bar(x + 14, y, height, policy.value, title))
    return bars


def _counts(conn: Connection) -> dict[str, int]:
    def count(query: sa.Select[Any]) -> int:
        return int(conn.execute(query).scalar_one())

    return {
        "records": count(
            sa.select(sa.func.count())
            .select_from(schema.records)
            .where(schema.records.c.deleted.is_(False))
        ),
        "users": count(sa.select(sa.func.count()).select_from(schema.users)),
        "devices": count(sa.select(sa.func.count()).select_from(schema.devices)),
        "open_conflicts": activity.open_conflicts(conn),
    }


@router.get("/")
def dashboard(request: Request, current: Current, db: Db) -> HTMLResponse:
    """Counts, and syncs and conflicts per policy over the last days."""
    with db.read() as conn:
        days = activity.last_days(conn, DAYS)
        counts = _counts(conn)
        project = projects.current(conn)
    return page(
        request,
        "dashboard.html",
        session=current,
        nav="dashboard",
        days=days,
        bars=_bars(days),
        counts=counts,
        project=project,
        chart_height=CHART_HEIGHT,
    )
