"""core.services.classifier_report: the period becomes the [start, end) window asked of the
port (local midnight to the midnight after the last day), and the phrases in disagreement
count each cue once per corrected case, never on agreed ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.classifier_report import DecidedCase
from core.plan import Plan
from core.services.classifier_report import ClassifierReportService, analyse, disagreeing_phrases
from core.stats import Period, PeriodKind

TZ = ZoneInfo("Asia/Shanghai")


def row(no: int, auto: str | None, final: str, *cues: str) -> DecidedCase:
    return DecidedCase(f"ZH-2026-{no:06d}", auto, final, 0.5, cues)


class FakeSource:
    def __init__(self, rows: Sequence[DecidedCase]) -> None:
        self.rows = list(rows)
        self.asked: list[tuple[datetime, datetime]] = []

    async def decided_cases(self, start: datetime, end: datetime) -> Sequence[DecidedCase]:
        self.asked.append((start, end))
        return self.rows


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], ()),
        ([row(1, "conduct", "conduct", "拖拉")], ()),  # agreed: no disagreement
        ([row(1, "conduct", "procedure", "拖拉", "拖拉")], (("拖拉", 1),)),  # once per case
        (
            [row(1, "conduct", "procedure", "窗口", "拖拉"), row(2, None, "conduct", "窗口"),
             row(3, "conduct", "conduct", "窗口")],
            (("窗口", 2), ("拖拉", 1)),
        ),
        ([row(1, None, "none", "x")], ()),  # "no area" kept as "no area" is agreement
    ],
)  # fmt: skip
def test_disagreeing_phrases(rows: list[DecidedCase], expected: tuple[tuple[str, int], ...]) -> None:
    assert disagreeing_phrases(rows) == expected


def test_phrases_are_cut_to_top() -> None:
    rows = [row(i, "conduct", "procedure", f"词{i}") for i in range(1, 15)]
    assert len(disagreeing_phrases(rows, top=3)) == 3


async def test_the_service_asks_the_local_days_window_and_keeps_every_confusion(plan: Plan) -> None:
    finals = ["procedure", "extortion", "enforcement", "rent_seeking", "out_of_scope", "procedure", "conduct"]
    rows = [row(i, "conduct", final, "拖拉") for i, final in enumerate(finals, 1)]
    source = FakeSource(rows)
    period = Period(date(2026, 11, 16), date(2026, 11, 22), PeriodKind.RANGE)
    result = await ClassifierReportService(source, plan, TZ).report(period)
    start, end = source.asked[0]
    assert start == datetime(2026, 11, 16, tzinfo=TZ) and end - start == timedelta(days=7)
    assert (result.report.total, result.report.agreed) == (7, 1)
    assert len(result.report.confusions) == 5 and len(result.top_confusions(2)) == 2
    assert result.report.confusions[0].office == "procedure" and result.report.confusions[0].count == 2
    assert result.phrases == (("拖拉", 6),)
    assert "out_of_scope" in result.report.areas  # seen in the rows, after the plan's areas
    assert analyse([], [a.id for a in plan.areas], period).report.rate is None
