"""The campaign plan as data (SPEC §2): frozen value objects and a loader that validates a plan
file before anything runs on it.

``load_plan`` reads a TOML file such as ``plans/zhuhui-2014.toml``. It does not stop at the first
mistake: every problem is collected and ``PlanError`` lists them all as ``file: key: reason``
lines, so whoever writes a district's plan fixes it in one round, and the bot refuses to start
on a plan it cannot trust.

Everything here is immutable; ``Plan.rebase`` returns a new plan rather than moving dates in
place, so a plan can be shared by every handler without anyone seeing it change underneath.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from core.campaigns import ORGANISER_KINDS, SubCampaign, descendants
from core.errors import NotFound

SUPPORTED_SCHEMA_VERSIONS = frozenset({1})

# Ids end up in callback data, database columns and file names: keep them plain.
_ID = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
# The same rule core/tracking.py applies to the prefix of a tracking number.
_CASE_PREFIX = re.compile(r"[A-Z]{2,8}", re.ASCII)

UNIT_KINDS = frozenset(
    {
        "commission",  # 纪委
        "committee",  # 工委
        "department",  # 局, 委 of the district government
        "office",  # 办, 室
        "center",  # 中心
        "court",
        "procuratorate",
        "street",  # 街道
        "township",  # 乡镇
        "farm",  # 场 (乡镇场)
        "other",
    }
)


class Producer(StrEnum):
    """Who hands a deliverable in: the leading group's office, or every unit."""

    OFFICE = "office"
    UNITS = "units"


class DeliverableKind(StrEnum):
    PLAN = "plan"  # 工作方案, 整改方案
    DOCUMENT = "document"  # 文件
    REPORT = "report"  # 总结报告, 整改情况
    RECOMMENDATION = "recommendation"  # 整改建议书
    REVIEW = "review"  # 复核验收


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One problem in a plan file. ``key`` is a path into the TOML such as
    ``areas[2].lead_units[0]`` (indexes count from 0), empty for the file as a whole."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}" if self.key else f"{self.file}: {self.reason}"


