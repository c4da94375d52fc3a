"""The seed plan as data: it loads, it says what the seed says, and a broken plan is refused
with every problem named by file and key."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import NotFound
from core.plan import (
    CueTable,
    DeliverableKind,
    Plan,
    PlanError,
    Producer,
    load_plan,
    plan_summary,
)

REPO = Path(__file__).parents[2]
PLAN_FILE = REPO / "plans/zhuhui-2014.toml"
SEED = Path(__file__).parents[3] / "shared/seed/zhuhui-2014-rectification-plan.txt"
NUMERALS = "一二三四五六七八九十"


@cache
def real_plan() -> Plan:
    # Cached rather than a fixture: hypothesis tests may not use function-scoped fixtures.
    return load_plan(PLAN_FILE)


@pytest.fixture
def seed_lines() -> list[str]:
    if not SEED.exists():
        pytest.skip(f"seed plan not found at {SEED}")
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# The real plan says what the seed says


def test_every_plan_file_in_plans_loads() -> None:
    files = sorted((REPO / "plans").glob("*.toml"))
    assert PLAN_FILE in files
    for file in files:
        assert load_plan(file).schema_version == 1


def test_the_five_task_areas_in_the_seeds_order() -> None:
    plan = real_plan()
    assert [a.id for a in plan.areas] == ["conduct", "procedure", "enforcement", "extortion", "rent_seeking"]
    assert [a.number for a in plan.areas] == [1, 2, 3, 4, 5]
    assert [a.numeral for a in plan.areas] == list("一二三四五")


# area id → (lead, responsible person, implementing unit, assisting), as the 责任分工 lines name them
ROUTING = {
    "conduct": (["区直机关工委"], "方旭辉", None, ["区纪委党风廉政室", "行政效能监察室"]),
    "procedure": (["区纪委", "区监察局"], "周胜利", "行政效能监察室", ["区直机关工委", "区政务中心"]),
    "enforcement": (["区纪委", "区监察局"], "周胜利", "行政效能监察室", []),
    "extortion": (
        ["区纪委", "区监察局"],
        "周胜利",
        "行政效能监察室",
        ["区直机关工委", "区发改委", "区财政局", "区审计局", "区物价局", "区政务中心"],
    ),
    "rent_seeking": (
        ["区纪委", "区监察局"],
        "周胜利",
        "行政效能监察室",
        ["区发改局", "区财政局", "区审计局"],
    ),
}


@pytest.mark.parametrize("area_id", list(ROUTING))
def test_area_routing_matches_the_seeds_responsibility_line(area_id: str) -> None:
    plan = real_plan()
    area = plan.area(area_id)
    lead, person, implementing, assist = ROUTING[area_id]
    by_name = plan.units_by_name()
    assert area.lead_unit_ids == tuple(by_name[name].id for name in lead)
    assert area.assist_unit_ids == tuple(by_name[name].id for name in assist)
    assert area.responsible_person == person
    assert area.implementing_unit_id == (by_name[implementing].id if implementing else None)
    # The seed's own line names each of those units (by one of their names).
    for unit_id in (*area.lead_unit_ids, *area.assist_unit_ids):
        assert any(name in area.responsibility for name in plan.unit(unit_id).names)


@pytest.mark.parametrize(
    ("area_id", "answer"),
    [("conduct", 5), ("procedure", 5), ("enforcement", 10), ("extortion", 15), ("rent_seeking", 15)],
)
def test_area_deadlines_in_working_days(area_id: str, answer: int) -> None:
    deadlines = real_plan().area(area_id).deadlines
    assert (deadlines.sign_for, deadlines.answer, deadlines.extension) == (1, answer, answer)


def test_every_area_has_plain_words_and_weighted_cues() -> None:
    for area in real_plan().areas:
        assert area.plain_zh and area.plain_en and area.title_en and area.scope
        assert area.cues, area.id
        assert all(isinstance(weight, float) for weight in area.cues.values())
    assert real_plan().out_of_scope.cues


def test_campaign_facts() -> None:
    campaign = real_plan().campaign
    assert campaign.issued_on == date(2014, 7, 31)
    assert campaign.issued_by == ("珠晖区机关效能建设领导小组办公室", "珠晖区优化经济发展环境办公室")
    assert campaign.office.location == "区纪委行政效能监察室"
    assert campaign.office.phone == "2540084"
    assert real_plan().unit(campaign.office.unit_id).name == "区纪委行政效能监察室"
    assert campaign.case_prefix == "ZH"
    assert campaign.leading_group.leader.name == "周治华"
    assert [p.name for p in campaign.leading_group.deputies] == ["周胜利"]
    assert campaign.leading_group.office_director.name == "周胜利"
    members = [real_plan().unit(u).name for u in campaign.leading_group.member_unit_ids]
    assert members == [
        "区监察局",
        "区作风办",
        "区直机关工委",
        "区发改局",
        "区财政局",
        "区审计局",
        "区物价局",
        "区政务中心",
    ]
    assert [r.title for r in campaign.requirements] == [
        "加强组织领导",
        "加强监督检查",
        "加强案件查办",
        "加强工作考核",
        "建立长效机制",
    ]


def test_units_answer_to_every_name_the_seed_uses() -> None:
    plan = real_plan()
    by_name = plan.units_by_name()
    # One body, several names in the seed.
    assert by_name["区发改局"] is by_name["区发改委"]
    assert by_name["区纪委行政效能监察室"] is by_name["行政效能监察室"] is by_name["行政效能室"]
    assert by_name["区效能办"] is by_name["珠晖区机关效能建设领导小组办公室"]
    assert by_name["区优化办"] is by_name["珠晖区优化经济发展环境办公室"]
    for name in (
        "区直机关工委",
        "区纪委",
        "区监察局",
        "区纪委党风廉政室",
        "区财政局",
        "区审计局",
        "区物价局",
        "区政务中心",
        "区作风办",
        "区机关效能建设领导小组办公室",
        "区法院",
        "区检察院",
        "衡冶社区服务指导中心",
    ):
        assert name in by_name, name
    for unit in plan.units:
        assert (unit.first_responsible, unit.campaign_leader) == ("", "")  # filled in later


def test_phases_dates_and_deliverables() -> None:
    plan = real_plan()
    assert [p.id for p in plan.phases] == ["deploy", "self_inspection", "rectification"]
    deploy, inspection, rectification = plan.phases
    assert deploy.end == date(2014, 7, 31)
    assert (inspection.start, inspection.end) == (date(2014, 8, 1), date(2014, 8, 10))
    assert inspection.coverage_target == 1.0
    report = plan.deliverable("self_inspection_report")
    assert (report.due, report.by, report.kind) == (date(2014, 8, 10), Producer.UNITS, DeliverableKind.REPORT)
    assert rectification.end == date(2014, 9, 30)
    assert [(d.id, d.by) for d in rectification.deliverables] == [
        ("rectification_recommendation", Producer.OFFICE),
        ("rectification_plan", Producer.UNITS),
        ("rectification_report", Producer.UNITS),
        ("review_acceptance", Producer.OFFICE),
    ]
    assert plan.phase_on(date(2014, 8, 5)) is inspection
    assert plan.phase_on(date(2014, 10, 1)) is None
    assert (plan.start, plan.end) == (deploy.start, date(2014, 9, 30))


def test_lookups_of_unknown_ids_raise_not_found_which_is_a_key_error() -> None:
    plan = real_plan()
    for lookup in (plan.area, plan.unit, plan.phase, plan.deliverable, plan.phases[0].deliverable):
        with pytest.raises(NotFound) as caught:
            lookup("no_such_id")
        assert isinstance(caught.value, KeyError)
        assert caught.value.params["id"] == "no_such_id"
        assert "'no_such_id'" in str(caught.value)


def test_plan_is_immutable_and_hashable() -> None:
    plan = real_plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.areas[0].deadlines.answer = 99  # type: ignore[misc]
    assert not hasattr(plan.areas[0].cues, "__setitem__")
    assert {plan: "ok"}[load_plan(PLAN_FILE)] == "ok"  # equal plans hash alike
    assert CueTable({"a": 1.0}) == {"a": 1.0}


def _strings(value: object) -> Iterator[str]:
    """Every string a loaded plan holds, dates written the way the seed writes them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, date):
        yield f"{value.year}年{value.month}月{value.day}日"
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _strings(getattr(value, field.name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|[0-9]+、)")


def test_every_sentence_and_clause_of_the_seed_is_in_the_plan(seed_lines: list[str]) -> None:
    strings = set(_strings(real_plan()))
    haystack = "\n".join(strings)
    missing = []
    for line in seed_lines:
        # Numbering ("一、", "(一)", "1、") is layout: the plan keeps order and numbers instead.
        text = _NUMBERING.sub("", line)
        # Each sentence is inside one string of the plan ...
        for sentence in re.split(r"[。;:]", text):
            if sentence and not any(sentence in s for s in strings):
                missing.append(sentence)
        # ... and so, down to the shortest, is each clause.
        for clause in re.split(r"[,、:;。()《》“”]", text):
            if clause and clause not in haystack:
                missing.append(clause)
    assert missing == []


def test_the_seed_can_be_written_back_from_the_plan(seed_lines: list[str]) -> None:
    """Stronger than clause by clause: the verbatim fields, in order, are the seed."""
    plan = real_plan()
    c, h = plan.campaign, plan.campaign.headings
    issued = f"{c.issued_on.year}年{c.issued_on.month}月{c.issued_on.day}日"
    lines = [f"{c.addressees}:", c.cover_note, *c.issued_by, issued, c.title, c.preamble]
    lines += [f"一、{h.goal}", c.goal, f"二、{h.leadership}", c.leadership, f"三、{h.content}", c.content]
    lines.append(f"四、{h.duties}")
    for area in plan.areas:
        lines += [f"({area.numeral}){area.title}", f"{h.responsibility}:{area.responsibility}"]
    lines.append(f"五、{h.steps}")
    for phase in plan.phases:
        lines += [phase.heading, *(f"{i}、{item}" for i, item in enumerate(phase.items, 1))]
    lines.append(f"六、{h.requirements}")
    lines += [f"({NUMERALS[i]}){r.title}。{r.text}" for i, r in enumerate(c.requirements)]
    assert lines == seed_lines


def test_summary_names_units_deadlines_and_phases() -> None:
    zh = plan_summary(real_plan())
    for text in (
        "关于对群众办事难问题",
        "区纪委行政效能监察室",
        "2540084",
        "区直机关工委",
        "区纪委党风廉政室",
    ):
        assert text in zh
    assert "答复 15" in zh and "2014-08-10" in zh and "自查自纠总结报告" in zh
    en = plan_summary(real_plan(), lang="en")
    assert (
        "District Organs Work Committee" in en
        and "answer 10" in en
        and "Self-inspection summary report" in en
    )


# ---------------------------------------------------------------------------------------------
# Rebase


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)))
def test_rebase_moves_every_date_by_one_offset(new_start: date) -> None:
    plan = real_plan()
    rebased = plan.rebase(new_start)
    offset = new_start - plan.start
    assert rebased.start == new_start
    assert rebased.phases[0].start == new_start
    assert rebased.campaign.issued_on == plan.campaign.issued_on + offset
    for old, new in zip(plan.phases, rebased.phases, strict=True):
        assert (new.start - old.start, new.end - old.end) == (offset, offset)
        for old_d, new_d in zip(old.deliverables, new.deliverables, strict=True):
            assert new_d.due == (None if old_d.due is None else old_d.due + offset)
    # Nothing but dates moved, and moving back gives the original.
    assert dataclasses.replace(rebased, phases=plan.phases, campaign=plan.campaign) == plan
    assert rebased.rebase(plan.start) == plan


