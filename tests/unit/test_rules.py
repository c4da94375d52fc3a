"""Complaint classification (SPEC §4.2): cue syntax, concept groups, normalisation, negation,
the back-off, out-of-scope recognition, confidence, robustness, and accuracy on labelled
complaints.

Labelled sets read:
- ``/work/shared/data/complaints_dev.jsonl`` (the project's dev examples, next to the repo);
- ``tests/unit/data/complaints_heldout.jsonl``: 601 complaints written for this module, never
  taken from the dev set. It was written in six batches. Each batch after the first was scored
  once with the cue tables of the day, before anything was tuned on it, as an estimate of
  accuracy on complaints nobody has seen: 67.7% (96 texts), 77.1% (96), 72.2% (72), 86.9% (84)
  and 75.0% (60). Every batch then became a regression set.
- ``tests/unit/data/complaints_blind_N.jsonl``: later batches, each written before the method
  change it was meant to judge and scored exactly once, as first measured:
  - blind 1 (169 texts, every kind of out-of-scope message, ~8% English), scored with the cue
    interpreter as it stood (exact cues only): 90.5%; procedure 81%, enforcement 89%,
    extortion 89%, conduct 93%, out of scope 94%, rent seeking 96%.
  - blind 2 (157 texts typed the way people type on a phone: no punctuation, 冇得 / 么子 /
    晓得, local places), scored with the back-off, concept groups, diminishing returns, the
    private-party rule and the recalibrated thresholds: 90.4%; enforcement 80%, conduct 88%,
    procedure 88%, extortion 92%, rent seeking 96%, out of scope 97% (the old interpreter on
    the same texts: 87.3%, enforcement 76%).
  - blind 3 (155 texts: formal letters to 尊敬的领导, long dated narratives, voice-typed lines,
    new out-of-scope kinds such as questions about fines, exams and insurance), scored with
    the above plus the enforcement-actor cue, the 罚款…没有依据 / gift…才办 groups, 冇 as a
    negator and clause-bounded gap negation: 91.0%; conduct 92%, procedure 88%, enforcement
    92%, extortion 88%, rent seeking 100%, out of scope 87%; 10 of its 14 errors asked the
    citizen to choose (the old interpreter on the same texts: 89.7%, procedure 80%).
  Once scored, a batch is a regression set like the others: the bars below guard against
  regressions and do not measure accuracy on new complaints; the office's record of corrected
  areas (SPEC §4.2) is the real measure.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.plan import PlanError, load_plan
from core.rules import (
    BACKOFF_CAP,
    BACKOFF_WEIGHT,
    DECAY,
    OUT_OF_SCOPE,
    OUT_OF_SCOPE_THRESHOLD,
    PRIVATE_SCALE,
    Classification,
    Classifier,
    CueSyntaxError,
    compile_groups,
    normalise,
    parse_cue,
)

REPO = Path(__file__).parents[2]
PLAN_FILE = REPO / "plans" / "zhuhui-2014.toml"
DEV_FILE = Path(__file__).parents[3] / "shared" / "data" / "complaints_dev.jsonl"
HELDOUT_FILE = Path(__file__).parent / "data" / "complaints_heldout.jsonl"
BLIND_FILES = sorted((Path(__file__).parent / "data").glob("complaints_blind_*.jsonl"))
AREAS = ("conduct", "procedure", "enforcement", "extortion", "rent_seeking")


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def plan_classifier() -> Classifier:
    """The classifier built from the seed plan's own cue tables, as the bot builds it."""
    if not PLAN_FILE.exists():
        pytest.skip(f"{PLAN_FILE} not found")
    plan = load_plan(PLAN_FILE)
    return Classifier.from_cues(
        {area.id: area.cues for area in plan.areas},
        plan.out_of_scope.cues,
        plan.classifier.threshold,
        min_margin=plan.classifier.min_margin,
        groups=dict(plan.classifier.groups),
    )


def small(
    areas: Mapping[str, Mapping[str, float]],
    out_of_scope: Mapping[str, float] | None = None,
    threshold: float = 0.5,
    *,
    min_margin: float = 0.0,
    temperature: float = 1.0,
    no_context_prior: float = 1.0,
    groups: Mapping[str, list[str]] | None = None,
    backoff_weight: float = 0.0,
    backoff_cap: float = 2.0,
    decay: float = 1.0,
    private_scale: float = 1.0,
    out_of_scope_threshold: float = 0.0,
) -> Classifier:
    """A classifier over small tables. By default only the plain cue sums: no back-off, no
    diminishing returns, no private-party scaling, one threshold for every answer; the tests
    of those switch them on."""
    return Classifier.from_cues(
        areas,
        out_of_scope or {},
        threshold,
        min_margin=min_margin,
        temperature=temperature,
        no_context_prior=no_context_prior,
        groups=groups,
        backoff_weight=backoff_weight,
        backoff_cap=backoff_cap,
        decay=decay,
        private_scale=private_scale,
        out_of_scope_threshold=out_of_scope_threshold,
    )


