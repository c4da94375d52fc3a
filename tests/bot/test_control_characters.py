"""Control characters in what people type (SPEC §10, issue 12): one character policy
(``core.text``) for every free-text step, and a last guard in the persistence layer, so a NUL
(which PostgreSQL refuses in TEXT and JSONB) can neither break a user's dialog nor a case.

The dialog tests run on SQLite here; tests/integration/test_nul_persistence.py plays the same
dialog on PostgreSQL, where a NUL that got through would fail the write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.dialogs import complaint
from bot.dialogs.complaint import EVIDENCE, IDENTITY, PLACE, SUMMARY, TIME, UNIT
from bot.persistence import DialogPersistence
from core.errors import ValidationFailed
from core.services.complaints import clean_text as clean_text_from_complaints
from core.text import NUL, clean_text, strip_controls, strip_nul
from storage.dialog_store import SqlDialogStore
from tests.bot.conftest import HarnessFactory
from tests.bot.test_complaint_dialog import (
    DESCRIPTION,
    PLACE_TEXT,
    WHEN_TEXT,
    Citizen,
    state_of,
    the_case,
)
from tests.support.harness import BotHarness

pytestmark = pytest.mark.filterwarnings(
    "ignore:Ignoring `conversation_timeout`:telegram.warnings.PTBUserWarning"
)

BEL, RLO = "\x07", "\u202e"
UNIT_TEXT = "区政务中心"  # a plan unit: typed exactly, it is linked
FILE_NAME = "证据.pdf"
# two whole dialogs in a row, at a clock that stands still: more than the flood limit allows
# (bot/throttle.py, tested on its own); this module is about characters, not floods
NO_FLOOD_LIMIT: dict[str, Any] = {"throttle_messages": 0}


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(**NO_FLOOD_LIMIT) as h:
        yield h


def strings_in(value: Any) -> Iterator[str]:
    """Every string in JSON-shaped ``value``, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k)
            yield from strings_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings_in(v)


def dirty(text: str) -> str:
    """``text`` with a NUL, a BEL and a right-to-left override spread through it."""
    third = max(1, len(text) // 3)
    return f"{NUL}{text[:third]}{BEL}{text[third : 2 * third]}{RLO}{text[2 * third :]}{NUL}"


# ---------------------------------------------------------------------------------------------
# The policy itself


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("a\x00b", "ab"),  # NUL: PostgreSQL refuses it
        ("a\x07b\x1bc\x7fd", "abcd"),  # BEL, ESC, DEL
        ("a\x85b\x9bc", "abc"),  # C1 controls
        ("发票\u202efdp.exe", "发票fdp.exe"),  # RLO: would show "exe.pdf"
        ("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069x", "x"),  # every bidi embedding/isolate
        ("a\u200bb\u200ec\u200fd\ufeffe", "abcde"),  # zero-width space, LRM, RLM, BOM
        ("a\u2028b\u2029c", "abc"),  # line/paragraph separators
        ("a\ud800b", "ab"),  # a lone surrogate
        ("line one\nline two\tend", "line one\nline two\tend"),  # line breaks and tabs stay
        ("a\r\nb", "a\nb"),
        ("全角\u3000空格\u00a0不断", "全角 空格 不断"),  # other spaces become plain ones
        ("办事难 😀 <b>&", "办事难 😀 <b>&"),  # printable: untouched (HTML is escaped on output)
    ],
)
def test_the_character_policy(typed: str, kept: str) -> None:
    assert strip_controls(typed) == kept
    assert clean_text(f"  {typed}\n", limit=100) == kept.strip()


def test_clean_text_is_the_same_function_under_its_old_name_and_still_checks_the_length() -> None:
    assert clean_text_from_complaints is clean_text
    assert clean_text(" \x00abc\x00 ", limit=3) == "abc"  # the limit counts what is kept
    with pytest.raises(ValidationFailed) as raised:
        clean_text("abcd", limit=3)
    assert raised.value.params == {"field": "length", "limit": 3, "length": 4}


def test_strip_nul_reaches_every_string_of_json_shaped_data_and_copies_only_when_needed() -> None:
    data: dict[str, Any] = {"a\x00": ["x\x00y", {"k": "\x00"}, 1, None, True], "b": ("t\x00",), "c": 1.5}
    assert strip_nul(data) == {"a": ["xy", {"k": ""}, 1, None, True], "b": ("t",), "c": 1.5}
    assert data["a\x00"][0] == "x\x00y"  # the input is not changed
    clean = {"a": ["b", {"c": "d"}], "e": 2}
    assert strip_nul(clean) is clean


# ---------------------------------------------------------------------------------------------
# The complaint dialog: every free-text step


