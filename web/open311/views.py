"""The Open311 GeoReport v2 endpoints: thin views that turn a request into a call on the same
core services the bot uses, and the result into the specification's answer.

Reads are public and show no identity (``core.open311``); a filing needs an office-issued
``api_key`` and goes through ``ComplaintService.file``, exactly as the bot's confirm button
does: the same classification, routing, recusal, deadlines, daily limit and notices.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.case_view import area_label, format_day, unit_name
from bot.context import Deps
from bot.i18n import DEFAULT_LANG
from core.api_keys import ApiKey
from core.errors import RateLimited, ValidationFailed
from core.open311 import PublicRequest
from core.services.api_keys import KeyRefused
from core.services.complaints import Filed
from storage.open311_view import Open311Reader
from web.open311.inputs import parse_filing, parse_query, strip_query
from web.open311.throttle import FailureThrottle
from web.open311.wire import Format, Item, Open311Error, render

log = logging.getLogger(__name__)

# A filing is a few form fields and at most a 2,000-character description; a body far beyond
# that is refused before it is parsed (python-multipart is not involved: the specification's
# POST is application/x-www-form-urlencoded).
MAX_BODY = 64 * 1024
MAX_FIELDS = 50

View = Callable[[Request, Format], Awaitable[Response]]


class Open311Api:
    """The endpoints, sharing the deps and the failed-key brake of one web process."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.throttle = FailureThrottle(deps.clock)

    # -- the endpoints ---------------------------------------------------------------------------

    async def services(self, request: Request, fmt: Format) -> Response:
        """GET services.{fmt}: the plan's task areas."""
        lang = _lang(request)
        plan, catalogue = self.deps.plan, self.deps.catalogue
        group = plan.campaign.title_en if lang == "en" and plan.campaign.title_en else plan.campaign.title
        items = [
            {
                "service_code": area.id,
                "service_name": area_label(plan, catalogue, lang, area.id),
                "description": (area.plain_en or area.plain_zh) if lang == "en" else area.plain_zh,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(_keywords(area.cues)),
                "group": group,
            }
            for area in plan.areas
        ]
        return render("services", items, fmt)

    async def list_requests(self, request: Request, fmt: Format) -> Response:
        """GET requests.{fmt}: the public list, filtered and paged."""
        fields = dict(request.query_params)
        key = await self._optional_key(request, fields)
        query = parse_query(fields, plan=self.deps.plan, tz=self.deps.clock.tz)
        async with self._session() as session:
            found = await Open311Reader(session).page(query, reader_key=key.id if key else None)
        lang = _lang(request)
        return render("requests", [self._request_item(r, lang) for r in found], fmt)

    async def one_request(self, request: Request, fmt: Format) -> Response:
        """GET requests/{id}.{fmt}: one request by its tracking number (a list of one)."""
        fields = dict(request.query_params)
        key = await self._optional_key(request, fields)
        tracking_no = strip_query(request.path_params["id"])[:32]
        async with self._session() as session:
            found = await Open311Reader(session).get(tracking_no, reader_key=key.id if key else None)
        if found is None:
            raise Open311Error(404, "request_unknown", id=tracking_no)
        return render("requests", [self._request_item(found, _lang(request))], fmt)

    async def file_request(self, request: Request, fmt: Format) -> Response:
        """POST requests.{fmt}: a key holder files a case for one of its people."""
        client = _client(request)
        wait = self.throttle.blocked_for(client)
        if wait is not None:
            raise Open311Error(429, "throttled", headers={"Retry-After": str(wait)}, seconds=wait)
        fields = await _form(request)
        key = await self._key(fields.get("api_key") or request.query_params.get("api_key"), client)
        filing = parse_filing(
            fields, plan=self.deps.plan, classifier=self.deps.services.classifier, api_key_id=key.id
        )
        complaints = self.deps.services.complaints
        try:
            filed = await complaints.file(None, filing.draft, account=filing.account)
        except RateLimited:
            phone = self.deps.plan.campaign.office.phone
            raise Open311Error(429, "limit_reached", limit=complaints.daily_limit, phone=phone) from None
        except ValidationFailed as error:
            # what the checks above let through and the service still refused
            log.info("open311 filing refused by the service: %s", error.key)
            raise Open311Error(400, "invalid") from None
        self.deps.wake_sender()
        lang = _lang(request)
        item = {
            "service_request_id": filed.case.tracking_no,
            "service_notice": self._notice(filed, lang),
            "account_id": filing.account.external_id,
        }
        return render("requests", [item], fmt)

    # -- pieces ----------------------------------------------------------------------------------

    def _session(self) -> AsyncSession:
        factory = self.deps.session_factory
        if factory is None:
            raise RuntimeError("the Open311 API reads through deps.session_factory (bot.wiring.make_deps)")
        return factory()

    async def _key(self, presented: str | None, client: str) -> ApiKey:
        try:
            return await self.deps.services.api_keys.authenticate(presented, client=client)
        except KeyRefused:
            self.throttle.failed(client)
            raise Open311Error(403, "key_refused") from None

    async def _optional_key(self, request: Request, fields: Mapping[str, str]) -> ApiKey | None:
        """Reads need no key; one that is given must be good (and then shows the descriptions
        of the requests its holder filed)."""
        if not fields.get("api_key"):
            return None
        client = _client(request)
        wait = self.throttle.blocked_for(client)
        if wait is not None:
            raise Open311Error(429, "throttled", headers={"Retry-After": str(wait)}, seconds=wait)
        return await self._key(fields["api_key"], client)

    def _request_item(self, found: PublicRequest, lang: str) -> Item:
        plan, catalogue, tz = self.deps.plan, self.deps.catalogue, self.deps.clock.tz
        units = catalogue.t(lang, "cases.list_separator").join(
            unit_name(plan, lang, u) for u in found.lead_unit_ids
        )
        item: dict[str, object] = {
            "service_request_id": found.tracking_no,
            "status": found.status.value,
            "status_notes": catalogue.t(lang, f"state.{found.state.value}"),
            "service_name": area_label(plan, catalogue, lang, found.area) if found.area else None,
            "service_code": found.area,
        }
        if found.description is not None:
            item["description"] = found.description
        item["agency_responsible"] = units or catalogue.t(lang, "cases.units_none")
        item["requested_datetime"] = _w3c(found.requested_at.astimezone(tz))
        item["updated_datetime"] = _w3c(found.updated_at.astimezone(tz))
        if found.expected is not None:
            # a deadline is a whole working day: expect the answer by that day's end
            item["expected_datetime"] = _w3c(datetime.combine(found.expected, time(23, 59, 59), tzinfo=tz))
        return item

    def _notice(self, filed: Filed, lang: str) -> str:
        """The acknowledgement, with what the bot's receipt says (plain text)."""
        plan, catalogue = self.deps.plan, self.deps.catalogue
        case, routing = filed.case, filed.routing
        area = area_label(plan, catalogue, lang, case.area_final)
        if routing.needs_triage:
            return _plain(
                self.deps, lang, "web.open311.notice_triage", tracking_no=case.tracking_no, area=area
            )
        units = catalogue.t(lang, "cases.list_separator").join(
            unit_name(plan, lang, u) for u in routing.lead_unit_ids
        )
        return _plain(
            self.deps,
            lang,
            "web.open311.notice",
            tracking_no=case.tracking_no,
            area=area,
            units=units,
            sign_due=_day(self.deps, lang, case.sign_due),
            answer_due=_day(self.deps, lang, case.answer_due),
        )