def load_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def label(result: Classification) -> str:
    return result.area or OUT_OF_SCOPE


def accuracy(classifier: Classifier, rows: list[dict[str, str]]) -> tuple[float, dict[str, float]]:
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for row in rows:
        total[row["area"]] += 1
        right[row["area"]] += label(classifier.classify(row["text"])) == row["area"]
    overall = sum(right.values()) / sum(total.values())
    return overall, {area: right[area] / total[area] for area in total}


# ---------------------------------------------------------------------------------------------
# Accuracy on labelled complaints


def test_dev_examples_are_classified_well_overall_and_in_every_class(plan_classifier: Classifier) -> None:
    if not DEV_FILE.exists():
        pytest.skip(f"dev set not found at {DEV_FILE} (it lives next to the repo, in shared/data)")
    rows = load_jsonl(DEV_FILE)
    overall, per_class = accuracy(plan_classifier, rows)
    assert set(per_class) == {*AREAS, OUT_OF_SCOPE}
    assert overall >= 0.95, per_class
    assert all(share >= 0.90 for share in per_class.values()), per_class


def test_heldout_complaints_are_classified_well(plan_classifier: Classifier) -> None:
    rows = load_jsonl(HELDOUT_FILE)
    counts = Counter(row["area"] for row in rows)
    assert len(rows) >= 150 and all(counts[area] >= 25 for area in (*AREAS, OUT_OF_SCOPE)), counts
    overall, per_class = accuracy(plan_classifier, rows)
    assert overall >= 0.95, per_class
    assert all(share >= 0.90 for share in per_class.values()), per_class


@pytest.mark.parametrize("path", BLIND_FILES, ids=lambda p: p.stem)
def test_blind_batches_stay_classified_well(plan_classifier: Classifier, path: Path) -> None:
    rows = load_jsonl(path)
    counts = Counter(row["area"] for row in rows)
    assert len(rows) >= 120 and all(counts[area] >= 20 for area in (*AREAS, OUT_OF_SCOPE)), counts
    overall, per_class = accuracy(plan_classifier, rows)
    assert overall >= 0.90, per_class
    assert all(share >= 0.80 for share in per_class.values()), per_class


def test_there_are_blind_batches() -> None:
    assert len(BLIND_FILES) >= 2


def test_labelled_sets_share_no_text() -> None:
    sets = [HELDOUT_FILE, *BLIND_FILES] + ([DEV_FILE] if DEV_FILE.exists() else [])
    seen: dict[str, str] = {}
    for path in sets:
        texts = [row["text"] for row in load_jsonl(path)]
        assert len(set(texts)) == len(texts), path.name
        for text in texts:
            assert text not in seen, f"{text!r} is in {seen.get(text)} and {path.name}"
            seen[text] = path.name
        assert all(row["area"] in (*AREAS, OUT_OF_SCOPE) for row in load_jsonl(path)), path.name


def test_most_wrong_answers_on_the_blind_batches_leave_the_choice_to_the_citizen(
    plan_classifier: Classifier,
) -> None:
    # Calibration: an answer the rules get wrong should mostly come with needs_choice, while
    # most right answers are proposed outright.
    wrong = right = wrong_unsure = right_unsure = 0
    for path in BLIND_FILES:
        for row in load_jsonl(path):
            result = plan_classifier.classify(row["text"])
            if label(result) == row["area"]:
                right += 1
                right_unsure += result.needs_choice
            else:
                wrong += 1
                wrong_unsure += result.needs_choice
    assert right_unsure / right <= 0.15
    assert wrong == 0 or wrong_unsure / wrong >= 0.5


# ---------------------------------------------------------------------------------------------
# The plan's cue tables


def test_every_cue_in_the_plan_parses() -> None:
    if not PLAN_FILE.exists():
        pytest.skip(f"{PLAN_FILE} not found")
    raw = tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))
    groups = raw["classifier"].get("groups", {})
    tables = [area["cues"] for area in raw["areas"]] + [raw["out_of_scope"]["cues"]]
    for table in tables:
        assert table
        for phrase, weight in table.items():
            parse_cue(phrase, groups)
            assert isinstance(weight, int | float) and math.isfinite(weight)
    used = {name for table in tables for phrase in table for name in re.findall(r"\{(\w+)\}", phrase)}
    assert used == set(groups), "every group is used, every group used is defined"


