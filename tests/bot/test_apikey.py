"""``/apikey`` in the bot (the office issues, lists and revokes the Open311 API's keys), the
same from the command line (``python -m bot apikey``), and the office's card for a case a key
holder filed: its complainant is the holder's account, not a Telegram user."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import main
from core.api_keys import ApiAccount
from core.services.complaints import ComplaintDraft
from storage.models import ApiKeyRow, AuditRow
from tests.bot.conftest import HarnessFactory
from tests.support.harness import BotHarness
from tests.support.updates import TgUser, group_chat

OFFICE_CHAT = -100_777
OFFICE = TgUser(900_001, "办公室王五", "zh-hans")
LIAISON = TgUser(200_001, "联络员李四", "zh-hans")
CITIZEN = TgUser(100_001, "张三", "zh-hans")
KEY = re.compile(r"bsn_[A-Za-z0-9_-]{40,}")


@pytest.fixture
async def h(harness_factory: HarnessFactory) -> AsyncIterator[BotHarness]:
    async with harness_factory(office_chat_id=OFFICE_CHAT, office_admin_ids=str(OFFICE.id)) as harness:
        yield harness


async def rows(h: BotHarness, model: type[Any]) -> list[Any]:
    assert h.deps.session_factory is not None
    async with h.deps.session_factory() as session:
        return list((await session.execute(select(model))).scalars())


async def test_the_office_issues_a_key_shown_once_lists_and_revokes_it(h: BotHarness) -> None:
    await h.command(OFFICE, "apikey", "new 12345 市民热线")
    issued = h.last_text()
    [secret] = KEY.findall(issued)
    assert "12345 市民热线" in issued and "#1" in issued
    [row] = await rows(h, ApiKeyRow)
    assert row.name == "12345 市民热线" and row.created_by == OFFICE.id and secret not in row.key_hash
    key = await h.deps.services.api_keys.authenticate(secret)
    assert key.id == row.id  # the key shown is the one that works

    await h.command(OFFICE, "apikey", "list")
    listing = h.last_text()
    assert "12345 市民热线" in listing and h.t("zh", "open311.apikey_active") in listing
    assert not KEY.search(listing)  # never shown again

    await h.command(OFFICE, "apikey", f"revoke {row.id}")
    assert h.last_text() == h.t("zh", "open311.apikey_revoked", key_id=row.id, name="12345 市民热线")
    await h.command(OFFICE, "apikey", f"revoke {row.id}")
    assert h.last_text() == h.t("zh", "open311.key_error_revoked", key_id=row.id, name="12345 市民热线")
    await h.command(OFFICE, "apikey", "list")
    assert "已吊销" in h.last_text()

    audit = [(r.actor_id, r.action, r.target) for r in await rows(h, AuditRow)]
    assert (OFFICE.id, "api_key.issue", f"api_key:{row.id}") in audit
    assert (OFFICE.id, "api_key.revoke", f"api_key:{row.id}") in audit


async def test_a_key_is_never_issued_in_a_group(h: BotHarness) -> None:
    update = h.make.message(
        OFFICE,
        chat=group_chat(OFFICE_CHAT),
        text="/apikey new 12345",
        entities=[{"type": "bot_command", "offset": 0, "length": 7}],
    )
    await h.send(update)
    assert h.last_text() == h.t("zh", "open311.apikey_private_only")
    assert await rows(h, ApiKeyRow) == []


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "open311.apikey_usage"),
        ("frobnicate", "open311.apikey_usage"),
        ("new", "open311.key_error_name"),
        ("new \x00\u202e", "open311.key_error_name"),
        ("revoke", "open311.apikey_bad_id"),
        ("revoke abc", "open311.apikey_bad_id"),
        ("revoke 99", "open311.key_error_unknown"),
    ],
)
async def test_bad_apikey_commands_get_a_clear_answer(h: BotHarness, args: str, key: str) -> None:
    await h.command(OFFICE, "apikey", args)
    expected = h.t("zh", key, limit=200, key_id=99)
    assert h.last_text() == expected
    assert await rows(h, ApiKeyRow) == []


async def test_liaisons_and_citizens_cannot_touch_keys(h: BotHarness) -> None:
    secret = (await h.deps.services.api_keys.issue(None, "city portal")).secret
    now = h.clock.now()
    async with h.deps.uow() as uow:
        await uow.users.upsert(LIAISON.id, now=now, chat_id=LIAISON.id)
        await uow.liaisons.add(LIAISON.id, "organs_work_committee", now=now)
        await uow.commit()
    for user in (LIAISON, CITIZEN):
        for args in ("new hacked", "list", "revoke 1"):
            await h.command(user, "apikey", args)
            assert h.last_text() == h.t("zh", "office.only")
    [row] = await rows(h, ApiKeyRow)
    assert row.revoked_at is None and row.name == "city portal"
    assert (await h.deps.services.api_keys.authenticate(secret)).id == row.id


async def test_the_office_card_names_the_holder_and_the_callers_contact(h: BotHarness) -> None:
    key = (await h.deps.services.api_keys.issue(None, "12345 hotline")).key
    account = ApiAccount(key.id, "device:call-7", phone="13800138000", email="z@example.cn", name="三 张")
    draft = ComplaintDraft(
        description="区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟",
        area="conduct",
        anonymous=False,
        phone="13800138000",
    )
    filed = await h.deps.services.complaints.file(None, draft, account=account)
    await h.command(OFFICE, "case_office", filed.case.tracking_no)
    card = h.last_text()
    assert "12345 hotline" in card and "device:call-7" in card
    assert "13800138000" in card and "z@example.cn" in card and "三 张" in card
    assert "None" not in card


def test_the_command_line_issues_lists_and_revokes(
    migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_sqlite_url)
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST-TOKEN")
    assert main(["apikey", "new", "12345", "hotline"]) == 0
    issued = capsys.readouterr().out
    assert "#1 for 12345 hotline" in issued and KEY.search(issued)
    assert main(["apikey", "list"]) == 0
    listing = capsys.readouterr().out
    assert "12345 hotline" in listing and "active" in listing and not KEY.search(listing)
    assert main(["apikey", "revoke", "1"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["apikey", "revoke", "1"]) == 2  # already revoked: a usage error, said on stderr
    assert "key_error_revoked" in capsys.readouterr().err
