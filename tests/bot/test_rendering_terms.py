"""Plan references in notices are rendered in the reader's language at send time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.i18n import Catalogue
from bot.rendering import PlanTerms, RenderError, render
from core.notices import Notice
from core.plan import Plan

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _rendered(plan: Plan, catalogue: Catalogue, lang: str, params: dict[str, object]) -> str:
    notice = Notice(chat_id=7, user_id=7, text_key="notify.citizen.routed", params=params)  # type: ignore[arg-type]
    call = render(notice.to_outbox(NOW), catalogue, lang, PlanTerms(plan))
    return str(call.params["text"])


@pytest.mark.parametrize(
    ("lang", "units", "date_text"),
    [
        ("zh", "区纪委、区监察局", "2026年11月30日"),
        (
            "en",
            "District Commission for Discipline Inspection, District Supervision Bureau",
            "Mon 30 Nov 2026",
        ),
    ],
)
def test_units_and_dates_are_named_in_the_readers_language(
    plan: Plan, catalogue: Catalogue, lang: str, units: str, date_text: str
) -> None:
    text = _rendered(
        plan,
        catalogue,
        lang,
        {
            "tracking_no": "ZH-2026-000001",
            "lead_units": ["discipline_commission", "supervision_bureau"],
            "answer_due_date": "2026-11-30",
        },
    )
    assert units in text
    assert date_text in text
    assert "discipline_commission" not in text and "2026-11-30" not in text


def test_an_area_id_becomes_its_name(plan: Plan, catalogue: Catalogue) -> None:
    terms = PlanTerms(plan)
    zh = terms.render(catalogue, "zh", "case_area", "extortion")
    en = terms.render(catalogue, "en", "case_area", "extortion")
    assert zh is not None and en is not None
    assert "extortion" not in zh and zh != en


def test_a_malformed_date_is_a_render_error(plan: Plan, catalogue: Catalogue) -> None:
    with pytest.raises(RenderError):
        PlanTerms(plan).render(catalogue, "zh", "answer_due_date", "not-a-date")