async def file_a_dirty_complaint(h: BotHarness, citizen: Citizen) -> None:
    """Walks the whole complaint dialog typing control characters into every free-text step
    (description, unit, place, time) and an evidence file name, flushing persistence after
    each step as the running bot does; checks every draft the store holds is clean."""
    store = SqlDialogStore(h.deps.session_factory) if h.deps.session_factory else None
    assert store is not None

    async def flushed_clean() -> dict[str, Any]:
        await h.app.update_persistence()  # the JSON write a NUL would break on PostgreSQL
        stored = await store.get_user_data()
        assert not [s for s in strings_in(stored) if {NUL, BEL, RLO} & set(s)]
        return dict(stored[citizen.user.id][complaint.DRAFT_KEY])

    await citizen.h.command(citizen.user, "new")
    await citizen.say(dirty(DESCRIPTION))
    assert (await flushed_clean())["description"] == DESCRIPTION
    await citizen.press("confirm_area")
    assert citizen.shows(UNIT)
    await citizen.say(dirty(UNIT_TEXT))
    draft = await flushed_clean()
    assert (draft["target_text"], draft["target_unit_id"]) == (UNIT_TEXT, "government_services_center")
    assert citizen.shows(PLACE)
    await citizen.say(dirty(PLACE_TEXT))
    assert (await flushed_clean())["place"] == PLACE_TEXT
    assert citizen.shows(TIME)
    await citizen.say(dirty(WHEN_TEXT))
    assert (await flushed_clean())["occurred"] == WHEN_TEXT
    assert citizen.shows(EVIDENCE)
    await h.send(h.make.document(citizen.user, file_name=dirty(FILE_NAME)))
    assert [e["file_name"] for e in (await flushed_clean())["evidence"]] == [FILE_NAME]
    await citizen.press("done")
    assert citizen.shows(IDENTITY)
    await citizen.say(citizen.label("anonymous"))
    assert citizen.shows(SUMMARY)
    for part in (DESCRIPTION, UNIT_TEXT, PLACE_TEXT, WHEN_TEXT):
        assert part in h.last_text()
    await citizen.press("submit")
    assert state_of(h, citizen.user) is None  # filed: the dialog is over


async def check_the_cases(h: BotHarness) -> None:
    """The case filed before is intact; the dirty one is filed minus the control characters."""
    before = await the_case(h, "ZH-2026-000001")
    assert (before.description, before.place, before.occurred) == (DESCRIPTION, PLACE_TEXT, WHEN_TEXT)
    case = await the_case(h, "ZH-2026-000002")
    assert case.description == DESCRIPTION
    assert (case.target_text, case.target_unit_id) == (UNIT_TEXT, "government_services_center")
    assert (case.place, case.occurred) == (PLACE_TEXT, WHEN_TEXT)
    async with h.deps.uow() as uow:
        files = await uow.attachments.list_for_case(case.id)
    assert [f.file_name for f in files] == [FILE_NAME]


async def test_control_characters_in_every_step_of_the_complaint_dialog_are_dropped(
    harness: BotHarness,
) -> None:
    citizen = Citizen(harness)
    await citizen.to(IDENTITY)  # a clean complaint first: it must come through untouched
    await citizen.answer(IDENTITY)
    await citizen.press("submit")
    assert "ZH-2026-000001" in harness.last_text()

    await file_a_dirty_complaint(harness, citizen)
    assert "ZH-2026-000002" in harness.last_text()
    await check_the_cases(harness)


async def test_only_control_characters_are_an_empty_answer_not_a_crash(harness: BotHarness) -> None:
    citizen = Citizen(harness)
    await citizen.to(PLACE)
    await citizen.say(f"{NUL}{BEL}{RLO}")
    assert harness.last_text().startswith(citizen.t("field_empty"))
    assert citizen.shows(PLACE)  # the step stands


# ---------------------------------------------------------------------------------------------
# The last guard: whatever a handler let through


async def test_persistence_strips_nul_a_handler_let_into_user_data(harness: BotHarness) -> None:
    assert harness.deps.session_factory is not None
    store = SqlDialogStore(harness.deps.session_factory, harness.clock)
    persistence = DialogPersistence(store)
    await persistence.get_user_data()
    await persistence.update_user_data(7, {"draft\x00": {"text": "a\x00b", "list": ["\x00c"]}})
    assert await store.get_user_data() == {7: {"draft": {"text": "ab", "list": ["c"]}}}
    # the same data again is no new write, and a typed backslash-u0000 is text, kept as typed
    await persistence.update_user_data(7, {"draft\x00": {"text": "a\x00b", "list": ["\x00c"]}})
    await persistence.update_user_data(8, {"typed": "\\u0000"})
    assert (await store.get_user_data())[8] == {"typed": "\\u0000"}

    await store.update_user_data(9, {"direct": "x\x00y"})  # the store guards its own callers
    await store.update_conversation("complaint\x00", (9, 9), "s\x00")
    assert (await store.get_user_data())[9] == {"direct": "xy"}
    assert await store.get_conversations("complaint") == {(9, 9): "s"}