@pytest.mark.parametrize(
    ("text", "area"),
    [
        # the plan's own wording
        ("办事拖拉，推诿扯皮，态度生硬，口大气粗", "conduct"),
        ("迟到早退，随意离岗，工作时间打牌娱乐，群众办事找不着人", "conduct"),
        ("擅自改变办事程序、增加办事环节、提高办事门槛", "procedure"),
        ("告知事项说半句留半句，让群众来回跑", "procedure"),
        ("执法监督中粗暴执法、选择性执法、随意性执法", "enforcement"),
        ("行政审批和涉企检查中吃拿卡要", "extortion"),
        ("不给好处不办事，给了好处乱办事", "extortion"),
        ("专项转移支付资金分配中搞暗箱操作、权力寻租", "rent_seeking"),
        # how citizens say it
        ("门难进，脸难看，事难办", "conduct"),
        ("几个科室踢皮球，让我回去等通知", "conduct"),
        ("材料要了一遍又一遍，还要我去开证明", "procedure"),
        ("罚款不开票，想罚多少罚多少", "enforcement"),
        ("城管砸摊，暴力执法", "enforcement"),
        ("办证要好处费，请吃饭才给办", "extortion"),
        ("招标内定，关系户中标", "rent_seeking"),
        ("补贴被截留，村干部虚报冒领", "rent_seeking"),
    ],
)
def test_typical_complaints_land_in_their_area(plan_classifier: Classifier, text: str, area: str) -> None:
    result = plan_classifier.classify(text)
    assert result.area == area, result
    assert result.cues, "the citizen is shown why"


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("The clerk was rude and ignored my questions for an hour.", "conduct"),
        ("They passed the buck between three departments and nobody answers the phone.", "conduct"),
        ("Every visit they ask for a different certificate that is not on the list.", "procedure"),
        ("Chengguan officers beat a street vendor and smashed his cart.", "enforcement"),
        ("The inspector demanded cash and a red envelope before signing.", "extortion"),
        ("The tender was rigged and the contract went to the mayor's relatives.", "rent_seeking"),
    ],
)
def test_english_complaints_land_in_their_area(plan_classifier: Classifier, text: str, area: str) -> None:
    assert plan_classifier.classify(text).area == area


@pytest.mark.parametrize(
    "text",
    [
        "楼上邻居半夜装修，吵得睡不着",
        "婆婆天天跟我吵架",
        "房东不退押金",
        "网购的鞋子是假货，商家不给退款",
        "物业公司乱收停车费",
        "小区电梯坏了一个月没人修",
        "你好",
        "在吗？",
        "测试",
        "谢谢你们，问题已经解决了",
        "这个机器人怎么用？",
        "好的",
        "工作人员态度很好，办事效率很高，点赞",
        "我去办证，没有被收任何费用，也没有人要红包，挺好的",
        "Hello!",
        "Thank you so much",
        "My neighbour's dog barks all night",
        "What can this bot do?",
    ],
)
def test_private_disputes_shops_chit_chat_and_praise_are_out_of_scope(
    plan_classifier: Classifier, text: str
) -> None:
    result = plan_classifier.classify(text)
    assert result.area is None, result


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("邻居家违建，我向城管举报了三次，城管推诿扯皮不来处理", "conduct"),
        ("市场监管所的人每次来我们店里都要拿几包好烟，从来不给钱", "extortion"),
        ("办理居住证，派出所非要房东到场签字，政策里根本没有这一条", "procedure"),
        ("城管冲进我们店里，把货全部没收了，也不出示执法证", "enforcement"),
        ("The restaurant inspector demanded a bribe before he would sign our licence.", "extortion"),
    ],
)
def test_case_against_government_wins_when_a_shop_or_neighbour_is_only_context(
    plan_classifier: Classifier, text: str, area: str
) -> None:
    assert plan_classifier.classify(text).area == area


@pytest.mark.parametrize(
    ("text", "not_area"),
    [
        ("工作人员态度很好", "conduct"),
        ("没有收红包", "extortion"),
        ("他们从来不推诿", "conduct"),
        ("执法人员很文明，一点也不粗暴", "enforcement"),
        ("The officer was not rude at all", "conduct"),
    ],
)
def test_negation_and_praise_do_not_trigger_the_complaint_area(
    plan_classifier: Classifier, text: str, not_area: str
) -> None:
    result = plan_classifier.classify(text)
    assert result.area != not_area, result


def test_a_negated_cue_does_not_hide_the_real_complaint(plan_classifier: Classifier) -> None:
    result = plan_classifier.classify("工作人员倒是没有收红包，但是一拖就是三个月，回去等通知")
    assert result.area == "conduct"
    assert result.scores["extortion"] == 0


# ---------------------------------------------------------------------------------------------
# Cue syntax, on small tables


