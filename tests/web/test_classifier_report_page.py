"""/reports/classifier (issue 14) as its users meet it, over ASGI beside the real bot: the
office sees the confusion matrix, the corrections and the phrases, and downloads the chat's
workbook; a liaison is refused both; the reports' tabs link the page for the office only."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from tests.support.classifier_seed import seed_classifier_cases
from tests.web.test_dashboard import LIAISON, OFFICE, Site, make_liaison, site

__all__ = ["site"]  # the fixture, shared with the dashboard's tests


def _cells(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table class="rp" id="{table_id}">(.*?)</table>', html, re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]  # fmt: skip


async def test_the_office_sees_the_matrix_and_the_phrases(site: Site) -> None:
    await seed_classifier_cases(site.h.deps.uow, site.h.plan)
    office = await site.sign_in(OFFICE)
    page = await office.get("/reports/classifier")
    assert page.status_code == 200, page.text
    t = site.h.t
    conduct, procedure = t("zh", "area.name.conduct"), t("zh", "area.name.procedure")
    extortion = t("zh", "area.name.extortion")
    assert "已确定类别 6 件，办公室沿用自动分类 2 件（33%）。" in page.text
    matrix = _cells(page.text, "classifier-matrix")
    header = matrix[0]
    assert header[0] == "自动分类 \\ 办公室" and header[-1] == "合计"
    by_row = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in matrix[1:]}
    assert by_row[conduct][procedure] == "2" and by_row[conduct][conduct] == "1"
    assert by_row[conduct]["合计"] == "3" and by_row["（未分类）"][extortion] == "1"
    assert set(header[1:-1]) == {conduct, procedure, extortion, "（未分类）"}  # unused areas left out
    confusions = _cells(page.text, "classifier-confusions")
    assert confusions[1] == [conduct, procedure, "2", "ZH-2026-000001、ZH-2026-000002"]
    assert _cells(page.text, "classifier-phrases")[1:3] == [["拖拉", "2"], ["窗口", "2"]]
    assert '/reports/classifier"' in page.text  # the tab

    weekly = await office.get("/reports/classifier?period=range&from=2026-11-16&to=2026-11-22")
    assert "已确定类别 5 件" in weekly.text
    link = re.search(r'id="classifier-download" href="([^"]+)"', weekly.text)
    assert link
    download = await office.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    assert "classifier-2026-11-16_2026-11-22.xlsx" in download.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(download.content))
    phrases = [list(r) for r in wb["关键词"].iter_rows(min_row=2, values_only=True)]
    assert phrases == [["拖拉", 2], ["窗口", 1]]


async def test_an_empty_period_says_so(site: Site) -> None:
    office = await site.sign_in(OFFICE)
    page = await office.get("/reports/classifier")
    assert page.status_code == 200 and site.h.t("zh", "web.reports.classifier.empty") in page.text
    assert 'id="classifier-matrix"' not in page.text


async def test_a_liaison_is_refused_and_sees_no_tab(site: Site) -> None:
    await seed_classifier_cases(site.h.deps.uow, site.h.plan)
    await make_liaison(site, LIAISON, "organs_work_committee")
    liaison = await site.sign_in(LIAISON)
    assert (await liaison.get("/reports/classifier")).status_code == 403
    assert (await liaison.get("/reports/classifier.xlsx")).status_code == 403
    board = await liaison.get("/reports/scoreboard")
    assert board.status_code == 200 and '/reports/classifier"' not in board.text
