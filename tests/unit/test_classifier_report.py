"""core.classifier_report: confusion table, agreement per area, top confusions (pure)."""

from __future__ import annotations

import pytest

from core.classifier_report import NONE_AREA, DecidedCase, build_report

AREAS = ("conduct", "procedure", "enforcement", "extortion", "rent_seeking")


def _row(no: int, auto: str | None, final: str, *cues: str) -> DecidedCase:
    return DecidedCase(f"ZH-2026-{no:06d}", auto, final, 0.5, cues)


ROWS = [
    _row(1, "conduct", "conduct", "态度差"),
    _row(2, "conduct", "procedure", "拖拉", "窗口"),
    _row(3, "conduct", "procedure", "拖拉"),
    _row(4, "conduct", "procedure", "拖拉", "拖拉"),
    _row(5, "enforcement", "extortion", "罚款"),
    _row(6, None, "rent_seeking"),
    _row(7, "procedure", "procedure", "增加环节"),
]


@pytest.mark.parametrize(
    ("classifier", "office", "count"),
    [
        ("conduct", "conduct", 1),
        ("conduct", "procedure", 3),
        ("enforcement", "extortion", 1),
        (NONE_AREA, "rent_seeking", 1),
        ("procedure", "procedure", 1),
        ("procedure", "conduct", 0),
    ],
)
def test_confusion_table_cells(classifier: str, office: str, count: int) -> None:
    assert build_report(ROWS, AREAS).cell(classifier, office) == count


@pytest.mark.parametrize(
    ("area", "total", "agreed", "rate"),
    [
        ("conduct", 4, 1, 0.25),
        ("procedure", 1, 1, 1.0),
        ("enforcement", 1, 0, 0.0),
        ("extortion", 0, 0, None),  # never picked: no rate, not 0 %
        (NONE_AREA, 1, 0, 0.0),
    ],
)
def test_agreement_per_area(area: str, total: int, agreed: int, rate: float | None) -> None:
    by_area = {a.area: a for a in build_report(ROWS, AREAS).per_area}
    assert (by_area[area].total, by_area[area].agreed, by_area[area].rate) == (total, agreed, rate)


def test_overall_rate_and_area_order() -> None:
    report = build_report(ROWS, AREAS)
    assert (report.total, report.agreed) == (7, 2)
    assert report.rate == pytest.approx(2 / 7)
    # plan order first, then areas only the rows name
    assert report.areas == (*AREAS, NONE_AREA)


def test_top_confusion_has_examples_and_cues_counted_once_per_case() -> None:
    first = build_report(ROWS, AREAS, examples=2).confusions[0]
    assert (first.classifier, first.office, first.count) == ("conduct", "procedure", 3)
    assert first.examples == ("ZH-2026-000002", "ZH-2026-000003")
    assert first.cues == (("拖拉", 3), ("窗口", 1))


def test_confusions_ranked_by_count_then_plan_order_and_cut_at_top() -> None:
    report = build_report(ROWS, AREAS, top=2)
    assert [(c.classifier, c.office) for c in report.confusions] == [
        ("conduct", "procedure"),
        ("enforcement", "extortion"),
    ]


@pytest.mark.parametrize(
    ("rows", "total", "rate", "confusions"),
    [
        ([], 0, None, 0),
        ([_row(1, "conduct", "conduct")], 1, 1.0, 0),
        ([_row(1, "conduct", "out_of_scope")], 1, 0.0, 1),
    ],
)
def test_edge_cases(rows: list[DecidedCase], total: int, rate: float | None, confusions: int) -> None:
    report = build_report(rows, AREAS)
    assert (report.total, report.rate, len(report.confusions)) == (total, rate, confusions)


def test_negative_limits_refused() -> None:
    with pytest.raises(ValueError):
        build_report(ROWS, AREAS, top=-1)


def test_report_carries_no_identity_fields() -> None:
    # the rows have no citizen field at all: the report cannot leak who complained
    assert set(DecidedCase.__dataclass_fields__) == {
        "tracking_no",
        "area_auto",
        "area_final",
        "confidence",
        "matched_cues",
    }
