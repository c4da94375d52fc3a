"""The dashboard (web/) as its users meet it: in-process over ASGI beside the real bot
Application on one migrated SQLite database, the real plan, services and catalogue.

An office member asks the bot for /web, signs in with the link, lists and opens cases, sees
who complained, reassigns a case (the new unit's liaison is notified); a liaison sees only its
unit's cases and never the complainant; forged, spent and expired links, a form without its
CSRF token and a liaison calling the office's routes are refused; /web off ends sessions.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from core.attachments import Attachment, AttachmentKind
from core.cases import Case
from core.clock import FixedClock
from core.plan import Plan
from core.services.web_access import AUDIT_LOGIN, AUDIT_REFUSED
from storage.models import AuditRow, OutboxRow, WebLinkRow, WebSessionRow
from tests.support.botapi_standin import BotApiStandin
from tests.support.harness import TEST_TOKEN, BotHarness, running_harness
from tests.support.updates import TgUser, group_chat
from web.app import create_app

OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
LIAISON = TgUser(800_101, "联络员李四", "zh-hans")
OTHER_LIAISON = TgUser(800_102, "联络员赵六", "zh-hans")
CITIZEN = TgUser(100_001, "张三", "zh-hans")
PHONE = "13800138000"
CONDUCT = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"
LINK = re.compile(r'href="(http://[^"]+/login\?token=([A-Za-z0-9_-]+))"')


@dataclass
class Site:
    h: BotHarness
    client: httpx.AsyncClient

    async def link(self, user: TgUser) -> str:
        await self.h.command(user, "web")
        match = LINK.search(self.h.last_text())
        assert match, self.h.last_text()
        return match.group(2)

    async def sign_in(self, user: TgUser) -> httpx.AsyncClient:
        """A browser of its own for ``user``, signed in through a fresh /web link."""
        token = await self.link(user)
        browser = httpx.AsyncClient(transport=self.client._transport, base_url="http://127.0.0.1:8000")
        page = await browser.get(f"/login?token={token}")
        assert page.status_code == 200 and f'value="{token}"' in page.text
        response = await browser.post("/login", data={"token": token})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/cases"
        return browser

    async def rows(self, model: type[Any]) -> list[Any]:
        assert self.h.deps.session_factory is not None
        async with self.h.deps.session_factory() as session:
            return list((await session.execute(select(model))).scalars())

    async def case(self, number: str) -> Case:
        async with self.h.deps.uow() as uow:
            case = await uow.cases.get_by_tracking_no(number)
        assert case is not None
        return case


@pytest.fixture
async def site(plan: Plan, clock: FixedClock, migrated_sqlite_url: str) -> AsyncIterator[Site]:
    async with running_harness(
        plan=plan,
        clock=clock,
        database_url=migrated_sqlite_url,
        office_admin_ids=str(OFFICE.id),
        web_base_url="http://127.0.0.1:8000",
    ) as h:
        app = create_app(h.deps)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield Site(h, client)


async def file_case(site: Site) -> str:
    """A complaint with a phone number, through the same service as the bot (the API's
    account path, so the complainant has a phone without a Telegram dialog)."""
    key = await site.h.deps.services.api_keys.issue(None, "12345 hotline")
    response = await site.client.post(
        "/open311/v2/requests.json",
        data={"api_key": key.secret, "service_code": "conduct", "description": CONDUCT,
              "device_id": "caller-7", "phone": PHONE},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return str(response.json()[0]["service_request_id"])


async def make_liaison(site: Site, user: TgUser, unit_id: str) -> None:
    now = site.h.clock.now()
    async with site.h.deps.uow() as uow:
        await uow.users.upsert(user.id, now=now, chat_id=user.id)
        await uow.liaisons.add(user.id, unit_id, now=now)
        await uow.commit()


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def test_the_office_signs_in_with_a_bot_link_and_sees_the_case_with_its_complainant(
    site: Site,
) -> None:
    number = await file_case(site)
    browser = await site.sign_in(OFFICE)
    listing = await browser.get("/cases")
    assert listing.status_code == 200
    assert number in listing.text and PHONE not in listing.text  # identity on the case page only
    page = await browser.get(f"/cases/{number}")
    assert page.status_code == 200
    assert PHONE in page.text and "12345 hotline" in page.text
    assert 'id="form-reclassify"' in page.text
    actions = [row.action for row in await site.rows(AuditRow)]
    assert AUDIT_LOGIN in actions and "case.view" in actions
    [session] = await site.rows(WebSessionRow)
    cookie = browser.cookies.get("bsn_session")
    assert cookie and session.token_hash != cookie and session.ended_at is None


async def test_a_link_works_once_a_forged_or_expired_one_not_at_all(site: Site, clock: FixedClock) -> None:
    token = await site.link(OFFICE)
    first = await site.client.post("/login", data={"token": token})
    assert first.status_code == 303
    again = await site.client.post("/login", data={"token": token})
    assert again.status_code == 403 and site.h.t("zh", "web.login.refused_used") in again.text
    forged = await site.client.post("/login", data={"token": token[:-2] + "xx"})
    assert forged.status_code == 403 and site.h.t("zh", "web.login.refused_unknown") in forged.text
    late = await site.link(OFFICE)
    clock.advance(timedelta(minutes=10, seconds=1))
    expired = await site.client.post("/login", data={"token": late})
    assert expired.status_code == 403 and site.h.t("zh", "web.login.refused_expired") in expired.text
    refusals = [row.details["reason"] for row in await site.rows(AuditRow) if row.action == AUDIT_REFUSED]
    assert refusals == ["used", "unknown", "expired"]
    assert len(await site.rows(WebSessionRow)) == 1


async def test_no_session_no_page(site: Site) -> None:
    for path in ("/cases", "/triage", "/reports/scoreboard", "/reports/audit"):
        response = await site.client.get(path)
        assert response.status_code == 401, path
        assert site.h.t("zh", "web.login.required") in response.text


async def test_links_only_in_a_private_chat_and_only_for_staff(site: Site) -> None:
    group = site.h.make.message(OFFICE, text="/web", chat=group_chat(-100_555),
                                entities=[{"type": "bot_command", "offset": 0, "length": 4}])  # fmt: skip
    await site.h.send(group)
    assert site.h.last_text() == site.h.t("zh", "web_login.private_only")
    await site.h.command(CITIZEN, "web")
    assert site.h.last_text() == site.h.t("zh", "web_login.not_staff")
    assert await site.rows(WebLinkRow) == []


async def test_a_liaison_sees_its_units_cases_never_the_complainant_nor_the_offices_routes(
    site: Site,
) -> None:
    number = await file_case(site)
    case = await site.case(number)
    lead = case.lead_unit_ids[0]
    other = next(u.id for u in site.h.plan.units if u.id not in case.lead_unit_ids + case.assist_unit_ids
                 and u.id not in case.may_not_see())  # fmt: skip
    await make_liaison(site, LIAISON, lead)
    await make_liaison(site, OTHER_LIAISON, other)

    mine = await site.sign_in(LIAISON)
    listing = await mine.get("/cases")
    assert listing.status_code == 200 and number in listing.text
    page = await mine.get(f"/cases/{number}")
    assert page.status_code == 200 and CONDUCT in page.text
    assert PHONE not in page.text and "12345 hotline" not in page.text and 'id="identity"' not in page.text
    assert 'id="actions"' not in page.text
    # asking for another unit's cases in the query string changes nothing
    assert number in (await mine.get(f"/cases?unit={other}")).text
    token = csrf_of(page)
    for path in ("/triage", "/reports/audit", "/reports/exports"):
        refused = await mine.get(path)
        assert refused.status_code == 403, path
        # the refusal keeps the liaison's header: their menu and sign-out, to find the way back
        assert 'action="/logout"' in refused.text and 'href="/cases"' in refused.text, path
    route = await mine.post(f"/cases/{number}/route", data={"csrf": token, "lead": other})
    assert route.status_code == 403
    assert (await site.case(number)).lead_unit_ids == case.lead_unit_ids

    theirs = await site.sign_in(OTHER_LIAISON)
    assert number not in (await theirs.get("/cases")).text
    assert (await theirs.get(f"/cases/{number}")).status_code == 404


async def test_the_office_reassigns_a_case_through_a_form_with_its_csrf_token(site: Site) -> None:
    number = await file_case(site)
    case = await site.case(number)
    target = next(u.id for u in site.h.plan.units if u.id not in case.lead_unit_ids
                  and u.id not in case.may_not_lead())  # fmt: skip
    await make_liaison(site, LIAISON, target)
    browser = await site.sign_in(OFFICE)
    page = await browser.get(f"/cases/{number}")
    form = {"area": case.area or "", "lead": target}

    forged = await browser.post(f"/cases/{number}/route", data=form)
    assert forged.status_code == 403 and site.h.t("zh", "web.error.csrf") in forged.text
    wrong = await browser.post(f"/cases/{number}/route", data={**form, "csrf": "0" * 64})
    assert wrong.status_code == 403
    assert (await site.case(number)).lead_unit_ids == case.lead_unit_ids

    done = await browser.post(f"/cases/{number}/route", data={**form, "csrf": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{number}?done=route"
    assert (await site.case(number)).lead_unit_ids == [target]
    notices = [row for row in await site.rows(OutboxRow) if row.chat_id == LIAISON.id]
    assert notices and number in str(notices[-1].payload)
    shown = await browser.get(done.headers["location"])
    assert site.h.t("zh", "web.case.done_route") in shown.text
    assert any(row.action == "case.route" for row in await site.rows(AuditRow))


async def test_a_refusal_shows_on_the_case_page(site: Site) -> None:
    number = await file_case(site)
    browser = await site.sign_in(OFFICE)
    page = await browser.get(f"/cases/{number}")
    unchanged = {"csrf": csrf_of(page), "area": (await site.case(number)).area}
    response = await browser.post(f"/cases/{number}/reclassify", data=unchanged)
    assert response.status_code == 409 and 'id="error"' in response.text


async def test_web_off_ends_every_session_and_sign_out_ends_one(site: Site) -> None:
    first = await site.sign_in(OFFICE)
    second = await site.sign_in(OFFICE)
    page = await first.get("/cases")
    out = await first.post("/logout", data={"csrf": csrf_of(page)})
    assert out.status_code == 200 and (await first.get("/cases")).status_code == 401
    assert (await second.get("/cases")).status_code == 200
    await site.h.command(OFFICE, "web", "off")
    assert site.h.last_text() == site.h.t("zh", "web_login.ended", count=1)
    assert (await second.get("/cases")).status_code == 401


async def test_a_removed_liaison_loses_the_dashboard_at_once(site: Site) -> None:
    await make_liaison(site, LIAISON, site.h.plan.units[0].id)
    browser = await site.sign_in(LIAISON)
    assert (await browser.get("/cases")).status_code == 200
    async with site.h.deps.uow() as uow:
        await uow.liaisons.remove(LIAISON.id, now=site.h.clock.now())
        await uow.commit()
    assert (await browser.get("/cases")).status_code == 401
    [session] = await site.rows(WebSessionRow)
    assert session.end_reason == "role"


async def test_pages_carry_the_security_headers_and_the_cookie_its_flags(site: Site) -> None:
    token = await site.link(OFFICE)
    response = await site.client.post("/login", data={"token": token})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    page = await site.client.get("/cases")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    css = await site.client.get("/static/dashboard.css")
    assert css.status_code == 200 and "--navy" in css.text


async def test_the_dashboard_speaks_english_beside_chinese(site: Site, plan: Plan) -> None:
    browser = await site.sign_in(OFFICE)
    switch = await browser.get("/lang/en?next=/cases")
    assert switch.status_code == 303 and switch.headers["location"] == "/cases"
    page = await browser.get("/cases")
    assert site.h.t("en", "web.cases.title") in page.text
    evil = await browser.get("/lang/en?next=//evil.example")
    assert evil.headers["location"] == "/cases"


async def test_evidence_files_come_from_telegram_for_those_who_may_see_the_case(
    plan: Plan, clock: FixedClock, migrated_sqlite_url: str
) -> None:
    content = b"%PDF-1.4 a scanned receipt"
    async with BotApiStandin(TEST_TOKEN) as api:
        api.add_file("FILE-1", content, "documents/receipt.pdf")
        async with running_harness(
            plan=plan, clock=clock, database_url=migrated_sqlite_url, office_admin_ids=str(OFFICE.id),
            web_base_url="http://127.0.0.1:8000", telegram_api_url=api.api_url,
        ) as h:  # fmt: skip
            transport = httpx.ASGITransport(app=create_app(h.deps))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
                site = Site(h, client)
                number = await file_case(site)
                case = await site.case(number)
                assert case.id is not None
                async with h.deps.uow() as uow:
                    stored = await uow.attachments.add(
                        Attachment("FILE-1", "U1", AttachmentKind.DOCUMENT, clock.now(), case_id=case.id,
                                   mime="application/pdf", file_name="回执.pdf")
                    )  # fmt: skip
                    await uow.commit()
                outsider_unit = next(u.id for u in plan.units if u.id not in case.lead_unit_ids
                                     + case.assist_unit_ids and u.id not in case.may_not_see())  # fmt: skip
                await make_liaison(site, OTHER_LIAISON, outsider_unit)
                office = await site.sign_in(OFFICE)
                page = await office.get(f"/cases/{number}")
                assert f"/cases/{number}/files/{stored.id}" in page.text and "回执.pdf" in page.text
                download = await office.get(f"/cases/{number}/files/{stored.id}")
                assert download.status_code == 200 and download.content == content
                assert download.headers["content-type"] == "application/pdf"
                assert "attachment" in download.headers["content-disposition"]
                assert (await office.get(f"/cases/{number}/files/{stored.id + 1}")).status_code == 404
                outsider = await site.sign_in(OTHER_LIAISON)
                assert (await outsider.get(f"/cases/{number}/files/{stored.id}")).status_code == 404
    assert TEST_TOKEN not in download.text
