"""What an Open311 client sends, checked and turned into domain objects: the list's filters
(``core.open311.RequestQuery``) and a filing (``ComplaintDraft`` plus ``ApiAccount``).

Every problem becomes an ``Open311Error`` (400, or 404 for a code we do not have) before any
service is called, so bad input gets the specification's error array, never a 500. Text goes
through the bot's character policy (``core.text.clean_text``): control characters are dropped
here exactly as the complaint dialog drops them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from core.api_keys import ApiAccount
from core.errors import ValidationFailed
from core.open311 import MAX_PAGE_SIZE, MAX_REQUEST_IDS, RequestQuery, RequestStatus
from core.plan import Plan
from core.rules import Classifier
from core.services.complaints import MAX_DESCRIPTION, MAX_FIELD, MIN_DESCRIPTION, ComplaintDraft
from core.text import clean_text
from web.open311.wire import Open311Error

MAX_ACCOUNT_ID = 100  # with its "account:" prefix it fits citizens.external_id (128)
MAX_NAME_PART = 50
MAX_EMAIL = 254
MAX_TRACKING_NO = 32
MAX_PAGE = 10_000  # bounds the OFFSET a client can make the database skip
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{3,30}")


@dataclass(frozen=True, slots=True)
class Filing:
    draft: ComplaintDraft
    account: ApiAccount


def _text(fields: Mapping[str, str], name: str, limit: int) -> str:
    try:
        return clean_text(fields.get(name, ""), limit=limit)
    except ValidationFailed:
        raise Open311Error(400, "field_long", field=name, limit=limit) from None


def _area(plan: Plan, code: str) -> str:
    if not code:
        raise Open311Error(400, "service_code_missing")
    if code not in {area.id for area in plan.areas}:
        raise Open311Error(404, "service_code_unknown", code=code[:40])
    return code


def parse_filing(fields: Mapping[str, str], *, plan: Plan, classifier: Classifier, api_key_id: int) -> Filing:
    """A POST requests.json: the case the key holder files and for whom."""
    area = _area(plan, _text(fields, "service_code", 64))
    description = _text(fields, "description", MAX_DESCRIPTION)
    if not description:
        raise Open311Error(400, "description_missing")
    if len(description) < MIN_DESCRIPTION:
        raise Open311Error(400, "description_short", min=MIN_DESCRIPTION)
    if _text(fields, "media_url", 2000):
        raise Open311Error(400, "media_unsupported")
    account = _account(fields, api_key_id)
    place = _text(fields, "address_string", MAX_FIELD) or _position(fields)
    # The same classification the dialog runs on the citizen's text: the holder's service_code
    # is the final choice (as the citizen's pick is), the rules' guess is kept beside it so the
    # office sees where people and rules disagree (SPEC §4.2).
    result = classifier.classify(description)
    draft = ComplaintDraft(
        description=description,
        area=area,
        area_auto=result.area,
        confidence=result.confidence,
        cues=tuple(result.cues),
        place=place,
        anonymous=account.anonymous,
        phone=account.phone,
    )
    return Filing(draft, account)


def _account(fields: Mapping[str, str], api_key_id: int) -> ApiAccount:
    """Who the request is for, in the holder's system. The first of account_id, device_id,
    email, phone names the account (the daily limit counts per account); all contact details
    given are kept for the office."""
    account_id = _text(fields, "account_id", MAX_ACCOUNT_ID)
    device_id = _text(fields, "device_id", MAX_ACCOUNT_ID)
    email = _text(fields, "email", MAX_EMAIL).lower() or None
    if email is not None and not _EMAIL.fullmatch(email):
        raise Open311Error(400, "email_invalid")
    phone = _text(fields, "phone", 32) or None
    if phone is not None and (not _PHONE.fullmatch(phone) or not 5 <= sum(c.isdigit() for c in phone) <= 20):
        raise Open311Error(400, "phone_invalid")
    digits = "".join(c for c in phone if c.isdigit() or c == "+") if phone else None
    name = " ".join(
        part
        for part in (_text(fields, "first_name", MAX_NAME_PART), _text(fields, "last_name", MAX_NAME_PART))
        if part
    )
    if account_id:
        external = f"account:{account_id}"
    elif device_id:
        external = f"device:{device_id}"
    elif email:
        external = f"email:{email}"
    elif digits:
        external = f"phone:{digits}"
    else:
        raise Open311Error(400, "account_missing")
    return ApiAccount(api_key_id, external, phone=digits, email=email, name=name or None)


def _position(fields: Mapping[str, str]) -> str:
    lat, long = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if not lat and not long:
        return ""
    try:
        latitude, longitude = float(lat), float(long)
    except ValueError:
        raise Open311Error(400, "location_invalid") from None
    if (
        not (math.isfinite(latitude) and math.isfinite(longitude))
        or abs(latitude) > 90
        or abs(longitude) > 180
    ):
        raise Open311Error(400, "location_invalid")
    return f"{latitude:.6f},{longitude:.6f}"


def parse_query(fields: Mapping[str, str], *, plan: Plan, tz: tzinfo) -> RequestQuery:
    """A GET requests.json's filters. As the specification says, a list of
    service_request_id makes the other filters moot."""
    page = _positive(fields, "page", 1, MAX_PAGE)
    page_size = _positive(fields, "page_size", 50, MAX_PAGE_SIZE)
    ids_text = strip_query(fields.get("service_request_id", ""))
    if ids_text:
        ids = tuple(dict.fromkeys(i.strip() for i in ids_text.split(",") if i.strip()))
        if len(ids) > MAX_REQUEST_IDS:
            raise Open311Error(400, "ids_too_many", max=MAX_REQUEST_IDS)
        # a number longer than ours can match nothing; it is simply not found
        return RequestQuery(
            tracking_nos=tuple(i[:MAX_TRACKING_NO] for i in ids), page=page, page_size=page_size
        )
    code = strip_query(fields.get("service_code", ""))
    area = _area(plan, code) if code else None
    return RequestQuery(
        area=area,
        start=_when(fields, "start_date", tz),
        end=_when(fields, "end_date", tz),
        status=_status(fields.get("status", "")),
        page=page,
        page_size=page_size,
    )


def strip_query(value: str) -> str:
    """A query parameter under the character policy, without a length error (filters that are
    too long simply match nothing, or fail their own check)."""
    return clean_text(value[:4096], limit=4096)


def _positive(fields: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    text = fields.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= maximum:
        raise Open311Error(400, "page_invalid", max=MAX_PAGE_SIZE)
    return int(text)


def _when(fields: Mapping[str, str], name: str, tz: tzinfo) -> datetime | None:
    text = strip_query(fields.get(name, ""))
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text[:64])
    except ValueError:
        raise Open311Error(400, "date_invalid", field=name) from None
    # a time without a zone is the district's time, as everything the office reads
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


def _status(text: str) -> RequestStatus | None:
    wanted = {part.strip().lower() for part in strip_query(text).split(",") if part.strip()}
    try:
        statuses = {RequestStatus(part) for part in wanted}
    except ValueError:
        raise Open311Error(400, "status_invalid") from None
    # both, or neither, is no filter at all
    return statuses.pop() if len(statuses) == 1 else None
