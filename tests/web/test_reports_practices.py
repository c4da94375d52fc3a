"""/reports/practices (推介典型 and 长效机制, issue 14) over ASGI beside the real bot, and their two
sheets in the /export workbook: the office sees every practice (shared or not, who recommended
it) and every measure (due, progress, overdue, whether the 制度 document is in); the workbook
holds the period's practices and the measures alive in it; a liaison is refused; a street's
office sees and exports its own campaign's units only."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from openpyxl import load_workbook

from core.attachments import AttachmentKind
from core.clock import FixedClock
from core.measures import SHARED_TO_ALL, Evidence, GoodPractice, Measure, MeasureStatus
from core.services.complaints import ComplaintDraft
from tests.support.harness import running_harness
from tests.support.street_plan import STREET, street_plan
from tests.support.updates import TgUser
from tests.web.test_dashboard import LIAISON, OFFICE, Site, make_liaison, site
from web.app import create_app

__all__ = ["site"]  # the fixture, shared with the dashboard's tests

FIN, AUDIT, SQUARE = "finance_bureau", "audit_bureau", "miaopu_service_center"
STREET_OFFICE = TgUser(910_001, "苗圃街道纪工委孙九", "zh-hans")
THIS_WEEK = "/reports/export?period=this_week&format=xlsx"  # the fixed clock's Monday, 2026-11-23


def _table(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table class="rp" id="{table_id}">(.*?)</table>', html, re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]  # fmt: skip


async def _seed(site: Site, street: bool = False) -> None:
    """Two practices (one shared this morning, one recorded 20 days ago and never shared) and
    three measures (done with a document last week, planned and overdue, in progress)."""
    h = site.h
    now = h.clock.now()
    other = SQUARE if street else AUDIT
    async with h.deps.uow() as uow:
        await uow.practices.add_practice(
            GoodPractice(FIN, "窗口首问负责制", "第一个接待的工作人员负责到底。", now, OFFICE.id,
                         shared_at=now, shared_to=SHARED_TO_ALL)
        )  # fmt: skip
        await uow.practices.add_practice(
            GoodPractice(other, "一次告知清单", "办事要件一次讲清。", now - timedelta(days=20), OFFICE.id)
        )
        doc = Evidence("file-1", "uniq-1", AttachmentKind.DOCUMENT, "application/pdf", "制度.pdf", 1000)
        await uow.practices.add_measure(
            Measure(FIN, "建立首问负责制度", date(2026, 11, 30), now - timedelta(days=10), LIAISON.id,
                    status=MeasureStatus.DONE, updated_at=now - timedelta(days=2), evidence=[doc])
        )  # fmt: skip
        await uow.practices.add_measure(
            Measure(other, "建立限时办结制度", date(2026, 11, 10), now - timedelta(days=30), LIAISON.id)
        )
        await uow.practices.add_measure(
            Measure(
                FIN, "窗口服务评价制度", date(2026, 12, 31), now, LIAISON.id, status=MeasureStatus.IN_PROGRESS
            )
        )
        await uow.commit()


async def test_the_office_sees_every_practice_and_measure(site: Site) -> None:
    await _seed(site)
    office = await site.sign_in(OFFICE)
    page = await office.get("/reports/practices")
    assert page.status_code == 200, page.text
    plan = site.h.deps.plan
    fin, audit = plan.unit(FIN).name, plan.unit(AUDIT).name
    practices = _table(page.text, "practices")
    assert practices[0] == ["单位", "特色做法", "状态", "登记时间", "推送时间", "推荐人"]
    assert practices[1:] == [  # in the order they were recorded, as the chat's /practices
        [audit, "#2 一次告知清单", "未推送", "2026年11月3日", "", str(OFFICE.id)],
        [fin, "#1 窗口首问负责制", "已推送", "2026年11月23日", "2026年11月23日", str(OFFICE.id)],
    ]
    measures = _table(page.text, "measures")
    assert measures[0] == ["单位", "长效机制", "完成日期", "状态", "制度文件"]
    assert measures[1:] == [
        [audit, "#2 建立限时办结制度", "2026年11月10日", "计划中 已逾期", "无"],
        [fin, "#1 建立首问负责制度", "2026年11月30日", "已完成", "有（1 个）"],
        [fin, "#3 窗口服务评价制度", "2026年12月31日", "推进中", "无"],
    ]
    assert "共 2 项，已推送 1 项。" in page.text
    assert "共 3 项：已完成 1 项，逾期未完成 1 项。" in page.text
    assert '/reports/practices" aria-current="page"' in page.text  # its tab, current


async def test_the_export_has_the_periods_practices_and_the_measures_alive_in_it(site: Site) -> None:
    await _seed(site)
    office = await site.sign_in(OFFICE)
    download = await office.get(THIS_WEEK)
    assert download.status_code == 200, download.text
    workbook = load_workbook(io.BytesIO(download.content))
    assert workbook.sheetnames == ["案件", "办理记录", "单位评分", "特色做法", "长效机制"]
    plan = site.h.deps.plan
    fin, audit = plan.unit(FIN).name, plan.unit(AUDIT).name
    practices = list(workbook["特色做法"].iter_rows(values_only=True))
    assert practices[0][:5] == ("单位", "特色做法", "具体做法", "依据工单", "推送状态")
    # recorded this week: the shared one; the one of 20 days ago belongs to an earlier export
    assert [r[:5] for r in practices[1:]] == [
        (fin, "窗口首问负责制", "第一个接待的工作人员负责到底。", None, "已推送")
    ]
    assert practices[1][6] == OFFICE.id and practices[1][8] == "全体联络员"
    measures = list(workbook["长效机制"].iter_rows(values_only=True))
    assert measures[0][:6] == ("单位", "长效机制", "具体内容", "进展", "完成日期", "逾期")
    # still owed this week: the overdue one and the one in progress; the one done on Saturday not
    rows = [(r[0], r[1], r[3], r[4].date() if r[4] else None, r[5], r[8]) for r in measures[1:]]
    assert rows == [
        (audit, "建立限时办结制度", "计划中", date(2026, 11, 10), "是", 0),
        (fin, "窗口服务评价制度", "推进中", date(2026, 12, 31), "否", 0),
    ]
    whole = await office.get("/reports/export?period=campaign&format=xlsx")
    book = load_workbook(io.BytesIO(whole.content))
    assert book["特色做法"].max_row == 1 + 2 and book["长效机制"].max_row == 1 + 3
    done = [r for r in book["长效机制"].iter_rows(min_row=2, values_only=True) if r[3] == "已完成"]
    assert [(r[1], r[8]) for r in done] == [("建立首问负责制度", 1)]


async def test_a_liaison_is_refused_the_practices_page(site: Site) -> None:
    await make_liaison(site, LIAISON, "organs_work_committee")
    liaison = await site.sign_in(LIAISON)
    assert (await liaison.get("/reports/practices")).status_code == 403
    board = await liaison.get("/reports/scoreboard")
    assert board.status_code == 200 and '/reports/practices"' not in board.text


@pytest.fixture
async def street_site(clock: FixedClock, migrated_sqlite_url: str) -> AsyncIterator[Site]:
    async with running_harness(
        plan=street_plan(),
        clock=clock,
        database_url=migrated_sqlite_url,
        office_admin_ids=str(OFFICE.id),
        web_base_url="http://127.0.0.1:8000",
    ) as h:
        await h.command(OFFICE, "members", f"add {STREET_OFFICE.id} {STREET}")
        assert str(STREET_OFFICE.id) in h.last_text()
        transport = httpx.ASGITransport(app=create_app(h.deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield Site(h, client)


async def test_a_streets_office_sees_and_exports_its_own_campaigns_units_only(street_site: Site) -> None:
    await _seed(street_site, street=True)
    square = street_site.h.deps.plan.unit(SQUARE).name
    street = await street_site.sign_in(STREET_OFFICE)
    page = await street.get("/reports/practices")
    assert page.status_code == 200, page.text
    assert [r[0] for r in _table(page.text, "practices")[1:]] == [square]
    assert [r[1] for r in _table(page.text, "measures")[1:]] == ["#2 建立限时办结制度"]
    assert "窗口首问负责制" not in page.text and "首问负责制度" not in page.text
    book = load_workbook(
        io.BytesIO((await street.get("/reports/export?period=campaign&format=xlsx")).content)
    )
    assert [r[0] for r in book["特色做法"].iter_rows(min_row=2, values_only=True)] == [square]
    assert [r[1] for r in book["长效机制"].iter_rows(min_row=2, values_only=True)] == ["建立限时办结制度"]
    district = await street_site.sign_in(OFFICE)
    everything = await district.get("/reports/practices")
    assert (
        len(_table(everything.text, "practices")) == 1 + 2
        and len(_table(everything.text, "measures")) == 1 + 3
    )


async def test_a_streets_office_scoreboard_page_counts_its_own_campaign_only(street_site: Site) -> None:
    # the scoreboard page lives in web/reports/scoreboard.py; the street fixture is this file's
    h = street_site.h
    rough = "苗圃街道社会事务办的执法人员上门检查时态度粗暴，推搡群众，还扣押了我的三轮车。"
    local = await h.deps.services.complaints.file(
        100_901,
        ComplaintDraft(
            rough, area="enforcement", area_auto="enforcement", target_unit_id="miaopu_social_office"
        ),
    )
    await h.deps.services.complaints.file(
        100_902, ComplaintDraft("区政务中心窗口的工作人员上班时间玩手机，让我跑了三趟", area="conduct")
    )
    assert local.case.campaign == STREET
    squad = h.deps.plan.unit("miaopu_enforcement_squad").name
    organs = h.deps.plan.unit("organs_work_committee").name

    def received(html: str) -> dict[str, str]:
        return {row[0]: row[1] for row in _table(html, "scoreboard")[1:]}

    street = await street_site.sign_in(STREET_OFFICE)
    mine = received((await street.get("/reports/scoreboard?period=campaign")).text)
    assert mine.get(squad) == "1" and organs not in mine
    district = await street_site.sign_in(OFFICE)
    every = received((await district.get("/reports/scoreboard?period=campaign")).text)
    assert every.get(squad) == "1" and every.get(organs) == "1"