def test_rebase_to_a_monday_keeps_the_self_inspection_window() -> None:
    rebased = real_plan().rebase(date(2026, 3, 2))
    inspection = rebased.phase("self_inspection")
    assert inspection.end - inspection.start == timedelta(days=9)
    assert rebased.deliverable("self_inspection_report").due == inspection.end


# ---------------------------------------------------------------------------------------------
# Broken plans: each is the real plan with one edit, and must be refused naming file and key.

BROKEN = [
    # (what, old text, new text, key, reason contains)
    (
        "unknown lead unit",
        'lead_units = ["discipline_commission"',
        'lead_units = ["discipline_comission"',
        "areas[1].lead_units[0]",
        "unknown unit id 'discipline_comission' (did you mean 'discipline_commission'?)",
    ),
    (
        "unknown implementing unit",
        'implementing_unit = "efficiency_supervision_office"',
        'implementing_unit = "efficiency_supervision"',
        "areas[1].implementing_unit",
        "unknown unit id",
    ),
    (
        "unknown member unit",
        '    "work_style_office",\n',
        '    "style_office",\n',
        "campaign.leading_group.member_units[1]",
        "unknown unit id 'style_office'",
    ),
    (
        "unknown office unit",
        'unit = "efficiency_supervision_office"',
        'unit = "nowhere"',
        "campaign.office.unit",
        "unknown unit id 'nowhere'",
    ),
    (
        "unknown parent unit",
        'parent = "discipline_commission"',
        'parent = "commission"',
        "units[3].parent",
        "unknown unit id 'commission'",
    ),
    (
        "missing required field",
        'responsible_person = "方旭辉"\n',
        "",
        "areas[0].responsible_person",
        "missing required key",
    ),
    ("missing table", "[classifier]\n", "[classifer]\n", "classifier", "missing required key"),
    (
        "wrong type: string",
        'case_prefix = "ZH"',
        "case_prefix = 7",
        "campaign.case_prefix",
        "expected a string",
    ),
    (
        "wrong type: deadline",
        "answer = 5",
        'answer = "5"',
        "areas[0].deadlines.answer",
        "expected a whole number",
    ),
    ("deadline not positive", "sign_for = 1", "sign_for = 0", "areas[0].deadlines.sign_for", "positive"),
    ("deadline negative", "extension = 10", "extension = -10", "areas[2].deadlines.extension", "positive"),
    ("deadline boolean", "answer = 15", "answer = true", "areas[3].deadlines.answer", "got a boolean"),
    (
        "cue weight not a number",
        # adds a cue rather than editing one, so tuning the real cues never breaks this test
        "[areas.cues]\n",
        '[areas.cues]\n"测试线索" = "high"\n',
        'areas[0].cues["测试线索"]',
        "expected a number",
    ),
    (
        "out-of-scope cue weight",
        "[out_of_scope.cues]\n",
        '[out_of_scope.cues]\n"测试线索" = [1]\n',
        'out_of_scope.cues["测试线索"]',
        "expected a number",
    ),
    (
        "cue weight infinite",
        "[areas.cues]\n",
        '[areas.cues]\n"测试线索" = inf\n',
        'areas[0].cues["测试线索"]',
        "finite",
    ),
    (
        "duplicate area id",
        'id = "procedure"',
        'id = "conduct"',
        "areas[1].id",
        "duplicate area id 'conduct' (first at areas[0].id)",
    ),
    ("duplicate area number", "number = 3\nnumeral", "number = 2\nnumeral", "areas[2].number", "duplicate"),
    (
        "duplicate unit id",
        'id = "finance_bureau"',
        'id = "audit_bureau"',
        "units[7].id",
        "duplicate unit id 'audit_bureau' (first at units[6].id)",
    ),
    (
        "one name for two units",
        'aliases = ["区发改委", "发改局", "发改委"]',
        'aliases = ["区财政局"]',
        "units[6].name",
        "duplicate unit name '区财政局' (first at units[5].aliases[0])",
    ),
    ("duplicate phase id", 'id = "rectification"', 'id = "deploy"', "phases[2].id", "duplicate phase id"),
    (
        "duplicate deliverable id",
        'id = "launch_document"',
        'id = "work_plan"',
        "phases[0].deliverables[1].id",
        "duplicate deliverable id 'work_plan'",
    ),
    ("bad id", 'id = "extortion"', 'id = "Extortion!"', "areas[3].id", "lower-case ascii"),
    (
        "phase ends before it starts",
        "end = 2014-07-31",
        "end = 2014-07-01",
        "phases[0].end",
        "ends (2014-07-01) before it starts (2014-07-21)",
    ),
    (
        "deliverable due after its phase",
        "due = 2014-08-10",
        "due = 2014-09-01",
        "phases[1].deliverables[0].due",
        "outside its phase",
    ),
    (
        "deliverable due before its phase",
        "due = 2014-09-30",
        "due = 2014-01-01",
        "phases[2].deliverables[3].due",
        "outside its phase",
    ),
    (
        "date with a time",
        "start = 2014-07-21",
        "start = 2014-07-21T09:00:00",
        "phases[0].start",
        "expected a date",
    ),
    (
        "unknown producer",
        'from = "units"',
        'from = "unit"',
        "phases[1].deliverables[0].from",
        "must be one of",
    ),
    (
        "unknown deliverable kind",
        'kind = "review"',
        'kind = "audit"',
        "phases[2].deliverables[3].kind",
        "one of",
    ),
    (
        "unknown unit kind",
        'kind = "court"',
        'kind = "courthouse"',
        "units[13].kind",
        "unknown kind 'courthouse'",
    ),
    (
        "coverage above 100%",
        "coverage_target = 1.0",
        "coverage_target = 100",
        "phases[1].coverage_target",
        "0 and 1",
    ),
    (
        "threshold out of range",
        "threshold = 0.5",
        "threshold = 1.5",
        "classifier.threshold",
        "between 0 and 1",
    ),
    (
        "bad case prefix",
        'case_prefix = "ZH"',
        'case_prefix = "zh"',
        "campaign.case_prefix",
        "capital letters",
    ),
    (
        "typo in a top-level key",
        "schema_version = 1\n",
        "schema_version = 1\nclasifier = { threshold = 0.5 }\n",
        "clasifier",
        "unknown key 'clasifier' (did you mean 'classifier'?)",
    ),
    (
        "typo in an area key",
        "assist_units = []",
        "assist_unit = []",
        "areas[2].assist_unit",
        "unknown key 'assist_unit' (did you mean 'assist_units'?)",
    ),
    (
        "empty lead units",
        'lead_units = ["organs_work_committee"]',
        "lead_units = []",
        "areas[0].lead_units",
        "empty",
    ),
    (
        "lead unit also assisting",
        'assist_units = ["development_reform", "finance_bureau", "audit_bureau"]',
        'assist_units = ["supervision_bureau", "finance_bureau"]',
        "areas[4].assist_units",
        "also a lead unit",
    ),
    ("empty verbatim text", 'title = "坚决整治', 'title = "" # ', "areas[2].title", "must not be empty"),
]


