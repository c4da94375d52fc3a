"""The demo's seeded campaign (web/demo/seed.py): made through the real services, every state
present, some cases overdue, histories, audit and report rows real, nothing left for the bot to
replay, and the same campaign every run. No browser needed."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import classifier_for
from core.plan import Plan, load_plan
from storage.db import make_engine
from storage.models import AuditRow, CaseEventRow, CaseRow, LiaisonRow, OutboxRow, UnitReportRow
from web.demo.personas import liaisons
from web.demo.seed import TEXTS, campaign_start_for, seed_demo

REPO_ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 12, 4)  # a Friday


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(REPO_ROOT / "plans" / "zhuhui-2014.toml").rebase(campaign_start_for(TODAY))


def test_every_demo_text_is_classified_under_its_area(plan: Plan) -> None:
    classifier = classifier_for(plan)
    wrong = [
        (area, text, result.area)
        for area, texts in TEXTS.items()
        for text in texts
        if (result := classifier.classify(text)).area != area or result.needs_choice
    ]
    assert not wrong


async def test_seeded_campaign_has_every_state_overdue_cases_and_real_records(
    plan: Plan, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    report = await seed_demo(url, plan, today=TODAY, cases=200)
    assert report.cases == 200
    states = {"triage", "assigned", "signed", "extension_requested", "answered", "returned", "closed",
              "rejected"}  # fmt: skip
    assert states <= set(report.states), report.states
    engine = make_engine(url)
    try:
        async with engine.connect() as db:
            created = (
                await db.execute(select(func.min(CaseRow.created_at), func.max(CaseRow.created_at)))
            ).one()
            overdue_sign = await db.scalar(
                select(func.count()).where(CaseRow.state == "assigned", CaseRow.sign_due < TODAY)
            )
            overdue_answer = await db.scalar(
                select(func.count()).where(CaseRow.state == "signed", CaseRow.answer_due < TODAY)
            )
            events = Counter(
                dict(
                    (
                        await db.execute(select(CaseEventRow.kind, func.count()).group_by(CaseEventRow.kind))
                    ).all()
                )
            )
            audited = await db.scalar(select(func.count()).select_from(AuditRow))
            pending = await db.scalar(select(func.count()).where(OutboxRow.state != "sent"))
            sent = await db.scalar(select(func.count()).select_from(OutboxRow))
            bound = await db.scalar(select(func.count()).select_from(LiaisonRow))
            reports = await db.scalar(select(func.count()).select_from(UnitReportRow))
    finally:
        await engine.dispose()
    # spread over the campaign, from its first days to today
    assert created[0].date() < plan.start + (TODAY - plan.start) / 3 <= created[1].date() <= TODAY
    assert overdue_sign and overdue_answer
    # histories through the services: filing, signing, answers, ratings, office decisions
    assert {"submit", "sign", "answer", "close"} <= set(events), events
    assert audited  # the office's decisions and the liaisons' joins are on the audit trail
    assert sent and pending == 0  # delivered in the past: the bot must not replay them
    assert bound == len(liaisons(plan))
    assert reports  # self-inspection reports, for the scoreboard


async def test_the_demo_campaign_is_the_same_every_run(plan: Plan, tmp_path: Path) -> None:
    async def cases(name: str) -> list[tuple[str, ...]]:
        url = f"sqlite+aiosqlite:///{tmp_path / name}"
        await seed_demo(url, plan, today=TODAY, cases=30)
        engine = make_engine(url)
        try:
            async with engine.connect() as db:
                rows = await db.execute(
                    select(CaseRow.tracking_no, CaseRow.state, CaseRow.description).order_by(CaseRow.id)
                )
                return [tuple(r) for r in rows.all()]
        finally:
            await engine.dispose()

    first = await cases("a.db")
    assert first == await cases("b.db")
