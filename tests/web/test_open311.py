"""The Open311 GeoReport v2 API (web/open311) as a client sees it: in-process over ASGI, on a
migrated SQLite database, with the real plan, services and catalogue.

A hotline lists the services, files with its key, reads the case back without anybody's
identity; without a key, with a wrong or revoked one it is refused; the same complaint filed
in the bot and through the API is routed alike; the daily limit counts the API's people; and
no bad input gets anything but an Open311 error array.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bot.context import Deps
from bot.i18n import Catalogue
from bot.wiring import make_deps
from core.cases import Case
from core.clock import FixedClock
from core.plan import Plan
from core.services.api_keys import AUDIT_REFUSED, IssuedKey
from core.services.complaints import MAX_DESCRIPTION
from core.services.units import sync_plan_units
from storage.models import ApiKeyRow, AuditRow, CaseRow, CitizenRow
from tests.support.harness import BotHarness, make_test_settings, running_harness
from tests.support.updates import ZH_USER
from web import open311

BASE = "http://testserver/open311/v2"
# names a unit (区直机关工委, the lead unit of area 一) in the text: recusal keeps it from leading
AGAINST_LEAD = "区直机关工委的工作人员态度恶劣，办事拖拉，一拖再拖，让我跑了三趟"
CONDUCT = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"
CALLER = {"phone": "13800138000", "first_name": "三", "last_name": "张", "email": "zhang@example.cn"}


@dataclass
class Web:
    deps: Deps
    client: httpx.AsyncClient
    clock: FixedClock

    async def issue(self, name: str = "12345 hotline") -> IssuedKey:
        return await self.deps.services.api_keys.issue(None, name)

    async def file(self, key: str | None, **fields: str) -> httpx.Response:
        data = {"service_code": "conduct", "description": CONDUCT, "device_id": "call-1", **fields}
        if key is not None:
            data["api_key"] = key
        return await self.client.post(f"{BASE}/requests.json", data=data)

    async def case(self, tracking_no: str) -> Case:
        async with self.deps.uow() as uow:
            case = await uow.cases.get_by_tracking_no(tracking_no)
        assert case is not None
        return case

    async def rows(self, model: type[Any]) -> list[Any]:
        assert self.deps.session_factory is not None
        async with self.deps.session_factory() as session:
            return list((await session.execute(select(model))).scalars())


def client_for(deps: Deps) -> httpx.AsyncClient:
    app = Starlette(routes=open311.routes(deps))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def web(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> AsyncIterator[Web]:
    deps = make_deps(make_test_settings(migrated_sqlite_url), plan, clock=clock, catalogue=catalogue)
    await sync_plan_units(plan, deps.uow)  # what the bot's start does
    try:
        async with client_for(deps) as client:
            yield Web(deps, client, clock)
    finally:
        await deps.aclose()


@pytest.fixture
async def harness(
    plan: Plan, clock: FixedClock, catalogue: Catalogue, migrated_sqlite_url: str
) -> AsyncIterator[BotHarness]:
    """The real bot Application (tests/support/harness.py) on this test's database."""
    async with running_harness(
        plan=plan, clock=clock, catalogue=catalogue, database_url=migrated_sqlite_url
    ) as h:
        yield h


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == status and body[0]["description"]
    return str(body[0]["description"])


# ---------------------------------------------------------------------------------------------
# Services


async def test_services_are_the_plans_task_areas(web: Web, plan: Plan) -> None:
    response = await web.client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = response.json()
    assert [s["service_code"] for s in services] == [area.id for area in plan.areas]
    first = services[0]
    assert first["service_name"] == "一、拖拉推诿、态度差、纪律松弛"
    assert first["description"] == plan.areas[0].plain_zh
    assert (first["metadata"], first["type"]) == (False, "realtime")
    assert "态度恶劣" in first["keywords"].split(",")
    assert first["group"] == plan.campaign.title

    english = (await web.client.get(f"{BASE}/services.json", params={"locale": "en"})).json()
    assert english[0]["description"] == plan.areas[0].plain_en


async def test_services_also_answer_in_xml(web: Web, plan: Plan) -> None:
    response = await web.client.get(f"{BASE}/services.xml")
    assert response.status_code == 200 and "xml" in response.headers["content-type"]
    root = ElementTree.fromstring(response.content)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == [a.id for a in plan.areas]
    assert root.find("service/metadata").text == "false"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# Filing and reading back