def _write_variant(tmp_path: Path, edits: list[tuple[str, str]]) -> Path:
    text = PLAN_FILE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"the real plan no longer contains {old!r}: update this test"
        text = text.replace(old, new, 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "key", "reason"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_plan_is_refused_naming_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    path = _write_variant(tmp_path, [(old, new)])
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    matching = [i for i in caught.value.issues if i.key == key]
    assert matching, f"no issue for {key}; got:\n{caught.value}"
    assert any(reason in i.reason for i in matching), str(caught.value)
    assert all(i.file == str(path) for i in caught.value.issues)
    assert f"{path}: {key}: " in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write_variant(
        tmp_path,
        [
            ('lead_units = ["organs_work_committee"]', 'lead_units = ["nobody"]'),
            ("answer = 10", "answer = 0"),
            ("end = 2014-09-30", "end = 2014-08-01"),
            ("[out_of_scope.cues]\n", '[out_of_scope.cues]\n"测试线索" = "much"\n'),
        ],
    )
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    keys = [i.key for i in caught.value.issues]
    assert keys == [
        "areas[0].lead_units[0]",
        "areas[2].deadlines.answer",
        "phases[2].end",
        'out_of_scope.cues["测试线索"]',
    ]
    assert len(str(caught.value).splitlines()) == 4


def test_unsupported_schema_version_is_the_only_complaint(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, [("schema_version = 1", "schema_version = 2"), ("sign_for = 1", "x = 1")])
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert [str(i) for i in caught.value.issues] == [
        f"{path}: schema_version: unsupported schema_version 2 (this bot reads 1)"
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [("schema_version = \n", "not valid TOML"), (None, "file not found")],
    ids=["bad toml", "no file"],
)
def test_unreadable_plan_file(tmp_path: Path, content: str | None, reason: str) -> None:
    path = tmp_path / "plan.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    (issue,) = caught.value.issues
    assert (issue.file, issue.key) == (str(path), "")
    assert reason in issue.reason
    assert str(caught.value).startswith(f"{path}: {reason}")


def test_empty_file_names_every_missing_section(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert {i.key for i in caught.value.issues} == {
        "schema_version",
        "campaign",
        "areas",
        "units",
        "phases",
        "out_of_scope",
        "classifier",
    }
