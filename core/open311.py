"""What the Open311 GeoReport v2 API (web/open311) may say about a case, in domain terms.

The public view of a case is deliberately small (SPEC §3, §10: a unit never learns who
complained, the public sees no person and no case text): its tracking number, area, status,
the lead unit (``agency_responsible``) and dates. The description is shown only to the key
holder that filed the case: a citizen's own words can name them ("I, the owner of the noodle
shop on X road...") and the public list has no business publishing them; the holder that
filed the words already has them. Place, the unit complained about, contact details, evidence
and history are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from core.cases import Case
from core.states import CaseState

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# A request for hundreds of ids in one query string is no client's honest need; the cap keeps
# the SQL ``IN`` list bounded.
MAX_REQUEST_IDS = 100


class RequestStatus(StrEnum):
    """Open311's two statuses: a case still runs or someone still has to act; or it is done."""

    OPEN = "open"
    CLOSED = "closed"


def status_of(state: CaseState) -> RequestStatus:
    return RequestStatus.CLOSED if state.is_final else RequestStatus.OPEN


# The states a status filter selects; a draft is never a request (it was never filed).
STATES_OF = {
    RequestStatus.OPEN: frozenset(s for s in CaseState if s.is_open),
    RequestStatus.CLOSED: frozenset(s for s in CaseState if s.is_final),
}


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """The public list's filters, already checked (the web layer turns bad ones into Open311
    errors). ``start``/``end`` bound the filing time, end exclusive."""

    tracking_nos: tuple[str, ...] = ()
    area: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: RequestStatus | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True, slots=True)
class PublicRequest:
    """One case as the API shows it. ``description`` is None unless the reader may see it."""

    tracking_no: str
    area: str | None
    status: RequestStatus
    state: CaseState
    lead_unit_ids: tuple[str, ...]
    requested_at: datetime
    updated_at: datetime
    expected: date | None
    description: str | None = None


def public_request(case: Case, *, filed_by_key: int | None, reader_key: int | None) -> PublicRequest:
    """The public view of ``case``; its description only when ``reader_key`` is the key it was
    filed through (``filed_by_key``)."""
    stamps = [case.created_at, case.assigned_at, case.signed_at, case.answered_at, case.closed_at]
    shown = reader_key is not None and filed_by_key == reader_key
    return PublicRequest(
        tracking_no=case.tracking_no,
        area=_shown_area(case),
        status=status_of(case.state),
        state=case.state,
        lead_unit_ids=tuple(case.lead_unit_ids),
        requested_at=case.created_at,
        updated_at=max(s for s in stamps if s is not None),
        # the answer is what the citizen waits for: its deadline is the date to expect
        expected=case.answer_due if status_of(case.state) is RequestStatus.OPEN else None,
        description=case.description if shown else None,
    )


def _shown_area(case: Case) -> str | None:
    """The area people decided on; the classifier's guess only once the case was routed on it
    (the rule of the bot's case view, bot.case_view.shown_area: while the office triages a
    "not sure", the guess would mislead)."""
    if case.area_final is not None:
        return case.area_final
    return None if case.state in (CaseState.SUBMITTED, CaseState.TRIAGE) else case.area_auto
