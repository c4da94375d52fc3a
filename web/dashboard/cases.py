"""The case list, the case page and its evidence files.

The office sees every case, and on the case page (only there) who complained, unless they
asked to stay anonymous; opening it is audited (``OfficeService.view``). A liaison sees the
cases its unit leads or is copied on, through ``LiaisonService.view``: redacted, never the
complainant, and a case of another unit is "not found", not "forbidden" (a guessed number
tells nothing).
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.case_view import CaseFormatter, case_deadlines
from bot.context import Deps
from bot.reports.labels import Labels, plain
from core.attachments import Attachment, AttachmentKind
from core.case_list import LISTED_STATES, CaseFilter, CaseListItem, parse_filter
from core.cases import Case, CaseEvent, Visibility, WarningColour
from core.deadlines import CaseDeadlines, pending_deadlines
from core.errors import NotFound, PermissionDenied
from core.services.liaison import LiaisonCaseView
from core.services.office import (
    REJECTABLE_STATES,
    ROUTABLE_STATES,
    SUPERVISABLE_STATES,
    Complainant,
    OfficeCaseView,
)
from core.states import Actor, CaseState
from storage.case_list import CaseListReader
from storage.stats import read_only_factory
from web.render import Pages, formatter, labels_for
from web.reports.downloads import content_disposition
from web.security import Viewer, require_staff, staff_error

MAX_FILE = 20 * 1024 * 1024  # the Bot API's own download limit


class CasePages:
    """The list, the case page and its files; the actions' forms (web.dashboard.actions)
    re-render the case page through ``render_case`` with a service's refusal."""

    def __init__(self, deps: Deps, pages: Pages) -> None:
        if deps.session_factory is None:
            raise RuntimeError("the dashboard needs a database session factory (deps.session_factory)")
        self.deps = deps
        self.pages = pages
        self.read_only = read_only_factory(deps.session_factory)
        self.area_ids = frozenset(a.id for a in deps.plan.areas)
        self.unit_ids = frozenset(u.id for u in deps.plan.units)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/cases", self.case_list, name="cases"),
            Route("/cases/{number}", self.case_page, name="case"),
            Route("/cases/{number}/files/{file_id:int}", self.evidence_file, name="case_file"),
        ]

    async def case_list(self, request: Request) -> Response:
        deps = self.deps
        viewer = await require_staff(request, deps)
        flt = parse_filter(request.query_params, area_ids=self.area_ids, unit_ids=self.unit_ids)
        if not viewer.office:
            flt = replace(flt, unit=viewer.unit_id)  # a liaison's list is its unit's, always
        flt = replace(flt, campaign=viewer.campaign)  # a street's office: its own cases
        labels = labels_for(deps, viewer.lang)
        fmt = formatter(deps, viewer.lang)
        async with self.read_only() as session:
            page = await CaseListReader(session).page(flt, today=fmt.today, tz=deps.clock.tz)
        values = {
            "flt": flt,
            "rows": [_row(deps, viewer, labels, fmt, item) for item in page.items],
            "next_query": _query(flt, after=page.next.encode()) if page.next else None,
            "first_query": _query(flt) if flt.after else None,
            "area_choices": [(a.id, labels.area(a.id)) for a in deps.plan.areas],
            "unit_choices": [(u.id, labels.unit(u.id)) for u in deps.plan.units],
            "state_choices": [(s.value, plain(fmt.state(s))) for s in LISTED_STATES],
            "active": "cases",
        }
        return self.pages.render(request, viewer, "dashboard/cases.html", values)

    async def case_page(self, request: Request) -> Response:
        viewer = await require_staff(request, self.deps)
        return await self.render_case(request, viewer, request.path_params["number"])

    async def render_case(
        self, request: Request, viewer: Viewer, number: str, *, error: str = "", status: int = 200
    ) -> Response:
        view = await self.load_case(viewer, number)
        values = case_values(self.deps, viewer, view)
        done = request.query_params.get("done", "")
        if done and self.deps.catalogue.has(f"web.case.done_{done}"):
            values["done"] = f"web.case.done_{done}"
        values["error"] = error
        return self.pages.render(request, viewer, "dashboard/case.html", values, status=status)

    async def case_id(self, viewer: Viewer, number: str) -> int:
        """The id of the case with this tracking number, for the office's forms
        (``OfficeService.case_by_number``: the office role, no draft); 404 for none. Not a
        view: nothing audited."""
        try:
            found = await self.deps.services.office.case_by_number(viewer.user_id, number.strip().upper())
        except NotFound:
            raise HTTPException(404) from None
        except PermissionDenied as denied:
            raise staff_error(denied) from None
        assert found.id is not None
        return found.id

    async def load_case(self, viewer: Viewer, number: str) -> OfficeCaseView | LiaisonCaseView:
        deps = self.deps
        number = number.strip().upper()
        try:
            if viewer.office:
                return await deps.services.office.find(viewer.user_id, number)
            async with deps.uow() as uow:
                found = await uow.cases.get_by_tracking_no(number)
            if found is None or found.id is None or found.state is CaseState.DRAFT:
                raise NotFound(kind="case")
            return await deps.services.liaison.view(viewer.user_id, found.id)
        except NotFound:
            raise HTTPException(404) from None
        except PermissionDenied as denied:
            raise staff_error(denied) from None

    async def evidence_file(self, request: Request) -> Response:
        viewer = await require_staff(request, self.deps)
        view = await self.load_case(viewer, request.path_params["number"])
        wanted = request.path_params["file_id"]
        attachment = next((a for a in view.evidence if a.id == wanted), None)
        if attachment is None:
            raise HTTPException(404)
        return await _download(self.deps, attachment)