@pytest.mark.parametrize(
    ("cue", "text", "matches"),
    [
        # Chinese phrase: anywhere, also across commas and spaces, not across a sentence end
        ("推诿", "他们互相推诿", True),
        ("门难进脸难看", "门难进、脸难看", True),
        ("门难进脸难看", "门 难 进 脸 难 看", True),
        ("门难进脸难看", "门难进。脸难看", False),
        # English: whole words, case-insensitive, * for any ending
        ("rude", "The clerk was RUDE.", True),
        ("rude", "a prudent clerk", False),
        ("pass the buck", "they pass   the  buck", True),
        ("bribe*", "open bribery", True),
        ("bribe*", "bribes", True),
        ("bribe*", "a bribe", True),
        ("bribe", "bribery", False),
        ("12315", "call 12315 please", True),
        ("12315", "call 123150", False),
        # A…B: B follows A within a short gap, in the same sentence
        ("态度…差", "态度非常非常差", True),
        ("态度…差", "态度差", True),
        ("态度…差", "差的是态度", False),
        ("态度…差", "态度还可以。别的都差", False),
        ("态度…差", "态度" + "好" * 11 + "差", False),
        ("态度...差", "态度极差", True),
        ("no…receipt", "no written receipt", True),
        ("no…receipt", "no one ever gave me any kind of receipt", False),
        # =phrase: the whole message
        ("=好的", "好的", True),
        ("=好的", "好的！", True),
        ("=好的", "说好的一周给回复", False),
        ("=ok", "OK", True),
        ("=ok", "ok then", False),
    ],
)
def test_cue_syntax(cue: str, text: str, matches: bool) -> None:
    classifier = small({"conduct": {cue: 3.0}})
    result = classifier.classify(text)
    assert (result.area == "conduct") is matches, result
    if matches:
        assert result.cues == (cue,)


def test_negative_weight_argues_against_an_area() -> None:
    classifier = small({"conduct": {"窗口": 2.0, "表扬": -3.0}, "procedure": {"窗口": 1.5}})
    assert classifier.classify("窗口排队").area == "conduct"
    result = classifier.classify("表扬窗口")
    assert result.area == "procedure"
    assert result.scores["conduct"] == 0  # floored


def test_government_context_in_the_out_of_scope_table_removes_the_no_context_prior() -> None:
    classifier = small({"conduct": {"慢": 0.8}}, {"窗口": -1.0})
    assert classifier.classify("很慢").area is None  # 0.8 does not beat the 1.0 prior
    result = classifier.classify("窗口很慢")
    assert result.area == "conduct"
    assert result.scores[OUT_OF_SCOPE] == -1.0


def test_context_cues_do_not_pile_up() -> None:
    classifier = small({"conduct": {"慢": 0.5}}, {"窗口": -1.0, "政府": -1.5, "表扬": 3.0})
    assert classifier.classify("政府窗口").scores[OUT_OF_SCOPE] == -1.5
    assert classifier.classify("表扬政府窗口，一点不慢").area is None


def test_a_cue_inside_a_longer_matching_cue_of_the_same_table_adds_nothing() -> None:
    classifier = small({"conduct": {"推诿扯皮": 3.0, "推诿": 2.0, "扯皮": 2.0}})
    result = classifier.classify("推诿扯皮")
    assert result.scores["conduct"] == 3.0
    assert result.cues == ("推诿扯皮",)
    assert classifier.classify("推诿，又扯皮").scores["conduct"] == 4.0


def test_a_cue_counts_once_however_often_it_occurs() -> None:
    classifier = small({"conduct": {"推诿": 2.0}})
    assert classifier.classify("推诿推诿推诿").scores["conduct"] == 2.0


def test_cues_are_shown_strongest_first_as_written_in_the_plan() -> None:
    classifier = small({"conduct": {"拖": 1.0, "态度…差": 2.5, "Rude": 2.0}})
    result = classifier.classify("拖了很久，态度也很差，so rude")
    assert result.cues == ("态度…差", "Rude", "拖")


@pytest.mark.parametrize(
    ("cue", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("…差", "both sides"),
        ("态度…", "both sides"),
        ("a*b", "end a word"),
        ("*", "not a word"),
        ("态度*", "English words only"),
        ("=好…的", "whole-message"),
        ("=bribe*", "whole-message"),
        ("！！", "nothing left"),
        ("态度。差", "sentence end"),
    ],
)
def test_bad_cues_are_rejected_with_a_reason(cue: str, reason: str) -> None:
    with pytest.raises(CueSyntaxError) as caught:
        parse_cue(cue)
    assert reason in caught.value.reason
    with pytest.raises(ValueError):
        small({"conduct": {cue: 1.0}})


