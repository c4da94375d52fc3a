"""Recusal (回避, SPEC §3): the unit complained about never handles, nor sees, a complaint
against itself, whether or not the citizen picked it from the list.

The unit complained about is found from three places, strongest first: the unit the citizen
picked, the unit / window / person as typed, and the description. A unit is named by the plan's
names and ``aliases`` (and the name without its administrative prefix: 区财政局 → 财政局).
Families count (the plan's ``parent``): a complaint about a unit also keeps its own offices out
(含本系统二级机构), and keeps the unit's head from leading, because the head answers for its
offices; the head may still be copied in, since it is the body that disciplines them.

Several candidates, or a match that is not clear (a fragment such as "财政" typed alone), are not
decided here: every candidate is kept out of the case while it waits, and the office decides who
the case is about before anyone handles it.

Pure functions over the plan: no storage, no Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Final

from core.plan import Plan, Unit

# Administrative prefixes people leave out when naming a unit (区发改局 → 发改局).
UNIT_NAME_PREFIXES: Final = ("区", "district ", "the district ")
# A match at or above this strength names the unit complained about; below it, the office
# decides. Exact names and aliases are 1.0 / 0.9, a name without its prefix 0.85, a fragment
# typed alone 0.5.
CLEAR_MATCH: Final = 0.8
CHOSEN_STRENGTH: Final = 1.0
EXACT_STRENGTH: Final = 1.0
NAME_STRENGTH: Final = 0.9
SHORT_NAME_STRENGTH: Final = 0.85
FRAGMENT_STRENGTH: Final = 0.5
# Words right before a unit's name that make it the body being asked to act, not the one
# complained about: "向区纪委反映", "请监察局查一查", "希望纪委管管".
_ADDRESSEE_BEFORE: Final = re.compile(r"(向|请|恳请|希望|要求|建议|拜托|给|找)\s*$")
# ... and right after it: "纪委能不能管管", "监察局查一查".
_ADDRESSEE_AFTER: Final = re.compile(r"^\s*(能不能|可不可以|管管|管一管|查查|查一查|处理一下|主持公道)")
_ADDRESSEE_WINDOW: Final = 3


class RecusalScope(StrEnum):
    FULL = "full"  # neither leads nor is copied: never sees the case
    LEAD = "lead"  # may be copied in, may not lead


class RecusalReason(StrEnum):
    CHOSEN = "chosen"  # the citizen picked the unit from the list
    NAMED = "named"  # the unit / window / person the citizen typed names it
    DESCRIPTION = "description"  # the description names it
    FAMILY = "family"  # an office of a recused unit (含本系统二级机构)
    PARENT = "parent"  # the head of a recused unit: answers for it, so it does not lead
    OFFICE = "office"  # the office marked the unit after filing
    FINDING = "finding"  # the office's own finding is against the unit


@dataclass(frozen=True, slots=True)
class Recusal:
    """One unit kept out of one case, and why. ``pending``: a candidate the office has not
    decided on yet (kept out meanwhile). ``via``: the unit a family recusal follows from."""

    unit_id: str
    scope: RecusalScope
    reason: RecusalReason
    matched: str = ""
    via: str | None = None
    pending: bool = False
    at: datetime | None = None
    by: str | None = None  # "system" or the office member's id

    def to_data(self) -> dict[str, object]:
        """As a history event's or audit entry's data."""
        data: dict[str, object] = {
            "unit": self.unit_id,
            "scope": self.scope.value,
            "reason": self.reason.value,
        }
        if self.matched:
            data["matched"] = self.matched
        if self.via:
            data["via"] = self.via
        if self.pending:
            data["pending"] = True
        return data


@dataclass(frozen=True, slots=True)
class Mention:
    """A place where the complaint names a unit."""

    unit_id: str
    source: RecusalReason  # CHOSEN, NAMED or DESCRIPTION
    matched: str  # the words as the citizen wrote them
    strength: float

    @property
    def clear(self) -> bool:
        return self.strength >= CLEAR_MATCH


@dataclass(frozen=True, slots=True)
class TargetFinding:
    """Who the complaint is about, as far as the words tell."""

    mentions: tuple[Mention, ...]
    recusals: tuple[Recusal, ...]
    target_unit_id: str | None  # the one unit complained about, when it is clear
    ambiguous: bool  # several candidates, or one that is not clear: the office decides

    @property
    def candidates(self) -> tuple[str, ...]:
        """Every unit the complaint may be about, strongest first, each once."""
        ordered = sorted(self.mentions, key=lambda m: -m.strength)
        return tuple(dict.fromkeys(m.unit_id for m in ordered))


# -- names -----------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@lru_cache(maxsize=4096)  # a plan's units are frozen; filing a complaint asks for all of them
def unit_keys(unit: Unit) -> dict[str, float]:
    """Every way of writing the unit's name → how surely it names the unit (do not change the
    mapping: it is shared)."""
    keys: dict[str, float] = {}
    for name in (*unit.names, unit.name_en):
        key = _fold(name)
        if key:
            keys[key] = max(keys.get(key, 0.0), NAME_STRENGTH)
    for key in list(keys):
        for prefix in UNIT_NAME_PREFIXES:
            rest = key.removeprefix(prefix).strip()
            if rest != key and len(rest) >= 2 and rest not in keys:
                keys[rest] = SHORT_NAME_STRENGTH
    return keys


@dataclass(frozen=True, slots=True)
class _PlanIndex:
    """What the finding asks of a plan's units, worked out once per plan object: a filing asks
    for every unit's names and, for each unit it names, its whole family."""

    keys: tuple[tuple[str, str, float], ...]  # (name key, unit id, strength), plan order
    named: dict[str, Unit]  # name key -> the first unit in plan order with that key
    ancestors: dict[str, tuple[str, ...]]  # unit id -> its parent, its parent's parent, ...
    descendants: dict[str, tuple[str, ...]]  # unit id -> its offices and theirs, plan order