class PlanError(Exception):
    """The plan cannot be used. ``issues`` holds every problem found, in file order."""

    def __init__(self, issues: Iterable[PlanIssue]) -> None:
        self.issues: tuple[PlanIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class UnknownPlanId(NotFound, KeyError):
    """An id the plan does not hold. A NotFound for services and handlers (a kind reply), and a
    KeyError for code that treats the plan as the lookup table it is."""

    __str__ = BaseException.__str__  # KeyError's would quote the message


# ---------------------------------------------------------------------------------------------
# The plan


class CueTable(Mapping[str, float]):
    """Phrase → weight, in file order. Read-only and hashable, so areas and whole plans can be
    dictionary keys or ``functools.cache`` arguments (a compiled classifier per plan)."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, float] | Iterable[tuple[str, float]] = ()) -> None:
        self._items: dict[str, float] = dict(items)
        self._hash: int | None = None  # the table never changes: hashed once

    def __getitem__(self, phrase: str) -> float:
        return self._items[phrase]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CueTable):
            return self._items == other._items
        return super().__eq__(other)

    def __repr__(self) -> str:
        return f"CueTable({self._items!r})"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    posts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LeadingGroup:
    """领导小组: who leads the campaign and which units send members."""

    name: str
    name_en: str
    leader: Person  # 组长
    deputies: tuple[Person, ...]  # 副组长
    office_director: Person  # 办公室主任
    member_unit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Office:
    """领导小组办公室: where complaints are handled, and how to reach it."""

    name: str
    name_en: str
    location: str
    unit_id: str  # the unit that houses the office
    phone: str


@dataclass(frozen=True, slots=True)
class Requirement:
    """One of 六、工作要求: its short title and its text, both verbatim."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Headings:
    """The seed's section headings, to show the plan the way it was written."""

    goal: str
    leadership: str
    content: str
    duties: str
    responsibility: str
    steps: str
    requirements: str


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    title: str
    title_en: str
    issued_by: tuple[str, ...]
    issuer_unit_ids: tuple[str, ...]
    issued_on: date
    addressees: str
    cover_note: str
    preamble: str
    goal: str
    leadership: str
    content: str
    case_prefix: str  # tracking numbers: f"{case_prefix}-{year}-{seq:06d}"
    intro_zh: str
    intro_en: str
    headings: Headings
    office: Office
    leading_group: LeadingGroup
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class AreaDeadlines:
    """Working days. ``extension`` is the most one extension may add."""

    sign_for: int
    answer: int
    extension: int


@dataclass(frozen=True, slots=True)
class Area:
    """One task area of 四、职责分工."""

    id: str
    number: int
    numeral: str  # 一 .. 五
    title: str
    title_en: str
    plain_zh: str
    plain_en: str
    scope: str
    responsibility: str  # the 责任分工 line, verbatim
    lead_unit_ids: tuple[str, ...]  # 牵头
    responsible_person: str
    implementing_unit_id: str | None  # 具体实施; None where the plan names a person instead
    assist_unit_ids: tuple[str, ...]  # 配合
    deadlines: AreaDeadlines
    cues: CueTable


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    name_en: str
    kind: str  # one of UNIT_KINDS
    aliases: tuple[str, ...]
    parent_id: str | None
    first_responsible: str  # 一把手; "" until the unit names one
    campaign_leader: str  # the leader in charge of the campaign; "" until named

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class Deliverable:
    id: str
    name: str
    name_en: str
    due: date | None  # None: the deadline is set case by case (e.g. in each 整改建议书)
    by: Producer
    kind: DeliverableKind


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of 五、工作步骤. ``start`` and ``end`` are both inclusive."""

    id: str
    number: int
    name: str
    name_en: str
    heading: str
    start: date
    end: date
    items: tuple[str, ...]
    deliverables: tuple[Deliverable, ...]
    coverage_target: float | None  # share of subordinate units/posts to self-inspect (1.0 = 100%)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def deliverable(self, deliverable_id: str) -> Deliverable:
        for deliverable in self.deliverables:
            if deliverable.id == deliverable_id:
                return deliverable
        raise UnknownPlanId(
            f"phase {self.id!r} has no deliverable {deliverable_id!r}", kind="deliverable", id=deliverable_id
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """Where to send a citizen whose message is not about 办事难."""

    id: str
    name_zh: str
    name_en: str
    number: str
    when_zh: str
    when_en: str


@dataclass(frozen=True, slots=True)
class OutOfScope:
    cues: CueTable
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    threshold: float  # below this confidence the citizen picks the area
    min_margin: float  # best and runner-up closer than this: unsure as well
    # [classifier.groups]: concept groups a cue can name as {name} (see core/rules.py), as
    # (name, member phrases) pairs so that the plan stays hashable
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


class AssessmentPart(StrEnum):
    """The parts of the year-end assessment (core.assessment computes them)."""

    ANSWERED_ON_TIME = "answered_on_time"
    SATISFACTION = "satisfaction"
    REOPEN = "reopen"
    REPORTS_ON_TIME = "reports_on_time"
    ACCOUNTABILITY = "accountability"
    REVIEW = "review"  # 复核检查 findings (issue 14; core.review)


DEFAULT_WEIGHTS: tuple[tuple[AssessmentPart, int], ...] = (
    (AssessmentPart.ANSWERED_ON_TIME, 25),
    (AssessmentPart.SATISFACTION, 30),
    (AssessmentPart.REOPEN, 10),
    (AssessmentPart.REPORTS_ON_TIME, 15),
    (AssessmentPart.ACCOUNTABILITY, 10),
    (AssessmentPart.REVIEW, 10),  # issue 14: taken from answered_on_time and reports_on_time
)


@dataclass(frozen=True, slots=True)
class Plan:
    schema_version: int
    campaign: Campaign
    areas: tuple[Area, ...]
    units: tuple[Unit, ...]
    phases: tuple[Phase, ...]
    out_of_scope: OutOfScope
    classifier: ClassifierSettings
    # [assessment]: the year-end assessment's parts and weights (core.assessment), summing to 100
    assessment: tuple[tuple[AssessmentPart, int], ...] = DEFAULT_WEIGHTS
    # [[sub_campaigns]]: streets and townships running the plan for their own units (core.campaigns)
    sub_campaigns: tuple[SubCampaign, ...] = ()

    @property
    def start(self) -> date:
        """The day the first phase starts."""
        return min(phase.start for phase in self.phases)

    @property
    def end(self) -> date:
        """The day the last phase ends."""
        return max(phase.end for phase in self.phases)

    def area(self, area_id: str) -> Area:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise UnknownPlanId(f"no area {area_id!r} in the plan", kind="area", id=area_id)

    def unit(self, unit_id: str) -> Unit:
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        raise UnknownPlanId(f"no unit {unit_id!r} in the plan", kind="unit", id=unit_id)

    def phase(self, phase_id: str) -> Phase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise UnknownPlanId(f"no phase {phase_id!r} in the plan", kind="phase", id=phase_id)

    def deliverable(self, deliverable_id: str) -> Deliverable:
        for phase in self.phases:
            for deliverable in phase.deliverables:
                if deliverable.id == deliverable_id:
                    return deliverable
        raise UnknownPlanId(
            f"no deliverable {deliverable_id!r} in the plan", kind="deliverable", id=deliverable_id
        )

    def phase_on(self, day: date) -> Phase | None:
        """The phase running on ``day``, if any (the first one, should phases overlap)."""
        return next((phase for phase in self.phases if phase.contains(day)), None)

    def units_by_name(self) -> dict[str, Unit]:
        """Every unit name and alias → its unit (validation keeps names unique)."""
        return {name: unit for unit in self.units for name in unit.names}

    def rebase(self, new_start: date) -> Plan:
        """The same plan run from ``new_start``: every phase and deliverable date, and the issue
        date, move by the same number of days, so the spacing between them is kept."""
        offset = new_start - self.start
        if not offset:
            return self
        phases = tuple(
            replace(
                phase,
                start=phase.start + offset,
                end=phase.end + offset,
                deliverables=tuple(
                    replace(d, due=None if d.due is None else d.due + offset) for d in phase.deliverables
                ),
            )
            for phase in self.phases
        )
        campaign = replace(self.campaign, issued_on=self.campaign.issued_on + offset)
        return replace(self, campaign=campaign, phases=phases)


# ---------------------------------------------------------------------------------------------
# Loading and validation


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read and validate a plan file; ``PlanError`` lists every problem found."""
    file = os.fspath(path)
    try:
        with open(file, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise PlanError([PlanIssue(file, "", "file not found")]) from None
    except OSError as exc:
        raise PlanError([PlanIssue(file, "", f"cannot read the file: {exc.strerror}")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError([PlanIssue(file, "", f"not valid TOML: {exc}")]) from None
    return parse_plan(raw, file=file)


def parse_plan(raw: Mapping[str, Any], file: str = "<plan>") -> Plan:
    """Validate an already parsed TOML document; ``file`` only labels the issues."""
    return _Reader(file).plan(raw)


_E = TypeVar("_E", bound=StrEnum)
_MISSING = object()

# The keys each table may hold; anything else is reported as a typo.
_TOP_KEYS = (
    "schema_version", "campaign", "areas", "units", "phases", "out_of_scope", "classifier", "assessment",
    "sub_campaigns",
)  # fmt: skip
_SUB_CAMPAIGN_KEYS = ("id", "name", "name_en", "organiser", "leads")
_CAMPAIGN_KEYS = (
    "id",
    "title",
    "title_en",
    "issued_by",
    "issuer_units",
    "issued_on",
    "addressees",
    "cover_note",
    "preamble",
    "goal",
    "leadership",
    "content",
    "case_prefix",
    "intro_zh",
    "intro_en",
    "headings",
    "office",
    "leading_group",
    "requirements",
)
_HEADING_KEYS = ("goal", "leadership", "content", "duties", "responsibility", "steps", "requirements")
_OFFICE_KEYS = ("name", "name_en", "location", "unit", "phone")
_GROUP_KEYS = ("name", "name_en", "leader", "deputies", "office_director", "member_units")
_AREA_KEYS = (
    "id",
    "number",
    "numeral",
    "title",
    "title_en",
    "plain_zh",
    "plain_en",
    "scope",
    "responsibility",
    "lead_units",
    "responsible_person",
    "implementing_unit",
    "assist_units",
    "deadlines",
    "cues",
)
_DEADLINE_KEYS = ("sign_for", "answer", "extension")
_UNIT_KEYS = ("id", "name", "name_en", "kind", "aliases", "parent", "first_responsible", "campaign_leader")
_PHASE_KEYS = (
    "id",
    "number",
    "name",
    "name_en",
    "heading",
    "start",
    "end",
    "items",
    "deliverables",
    "coverage_target",
)
_DELIVERABLE_KEYS = ("id", "name", "name_en", "due", "from", "kind")
_CHANNEL_KEYS = ("id", "name_zh", "name_en", "number", "when_zh", "when_en")


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Turns raw TOML into a Plan, noting every problem instead of stopping at the first.

    Each reading method returns a stand-in value ("" / 0 / None / ()) after noting a problem,
    so the rest of the file is still checked; ``plan`` raises once at the end if anything was
    noted, so no stand-in ever reaches a Plan.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[PlanIssue] = []
        self.unit_ids: set[str] = set()

    def fail(self, key: str, reason: str) -> None:
        self.issues.append(PlanIssue(self.file, key, reason))

    # -- primitive readers ----------------------------------------------------------------

    def known_keys(self, table: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(_key(path, key), f"unknown key '{key}'{hint}")

    def value(self, table: Mapping[str, Any], path: str, key: str, required: bool) -> Any:
        if key in table:
            return table[key]
        if required:
            self.fail(_key(path, key), "missing required key")
        return _MISSING

    def text(
        self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True, empty_ok: bool = False
    ) -> str:
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.fail(_key(path, key), f"expected a string, got {_type_name(value)}")
            return ""
        if not empty_ok and not value.strip():
            self.fail(_key(path, key), "must not be empty")
        return value

    def positive(self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True) -> int:
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return 0
        # bool is an int subclass; `true` for a deadline is a mistake, not 1.
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(_key(path, key), f"expected a whole number, got {_type_name(value)}")
            return 0
        if value <= 0:
            self.fail(_key(path, key), f"must be a positive whole number, got {value}")
        return value

    def number(self, value: Any, key: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {_type_name(value)}")
            return None
        if not math.isfinite(value):
            self.fail(key, f"must be a finite number, got {value}")
            return None
        return float(value)

    def fraction(
        self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True
    ) -> float | None:
        """A number in [0, 1]."""
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return None
        number = self.number(value, _key(path, key))
        if number is not None and not 0.0 <= number <= 1.0:
            self.fail(_key(path, key), f"must be between 0 and 1, got {number}")
        return number

    def day(self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True) -> date | None:
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return None
        # datetime is a date subclass; a plan's days carry no time of day.
        if not isinstance(value, date) or isinstance(value, datetime):
            self.fail(_key(path, key), f"expected a date like 2014-07-31, got {_type_name(value)}")
            return None
        return value

    def texts(
        self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True, non_empty: bool = False
    ) -> tuple[str, ...]:
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return ()
        if not isinstance(value, list):
            self.fail(_key(path, key), f"expected a list of strings, got {_type_name(value)}")
            return ()
        if non_empty and not value:
            self.fail(_key(path, key), "must not be empty")
        result: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{_key(path, key)}[{i}]", f"expected a string, got {_type_name(item)}")
            elif not item.strip():
                self.fail(f"{_key(path, key)}[{i}]", "must not be empty")
            else:
                result.append(item)
        return tuple(result)

    def table(self, table: Mapping[str, Any], path: str, key: str) -> Mapping[str, Any] | None:
        value = self.value(table, path, key, True)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.fail(_key(path, key), f"expected a table, got {_type_name(value)}")
            return None
        return value

    def tables(
        self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """An array of tables, as (key path, table) for each element that is a table."""
        value = self.value(table, path, key, required)
        if value is _MISSING:
            return []
        where = _key(path, key)
        if not isinstance(value, list):
            self.fail(where, f"expected an array of tables ([[{where}]]), got {_type_name(value)}")
            return []
        if required and not value:
            self.fail(where, "must not be empty")
        rows: list[tuple[str, Mapping[str, Any]]] = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                rows.append((f"{where}[{i}]", item))
            else:
                self.fail(f"{where}[{i}]", f"expected a table, got {_type_name(item)}")
        return rows

    def choice(self, table: Mapping[str, Any], path: str, key: str, enum: type[_E]) -> _E:
        """A string that must be one of an enum's values; the first value stands in on error."""
        value = self.text(table, path, key)
        values = [member.value for member in enum]
        if value in values:
            return enum(value)
        if value:
            self.fail(_key(path, key), f"must be one of {', '.join(values)}, got '{value}'")
        return next(iter(enum))

    def ident(self, table: Mapping[str, Any], path: str) -> str:
        value = self.text(table, path, "id")
        if value and not _ID.fullmatch(value):
            self.fail(f"{path}.id", f"id {value!r} must be lower-case ascii letters, digits and '_'")
        return value

    def unit_refs(
        self, table: Mapping[str, Any], path: str, key: str, *, non_empty: bool = False
    ) -> tuple[str, ...]:
        refs = self.texts(table, path, key, non_empty=non_empty)
        items = table.get(key)
        if not isinstance(items, list):
            return refs
        seen: set[str] = set()
        # Walk the file's list rather than `refs`, so positions match what the author sees.
        for i, ref in enumerate(items):
            if not isinstance(ref, str) or not ref.strip():
                continue
            if ref in seen:
                self.fail(f"{_key(path, key)}[{i}]", f"unit id '{ref}' is listed twice")
            seen.add(ref)
            self.check_unit(ref, f"{_key(path, key)}[{i}]")
        return refs

    def unit_ref(self, table: Mapping[str, Any], path: str, key: str, *, required: bool = True) -> str | None:
        if not required and key not in table:
            return None
        ref = self.text(table, path, key)
        if ref:
            self.check_unit(ref, _key(path, key))
        return ref or None

    def check_unit(self, ref: str, key: str) -> None:
        if ref not in self.unit_ids:
            close = difflib.get_close_matches(ref, sorted(self.unit_ids), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.fail(key, f"unknown unit id '{ref}'{hint}")

    def cues(self, table: Mapping[str, Any], path: str) -> CueTable:
        raw = self.table(table, path, "cues")
        if raw is None:
            return CueTable()
        items: list[tuple[str, float]] = []
        for phrase, weight in raw.items():
            where = f'{path}.cues["{phrase}"]'
            if not phrase.strip():
                self.fail(where, "a cue phrase must not be empty")
                continue
            number = self.number(weight, where)
            if number is not None:
                items.append((phrase, number))
        return CueTable(items)

    def unique(self, entries: Iterable[tuple[str, object]], what: str) -> None:
        """entries: (key path, id). Notes every id seen before, naming where it first was."""
        first: dict[object, str] = {}
        for path, ident in entries:
            if not ident:  # missing or invalid: already noted
                continue
            if ident in first:
                self.fail(path, f"duplicate {what} '{ident}' (first at {first[ident]})")
            else:
                first[ident] = path

    # -- the document ---------------------------------------------------------------------
    # Sub-tables come in as None when missing or mistyped (already noted); a blank stand-in
    # then keeps one missing table from being reported again key by key.

    def plan(self, raw: Mapping[str, Any]) -> Plan:
        self.known_keys(raw, "", _TOP_KEYS)
        version = self.positive(raw, "", "schema_version")
        if version and version not in SUPPORTED_SCHEMA_VERSIONS:
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
            self.fail("schema_version", f"unsupported schema_version {version} (this bot reads {supported})")
            # A file written for another schema would only produce misleading follow-on errors.
            raise PlanError(self.issues)

        units = self.units(raw)  # first: everything else refers to units
        campaign = self.campaign(self.table(raw, "", "campaign"))
        areas = self.areas(raw)
        phases = self.phases(raw)
        out_of_scope = self.out_of_scope(self.table(raw, "", "out_of_scope"))
        classifier = self.classifier(self.table(raw, "", "classifier"))
        assessment = self.assessment(raw.get("assessment"))
        sub_campaigns = self.sub_campaigns(raw, units, areas)
        if self.issues:
            raise PlanError(self.issues)
        # Each of these is None only when its table was missing, which was noted above.
        assert campaign is not None and out_of_scope is not None and classifier is not None
        return Plan(
            schema_version=version,
            campaign=campaign,
            areas=areas,
            units=units,
            phases=phases,
            out_of_scope=out_of_scope,
            classifier=classifier,
            assessment=assessment,
            sub_campaigns=sub_campaigns,
        )

    def sub_campaigns(
        self, raw: Mapping[str, Any], units: tuple[Unit, ...], areas: tuple[Area, ...]
    ) -> tuple[SubCampaign, ...]:
        """[[sub_campaigns]]: optional. Each names its organiser (a street, township or farm of
        [[units]]); its units are the organiser and the units below it, and no unit belongs to
        two. ``leads`` picks, per area, another of its units to lead instead of the organiser."""
        parents = {unit.id: unit.parent_id for unit in units}
        kinds = {unit.id: unit.kind for unit in units}
        area_ids = {area.id for area in areas}
        found: list[SubCampaign] = []
        owner: dict[str, str] = {}
        for path, row in self.tables(raw, "", "sub_campaigns", required=False):
            self.known_keys(row, path, _SUB_CAMPAIGN_KEYS)
            ident = self.ident(row, path)
            organiser = self.unit_ref(row, path, "organiser")
            if organiser is None or organiser not in kinds:
                continue
            if kinds[organiser] not in ORGANISER_KINDS:
                self.fail(
                    f"{path}.organiser",
                    f"'{organiser}' is a {kinds[organiser]}; a sub-campaign is organised by a"
                    f" {', '.join(sorted(ORGANISER_KINDS))}",
                )
            members = descendants(parents, organiser)
            for unit_id in sorted(members):
                if unit_id in owner:
                    where = f"{path}.organiser"
                    self.fail(where, f"unit '{unit_id}' is already in sub-campaign '{owner[unit_id]}'")
                owner.setdefault(unit_id, ident)
            leads: dict[str, str] = {}
            table = row.get("leads", {})
            if not isinstance(table, Mapping):
                self.fail(f"{path}.leads", f"expected a table of area = unit, got {_type_name(table)}")
                table = {}
            for area_id, unit_id in table.items():
                where = f"{path}.leads.{area_id}"
                if area_id not in area_ids:
                    self.fail(where, f"no area '{area_id}' in the plan")
                elif not isinstance(unit_id, str) or unit_id not in members:
                    self.fail(where, f"{unit_id!r} is not one of this sub-campaign's units")
                else:
                    leads[area_id] = unit_id
            found.append(
                SubCampaign(
                    id=ident,
                    name=self.text(row, path, "name"),
                    name_en=self.text(row, path, "name_en"),
                    organiser_id=organiser,
                    leads=tuple(sorted(leads.items())),
                    unit_ids=members,
                )
            )
        self.unique(((f"sub_campaigns[{i}].id", s.id) for i, s in enumerate(found)), "sub-campaign id")
        return tuple(found)

    def assessment(self, raw: object) -> tuple[tuple[AssessmentPart, int], ...]:
        """[assessment]: optional; each part a whole number of points, 0 to leave it out, all
        summing to 100. Missing: the default weights."""
        path = "assessment"
        if raw is None:
            return DEFAULT_WEIGHTS
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected a table, got {_type_name(raw)}")
            return DEFAULT_WEIGHTS
        self.known_keys(raw, path, tuple(p.value for p in AssessmentPart))
        weights: list[tuple[AssessmentPart, int]] = []
        for part in AssessmentPart:
            value = raw.get(part.value, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self.fail(
                    _key(path, part.value), f"expected a whole number of points (0 or more), got {value!r}"
                )
                continue
            if value:
                weights.append((part, value))
        total = sum(w for _, w in weights)
        if total != 100:
            self.fail(path, f"the weights must sum to 100, got {total}")
        return tuple(weights)

    def units(self, raw: Mapping[str, Any]) -> tuple[Unit, ...]:
        rows = self.tables(raw, "", "units")
        # Every id is known before any reference is checked, so a parent may follow its child.
        self.unit_ids = {row["id"] for _, row in rows if isinstance(row.get("id"), str)}
        units: list[Unit] = []
        names: list[tuple[str, str]] = []
        for path, row in rows:
            self.known_keys(row, path, _UNIT_KEYS)
            unit = Unit(
                id=self.ident(row, path),
                name=self.text(row, path, "name"),
                name_en=self.text(row, path, "name_en"),
                kind=self.text(row, path, "kind"),
                aliases=self.texts(row, path, "aliases", required=False),
                parent_id=self.unit_ref(row, path, "parent", required=False),
                first_responsible=self.text(row, path, "first_responsible", required=False, empty_ok=True),
                campaign_leader=self.text(row, path, "campaign_leader", required=False, empty_ok=True),
            )
            if unit.kind and unit.kind not in UNIT_KINDS:
                self.fail(
                    f"{path}.kind", f"unknown kind '{unit.kind}' (one of {', '.join(sorted(UNIT_KINDS))})"
                )
            if unit.parent_id is not None and unit.parent_id == unit.id:
                self.fail(f"{path}.parent", "a unit cannot be its own parent")
            names.append((f"{path}.name", unit.name))
            names.extend((f"{path}.aliases[{j}]", alias) for j, alias in enumerate(unit.aliases))
            units.append(unit)
        self.unique(((f"{path}.id", u.id) for (path, _), u in zip(rows, units, strict=True)), "unit id")
        # units_by_name() and the dialog's suggestions need each name to mean one unit.
        self.unique(names, "unit name")
        return tuple(units)

    def campaign(self, raw: Mapping[str, Any] | None) -> Campaign | None:
        path = "campaign"
        if raw is None:
            return None
        self.known_keys(raw, path, _CAMPAIGN_KEYS)
        case_prefix = self.text(raw, path, "case_prefix")
        if case_prefix and not _CASE_PREFIX.fullmatch(case_prefix):
            self.fail(f"{path}.case_prefix", f"must be 2 to 8 capital letters A-Z, got {case_prefix!r}")
        requirements = []
        for where, row in self.tables(raw, path, "requirements"):
            self.known_keys(row, where, ("title", "text"))
            requirements.append(Requirement(self.text(row, where, "title"), self.text(row, where, "text")))
        return Campaign(
            id=self.text(raw, path, "id"),
            title=self.text(raw, path, "title"),
            title_en=self.text(raw, path, "title_en"),
            issued_by=self.texts(raw, path, "issued_by", non_empty=True),
            issuer_unit_ids=self.unit_refs(raw, path, "issuer_units"),
            issued_on=self.day(raw, path, "issued_on") or date.min,
            addressees=self.text(raw, path, "addressees"),
            cover_note=self.text(raw, path, "cover_note"),
            preamble=self.text(raw, path, "preamble"),
            goal=self.text(raw, path, "goal"),
            leadership=self.text(raw, path, "leadership"),
            content=self.text(raw, path, "content"),
            case_prefix=case_prefix,
            intro_zh=self.text(raw, path, "intro_zh"),
            intro_en=self.text(raw, path, "intro_en"),
            headings=self.headings(self.table(raw, path, "headings")),
            office=self.office(self.table(raw, path, "office")),
            leading_group=self.leading_group(self.table(raw, path, "leading_group")),
            requirements=tuple(requirements),
        )

    def headings(self, raw: Mapping[str, Any] | None) -> Headings:
        path = "campaign.headings"
        if raw is None:
            return Headings(*("" for _ in _HEADING_KEYS))
        self.known_keys(raw, path, _HEADING_KEYS)
        return Headings(*(self.text(raw, path, name) for name in _HEADING_KEYS))

    def office(self, raw: Mapping[str, Any] | None) -> Office:
        path = "campaign.office"
        if raw is None:
            return Office("", "", "", "", "")
        self.known_keys(raw, path, _OFFICE_KEYS)
        return Office(
            name=self.text(raw, path, "name"),
            name_en=self.text(raw, path, "name_en"),
            location=self.text(raw, path, "location"),
            unit_id=self.unit_ref(raw, path, "unit") or "",
            phone=self.text(raw, path, "phone"),
        )

    def person(self, raw: Mapping[str, Any] | None, path: str) -> Person:
        if raw is None:
            return Person("", ())
        self.known_keys(raw, path, ("name", "posts"))
        return Person(self.text(raw, path, "name"), self.texts(raw, path, "posts", required=False))

    def leading_group(self, raw: Mapping[str, Any] | None) -> LeadingGroup:
        path = "campaign.leading_group"
        if raw is None:
            return LeadingGroup("", "", Person("", ()), (), Person("", ()), ())
        self.known_keys(raw, path, _GROUP_KEYS)
        return LeadingGroup(
            name=self.text(raw, path, "name"),
            name_en=self.text(raw, path, "name_en"),
            leader=self.person(self.table(raw, path, "leader"), f"{path}.leader"),
            deputies=tuple(
                self.person(row, where) for where, row in self.tables(raw, path, "deputies", required=False)
            ),
            office_director=self.person(self.table(raw, path, "office_director"), f"{path}.office_director"),
            member_unit_ids=self.unit_refs(raw, path, "member_units"),
        )

    def areas(self, raw: Mapping[str, Any]) -> tuple[Area, ...]:
        rows = self.tables(raw, "", "areas")
        areas: list[Area] = []
        for path, row in rows:
            self.known_keys(row, path, _AREA_KEYS)
            area = Area(
                id=self.ident(row, path),
                number=self.positive(row, path, "number"),
                numeral=self.text(row, path, "numeral"),
                title=self.text(row, path, "title"),
                title_en=self.text(row, path, "title_en"),
                plain_zh=self.text(row, path, "plain_zh"),
                plain_en=self.text(row, path, "plain_en"),
                scope=self.text(row, path, "scope"),
                responsibility=self.text(row, path, "responsibility"),
                lead_unit_ids=self.unit_refs(row, path, "lead_units", non_empty=True),
                responsible_person=self.text(row, path, "responsible_person"),
                implementing_unit_id=self.unit_ref(row, path, "implementing_unit", required=False),
                assist_unit_ids=self.unit_refs(row, path, "assist_units"),
                deadlines=self.deadlines(self.table(row, path, "deadlines"), f"{path}.deadlines"),
                cues=self.cues(row, path),
            )
            # A unit copied in on cases it leads would get each case twice, in two roles.
            for unit_id in sorted(set(area.lead_unit_ids) & set(area.assist_unit_ids)):
                self.fail(f"{path}.assist_units", f"unit id '{unit_id}' is also a lead unit")
            areas.append(area)
        paths = [path for path, _ in rows]
        self.unique(((f"{p}.id", a.id) for p, a in zip(paths, areas, strict=True)), "area id")
        self.unique(((f"{p}.number", a.number) for p, a in zip(paths, areas, strict=True)), "area number")
        return tuple(areas)

    def deadlines(self, raw: Mapping[str, Any] | None, path: str) -> AreaDeadlines:
        if raw is None:
            return AreaDeadlines(0, 0, 0)
        self.known_keys(raw, path, _DEADLINE_KEYS)
        sign_for = self.positive(raw, path, "sign_for")
        answer = self.positive(raw, path, "answer")
        # SPEC §3: one extension of up to the same length as the answer deadline, unless set.
        extension = self.positive(raw, path, "extension", required=False) or answer
        return AreaDeadlines(sign_for=sign_for, answer=answer, extension=extension)

    def phases(self, raw: Mapping[str, Any]) -> tuple[Phase, ...]:
        rows = self.tables(raw, "", "phases")
        phases: list[Phase] = []
        deliverable_ids: list[tuple[str, str]] = []
        for path, row in rows:
            self.known_keys(row, path, _PHASE_KEYS)
            start = self.day(row, path, "start")
            end = self.day(row, path, "end")
            span = (start, end) if start is not None and end is not None else None
            if span and span[1] < span[0]:
                self.fail(f"{path}.end", f"the phase ends ({end}) before it starts ({start})")
                span = None
            coverage = self.fraction(row, path, "coverage_target", required=False)
            if coverage == 0.0:
                self.fail(f"{path}.coverage_target", "must be above 0 (1.0 means 100%)")
            deliverables: list[Deliverable] = []
            for where, drow in self.tables(row, path, "deliverables", required=False):
                deliverable = self.deliverable(drow, where)
                due = deliverable.due
                # Due dates anchor reminders and lateness; one outside its phase is a typo.
                if span and due is not None and not span[0] <= due <= span[1]:
                    self.fail(f"{where}.due", f"due {due} is outside its phase ({start} to {end})")
                deliverable_ids.append((f"{where}.id", deliverable.id))
                deliverables.append(deliverable)
            phases.append(
                Phase(
                    id=self.ident(row, path),
                    number=self.positive(row, path, "number"),
                    name=self.text(row, path, "name"),
                    name_en=self.text(row, path, "name_en"),
                    heading=self.text(row, path, "heading"),
                    start=start or date.min,
                    end=end or date.min,
                    items=self.texts(row, path, "items"),
                    deliverables=tuple(deliverables),
                    coverage_target=coverage,
                )
            )
        paths = [path for path, _ in rows]
        self.unique(((f"{p}.id", ph.id) for p, ph in zip(paths, phases, strict=True)), "phase id")
        self.unique(((f"{p}.number", ph.number) for p, ph in zip(paths, phases, strict=True)), "phase number")
        self.unique(deliverable_ids, "deliverable id")
        return tuple(phases)

    def deliverable(self, raw: Mapping[str, Any], path: str) -> Deliverable:
        self.known_keys(raw, path, _DELIVERABLE_KEYS)
        return Deliverable(
            id=self.ident(raw, path),
            name=self.text(raw, path, "name"),
            name_en=self.text(raw, path, "name_en"),
            due=self.day(raw, path, "due", required=False),
            by=self.choice(raw, path, "from", Producer),
            kind=self.choice(raw, path, "kind", DeliverableKind),
        )

    def out_of_scope(self, raw: Mapping[str, Any] | None) -> OutOfScope | None:
        path = "out_of_scope"
        if raw is None:
            return None
        self.known_keys(raw, path, ("cues", "channels"))
        cues = self.cues(raw, path)
        rows = self.tables(raw, path, "channels")
        channels: list[Channel] = []
        for where, row in rows:
            self.known_keys(row, where, _CHANNEL_KEYS)
            channels.append(
                Channel(self.ident(row, where), *(self.text(row, where, f) for f in _CHANNEL_KEYS[1:]))
            )
        ids = ((f"{where}.id", c.id) for (where, _), c in zip(rows, channels, strict=True))
        self.unique(ids, "channel id")
        return OutOfScope(cues=cues, channels=tuple(channels))

    def classifier(self, raw: Mapping[str, Any] | None) -> ClassifierSettings | None:
        path = "classifier"
        if raw is None:
            return None
        self.known_keys(raw, path, ("threshold", "min_margin", "groups"))
        groups: list[tuple[str, tuple[str, ...]]] = []
        table = self.table(raw, path, "groups") if "groups" in raw else None
        for name in table or {}:
            if not _ID.fullmatch(name):
                self.fail(_key(f"{path}.groups", name), "a group name is lower-case letters, digits and _")
            members = self.texts(table or {}, f"{path}.groups", name, non_empty=True)
            if any(c in m for m in members for c in "{}…="):
                self.fail(_key(f"{path}.groups", name), "members are plain phrases (no {, }, … or =)")
            groups.append((name, members))
        return ClassifierSettings(
            threshold=self.fraction(raw, path, "threshold") or 0.0,
            min_margin=self.fraction(raw, path, "min_margin") or 0.0,
            groups=tuple(groups),
        )


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, datetime):
        return "a date-time"
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
        date: "a date",
    }
    return names.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------------------------
# Summary for `python -m bot check-plan`

# (zh, en) labels for the operator's summary; citizens never see it, so it stays out of the
# bot's text catalogue.
_LABELS = {
    "issued": ("印发", "issued"),
    "office": ("办公室", "Office"),
    "phone": ("电话", "phone"),
    "areas": ("职责分工", "Task areas"),
    "lead": ("牵头", "lead"),
    "responsible": ("负责", "responsible"),
    "implementing": ("具体实施", "implementing"),
    "assist": ("配合", "assisting"),
    "deadlines": ("期限(工作日)", "deadlines (working days)"),
    "sign_for": ("签收", "sign for"),
    "answer": ("答复", "answer"),
    "extension": ("可延期", "extension up to"),
    "phases": ("工作步骤", "Phases"),
    "coverage": ("自查面", "self-inspection coverage"),
    "units": ("单位", "Units"),
    "group": ("领导小组", "Leading group"),
    "group_leader": ("组长", "leader"),
    "group_deputy": ("副组长", "deputy"),
    "group_director": ("办公室主任", "office director"),
    "group_members": ("成员单位", "member units"),
    "aliases": ("别名", "aliases"),
    "first_responsible": ("一把手", "head"),
    "campaign_leader": ("分管领导", "campaign leader"),
    "unnamed": ("方案未列明", "not named in the plan"),
    "bind_hint": (
        "一把手、分管领导凭邀请码绑定账号：/invite 单位编号 一把手|分管领导"
        "（或 python -m bot invite 单位编号 --role ...）",
        "heads and campaign leaders bind their accounts by invite: /invite UNIT_ID head|leader"
        " (or python -m bot invite UNIT_ID --role ...)",
    ),
    "sub_campaigns": ("街道、乡镇场专项整治", "Street and township campaigns"),
    "sub_none": (
        "方案未列明（各街道、乡镇场可在方案中以 [[sub_campaigns]] 组织本地专项整治）",
        "none in the plan (a street or township adds one as [[sub_campaigns]])",
    ),
    "assessment": ("年终绩效评估权重", "Year-end assessment weights"),
    "answered_on_time": ("按时办结", "answered on time"),
    "satisfaction": ("群众满意", "satisfaction"),
    "reopen": ("未重新办理", "not reopened"),
    "reports_on_time": ("材料按时报送", "reports on time"),
    "accountability": ("未被问责", "no accountability"),
    "review": ("复核检查", "review inspection"),  # issue 14
    "no_date": ("日期另定", "date set case by case"),
    "by_office": ("办公室", "office"),
    "by_units": ("各单位", "units"),
    "none": ("无", "none"),
    "sep": ("、", ", "),
}


def plan_summary(plan: Plan, lang: str = "zh") -> str:
    """A readable overview of the plan for operators (``python -m bot check-plan``): who leads
    each area by name, its deadlines, and each phase with its dates and deliverables.
    ``lang`` is "zh" (default) or "en"."""
    zh = lang != "en"
    t = {key: pair[0 if zh else 1] for key, pair in _LABELS.items()}
    campaign = plan.campaign

    def unit_names(ids: Iterable[str]) -> str:
        names = [plan.unit(i).name if zh else plan.unit(i).name_en for i in ids]
        return t["sep"].join(names) or t["none"]

    issuers = t["sep"].join(campaign.issued_by) if zh else unit_names(campaign.issuer_unit_ids)
    office = campaign.office.location if zh else unit_names([campaign.office.unit_id])
    lines = [
        campaign.title if zh else campaign.title_en,
        f"{t['issued']}: {issuers}, {campaign.issued_on.isoformat()}",
        f"{t['office']}: {office} ({t['phone']} {campaign.office.phone})",
        "",
        f"{t['areas']}:",
    ]
    for area in plan.areas:
        d = area.deadlines
        lines += [
            f"  {area.numeral if zh else area.number}. [{area.id}] {area.title if zh else area.title_en}",
            f"     {t['lead']}: {unit_names(area.lead_unit_ids)};"
            f" {t['responsible']}: {area.responsible_person}",
        ]
        if area.implementing_unit_id is not None:
            lines.append(f"     {t['implementing']}: {unit_names([area.implementing_unit_id])}")
        lines += [
            f"     {t['assist']}: {unit_names(area.assist_unit_ids)}",
            f"     {t['deadlines']}: {t['sign_for']} {d.sign_for}, {t['answer']} {d.answer},"
            f" {t['extension']} {d.extension}",
        ]
    lines += ["", f"{t['phases']}:"]
    for phase in plan.phases:
        lines.append(
            f"  {phase.number}. [{phase.id}] {phase.name if zh else phase.name_en}"
            f" {phase.start.isoformat()} .. {phase.end.isoformat()}"
        )
        if phase.coverage_target is not None:
            lines.append(f"     {t['coverage']}: {phase.coverage_target:.0%}")
        for deliverable in phase.deliverables:
            due = deliverable.due.isoformat() if deliverable.due else t["no_date"]
            name = deliverable.name if zh else deliverable.name_en
            lines.append(f"     - {name} ({t['by_' + deliverable.by]}, {due})")
    group = campaign.leading_group

    def person(p: Person) -> str:
        return f"{p.name} ({t['sep'].join(p.posts)})" if zh and p.posts else p.name

    lines += [
        "",
        f"{t['group']}: {group.name if zh else group.name_en}",
        f"  {t['group_leader']}: {person(group.leader)}",
        *(f"  {t['group_deputy']}: {person(d)}" for d in group.deputies),
        f"  {t['group_director']}: {person(group.office_director)}",
        f"  {t['group_members']}: {unit_names(group.member_unit_ids)}",
    ]
    lines += ["", f"{t['units']}: {len(plan.units)}"]
    for unit in plan.units:
        aliases = f"; {t['aliases']}: {t['sep'].join(unit.aliases)}" if unit.aliases else ""
        lines.append(f"  [{unit.id}] {unit.name if zh else unit.name_en}{aliases}")
        lines.append(
            f"     {t['first_responsible']}: {unit.first_responsible or t['unnamed']};"
            f" {t['campaign_leader']}: {unit.campaign_leader or t['unnamed']}"
        )
    lines.append(f"  ({t['bind_hint']})")
    lines += ["", f"{t['sub_campaigns']}: {len(plan.sub_campaigns) or t['sub_none']}"]
    for sub in plan.sub_campaigns:
        leads = t["sep"].join(
            f"{plan.area(area_id).numeral if zh else plan.area(area_id).number} → {unit_names([unit_id])}"
            for area_id, unit_id in sub.leads
        )
        lines.append(f"  [{sub.id}] {sub.name if zh else sub.name_en}: {unit_names(sorted(sub.unit_ids))}")
        lines.append(f"     {t['lead']}: {unit_names([sub.organiser_id])}{'; ' + leads if leads else ''}")
    weights = t["sep"].join(f"{t[part.value]} {weight}" for part, weight in plan.assessment)
    lines += ["", f"{t['assessment']}: {weights}"]
    return "\n".join(lines)