@pytest.mark.parametrize("weight", [math.nan, math.inf, -math.inf, True, "1", None])
def test_bad_weights_are_rejected(weight: object) -> None:
    with pytest.raises(CueSyntaxError):
        small({"conduct": {"推诿": weight}})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("areas", "options"),
    [
        ({}, {}),
        ({OUT_OF_SCOPE: {"x": 1.0}}, {}),
        ({"": {"x": 1.0}}, {}),
        ({"conduct": {"x": 1.0}}, {"threshold": 1.5}),
        ({"conduct": {"x": 1.0}}, {"threshold": -0.1}),
        ({"conduct": {"x": 1.0}}, {"min_margin": 2.0}),
        ({"conduct": {"x": 1.0}}, {"temperature": 0.0}),
        ({"conduct": {"x": 1.0}}, {"no_context_prior": math.nan}),
    ],
)
def test_bad_settings_are_rejected(areas: dict[str, dict[str, float]], options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Classifier.from_cues(areas, {}, **{"threshold": 0.5, **options})


# ---------------------------------------------------------------------------------------------
# Normalisation


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ＲＵＤＥ　ｏｆｆｉｃｅｒ", "rude officer"),  # full-width letters and space
        ("態度差，門難進", "态度差门难进"),  # traditional → simplified, commas dropped
        ("态度 差", "态度差"),  # spaces between Chinese characters go
        ("城管abc 打人", "城管abc打人"),
        ("didn't  answer", "did not answer"),
        ("mayor's cousin", "mayor cousin"),
        ("推诿。扯皮！拖延?", "推诿|扯皮|拖延|"),  # sentence ends are kept as |
        ("罚了3.5万", "罚了3.5万"),  # a decimal point is not a sentence end
        ("推\u200b诿\x00", "推诿"),  # zero-width and control characters are dropped
        ("", ""),
        ("！？。", ""),
    ],
)
def test_normalisation(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


# ---------------------------------------------------------------------------------------------
# Negation


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("他们收红包", True),
        ("他们没有收红包", False),
        ("他们没收红包", False),
        ("他们从来不收红包", False),
        ("他们并未收红包", False),
        ("他们冒得收红包", False),  # 冒得: Hunan speech for 没有
        ("没有亮证，还收红包", True),  # the comma closes the negation's reach
        ("不但收红包，还要吃饭", True),  # 不但 is not a negation
        ("不仅收红包", True),
        ("没有证据，但他们收红包", True),
        ("没有人管，就是收红包", True),  # 就是 breaks the negation's reach
        ("他们冇得收红包", False),  # 冇得, 冇: 没有 in Hengyang speech
        ("冇收红包", False),
    ],
)
def test_negation_before_a_cue(text: str, counts: bool) -> None:
    classifier = small({"extortion": {"收红包": 3.0}})
    assert (classifier.classify(text).scores["extortion"] > 0) is counts


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("态度很差", True),
        ("态度一点也不差", False),
        ("态度并没有那么差", False),
        ("态度没变，还是差", True),  # the negator governs 变, not 差: 还 comes between
    ],
)
def test_negation_inside_a_gap(text: str, counts: bool) -> None:
    classifier = small({"conduct": {"态度…差": 3.0}})
    assert (classifier.classify(text).scores["conduct"] > 0) is counts


def test_words_starting_with_a_negation_character_are_not_negations() -> None:
    classifier = small({"enforcement": {"没收": 2.0, "登记": 1.0}})
    assert classifier.classify("执法人员没收了我的货").area == "enforcement"
    assert classifier.classify("办理不动产登记").scores["enforcement"] == 1.0


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("the officer was rude", True),
        ("the officer was not rude", False),
        ("the officer wasn't rude", False),
        ("the officer was never rude", False),
        ("not at all, but rude", True),
    ],
)
def test_english_negation(text: str, counts: bool) -> None:
    classifier = small({"conduct": {"rude": 3.0}})
    assert (classifier.classify(text).area == "conduct") is counts


def test_a_negator_written_into_the_cue_is_part_of_the_phrase() -> None:
    classifier = small({"extortion": {"不开票": 2.0, "no receipt": 2.0}})
    assert classifier.classify("收费也不开票").area == "extortion"
    assert classifier.classify("paid with no receipt").area == "extortion"


def test_counter_cues_are_never_negated() -> None:
    classifier = small({"conduct": {"慢": 2.0}}, {"窗口": -1.0})
    assert classifier.classify("没有窗口").scores[OUT_OF_SCOPE] == -1.0


# ---------------------------------------------------------------------------------------------
# Confidence, runner-up, scores