def _build_index(plan: Plan) -> _PlanIndex:
    keys: list[tuple[str, str, float]] = []
    named: dict[str, Unit] = {}
    for unit in plan.units:
        for key, strength in unit_keys(unit).items():
            keys.append((key, unit.id, strength))
            named.setdefault(key, unit)
    parents = {u.id: u.parent_id for u in plan.units}
    up: dict[str, tuple[str, ...]] = {}
    down: dict[str, list[str]] = {}
    for unit in plan.units:
        chain: list[str] = []
        current = parents.get(unit.id)
        # the plan forbids a unit being its own parent; a longer loop is cut where it closes
        while current is not None and current != unit.id and current not in chain:
            chain.append(current)
            current = parents.get(current)
        up[unit.id] = tuple(chain)
        for head in chain:
            down.setdefault(head, []).append(unit.id)
    return _PlanIndex(tuple(keys), named, up, {k: tuple(v) for k, v in down.items()})


_PLAN_INDEX: dict[int, tuple[Plan, _PlanIndex]] = {}


def _index(plan: Plan) -> _PlanIndex:
    """The plan's ``_PlanIndex``, built once per plan object. Kept by identity, not by hash:
    hashing a whole plan costs more than this lookup saves."""
    held = _PLAN_INDEX.get(id(plan))
    if held is not None and held[0] is plan:
        return held[1]
    index = _build_index(plan)
    if len(_PLAN_INDEX) >= 8:
        _PLAN_INDEX.clear()
    _PLAN_INDEX[id(plan)] = (plan, index)
    return index


def _is_fragment(text: str, key: str) -> bool:
    # a fragment of the name typed alone (财政 → 区财政局); not trivially short, or "局"
    # would suggest every bureau
    shortest = 4 if text.isascii() else 2
    return len(text) >= shortest and text in key and text != key