def _query(flt: CaseFilter, *, after: str | None = None) -> str:
    params = flt.query_params()
    if after:
        params["after"] = after
    return urlencode(params)


def _row(
    deps: Deps, viewer: Viewer, labels: Labels, fmt: CaseFormatter, item: CaseListItem
) -> dict[str, Any]:
    due = None
    colour = WarningColour.NONE
    if item.sign_due is not None and item.answer_due is not None:
        deadlines = CaseDeadlines(item.sign_due, item.answer_due)
        running = pending_deadlines(item.state, deadlines)
        due = min(running.values()) if running else None
        colour = deps.services.deadlines.case_colour(item.state, deadlines, fmt.today)
    return {
        "item": item,
        "state": plain(fmt.state(item.state)),
        "area": labels.area(item.area),
        "lead": labels.units(item.lead_unit_ids) if item.lead_unit_ids else "—",
        "role": (
            "lead" if viewer.unit_id in item.lead_unit_ids else "assist"
        ) if viewer.unit_id else "",
        "colour": colour.value,
        "due": due,
    }  # fmt: skip


def _actor(deps: Deps, viewer: Viewer, event: CaseEvent) -> str:
    fmt = formatter(deps, viewer.lang)
    unit = event.data.get("unit")
    if event.actor is Actor.LIAISON and isinstance(unit, str) and unit:
        return labels_for(deps, viewer.lang).unit(unit)
    return plain(fmt.t(f"web.case.actor_{event.actor.value}"))


def case_values(deps: Deps, viewer: Viewer, view: OfficeCaseView | LiaisonCaseView) -> dict[str, Any]:
    case: Case = view.case
    labels = labels_for(deps, viewer.lang)
    fmt = formatter(deps, viewer.lang)
    history = [
        {
            "at": event.at,
            "event": plain(fmt.event(event.kind)),
            "who": _actor(deps, viewer, event),
            "internal": event.visibility is Visibility.INTERNAL,
            "text": event.text,
            "units": labels.units(str(u) for u in lead)
            if isinstance(lead := event.data.get("lead"), list)
            else "",
        }
        for event in view.history
    ]
    known = case_deadlines(case)
    running = pending_deadlines(case.state, known) if known is not None else {}
    deadlines = [
        {"kind": kind.value, "due": due, "colour": deps.services.deadlines.colour(due, fmt.today).value}
        for kind, due in sorted(running.items(), key=lambda kv: kv[1])
    ]
    tasks = [
        {"unit": labels.unit(u), "role": "lead", "signed": case.signed_at, "answered": case.answered_at}
        for u in case.lead_unit_ids
    ] + [
        {"unit": labels.unit(u), "role": "assist", "signed": None, "answered": None}
        for u in case.assist_unit_ids
    ]
    values: dict[str, Any] = {
        "case": case,
        "state": plain(fmt.state(case.state)),
        "area": labels.area(case.area),
        "area_auto": labels.area(case.area_auto) if case.area_auto else "",
        "history": history,
        "deadlines": deadlines,
        "tasks": tasks,
        "evidence": [_file(a) for a in view.evidence],
        "active": "cases",
        "complainant": None,
        "anonymous": case.anonymous,
    }
    if isinstance(view, OfficeCaseView):
        values["complainant"] = _complainant(view.complainant)
        values["actions"] = office_actions(deps, viewer, view)
        values["recused"] = labels.units(view.excluded_units) if view.excluded_units else ""
    else:
        values["actions"] = {}
        values["role"] = view.role.value
    return values