def test_confidence_is_the_winners_softmax_share() -> None:
    classifier = small({"conduct": {"推诿": 2.0}, "procedure": {"证明": 1.0}})
    result = classifier.classify("推诿，开证明")
    scores = {"conduct": 2.0, "procedure": 1.0, OUT_OF_SCOPE: 1.0}  # no context: prior 1.0
    expected = math.exp(2.0) / sum(math.exp(s) for s in scores.values())
    assert result.area == "conduct"
    assert result.confidence == pytest.approx(expected)
    second = math.exp(1.0) / sum(math.exp(s) for s in scores.values())
    assert result.margin == pytest.approx(expected - second)
    assert result.runner_up == "procedure"
    assert dict(result.scores) == scores


def test_more_evidence_means_more_confidence() -> None:
    classifier = small({"conduct": {"推诿": 2.0, "扯皮": 2.0, "拖延": 2.0}})
    one = classifier.classify("推诿").confidence
    three = classifier.classify("推诿，扯皮，拖延").confidence
    assert 0 < one < three < 1


def test_low_confidence_asks_the_citizen_to_choose() -> None:
    classifier = small({"conduct": {"推诿": 2.0}, "procedure": {"证明": 2.0}}, threshold=0.5)
    clear = classifier.classify("推诿推诿，又是推诿扯皮，我要投诉推诿")
    assert not clear.needs_choice or clear.confidence < 0.5
    torn = classifier.classify("推诿，证明")  # a tie between two areas
    assert torn.needs_choice
    assert torn.area == "conduct" and torn.runner_up == "procedure"  # ties go to the plan's order


def test_close_runner_up_asks_the_citizen_to_choose_even_above_the_threshold() -> None:
    classifier = small({"conduct": {"推诿": 6.0}, "procedure": {"证明": 5.9}}, threshold=0.1, min_margin=0.1)
    result = classifier.classify("推诿，证明")
    assert result.confidence >= 0.1
    assert result.margin < 0.1
    assert result.needs_choice


def test_out_of_scope_result_names_the_best_area_as_runner_up() -> None:
    classifier = small({"conduct": {"态度": 0.5}}, {"邻居": 2.0})
    result = classifier.classify("邻居态度")
    assert result.area is None
    assert result.runner_up == "conduct"
    assert result.cues == ("邻居",)


def test_nothing_recognised_is_out_of_scope_and_unsure(plan_classifier: Classifier) -> None:
    result = plan_classifier.classify("asdfgh qwerty")
    assert result.area is None and result.runner_up is None and result.cues == ()
    assert result.needs_choice


def test_classification_is_immutable() -> None:
    result = small({"conduct": {"推诿": 2.0}}).classify("推诿")
    with pytest.raises(AttributeError):
        result.area = "procedure"  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.scores["conduct"] = 0  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# Any text at all


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_any_text_gives_a_valid_classification(plan_classifier: Classifier, text: str) -> None:
    result = plan_classifier.classify(text)
    assert_valid(result)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(["推诿", "不", "没有", "…", "rude", "not", "，", "。", "\x00", "\u200b", "Ａ", "態"]),
        max_size=60,
    )
)
def test_any_mix_of_cue_fragments_gives_a_valid_classification(
    plan_classifier: Classifier, pieces: list[str]
) -> None:
    assert_valid(plan_classifier.classify("".join(pieces)))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \t\n",
        "\x00\x01\x1b[31m",
        "\ud800",  # a lone surrogate
        "<b>推诿</b> *拖延* [link](http://x)",
        "推诿" * 200_000,
        "不" * 50_000 + "收红包",
        "a " * 100_000,
    ],
)
def test_odd_and_huge_texts_give_a_valid_classification(plan_classifier: Classifier, text: str) -> None:
    assert_valid(plan_classifier.classify(text))


def assert_valid(result: Classification) -> None:
    assert result.area is None or result.area in AREAS
    assert 0.0 <= result.confidence <= 1.0
    assert 0.0 <= result.margin <= 1.0
    assert result.runner_up is None or (result.runner_up in AREAS and result.runner_up != result.area)
    assert set(result.scores) == {*AREAS, OUT_OF_SCOPE}
    assert all(math.isfinite(score) for score in result.scores.values())
    assert all(result.scores[area] >= 0 for area in AREAS)
    assert isinstance(result.cues, tuple) and all(isinstance(cue, str) for cue in result.cues)
    assert isinstance(result.needs_choice, bool)


# ---------------------------------------------------------------------------------------------
# Concept groups ([classifier.groups]; a cue term {name} is any member of the group)

GROUPS = {"enforcer": ["城管", "执法人员", "police*"], "abuse": ["骂", "打人", "beat*"]}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("城管骂人", "城管…骂"),
        ("执法人员检查的时候骂我们", "执法人员…骂"),
        ("Police officers beat him up", "police…beat"),
        ("城管没穿制服就打人", "城管…打人"),  # a negator far back in the gap, 就 between
    ],
)
def test_a_group_term_matches_any_member_and_the_citizen_sees_the_words(text: str, shown: str) -> None:
    classifier = small({"enforcement": {"{enforcer}…{abuse}": 3.0}}, groups=GROUPS)
    result = classifier.classify(text)
    assert result.area == "enforcement", result
    assert result.cues == (shown,)