def suggest_units(plan: Plan, text: str, limit: int = 6) -> list[Unit]:
    """Units whose name or alias the text mentions (or that a typed fragment belongs to), the
    most specific match first: the dialog's suggestions."""
    folded = _fold(text)
    if not folded:
        return []
    scored: list[tuple[int, int, Unit]] = []
    for index, unit in enumerate(plan.units):
        best = max(
            (len(key) for key in unit_keys(unit) if key in folded or _is_fragment(folded, key)), default=0
        )
        if best:
            scored.append((-best, index, unit))
    return [unit for _, _, unit in sorted(scored, key=lambda s: (s[0], s[1]))[:limit]]


def unit_named(plan: Plan, text: str) -> Unit | None:
    """The unit whose name (or alias, or name without its prefix) is exactly ``text``."""
    return _index(plan).named.get(_fold(text))


def _addressed(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - _ADDRESSEE_WINDOW) : start]
    after = text[end : end + 6]
    return bool(_ADDRESSEE_BEFORE.search(before) or _ADDRESSEE_AFTER.search(after))


def mentions_in(plan: Plan, text: str, source: RecusalReason) -> list[Mention]:
    """Units the text names, longest name first where names overlap: "区纪委行政效能监察室" names
    the office, not also 区纪委. A unit named as the body asked to act ("向纪委反映") is not a
    mention: the citizen is asking it for help, not complaining about it."""
    folded = text.casefold()
    found: list[tuple[int, int, str, float]] = []
    for key, unit_id, strength in _index(plan).keys:
        start = folded.find(key)
        while start != -1:  # every occurrence, overlapping ones too: the longest wins below
            found.append((start, start + len(key), unit_id, strength))
            start = folded.find(key, start + 1)
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    taken: list[tuple[int, int]] = []
    best: dict[str, Mention] = {}
    for start, end, unit_id, strength in found:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        if _addressed(folded, start, end):
            continue
        mention = Mention(unit_id, source, text[start:end], strength)
        if unit_id not in best or best[unit_id].strength < strength:
            best[unit_id] = mention
    return list(best.values())


def typed_mentions(plan: Plan, text: str) -> list[Mention]:
    """What the unit step's free text names: the exact name, names inside it, or a fragment."""
    folded = _fold(text)
    if not folded:
        return []
    exact = unit_named(plan, text)
    if exact is not None:
        return [Mention(exact.id, RecusalReason.NAMED, text.strip(), EXACT_STRENGTH)]
    inside = mentions_in(plan, text, RecusalReason.NAMED)
    if inside:
        return inside
    return [
        Mention(unit.id, RecusalReason.NAMED, text.strip(), FRAGMENT_STRENGTH)
        for unit in plan.units
        if any(_is_fragment(folded, key) for key in unit_keys(unit))
    ]


# -- families --------------------------------------------------------------------------------------


def ancestors(plan: Plan, unit_id: str) -> list[str]:
    """The unit's parent, its parent's parent, ... (the plan forbids a unit being its own parent;
    a longer loop is cut where it closes)."""
    return list(_index(plan).ancestors.get(unit_id, ()))


def descendants(plan: Plan, unit_id: str) -> list[str]:
    """The unit's own offices, and theirs, in plan order."""
    return list(_index(plan).descendants.get(unit_id, ()))


def family_recusals(
    plan: Plan, unit_id: str, reason: RecusalReason, matched: str = "", *, pending: bool = False
) -> list[Recusal]:
    """The unit kept out wholly, its offices too, and its heads from leading."""
    out = [Recusal(unit_id, RecusalScope.FULL, reason, matched, pending=pending)]
    out += [
        Recusal(child, RecusalScope.FULL, RecusalReason.FAMILY, via=unit_id, pending=pending)
        for child in descendants(plan, unit_id)
    ]
    out += [
        Recusal(head, RecusalScope.LEAD, RecusalReason.PARENT, via=unit_id, pending=pending)
        for head in ancestors(plan, unit_id)
    ]
    return out