async def test_a_hotline_files_with_its_key_and_the_public_reads_it_back_without_identity(web: Web) -> None:
    key = await web.issue()
    response = await web.file(key.secret, **CALLER)
    assert response.status_code == 200, response.text
    [answer] = response.json()
    assert answer["service_request_id"] == "ZH-2026-000001"
    assert "ZH-2026-000001" in answer["service_notice"] and "区直机关工委" in answer["service_notice"]
    assert "2026年11月30日" in answer["service_notice"]  # the answer deadline, as the bot's receipt
    assert answer["account_id"] == "device:call-1"

    case = await web.case("ZH-2026-000001")
    assert (case.area_final, case.area_auto) == ("conduct", "conduct")
    assert case.lead_unit_ids == ["organs_work_committee"] and case.anonymous is False
    [citizen] = await web.rows(CitizenRow)
    assert citizen.user_id is None and citizen.api_key_id == key.key.id
    assert (citizen.external_id, citizen.phone, citizen.email) == (
        "device:call-1",
        "13800138000",
        "zhang@example.cn",
    )
    assert citizen.name == "三 张"

    public = await web.client.get(f"{BASE}/requests/ZH-2026-000001.json")
    assert public.status_code == 200
    [shown] = public.json()
    assert shown["service_request_id"] == "ZH-2026-000001"
    assert (shown["status"], shown["service_code"]) == ("open", "conduct")
    assert shown["agency_responsible"] == "区直机关工委"
    assert shown["status_notes"] == "已交办"
    assert shown["requested_datetime"] == "2026-11-23T10:00:00+08:00"
    assert shown["expected_datetime"] == "2026-11-30T23:59:59+08:00"
    assert "description" not in shown
    text = public.text
    for secret in (*CALLER.values(), "call-1", CONDUCT, "12345", "政务中心"):
        assert secret not in text  # no identity, no words of the citizen, not the unit complained about
    listed = (await web.client.get(f"{BASE}/requests.json")).json()
    assert listed == [shown]


async def test_the_filing_holder_reads_its_description_back_and_nobody_else_does(web: Web) -> None:
    hotline, portal = await web.issue("12345 hotline"), await web.issue("city portal")
    await web.file(hotline.secret)
    url = f"{BASE}/requests/ZH-2026-000001.json"
    own = (await web.client.get(url, params={"api_key": hotline.secret})).json()
    other = (await web.client.get(url, params={"api_key": portal.secret})).json()
    assert own[0]["description"] == CONDUCT
    assert "description" not in other[0]
    listed = (await web.client.get(f"{BASE}/requests.json", params={"api_key": hotline.secret})).json()
    assert listed[0]["description"] == CONDUCT