@pytest.mark.parametrize(
    "text", ["城管没有骂人", "城管从来不打人", "骂城管", "城管" + "好" * 11 + "骂", "城管。骂"]
)
def test_group_cues_keep_order_gap_sentence_and_negation(text: str) -> None:
    classifier = small({"enforcement": {"{enforcer}…{abuse}": 3.0}}, groups=GROUPS)
    assert classifier.classify(text).area is None


def test_a_group_alone_is_a_cue_and_can_state_government_context() -> None:
    classifier = small({"enforcement": {"{enforcer}": 2.0, "城管": 1.0}}, {"{enforcer}": -1.0}, groups=GROUPS)
    result = classifier.classify("城管来了")
    assert result.area == "enforcement"
    assert result.scores["enforcement"] == 2.0  # 城管 lies inside the same match: counted once
    assert result.scores[OUT_OF_SCOPE] == -1.0  # context: no prior for out of scope


@pytest.mark.parametrize(
    ("cue", "groups", "reason"),
    [
        ("{nope}…骂", GROUPS, "unknown group"),
        ("{enforcer}", None, "unknown group"),
        ("=城管{enforcer}", GROUPS, "whole-message"),
        ("城管{abuse}", GROUPS, "whole term"),
    ],
)
def test_bad_group_references_are_rejected(
    cue: str, groups: dict[str, list[str]] | None, reason: str
) -> None:
    with pytest.raises(CueSyntaxError) as caught:
        parse_cue(cue, groups)
    assert reason in caught.value.reason
    with pytest.raises(ValueError):
        small({"conduct": {cue: 1.0}}, groups=groups)


@pytest.mark.parametrize(
    "groups",
    [
        {"Bad-Name": ["城管"]},
        {"empty": []},
        {"text": "城管"},
        {"gap": ["城管…骂"]},
        {"nested": ["{abuse}"]},
        {"star": ["城*"]},
        {"blank": ["  "]},
    ],
)
def test_bad_groups_are_rejected(groups: dict[str, object]) -> None:
    with pytest.raises(CueSyntaxError):
        compile_groups(groups)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        small({"conduct": {"推诿": 1.0}}, groups=groups)  # type: ignore[arg-type]


def test_the_plans_groups_load_and_reach_the_classifier(plan_classifier: Classifier) -> None:
    plan = load_plan(PLAN_FILE)
    groups = dict(plan.classifier.groups)
    assert {"enforcer", "abuse", "seize", "gift", "amount", "kin", "project"} <= set(groups)
    assert all(members for members in groups.values())
    hash(plan)  # the plan stays usable as a cache key
    result = plan_classifier.classify("城管把我按在地上")
    assert result.area == "enforcement" and "城管…按在" in result.cues


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("\ngroups.enforcer = [", "\ngroups.Enforcer = [", "classifier.groups.Enforcer", "lower-case"),
        ('penalty = ["罚款"', 'penalty = ["罚…款"', "classifier.groups.penalty", "plain phrases"),
        ('refuse_pay = ["不给钱"', 'refuse_pay = [1, "不给钱"', "classifier.groups.refuse_pay[0]", "string"),
        ("\ngroups.enforcer", "\ngroups.none = []\ngroups.enforcer", "classifier.groups.none", "empty"),
    ],
)
def test_a_broken_group_in_the_plan_is_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert any(issue.key == key and reason in issue.reason for issue in caught.value.issues), caught.value


# ---------------------------------------------------------------------------------------------
# The back-off, diminishing returns, private parties, thresholds

BACKOFF_TABLES = {
    "rent_seeking": {"截留资金": 3.0, "挪用专款": 3.0, "扶贫款被挪": 2.0},
    "conduct": {"态度恶劣": 3.0, "推诿扯皮": 3.0},
}


def test_with_no_cue_the_back_off_weighs_resemblance_to_each_tables_words() -> None:
    text = "扶贫的资金被他们挪用了"  # no cue as written; 资金 and 挪用 are rent_seeking's words
    assert small(BACKOFF_TABLES, {"村": -1.0}).classify("村里" + text).area is None
    result = small(BACKOFF_TABLES, {"村": -1.0}, backoff_weight=0.5).classify("村里" + text)
    assert result.area == "rent_seeking"
    assert result.cues and all(cue.startswith("≈") for cue in result.cues)  # shown as resemblance
    assert {"≈资金", "≈挪用"} & set(result.cues)
    assert result.scores["conduct"] == 0