def _plain(deps: Deps, lang: str, key: str, **params: object) -> str:
    """A catalogue text filled in without HTML escaping: these answers are JSON or XML, whose
    encoders escape what they must."""
    template = deps.catalogue.raw(lang, key) or deps.catalogue.raw(DEFAULT_LANG, key) or key
    return template.format_map(params)


def _day(deps: Deps, lang: str, day: date | None) -> str:
    return format_day(deps.catalogue, lang, day) if day is not None else "–"


def _w3c(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat()


def _keywords(cues: Mapping[str, float]) -> list[str]:
    """The plan's strongest plain cues (those with a {group} or a gap are patterns, not words)."""
    plain = [(weight, phrase) for phrase, weight in cues.items() if not any(c in phrase for c in "{}…=")]
    plain.sort(key=lambda pair: -pair[0])  # stable: the plan's order among equals
    return [phrase for _, phrase in plain[:12]]


def _lang(request: Request) -> str:
    """Open311 has no language parameter; ``locale`` is the common extension (en, en_US, zh)."""
    locale = request.query_params.get("locale", "")
    return "en" if locale[:2].lower() == "en" else DEFAULT_LANG


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "?"


async def _form(request: Request) -> dict[str, str]:
    """The url-encoded body, at most ``MAX_BODY`` bytes and ``MAX_FIELDS`` fields, first value
    of each name. Anything else is an Open311 400."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Open311Error(400, "body_too_large")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("", "application/x-www-form-urlencoded"):
        raise Open311Error(400, "body_invalid")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Open311Error(400, "body_too_large")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except ValueError:  # bad UTF-8, bad percent-escapes, too many fields
        raise Open311Error(400, "body_invalid") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields
