"""The audit-trail viewer (SPEC §10): every office action, newest first, filtered by actor,
action, case number (the entry's target) and period, paged by a seek cursor
(``core.audit_view``: a deep page costs what the first one does).

Office only: the trail names office members and liaisons by their Telegram ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from bot.reports.labels import Labels
from core.audit_view import AUDIT_PAGE, AuditCursor, AuditFilter
from core.stats import Period
from storage.audit_view import AuditReader
from web.reports.common import ReportContext

MAX_TARGET = 128  # audit_log.target's length
MAX_DETAILS = 300  # characters of an entry's details shown in the table


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The viewer's filters as typed (for the form and the links) and as applied."""

    actor: str = ""
    action: str = ""
    target: str = ""
    first: str = ""
    last: str = ""
    after: AuditCursor | None = None
    problems: tuple[str, ...] = ()  # catalogue keys of what was ignored

    def filter(self) -> AuditFilter:
        first = _date(self.first)
        last = _date(self.last)
        period = None
        if first or last:
            a, b = first or last, last or first
            assert a is not None and b is not None
            period = Period(min(a, b), max(a, b))
        return AuditFilter(
            actor_id=int(self.actor) if self.actor.isdigit() else None,
            action=self.action or None,
            target=self.target or None,
            period=period,
        )

    def link(self, after: AuditCursor | None) -> str:
        values = {"actor": self.actor, "action": self.action, "target": self.target, "from": self.first,
                  "to": self.last, "after": after.encode() if after else ""}  # fmt: skip
        return urlencode({k: v for k, v in values.items() if v})


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_query(params: Mapping[str, str]) -> AuditQuery:
    problems: list[str] = []
    actor = (params.get("actor") or "").strip()
    if actor and not actor.isdigit():
        problems.append("web.reports.bad_actor")
        actor = ""
    # a tracking number is written in capitals (ZH-2026-000123); people type it any way
    target = (params.get("target") or "").strip()[:MAX_TARGET]
    if target.lower().startswith("zh-"):
        target = target.upper()
    after = None
    if params.get("after"):
        try:
            after = AuditCursor.decode(params["after"])
        except ValueError:
            problems.append("web.reports.bad_cursor")
    first = (params.get("from") or "").strip()
    last = (params.get("to") or "").strip()
    return AuditQuery(
        actor=actor,
        action=(params.get("action") or "").strip()[:64],
        target=target,
        first=first if _date(first) else "",
        last=last if _date(last) else "",
        after=after,
        problems=tuple(problems),
    )


def _details(details: Mapping[str, object]) -> str:
    text = json.dumps(dict(details), ensure_ascii=False, sort_keys=True, default=str) if details else ""
    return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 1] + "…"


async def page_context(ctx: ReportContext, query: AuditQuery, labels: Labels) -> dict[str, Any]:
    tz = ctx.deps.services.deadlines.tz
    async with ctx.read_only() as session:
        reader = AuditReader(session, tz)
        page = await reader.page(query.filter(), after=query.after, limit=AUDIT_PAGE)
        actions = await reader.actions()
    rows = [
        {
            "at": e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "actor": e.actor_id,
            "action": e.action,
            "target": e.target,
            "details": _details(e.details),
        }
        for e in page.entries
    ]
    return {
        "labels": labels,
        "query": query,
        "problems": [labels.p(k) for k in query.problems],
        "actions": actions,
        "rows": rows,
        "next_link": query.link(page.next) if page.next else None,
        "first_link": query.link(None) if query.after else None,
    }