def test_the_back_off_is_capped() -> None:
    classifier = small(BACKOFF_TABLES, backoff_weight=10.0, backoff_cap=0.7)
    assert classifier.classify("资金挪用，截留，专款").scores["rent_seeking"] <= 0.7


def test_the_back_off_ignores_what_a_cue_matched_and_what_a_negator_cancelled() -> None:
    classifier = small({"extortion": {"收红包": 3.0, "索要好处": 3.0}}, backoff_weight=0.5)
    assert classifier.classify("没有人收红包").scores["extortion"] == 0  # 收红包 negated: no 红包 either
    assert classifier.classify("他们收红包").scores["extortion"] == 3.0  # the cue, not cue + resemblance


def test_the_back_off_is_not_consulted_when_the_cues_decide() -> None:
    def tables(weight: float) -> dict[str, dict[str, float]]:
        return {"procedure": {"开证明": weight}, **BACKOFF_TABLES}

    decided = small(tables(4.0), backoff_weight=1.0, backoff_cap=2.0).classify("开证明，资金挪用")
    assert decided.scores["rent_seeking"] == 0  # procedure 4 leads out of scope (prior 1) by 3 > 2
    open_ = small(tables(2.0), backoff_weight=1.0, backoff_cap=2.0).classify("开证明，资金挪用")
    assert open_.scores["rent_seeking"] > 0


def test_each_further_cue_of_a_table_adds_less() -> None:
    classifier = small({"conduct": {"推诿": 2.0, "扯皮": 2.0, "拖延": 1.0}}, decay=0.5)
    assert classifier.classify("拖延，推诿，扯皮").scores["conduct"] == pytest.approx(2 + 2 * 0.5 + 1 * 0.25)
    assert classifier.classify("拖延").scores["conduct"] == 1.0


def test_with_a_private_party_and_no_government_body_area_words_count_less() -> None:
    classifier = small({"extortion": {"多收钱": 3.0}}, {"司机": 1.0, "窗口": -1.0}, private_scale=0.5)
    driver = classifier.classify("司机多收钱")
    assert driver.scores["extortion"] == 1.5 and driver.area is None  # 1.5 < 1 + prior 1
    assert classifier.classify("窗口多收钱").scores["extortion"] == 3.0  # a government body
    assert classifier.classify("多收钱").scores["extortion"] == 3.0  # no private party named


def test_an_out_of_scope_answer_needs_more_confidence_than_an_area() -> None:
    tables: dict[str, dict[str, float]] = {"conduct": {"推诿": 3.0}}
    strict = small(tables, {"邻居": 1.0}, threshold=0.3, out_of_scope_threshold=0.9)
    result = strict.classify("邻居")  # out of scope 2 vs conduct 0: confidence 0.88
    assert result.area is None and result.threshold == 0.9 and result.needs_choice
    assert not small(tables, {"邻居": 1.0}, threshold=0.3).classify("邻居").needs_choice
    area = strict.classify("推诿")
    assert area.area == "conduct" and area.threshold == 0.3


def test_the_plan_classifier_uses_the_tuned_settings(plan_classifier: Classifier) -> None:
    assert plan_classifier.backoff_weight == BACKOFF_WEIGHT > 0
    assert plan_classifier.backoff_cap == BACKOFF_CAP
    assert plan_classifier.decay == DECAY < 1
    assert plan_classifier.private_scale == PRIVATE_SCALE < 1
    assert plan_classifier.out_of_scope_threshold == max(plan_classifier.threshold, OUT_OF_SCOPE_THRESHOLD)


@pytest.mark.parametrize(
    "options",
    [
        {"decay": -0.1},
        {"decay": 1.5},
        {"private_scale": -1.0},
        {"out_of_scope_threshold": 1.2},
        {"backoff_weight": -0.1},
        {"backoff_cap": math.inf},
        {"backoff_weight": math.nan},
    ],
)
def test_bad_new_settings_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Classifier.from_cues({"conduct": {"推诿": 1.0}}, {}, 0.5, **options)


@pytest.mark.parametrize(
    ("text", "area"),
    [
        # new wordings of the plan's definitions, recognised through concept groups
        ("辅警把我按在地上", "enforcement"),
        ("运管的人把我的车扣了，单子都没开", "enforcement"),
        ("罚款没有依据，想罚多少罚多少", "enforcement"),
        ("送了两条好烟才给办", "extortion"),
        ("不给他五千块这个章就别想盖", "extortion"),
        ("修桥的工程给了镇长的表弟", "rent_seeking"),
        ("他们冇得一个人接电话，材料交了三个月冇得消息", "conduct"),
    ],
)
def test_concept_groups_and_dialect_in_the_plan(plan_classifier: Classifier, text: str, area: str) -> None:
    assert plan_classifier.classify(text).area == area