def _complainant(who: Complainant | None) -> dict[str, str] | None:
    if who is None:
        return None
    return {
        "user_id": str(who.user_id) if who.user_id is not None else "",
        "phone": who.phone or "",
        "via": who.via or "",
        "external_id": who.external_id or "",
        "email": who.email or "",
        "name": who.name or "",
    }


def _file(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "kind": attachment.kind.value,
        "name": attachment.file_name or f"{attachment.kind.value}-{attachment.id}",
        "size": attachment.size,
        "at": attachment.at,
    }


def office_actions(deps: Deps, viewer: Viewer, view: OfficeCaseView) -> dict[str, Any]:
    """The forms the case page offers the office now, with their choices."""
    case = view.case
    labels = labels_for(deps, viewer.lang)
    barred = case.may_not_lead()
    actions: dict[str, Any] = {}
    areas = [(a.id, labels.area(a.id)) for a in deps.plan.areas]
    if case.state in ROUTABLE_STATES:
        current = deps.plan.area(case.area) if case.area else None
        suggested = set(current.lead_unit_ids) if current else set()
        actions["route"] = {
            "areas": areas,
            "units": [
                (u.id, labels.unit(u.id), u.id in suggested and u.id not in view.excluded_units)
                for u in deps.plan.units
                if u.id not in barred
            ],
        }
    actions["reclassify"] = {"areas": areas}
    if case.state in REJECTABLE_STATES:
        actions["reject"] = {}
    if case.state is CaseState.EXTENSION_REQUESTED:
        request = next((e for e in reversed(view.history) if e.kind == "request_extension"), None)
        actions["extension"] = {"days": request.data.get("days") if request else None,
                                "reason": request.text if request else ""}  # fmt: skip
    if case.state in SUPERVISABLE_STATES and case.lead_unit_ids:
        actions["supervise"] = {}
    return actions


async def _download(deps: Deps, attachment: Attachment) -> Response:
    """The file's bytes: the office's own copy in the evidence store when the bot has fetched
    it (issue 15, bot.evidence_fetch), else from Telegram: getFile, then the file URL, both
    with the bot's token, which never reaches the browser. An erased attachment (retention
    cleared its file id and its copy) is not found either way."""
    if not attachment.file_id:
        raise HTTPException(404)
    if attachment.sha256 and deps.evidence is not None:
        local = await asyncio.to_thread(deps.evidence.read, attachment.sha256)
        if local is not None:  # missing on disk (a restore without the files): Telegram's copy
            return _file_response(attachment, local, mimetypes.guess_extension(_mime(attachment)) or "")
    settings = deps.settings
    if settings.bot_token is None:
        raise HTTPException(404)
    token = settings.bot_token.get_secret_value()
    async with httpx.AsyncClient(timeout=30) as client:
        meta = await client.post(
            f"{settings.telegram_api_url}{token}/getFile", json={"file_id": attachment.file_id}
        )
        path = meta.json().get("result", {}).get("file_path") if meta.status_code == 200 else None
        if not path:
            raise HTTPException(404)
        body = await client.get(f"{settings.file_url}{token}/{path}")
        if body.status_code != 200 or len(body.content) > MAX_FILE:
            raise HTTPException(404)
    return _file_response(attachment, body.content, _suffix(path))


def _mime(attachment: Attachment) -> str:
    default = {AttachmentKind.PHOTO: "image/jpeg", AttachmentKind.VOICE: "audio/ogg"}
    return attachment.mime or default.get(attachment.kind, "application/octet-stream")


def _file_response(attachment: Attachment, content: bytes, suffix: str) -> Response:
    name = attachment.file_name or f"{attachment.kind.value}-{attachment.id}{suffix}"
    return Response(
        content,
        media_type=_mime(attachment),
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )


def _suffix(path: str) -> str:
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") and len(path) - dot <= 6 else ""