def merge(recusals: Iterable[Recusal]) -> tuple[Recusal, ...]:
    """One recusal per unit: the widest scope wins, a decided one beats a pending one, and the
    first reason given for the winning scope is kept."""
    merged: dict[str, Recusal] = {}
    for r in recusals:
        have = merged.get(r.unit_id)
        if have is None:
            merged[r.unit_id] = r
            continue
        wider = r.scope is RecusalScope.FULL and have.scope is RecusalScope.LEAD
        surer = have.pending and not r.pending and r.scope is have.scope
        if wider or surer:
            merged[r.unit_id] = replace(r, pending=have.pending and r.pending)
        elif have.pending and not r.pending:
            merged[r.unit_id] = replace(have, pending=False)
    return tuple(merged.values())


def _families(plan: Plan, unit_ids: Sequence[str]) -> int:
    """How many separate families the units fall into (a unit and its head are one)."""
    roots = set()
    for unit_id in unit_ids:
        chain = [unit_id, *ancestors(plan, unit_id)]
        roots.add(chain[-1])
    return len(roots)


# -- the finding -----------------------------------------------------------------------------------


def find_targets(
    plan: Plan, *, chosen_unit_id: str | None, target_text: str, description: str
) -> TargetFinding:
    """Who the complaint is about, and so who must be kept out of it.

    Clear when all clear mentions fall in one family and nothing unclear is left over; the
    unit picked or named most surely is then the unit complained about. Otherwise ambiguous:
    every candidate is kept out (``pending``) and the office decides."""
    mentions: list[Mention] = []
    if chosen_unit_id is not None:
        chosen = plan.unit(chosen_unit_id)
        mentions.append(Mention(chosen.id, RecusalReason.CHOSEN, chosen.name, CHOSEN_STRENGTH))
    mentions += typed_mentions(plan, target_text)
    mentions += mentions_in(plan, description, RecusalReason.DESCRIPTION)
    if not mentions:
        return TargetFinding((), (), None, ambiguous=False)
    by_unit: dict[str, Mention] = {}
    for m in mentions:  # the strongest mention of each unit, the earlier source on a tie
        if m.unit_id not in by_unit or by_unit[m.unit_id].strength < m.strength:
            by_unit[m.unit_id] = m
    ordered = sorted(by_unit.values(), key=lambda m: -m.strength)
    clear = [m for m in ordered if m.clear]
    unclear = [m for m in ordered if not m.clear and not _covered(plan, m.unit_id, clear)]
    ambiguous = bool(unclear) or _families(plan, [m.unit_id for m in clear]) > 1
    recusals: list[Recusal] = []
    named = {m.unit_id for m in ordered}
    for m in ordered:
        # "区纪委的行政效能监察室": the head is named to say whose office it is; it answers for
        # the office (may not lead) but is not itself complained about, unless it is unclear
        heads_only = not ambiguous and any(m.unit_id in ancestors(plan, other) for other in named)
        if not heads_only:
            recusals += family_recusals(plan, m.unit_id, m.source, m.matched, pending=ambiguous)
    target = None if ambiguous else _most_specific(plan, [m.unit_id for m in clear])
    return TargetFinding(tuple(ordered), merge(recusals), target, ambiguous)


def _covered(plan: Plan, unit_id: str, clear: Sequence[Mention]) -> bool:
    """A vague mention of a unit already named clearly, or of one of its family, adds nothing."""
    for m in clear:
        if (
            unit_id == m.unit_id
            or unit_id in ancestors(plan, m.unit_id)
            or m.unit_id in ancestors(plan, unit_id)
        ):
            return True
    return False


def _most_specific(plan: Plan, unit_ids: Sequence[str]) -> str | None:
    """Of the units of one family, the one deepest in it (the office, not its head)."""
    if not unit_ids:
        return None
    return max(unit_ids, key=lambda u: (len(ancestors(plan, u)), -unit_ids.index(u)))


# -- what recusals mean for routing ----------------------------------------------------------------


def barred_from_lead(recusals: Iterable[Recusal]) -> frozenset[str]:
    return frozenset(r.unit_id for r in recusals)


def barred_from_sight(recusals: Iterable[Recusal]) -> frozenset[str]:
    """Units that may not even be copied: the unit complained about and its offices, and every
    candidate while the office has not decided."""
    return frozenset(r.unit_id for r in recusals if r.scope is RecusalScope.FULL or r.pending)
