"""The dashboard's case list (SPEC §9): its filters, and the seek cursor that pages it.

Paging is by seek, not offset: the list is ordered newest first on (created_at, id), and the
next page starts after the last row shown, so page 1,000 of a million cases costs what page 1
does (an index range scan), and a case filed while someone pages never shifts a row onto the
next page twice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from core.errors import ValidationFailed
from core.states import CaseState
from core.tracking import parse_tracking_no

PAGE_SIZE = 50
MAX_QUERY = 100  # characters of free-text search
# Open states whose running deadline can be missed (core.deadlines.pending_deadlines)
SIGN_STATES = (CaseState.ASSIGNED,)
ANSWER_STATES = (CaseState.ASSIGNED, CaseState.SIGNED, CaseState.EXTENSION_REQUESTED)
LISTED_STATES = tuple(s for s in CaseState if s is not CaseState.DRAFT)


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    case_id: int

    def encode(self) -> str:
        raw = f"{self.created_at.astimezone(UTC).isoformat()}|{self.case_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor, or None for anything that is not one (a stale or edited link starts
        again at the first page rather than failing)."""
        if not text or len(text) > 120:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _, case_id = raw.partition("|")
            when = datetime.fromisoformat(at)
            if when.tzinfo is None or not case_id.isdigit():
                return None
            return cls(when.astimezone(UTC), int(case_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


@dataclass(frozen=True, slots=True)
class CaseFilter:
    area: str | None = None
    unit: str | None = None  # lead or copied
    state: CaseState | None = None
    overdue: bool = False
    date_from: date | None = None  # filed on or after, local day
    date_to: date | None = None  # filed on or before, local day
    query: str = ""  # tracking number, or words of the description, place or unit named
    after: Cursor | None = None
    # a sub-campaign's office sees its campaign's cases only (set from the viewer, never from
    # the query string); None: every campaign (the district's office, or a liaison's unit list)
    campaign: str | None = None

    def without_cursor(self) -> CaseFilter:
        return replace(self, after=None)

    def created_bounds(self, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        """[start, end) in UTC of the local days ``date_from`` .. ``date_to``."""
        start = datetime.combine(self.date_from, time(), tz).astimezone(UTC) if self.date_from else None
        end = (
            datetime.combine(self.date_to + timedelta(days=1), time(), tz).astimezone(UTC)
            if self.date_to
            else None
        )
        return start, end

    @property
    def tracking_no(self) -> str | None:
        """The query when it is a tracking number (looked up exactly, not searched)."""
        try:
            return str(parse_tracking_no(self.query, lenient=True))
        except ValidationFailed:
            return None

    def query_params(self) -> dict[str, str]:
        """The filter as the list page's query string (the cursor left out)."""
        out: dict[str, str] = {}
        for key, value in (
            ("area", self.area),
            ("unit", self.unit),
            ("state", self.state.value if self.state else None),
            ("overdue", "1" if self.overdue else None),
            ("from", self.date_from.isoformat() if self.date_from else None),
            ("to", self.date_to.isoformat() if self.date_to else None),
            ("q", self.query or None),
        ):
            if value:
                out[key] = value
        return out


def parse_filter(
    params: Mapping[str, str], *, area_ids: frozenset[str], unit_ids: frozenset[str]
) -> CaseFilter:
    """The filter from a query string; values that are not the plan's or not well formed are
    ignored (a hand-edited link shows more, never fails)."""
    area = params.get("area") or None
    unit = params.get("unit") or None
    state_text = params.get("state") or None
    state = next((s for s in LISTED_STATES if s.value == state_text), None)
    query = " ".join((params.get("q") or "").split())[:MAX_QUERY]
    return CaseFilter(
        area=area if area in area_ids else None,
        unit=unit if unit in unit_ids else None,
        state=state,
        overdue=params.get("overdue") in {"1", "on", "true"},
        date_from=_day(params.get("from")),
        date_to=_day(params.get("to")),
        query=query,
        after=Cursor.decode(params.get("after")),
    )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE with ``\\`` as the escape character: the user's % and _ match
    themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class CaseListItem:
    """One row of the list: what a glance needs, never who complained."""

    id: int
    tracking_no: str
    state: CaseState
    created_at: datetime
    area: str | None
    description: str  # the first characters only
    lead_unit_ids: tuple[str, ...]
    assist_unit_ids: tuple[str, ...]
    sign_due: date | None
    answer_due: date | None


@dataclass(frozen=True, slots=True)
class CasePage:
    items: tuple[CaseListItem, ...]
    next: Cursor | None  # None: this is the last page
