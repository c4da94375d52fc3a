"""The demo chat page's server (web/demo/chat.py) without a browser: what the page posts becomes
the update Telegram would deliver, and what the bot sends comes back in the page's log."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from core.plan import load_plan
from tests.web.browser.conftest import REPO_ROOT
from web.demo.chat import PIXEL_PNG, DemoChat
from web.demo.personas import OFFICE_GROUP, all_personas

TOKEN = "123456:DEMO"


@pytest.fixture
async def chat() -> Any:
    plan = load_plan(REPO_ROOT / "plans" / "zhuhui-2014.toml")
    api = DemoChat(all_personas(plan), token=TOKEN, links={"Dashboard": "http://127.0.0.1:1/"})
    async with api, httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=10) as client:
        api.client = client  # type: ignore[attr-defined]  # the tests' handle on both
        yield api


async def bot(client: httpx.AsyncClient, method: str, **params: Any) -> Any:
    """Call the Bot API as the bot does (JSON body)."""
    response = await client.post(f"/bot{TOKEN}/{method}", json=params)
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def test_typed_text_and_commands_become_updates_for_get_updates(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    await client.post("/chat/api/send", json={"persona": "citizen-zhang", "text": "/start"})
    await client.post("/chat/api/send", json={"persona": "citizen-zhang", "text": "窗口没人"})
    updates = await bot(client, "getUpdates", offset=0, timeout=0)
    first, second = (u["message"] for u in updates)
    assert first["text"] == "/start" and first["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert first["chat"] == {"id": 100_101, "type": "private", "first_name": "张三"}
    assert first["from"]["language_code"] == "zh-hans"
    assert second["text"] == "窗口没人" and "entities" not in second
    # the page's log has what the person typed, in order
    log = (await client.get("/chat/api/log?after=0")).json()["entries"]
    assert [(e["who"], e["text"]) for e in log] == [("user", "/start"), ("user", "窗口没人")]


async def test_bot_messages_edits_and_buttons_reach_the_page_log_and_presses_come_back(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    markup = {
        "inline_keyboard": [
            [{"text": "✅ 对", "callback_data": "area:ok"}, {"text": "链接", "url": "http://x/"}]
        ]
    }
    sent = await bot(client, "sendMessage", chat_id=100_102, text="<b>对吗？</b>", parse_mode="HTML",
                     reply_markup=markup)  # fmt: skip
    await bot(client, "editMessageText", chat_id=100_102, message_id=sent["message_id"], text="好的")
    log = (await client.get("/chat/api/log?after=0")).json()["entries"]
    message, edit = log
    assert message["html"] and message["text"] == "<b>对吗？</b>"
    assert message["inline"] == [[{"text": "✅ 对", "data": "area:ok", "url": None},
                                  {"text": "链接", "data": None, "url": "http://x/"}]]  # fmt: skip
    assert edit["edit"] and edit["message_id"] == sent["message_id"] and edit["text"] == "好的"
    await client.post(
        "/chat/api/press", json={"persona": "citizen-li", "message_id": sent["message_id"], "data": "area:ok"}
    )
    (update,) = await bot(client, "getUpdates", offset=0, timeout=0)
    query = update["callback_query"]
    assert query["data"] == "area:ok" and query["from"]["id"] == 100_102
    assert query["message"]["message_id"] == sent["message_id"] and query["message"]["text"] == "好的"


async def test_reply_keyboard_contact_and_photo(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    keyboard = {"keyboard": [[{"text": "📱 提供我的手机号", "request_contact": True}], ["🙈 匿名反映"]]}
    await bot(client, "sendMessage", chat_id=100_101, text="联系方式？", reply_markup=keyboard)
    await bot(client, "sendMessage", chat_id=100_101, text="好的", reply_markup={"remove_keyboard": True})
    entries = (await client.get("/chat/api/log?after=0")).json()["entries"]
    assert entries[0]["keyboard"] == [[{"text": "📱 提供我的手机号", "contact": True}],
                                      [{"text": "🙈 匿名反映", "contact": False}]]  # fmt: skip
    assert entries[1]["keyboard"] == []
    await client.post("/chat/api/contact", json={"persona": "citizen-zhang"})
    await client.post("/chat/api/photo", json={"persona": "citizen-zhang", "caption": "证据"})
    contact, photo = (u["message"] for u in await bot(client, "getUpdates", offset=0, timeout=0))
    assert contact["contact"]["user_id"] == 100_101  # the person's own number, as Telegram's button
    assert photo["caption"] == "证据"
    # the bot can download the photo the person sent
    file = await bot(client, "getFile", file_id=photo["photo"][-1]["file_id"])
    download = await client.get(f"/file/bot{TOKEN}/{file['file_path']}")
    assert download.content == PIXEL_PNG


async def test_a_file_the_bot_uploads_can_be_downloaded_from_the_page(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    files = {"document": ("案件.csv", "编号,状态\n".encode(), "text/csv")}
    response = await client.post(f"/bot{TOKEN}/sendDocument", data={"chat_id": "900001"}, files=files)
    assert response.status_code == 200
    (entry,) = (await client.get("/chat/api/log?after=0")).json()["entries"]
    assert entry["media"]["name"] == "案件.csv"
    download = await client.get(entry["media"]["url"])
    assert download.status_code == 200 and download.text == "编号,状态\n"
    assert download.headers["content-type"].startswith("text/csv")


async def test_group_persona_types_in_the_office_group(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    await client.post("/chat/api/send", json={"persona": OFFICE_GROUP.key, "text": "收到"})
    (update,) = await bot(client, "getUpdates", offset=0, timeout=0)
    assert update["message"]["chat"]["id"] == OFFICE_GROUP.chat_id
    assert update["message"]["chat"]["type"] == "supergroup"


async def test_long_poll_answers_when_the_bot_sends(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    waiting = asyncio.ensure_future(client.get("/chat/api/log?after=0&wait=10"))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await bot(client, "sendMessage", chat_id=100_103, text="hello")
    response = await asyncio.wait_for(waiting, 5)
    assert [e["text"] for e in response.json()["entries"]] == ["hello"]


async def test_page_personas_and_static_files(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    page = await client.get("/chat/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/chat/static/chat.js">' in page.text
    script = await client.get("/chat/static/chat.js")
    assert script.status_code == 200 and "safeHtml" in script.text
    # nothing outside the static folder
    assert (await client.get("/chat/static/../chat.py")).status_code == 404
    assert (await client.get("/chat/static/%2e%2e/seed.py")).status_code == 404
    data = (await client.get("/chat/api/personas")).json()
    kinds = {p["kind"] for p in data["personas"]}
    assert kinds == {"citizen", "liaison", "office", "group"}
    assert data["links"] == {"Dashboard": "http://127.0.0.1:1/"}
    assert json.dumps(data, ensure_ascii=False).count('"kind": "liaison"') == 16  # one per unit of the plan


async def test_the_bot_api_itself_still_answers_as_the_stand_in(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    me = await bot(client, "getMe")
    assert me["is_bot"]
    refused = await client.post("/bot999:WRONG/getMe")
    assert refused.status_code == 401


async def test_command_menu_follows_telegrams_scopes_with_the_demos_hints(chat: Any) -> None:
    client: httpx.AsyncClient = chat.client
    chat.hints = {"office": ({"command": "web", "description": "login"},)}
    default = [{"command": "start", "description": "开始"}]
    await bot(client, "setMyCommands", commands=default, scope={"type": "default"})
    await bot(client, "setMyCommands", commands=[{"command": "start", "description": "Start"}],
              scope={"type": "default"}, language_code="en")  # fmt: skip
    await bot(client, "setMyCommands", commands=[{"command": "inbox", "description": "待办"}],
              scope={"type": "chat", "chat_id": 800_101})  # fmt: skip

    async def menu(persona: str) -> list[str]:
        response = await client.get(f"/chat/api/commands?persona={persona}")
        return [f"{c['command']}:{c['description']}" for c in response.json()["commands"]]

    assert await menu("citizen-zhang") == ["start:开始"]
    assert await menu("citizen-alice") == ["start:Start"]  # her Telegram speaks English
    assert await menu("liaison-organs_work_committee") == ["inbox:待办"]  # its own chat's menu
    assert await menu("office") == ["web:login", "start:开始"]
