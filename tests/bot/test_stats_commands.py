"""Statistics in the chat, through the real Application: the public /stats, and the office's
/digest, /scoreboard and /export (refused for citizens and liaisons), on the seeded mix of
``tests/support/stats_seed.py`` (today is Monday 2026-11-23, as in the harness clock)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.measures import GoodPractice, Measure
from core.review import FindingSeverity, ReviewFinding, ReviewInspection
from storage.models import OutboxRow
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.recording_request import RecordedCall
from tests.support.stats_seed import CITIZEN_PHONE, CITIZEN_USER, SECRET_TEXT, TZ, Seeded, seed_mix
from tests.support.updates import TgUser

OFFICE = TgUser(300_001, "周主任")
CITIZEN = TgUser(100_001, "张三")
LIAISON = TgUser(200_001, "李联络")
OFFICE_CHAT = -1001234567890


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


@pytest.fixture
async def seeded(h: BotHarness) -> Seeded:
    seeded = await seed_mix(h.deps.uow, h.plan)
    async with h.deps.uow() as uow:
        await uow.users.upsert(LIAISON.id, now=h.clock.now(), chat_id=LIAISON.id)
        await uow.liaisons.add(LIAISON.id, "organs_work_committee", now=h.clock.now())
        await uow.commit()
    return seeded


def _uploads(calls: list[RecordedCall], method: str, field: str) -> list[bytes]:
    return [c.files[field].content for c in calls if c.method == method and field in c.files]


# -- public /stats --------------------------------------------------------------------------------


async def test_stats_is_public_and_shows_totals_never_a_case_or_a_person(
    h: BotHarness, seeded: Seeded
) -> None:
    await h.command(CITIZEN, "stats")
    text = "\n".join(h.texts())
    assert "公开统计" in text
    assert "<b>本周</b>" in text and "<b>专项整治以来</b>" in text
    assert "受理 <b>1</b> 件" in text  # this week: A5
    assert "受理 <b>34</b> 件" in text  # the campaign: every seeded case but the draft
    assert "按问题类别：" in text and "• 区直机关工委：" in text
    assert SECRET_TEXT not in text and "ZH-2026" not in text and CITIZEN_PHONE not in text
    assert "东风路" not in text  # not even what citizens wrote about whom


async def test_stats_in_english(h: BotHarness, seeded: Seeded) -> None:
    await h.command(TgUser(100_002, "Alice", "en-GB"), "stats")
    assert "public statistics" in h.last_text() or "public statistics" in "\n".join(h.texts())


# -- office commands: refused for everybody else --------------------------------------------------


@pytest.mark.parametrize("command", ["digest", "scoreboard", "export"])
@pytest.mark.parametrize("who", [CITIZEN, LIAISON], ids=["citizen", "liaison"])
async def test_office_commands_are_refused_for_citizens_and_liaisons(
    h: BotHarness, seeded: Seeded, command: str, who: TgUser
) -> None:
    calls = await h.command(who, command, "weekly")
    assert h.texts() == [h.t("zh", "digest.office_only")]
    assert not [c for c in calls if c.method in ("sendPhoto", "sendDocument")]


# -- office commands ------------------------------------------------------------------------------


async def test_office_gets_the_daily_digest_as_text_chart_and_workbook(h: BotHarness, seeded: Seeded) -> None:
    calls = await h.command(OFFICE, "digest")
    texts = h.texts()
    assert texts[0] == h.t("zh", "digest.working")
    digest = "\n".join(texts[1:])
    assert "<b>新受理</b>（2026年11月22日）：<b>3</b> 件" in digest
    assert "🔴 超期 <b>5</b> 件" in digest and "🟡 今天到期 <b>2</b> 件" in digest
    (png,) = _uploads(calls, "sendPhoto", "photo")
    assert png.startswith(b"\x89PNG")
    (xlsx,) = _uploads(calls, "sendDocument", "document")
    workbook = load_workbook(io.BytesIO(xlsx))
    assert workbook.sheetnames == ["新受理", "三色预警"]
    document = next(c for c in calls if c.method == "sendDocument")
    assert document.files["document"].filename == "digest-daily-2026-11-23.xlsx"


async def test_office_gets_the_weekly_digest(h: BotHarness, seeded: Seeded) -> None:
    calls = await h.command(OFFICE, "digest", "weekly")
    digest = "\n".join(h.texts())
    assert "周报 · 2026年11月16日至2026年11月22日" in digest
    assert "满意率 50%（3/6）" in digest  # "no reply" in the denominator
    assert "区物价局 · 四、吃拿卡要报：3 件" in digest
    assert len(_uploads(calls, "sendPhoto", "photo")) == 1
    (xlsx,) = _uploads(calls, "sendDocument", "document")
    assert "通报名单" in load_workbook(io.BytesIO(xlsx)).sheetnames


async def test_the_weekly_digest_tells_of_review_inspections_practices_and_measures(
    h: BotHarness, seeded: Seeded
) -> None:
    await h.command(OFFICE, "digest", "weekly")
    assert "复核检查" not in "\n".join(h.texts())  # a campaign without any: no such section
    fin, aud = "finance_bureau", "audit_bureau"
    async with h.deps.uow() as uow:
        held = await uow.review.add_inspection(
            ReviewInspection("区纪委", date(2026, 11, 18), [fin, aud], h.clock.now(), recorded_by=OFFICE.id)
        )
        assert held.id is not None
        await uow.review.add_finding(
            ReviewFinding(held.id, fin, FindingSeverity.GRAVE, "窗口无人值守", h.clock.now())
        )
        await uow.practices.add_practice(
            GoodPractice(aud, "首问负责制", "…", datetime(2026, 11, 17, 9, tzinfo=TZ), recorded_by=OFFICE.id)
        )
        await uow.practices.add_measure(
            Measure(fin, "建立限时办结制度", date(2026, 11, 20), datetime(2026, 11, 2, 9, tzinfo=TZ))
        )
        await uow.commit()

    await h.command(OFFICE, "digest", "weekly")
    digest = "\n".join(h.texts())
    assert "<b>复核检查、推介典型与长效机制</b>" in digest
    assert "复核检查 1 次，检查单位 2 个，发现问题 1 个（严重 1）" in digest
    assert "尚未下发整改建议书的问题（累计）：1 个" in digest
    assert "特色做法：登记 1 项，推送 0 项" in digest
    assert "长效机制：本期完成 0 项，在办 1 项，逾期未完成 1 项" in digest
    assert "区财政局：#" in digest and "建立限时办结制度（应于 2026年11月20日 完成）" in digest


async def test_office_scoreboard_with_csv(h: BotHarness, seeded: Seeded) -> None:
    calls = await h.command(OFFICE, "scoreboard", "weekly csv")
    assert "• <b>区直机关工委</b>：受理 5 · 签收 25% · 答复 50%" in "\n".join(h.texts())
    documents = [c.files["document"].filename for c in calls if c.method == "sendDocument"]
    assert documents == [
        "scoreboard-2026-11-16_2026-11-22.xlsx",
        "scoreboard-2026-11-16_2026-11-22-scoreboard.csv",
    ]
    csv_files = [c.files["document"] for c in calls if c.method == "sendDocument"]
    assert csv_files[1].content.startswith(b"\xef\xbb\xbf")


async def test_office_export_is_a_workbook_without_the_complainants_identity(
    h: BotHarness, seeded: Seeded
) -> None:
    calls = await h.command(OFFICE, "export", "weekly conduct")
    (xlsx,) = _uploads(calls, "sendDocument", "document")
    workbook = load_workbook(io.BytesIO(xlsx))
    # the last two: 推介典型 and 长效机制 (issue 14)
    assert workbook.sheetnames == ["案件", "办理记录", "单位评分", "特色做法", "长效机制"]
    cases = workbook["案件"]
    assert cases.freeze_panes == "A2" and cases.auto_filter.ref is not None
    # conduct cases created in the week: A1 A2 S1 S2 S3 S5 H6 H7 H8
    assert cases.max_row == 1 + 9
    cells = "".join(
        str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )
    assert CITIZEN_PHONE not in cells and str(CITIZEN_USER) not in cells
    caption = next(c for c in calls if c.method == "sendDocument").text or ""
    assert "案件 9 件" in caption and "不含投诉人身份信息" in caption


async def test_export_as_csv_sends_three_files(h: BotHarness, seeded: Seeded) -> None:
    calls = await h.command(OFFICE, "export", "2026-11-22 csv")
    names = [c.files["document"].filename for c in calls if c.method == "sendDocument"]
    assert names == [f"export-2026-11-22-{t}.csv" for t in ("cases", "events", "scoreboard")]


async def test_a_bad_argument_gets_the_usage(h: BotHarness, seeded: Seeded) -> None:
    await h.command(OFFICE, "export", "<b>lastyear</b>")
    text = h.last_text()
    assert "&lt;b&gt;lastyear&lt;/b&gt;" in text and "/export" in text


async def test_an_export_too_big_for_a_chat_is_refused_with_the_way_out(
    h: BotHarness, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.handlers import stats

    monkeypatch.setattr(stats, "MAX_CHAT_EXPORT_ROWS", 10)
    calls = await h.command(OFFICE, "export")
    assert "python -m bot report export" in h.last_text()
    assert not [c for c in calls if c.method == "sendDocument"]


# -- the scheduled digests ------------------------------------------------------------------------


async def test_the_periodic_pass_queues_the_days_and_the_weeks_digest_once(
    h: BotHarness, seeded: Seeded
) -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    summary = await h.deps.services.periodic.run(monday_9)
    assert summary.digests == 2  # the daily one, and on Mondays the weekly one
    again = await h.deps.services.periodic.run(monday_9)
    assert again.digests == 0
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        rows = (
            (await session.execute(select(OutboxRow).where(OutboxRow.chat_id == OFFICE_CHAT))).scalars().all()
        )
    keys = sorted(r.dedup_key or "" for r in rows if (r.dedup_key or "").startswith("digest:"))
    assert keys == [
        "digest:daily:2026-11-23:chart",
        "digest:daily:2026-11-23:digest-daily-2026-11-23.xlsx",
        "digest:daily:2026-11-23:text",
        "digest:weekly:2026-11-23:chart",
        "digest:weekly:2026-11-23:digest-weekly-2026-11-16_2026-11-22.xlsx",
        "digest:weekly:2026-11-23:text",
    ]
    text = next(r for r in rows if r.dedup_key == "digest:daily:2026-11-23:text")
    assert "🔴 超期 <b>5</b> 件" in str(text.payload["text"])

    assert h.deps.sender is not None
    await h.deps.sender.drain_once(monday_9)
    delivered = "\n".join(c.text or "" for c in h.sent_to(OFFICE_CHAT))
    assert "📊 日报 · 2026年11月23日" in delivered and "📈 周报" in delivered
