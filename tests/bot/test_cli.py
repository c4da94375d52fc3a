"""The command line's plan handling, in-process (the e2e tests run the real process)."""

from __future__ import annotations

import pytest

from bot.cli import main


def test_check_plan_rebased_to_a_new_start_shifts_every_phase(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-plan", "--start", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    # deploy started 2014-07-21 and self-inspection 2014-08-01: 11 days apart, kept
    assert "[deploy] 安排部署 2026-12-01 .. 2026-12-11" in out
    assert "[self_inspection] 自查自纠 2026-12-12 .. 2026-12-21" in out
    assert "2014-" not in out.split("工作步骤")[1]


def test_campaign_start_setting_rebases_the_plan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPAIGN_START", "2027-03-01")
    assert main(["check-plan"]) == 0
    assert "[deploy] 安排部署 2027-03-01 .. 2027-03-11" in capsys.readouterr().out
