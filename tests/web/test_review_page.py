"""/reports/review (issue 14) over ASGI beside the real bot: the office sees per unit its
inspections, findings by severity, rectification demands and acceptance, and the campaign's
state; a liaison is refused and sees no tab."""

from __future__ import annotations

import re

from tests.web.test_dashboard import LIAISON, OFFICE, Site, make_liaison, site

__all__ = ["site"]  # the fixture, shared with the dashboard's tests

FIN = "finance_bureau"


def _rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="rp" id="review-units">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
             for r in rows]  # fmt: skip
    return {r[0]: r[1:] for r in cells}


async def test_the_office_sees_each_units_review_and_acceptance(site: Site) -> None:
    h = site.h
    await h.command(OFFICE, "review", f"{FIN} | 区纪委\n{FIN} 严重：窗口无人\n{FIN} 一般：公示不全")
    await h.command(OFFICE, "accept", f"{FIN} 不予验收：整改未到位")
    office = await site.sign_in(OFFICE)
    page = await office.get("/reports/review")
    assert page.status_code == 200, page.text
    rows = _rows(page.text)
    assert rows["单位"] == ["复核次数", "问题", "一般", "较重", "严重", "已下发整改", "验收"]
    fin = rows[h.deps.plan.unit(FIN).name]
    assert fin[:5] == ["1", "2", "1", "0", "1"] and fin[5] == "0" and fin[6].startswith("不予验收")
    assert "整改未到位" in fin[6]
    other = rows[h.deps.plan.unit("audit_bureau").name]
    assert other == ["0", "0", "0", "0", "0", "0", "未验收"]
    count = len(h.deps.plan.units)
    assert h.t("zh", "web.reports.review.campaign_open", count=count) in page.text
    assert '/reports/review"' in page.text  # the tab
    assert "窗口无人" not in page.text  # the facts stay in the chat; the page counts


async def test_a_liaison_is_refused_the_review_page(site: Site) -> None:
    await make_liaison(site, LIAISON, "organs_work_committee")
    liaison = await site.sign_in(LIAISON)
    assert (await liaison.get("/reports/review")).status_code == 403
    board = await liaison.get("/reports/scoreboard")
    assert board.status_code == 200 and '/reports/review"' not in board.text