async def test_requests_answer_in_xml_too(web: Web) -> None:
    key = await web.issue()
    response = await web.client.post(
        f"{BASE}/requests.xml",
        data={"api_key": key.secret, "service_code": "conduct", "description": CONDUCT, "email": "A@B.cn"},
    )
    root = ElementTree.fromstring(response.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == "ZH-2026-000001"
    assert root.findtext("request/account_id") == "email:a@b.cn"
    one = ElementTree.fromstring((await web.client.get(f"{BASE}/requests/ZH-2026-000001.xml")).content)
    assert one.findtext("request/status") == "open"
    missing = await web.client.get(f"{BASE}/requests/ZH-2026-999999.xml")
    assert missing.status_code == 404
    assert ElementTree.fromstring(missing.content).findtext("error/code") == "404"


async def test_a_request_in_triage_shows_no_guessed_area_nor_agency(web: Web) -> None:
    key = await web.issue()
    # a complaint against the area's only lead unit cannot be led by it: the office decides
    response = await web.file(key.secret, description=AGAINST_LEAD)
    [answer] = response.json()
    assert "领导小组办公室" in answer["service_notice"]
    case = await web.case(answer["service_request_id"])
    assert case.state.value == "triage"
    [shown] = (await web.client.get(f"{BASE}/requests/{case.tracking_no}.json")).json()
    assert shown["agency_responsible"] == "待办公室分办"
    assert shown["status"] == "open" and "区直机关工委" not in json.dumps(shown, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Keys


async def test_no_key_a_wrong_key_and_a_revoked_key_are_refused_and_audited(web: Web) -> None:
    key = await web.issue()
    assert_error(await web.file(None), 403)
    assert_error(await web.file("bsn_not-a-key-we-issued"), 403)
    assert (await web.file(key.secret)).status_code == 200

    revoked = await web.deps.services.api_keys.revoke(None, key.key.id)
    assert revoked.revoked_at is not None
    assert_error(await web.file(key.secret), 403)

    refused = [row for row in await web.rows(AuditRow) if row.action == AUDIT_REFUSED]
    assert [row.details["reason"] for row in refused] == ["missing", "unknown", "revoked"]
    assert refused[-1].target == f"api_key:{key.key.id}"
    assert {row.details["client"] for row in refused} == {"127.0.0.1"}
    actions = [row.action for row in await web.rows(AuditRow)]
    assert "api_key.issue" in actions and "api_key.revoke" in actions
    assert len(await web.rows(CaseRow)) == 1  # only the filing with the good key
    # a bad key on a read is refused as well (it is given, so it must be good)
    assert_error(await web.client.get(f"{BASE}/requests.json", params={"api_key": key.secret}), 403)


async def test_only_the_keys_hash_is_stored(web: Web) -> None:
    key = await web.issue()
    [row] = await web.rows(ApiKeyRow)
    assert key.secret.startswith("bsn_") and len(key.secret) > 40
    assert key.secret not in repr(vars(row)) and row.key_hash != key.secret and len(row.key_hash) == 64


async def test_a_client_that_keeps_failing_is_braked_then_let_try_again(web: Web) -> None:
    key = await web.issue()
    for _ in range(10):
        assert_error(await web.file("bsn_wrong"), 403)
    braked = await web.file(key.secret)  # even a good key waits: the request is not even read
    assert_error(braked, 429)
    assert 1 <= int(braked.headers["retry-after"]) <= 600
    audited = len([row for row in await web.rows(AuditRow) if row.action == AUDIT_REFUSED])
    assert audited == 10  # the braked request cost no audit row
    web.clock.advance(timedelta(minutes=10, seconds=1))
    assert (await web.file(key.secret)).status_code == 200


# ---------------------------------------------------------------------------------------------
# The daily limit


async def test_the_daily_limit_counts_each_api_account(web: Web) -> None:
    key = await web.issue()
    limit = web.deps.services.complaints.daily_limit
    for _ in range(limit):
        assert (await web.file(key.secret, account_id="caller-a")).status_code == 200
    refused = await web.file(key.secret, account_id="caller-a")
    assert str(limit) in assert_error(refused, 429)
    assert (await web.file(key.secret, account_id="caller-b")).status_code == 200
    web.clock.advance(timedelta(days=1))
    assert (await web.file(key.secret, account_id="caller-a")).status_code == 200


async def test_one_person_through_two_holders_is_two_accounts(web: Web) -> None:
    hotline, portal = await web.issue("12345 hotline"), await web.issue("city portal")
    await web.file(hotline.secret, phone="13800138000", device_id="")
    await web.file(portal.secret, phone="13800138000", device_id="")
    await web.file(hotline.secret, phone="138-0013-8000", device_id="")  # the same number, written otherwise
    citizens = await web.rows(CitizenRow)
    assert sorted((c.api_key_id, c.external_id) for c in citizens) == [
        (hotline.key.id, "phone:13800138000"),
        (portal.key.id, "phone:13800138000"),
    ]


# ---------------------------------------------------------------------------------------------
# Bad input


BAD_FILINGS = {
    "no service_code": ({"service_code": ""}, 400),
    "unknown service_code": ({"service_code": "parking"}, 404),
    "empty description": ({"description": ""}, 400),
    "blank description": ({"description": "   \n\t "}, 400),
    "control characters only": ({"description": "\x00\x07\x1b\u202e\u200b"}, 400),
    "too short": ({"description": "拖拉"}, 400),
    "huge description": ({"description": "拖" * (MAX_DESCRIPTION + 1)}, 400),
    "no account": ({"device_id": ""}, 400),
    "bad email": ({"email": "not-an-address"}, 400),
    "bad phone": ({"phone": "call me"}, 400),
    "long account id": ({"account_id": "x" * 101}, 400),
    "bad position": ({"lat": "north", "long": "121.2"}, 400),
    "position off the globe": ({"lat": "91", "long": "121.2"}, 400),
    "not a number position": ({"lat": "nan", "long": "nan"}, 400),
    "media": ({"media_url": "http://example.com/a.jpg"}, 400),
    "long name": ({"first_name": "名" * 51}, 400),
}


@pytest.mark.parametrize(("fields", "status"), BAD_FILINGS.values(), ids=BAD_FILINGS.keys())
async def test_bad_filings_get_open311_errors(web: Web, fields: dict[str, str], status: int) -> None:
    key = await web.issue()
    assert_error(await web.file(key.secret, **fields), status)
    assert await web.rows(CaseRow) == []


async def test_control_characters_are_dropped_as_the_bot_drops_them(web: Web) -> None:
    key = await web.issue()
    response = await web.file(
        key.secret, description=f"\x00{CONDUCT}\u202e\x07", address_string="二楼\x1b窗口"
    )
    assert response.status_code == 200, response.text
    case = await web.case("ZH-2026-000001")
    assert (case.description, case.place) == (CONDUCT, "二楼窗口")


async def test_a_position_is_kept_as_the_place(web: Web) -> None:
    key = await web.issue()
    await web.file(key.secret, lat="31.1508", long="121.1240")
    assert (await web.case("ZH-2026-000001")).place == "31.150800,121.124000"


BAD_BODIES = {
    "not utf-8": (b"api_key=x&description=%FF%FE", "application/x-www-form-urlencoded"),
    "json": (b'{"service_code": "conduct"}', "application/json"),
    "too large": (b"description=" + b"a" * (70 * 1024), "application/x-www-form-urlencoded"),
    "too many fields": (b"&".join(b"f%d=1" % i for i in range(60)), "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize(("body", "media"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_unreadable_bodies_get_open311_errors(web: Web, body: bytes, media: str) -> None:
    response = await web.client.post(f"{BASE}/requests.json", content=body, headers={"content-type": media})
    assert_error(response, 400)


BAD_QUERIES = {
    "bad start_date": ({"start_date": "yesterday"}, 400),
    "bad end_date": ({"end_date": "2026-13-01"}, 400),
    "bad status": ({"status": "pending"}, 400),
    "page zero": ({"page": "0"}, 400),
    "page_size too big": ({"page_size": "1000"}, 400),
    "page not a number": ({"page": "٣"}, 400),  # an Arabic-Indic digit: isdigit() but not ours
    "unknown service_code": ({"service_code": "parking"}, 404),
    "too many ids": ({"service_request_id": ",".join(f"ZH-2026-{i:06d}" for i in range(101))}, 400),
    "a nul in a filter": ({"status": "open\x00"}, 200),
}


@pytest.mark.parametrize(("params", "status"), BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
async def test_bad_filters_get_open311_errors(web: Web, params: dict[str, str], status: int) -> None:
    response = await web.client.get(f"{BASE}/requests.json", params=params)
    if status == 200:
        assert response.status_code == 200 and response.json() == []
    else:
        assert_error(response, status)


async def test_an_unknown_request_is_an_open311_404(web: Web) -> None:
    description = assert_error(await web.client.get(f"{BASE}/requests/ZH-2026-000404.json"), 404)
    assert "ZH-2026-000404" in description
    assert_error(await web.client.get(f"{BASE}/requests/{'Z' * 500}.json"), 404)


# ---------------------------------------------------------------------------------------------
# The list's filters


async def test_the_list_filters_by_ids_area_status_and_dates_and_pages(web: Web) -> None:
    key = await web.issue()
    await web.file(key.secret, account_id="a")  # 000001, conduct, Monday 10:00
    web.clock.advance(timedelta(hours=2))
    await web.file(
        key.secret,
        account_id="b",
        service_code="extortion",
        description="审批时工作人员索要好处费，不给就不办",
    )  # 000002
    web.clock.advance(timedelta(days=1))
    await web.file(key.secret, account_id="c")  # 000003, Tuesday
    async with web.deps.uow() as uow:  # 000003 is done
        case = await uow.cases.get_by_tracking_no("ZH-2026-000003", for_update=True)
        assert case is not None
        case.state = case.state.CLOSED
        await uow.cases.update(case)
        await uow.commit()

    async def ids(**params: str) -> list[str]:
        response = await web.client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert await ids() == ["ZH-2026-000003", "ZH-2026-000002", "ZH-2026-000001"]  # newest first
    assert await ids(service_code="extortion") == ["ZH-2026-000002"]
    assert await ids(status="closed") == ["ZH-2026-000003"]
    assert await ids(status="open") == ["ZH-2026-000002", "ZH-2026-000001"]
    assert await ids(status="open,closed") == ["ZH-2026-000003", "ZH-2026-000002", "ZH-2026-000001"]
    assert await ids(start_date="2026-11-23T11:00:00+08:00") == ["ZH-2026-000003", "ZH-2026-000002"]
    assert await ids(end_date="2026-11-23T11:00:00") == ["ZH-2026-000001"]  # no zone: the district's
    assert await ids(service_request_id="ZH-2026-000001, ZH-2026-000003", status="open") == [
        "ZH-2026-000003",
        "ZH-2026-000001",
    ]  # ids make the other filters moot, as the specification says
    assert await ids(page_size="2") == ["ZH-2026-000003", "ZH-2026-000002"]
    assert await ids(page_size="2", page="2") == ["ZH-2026-000001"]
    assert await ids(page_size="2", page="3") == []


async def test_office_findings_are_not_service_requests(web: Web) -> None:
    key = await web.issue()
    await web.file(key.secret)
    async with web.deps.uow() as uow:
        case = await uow.cases.get_by_tracking_no("ZH-2026-000001", for_update=True)
        assert case is not None
        case.source = case.source.INSPECTION
        await uow.cases.update(case)
        await uow.commit()
    assert (await web.client.get(f"{BASE}/requests.json")).json() == []
    assert_error(await web.client.get(f"{BASE}/requests/ZH-2026-000001.json"), 404)


# ---------------------------------------------------------------------------------------------
# The same complaint through the bot and through the API


async def file_in_the_bot(h: BotHarness, description: str) -> str:
    """A citizen's whole dialog: the text, the rules' area confirmed, no unit picked (the
    description names it), place and time, no evidence, anonymous, submit."""
    t = h.catalogue.t

    def button(name: str) -> str:
        return t("zh", f"complaint.button.{name}")

    await h.command(ZH_USER, "new")
    await h.say(ZH_USER, description)
    await h.click(ZH_USER, label=button("confirm_area"))
    await h.click(ZH_USER, label=button("skip"))
    await h.say(ZH_USER, "二楼窗口")
    await h.say(ZH_USER, "11月20日上午")
    await h.click(ZH_USER, label=button("skip_evidence"))
    await h.say(ZH_USER, button("anonymous"))
    await h.click(ZH_USER, label=button("submit"))
    receipt = h.last_text()
    assert "ZH-2026-" in receipt, receipt
    return "ZH-2026-" + receipt.split("ZH-2026-")[1][:6]


@pytest.mark.parametrize("description", [CONDUCT, AGAINST_LEAD], ids=["routed", "lead recused"])
async def test_the_bot_and_the_api_route_the_same_complaint_alike(
    harness: BotHarness, description: str
) -> None:
    by_bot = await file_in_the_bot(harness, description)
    key = await harness.deps.services.api_keys.issue(None, "12345 hotline")
    async with client_for(harness.deps) as client:
        response = await client.post(
            f"{BASE}/requests.json",
            data={
                "api_key": key.secret,
                "service_code": "conduct",
                "description": description,
                "device_id": "d",
            },
        )
    assert response.status_code == 200, response.text
    by_api = response.json()[0]["service_request_id"]
    assert by_api != by_bot

    async with harness.deps.uow() as uow:
        bot_case, api_case = (
            await uow.cases.get_by_tracking_no(by_bot),
            await uow.cases.get_by_tracking_no(by_api),
        )
    assert bot_case is not None and api_case is not None

    def routing(case: Case) -> tuple[Any, ...]:
        recusals = sorted((r.unit_id, r.scope.value) for r in case.recusals)
        return (
            case.area_final,
            case.area_auto,
            case.state,
            case.lead_unit_ids,
            case.assist_unit_ids,
            case.target_unit_id,
            recusals,
            case.sign_due,
            case.answer_due,
        )

    assert routing(api_case) == routing(bot_case)
    assert bot_case.recusals  # the unit named in the text is kept out, both ways
