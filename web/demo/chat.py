"""The demo's Bot API: the tests' stand-in (tests/support/botapi_standin.py) plus a web chat page.

The bot talks to it exactly as in the end-to-end tests (getUpdates, sendMessage, ...). A person
in a browser picks a persona on ``/chat/`` and types or presses buttons; the page posts that to
``/chat/api/*``, which turns it into the update Telegram would deliver (``push_update``), and
reads back, by long polling ``/chat/api/log``, every message the bot sent or edited, in one log
with a sequence number across all chats (so the page can show unread counts for the personas it
is not looking at). No framework: the stand-in's own small HTTP server serves it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.support.botapi_standin import BotApiStandin, UploadedFile
from web.demo.personas import Persona

STATIC_DIR = Path(__file__).resolve().parent / "static"
POLL_SECONDS = 20.0  # the page's long poll: answered at once when something is new
# a small real PNG (1x1, grey), so "send a photo" gives the bot a file it can download
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5dd1a9a0000000049454e44ae426082"
)


class DemoChat(BotApiStandin):
    """The stand-in with the chat page. ``links`` are shown on the page (e.g. the dashboard)."""

    def __init__(
        self,
        personas: Sequence[Persona],
        *,
        token: str = "123456:DEMO",
        host: str = "127.0.0.1",
        port: int = 0,
        links: dict[str, str] | None = None,
        hints: dict[str, tuple[dict[str, str], ...]] | None = None,
    ) -> None:
        super().__init__(token, host=host, port=port)
        self.personas = {p.key: p for p in personas}
        self.links = dict(links or {})
        # commands a role has beyond the citizen menu, offered on the page as one-click chips
        self.hints: dict[str, tuple[dict[str, str], ...]] = dict(hints or {})
        self.log: list[dict[str, Any]] = []
        self._seq: Iterator[int] = itertools.count(1)
        self._user_message_ids: Iterator[int] = itertools.count(1)
        self._query_ids: Iterator[int] = itertools.count(1)
        self._photo_ids: Iterator[int] = itertools.count(1)

    @property
    def chat_url(self) -> str:
        return f"{self.base}/chat/"

    # -- what the bot sends, as the page shows it ------------------------------------------------

    def _record(
        self, chat_id: int, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        message = super()._record(chat_id, method, params, files)
        self._append(chat_id, "bot", message["message_id"], method, params, message, files=files)
        return message

    def _edit(self, method: str, params: dict[str, Any]) -> Any:
        result = super()._edit(method, params)
        if isinstance(result, dict):
            merged = self.messages[result["chat"]["id"]][-1].params
            self._append(result["chat"]["id"], "bot", result["message_id"], method, merged, result, edit=True)
        return result

    def _append(
        self,
        chat_id: int,
        who: str,
        message_id: int,
        method: str,
        params: dict[str, Any],
        message: dict[str, Any] | None = None,
        *,
        edit: bool = False,
        files: dict[str, UploadedFile] | None = None,
    ) -> None:
        markup = params.get("reply_markup") if isinstance(params.get("reply_markup"), dict) else {}
        assert isinstance(markup, dict)
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "chat_id": chat_id,
            "who": who,
            "message_id": message_id,
            "method": method,
            "edit": edit,
            "text": str(params.get("text", params.get("caption", ""))),
            "html": str(params.get("parse_mode", "")).upper() == "HTML",
            "inline": [
                [
                    {"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")}
                    for b in row
                ]
                for row in markup.get("inline_keyboard", [])
            ],
        }
        if "keyboard" in markup:
            entry["keyboard"] = [
                [
                    {"text": b if isinstance(b, str) else b.get("text", ""),
                     "contact": bool(isinstance(b, dict) and b.get("request_contact"))}
                    for b in row
                ]
                for row in markup["keyboard"]
            ]  # fmt: skip
        elif markup.get("remove_keyboard"):
            entry["keyboard"] = []
        media = _media(method, params, message, files or {})
        if media is not None:
            entry["media"] = media
        self.log.append(entry)
        self._notify()

    # -- HTTP ------------------------------------------------------------------------------------

    async def _route(
        self, http_method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        parts = urlsplit(target)
        path = unquote(parts.path)
        if path in ("/", "/chat", "/chat/"):
            return _static("index.html")
        if path.startswith("/chat/static/"):
            return _static(path[len("/chat/static/") :])
        if path.startswith("/chat/api/"):
            try:
                return await self._api(http_method, path[len("/chat/api/") :], parts.query, body)
            except (KeyError, ValueError, TypeError) as exc:
                return _json(400, {"ok": False, "error": str(exc)})
        return await super()._route(http_method, target, headers, body)

    async def _api(self, http_method: str, name: str, query: str, body: bytes) -> tuple[int, str, bytes]:
        if name == "personas":
            return _json(
                200, {"personas": [p.to_json() for p in self.personas.values()], "links": self.links}
            )
        if name == "log":
            args = dict(parse_qsl(query))
            after = int(args.get("after", "0"))
            wait = min(float(args.get("wait", "0")), POLL_SECONDS)
            await self._wait_for_log(after, wait)
            return _json(200, {"entries": [e for e in self.log if e["seq"] > after]})
        if name == "commands":
            return _json(200, {"commands": self.menu_for(self.personas[dict(parse_qsl(query))["persona"]])})
        if name.startswith("file/"):
            return self._file(name[len("file/") :])
        if http_method != "POST":
            return _json(405, {"ok": False, "error": "POST only"})
        data = json.loads(body or b"{}")
        persona = self.personas[str(data["persona"])]
        if name == "send":
            self.say(persona, str(data["text"]))
        elif name == "press":
            self.press(persona, int(data["message_id"]), str(data["data"]))
        elif name == "contact":
            self.share_contact(persona)
        elif name == "photo":
            self.send_photo(persona, str(data.get("caption") or "") or None)
        else:
            return _json(404, {"ok": False, "error": f"no {name}"})
        return _json(200, {"ok": True})

    async def _wait_for_log(self, after: int, wait: float) -> None:
        async def arrival() -> None:
            while not self.log or self.log[-1]["seq"] <= after:
                await self._changed.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrival(), wait)

    def _file(self, file_id: str) -> tuple[int, str, bytes]:
        found = self._files.get(file_id)
        if found is None:
            return _json(404, {"ok": False, "error": "no such file"})
        path, content = found
        kind = self._file_types.get(file_id) or mimetypes.guess_type(path)[0] or "application/octet-stream"
        return 200, kind, content

    @property
    def _file_types(self) -> dict[str, str]:
        # what the bot said each upload was (a chart's image/png, an export's xlsx type)
        types: dict[str, str] = {}
        for messages in self.messages.values():
            for m in messages:
                for upload in m.files.values():
                    kind = m.method[len("send") :].lower()
                    if upload.content_type:
                        types[f"{kind}-{m.chat_id}-{m.message_id}"] = upload.content_type
        return types

    def menu_for(self, persona: Persona) -> list[dict[str, str]]:
        """The command menu Telegram would show ``persona``: the most specific scope the bot set
        (this chat, then all private or group chats, then the default), in the person's
        language if the bot set one for it; plus the demo's hints for the persona's role."""
        language = persona.language_code.split("-")[0]
        kinds = ["chat", "all_private_chats" if persona.kind != "group" else "all_group_chats", "default"]
        menu: list[dict[str, Any]] = []
        for kind in kinds:
            scope: dict[str, Any] = {"type": kind}
            if kind == "chat":
                scope["chat_id"] = persona.chat_id
            key = json.dumps(scope, sort_keys=True)
            found = self.commands.get((key, language)) or self.commands.get((key, ""))
            if found:
                menu = found
                break
        commands = [
            {"command": str(c["command"]), "description": str(c.get("description", ""))} for c in menu
        ]
        for hint in self.hints.get(persona.kind, ()):
            if all(c["command"] != hint["command"] for c in commands):
                commands.insert(0, hint)
        return commands

    # -- what the person does, as Telegram would deliver it ---------------------------------------

    def say(self, persona: Persona, text: str) -> None:
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            head = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(head)}]
        self._message(persona, fields, shown={"text": text})

    def share_contact(self, persona: Persona) -> None:
        # the phone of a demo persona: made up, the same every time for the same persona
        phone = f"+86138{persona.user_id % 10**8:08d}"
        contact = {"phone_number": phone, "first_name": persona.name, "user_id": persona.user_id}
        self._message(persona, {"contact": contact}, shown={"text": f"📱 {phone}"})

    def send_photo(self, persona: Persona, caption: str | None) -> None:
        n = next(self._photo_ids)
        file_id = f"demo-photo-{n}"
        self.add_file(file_id, PIXEL_PNG, f"photos/{file_id}.png")
        fields: dict[str, Any] = {
            "photo": [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": 1, "height": 1,
                       "file_size": len(PIXEL_PNG)}],
        }  # fmt: skip
        if caption:
            fields["caption"] = caption
        self._message(persona, fields, shown={"text": caption or "", "photo": file_id})

    def press(self, persona: Persona, message_id: int, data: str) -> None:
        original = next(
            (m for m in reversed(self.messages.get(persona.chat_id, [])) if m.message_id == message_id), None
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat_of(persona),
            "from": self.bot_user,
            "text": original.text if original else "",
        }
        if original is not None and isinstance(original.params.get("reply_markup"), dict):
            message["reply_markup"] = original.params["reply_markup"]
        query = {
            "id": f"demo-cq{next(self._query_ids)}",
            "from": _user_of(persona),
            "chat_instance": f"ci{persona.chat_id}",
            "message": message,
            "data": data,
        }
        self.push_update({"callback_query": query})

    def _message(self, persona: Persona, fields: dict[str, Any], *, shown: dict[str, Any]) -> None:
        message_id = next(self._user_message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat_of(persona),
            "from": _user_of(persona),
            **fields,
        }
        self.push_update({"message": message})
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "chat_id": persona.chat_id,
            "who": "user",
            "message_id": message_id,
            "method": "",
            "edit": False,
            "html": False,
            "inline": [],
            "text": shown.get("text", ""),
        }
        if "photo" in shown:
            entry["media"] = {"kind": "photo", "url": f"/chat/api/file/{shown['photo']}", "name": ""}
        self.log.append(entry)
        self._notify()


def _user_of(persona: Persona) -> dict[str, Any]:
    return {"id": persona.user_id, "is_bot": False, "first_name": persona.name,
            "language_code": persona.language_code}  # fmt: skip


def _chat_of(persona: Persona) -> dict[str, Any]:
    if persona.kind == "group":
        return {"id": persona.chat_id, "type": "supergroup", "title": persona.name}
    return {"id": persona.chat_id, "type": "private", "first_name": persona.name}


def _media(
    method: str, params: dict[str, Any], message: dict[str, Any] | None, files: dict[str, UploadedFile]
) -> dict[str, str] | None:
    """What the page shows for a photo or file the bot sent: a link it can fetch, when the
    stand-in holds the bytes (uploads), otherwise the file's name only."""
    kind = method[len("send") :].lower() if method.startswith("send") else ""
    if kind not in ("photo", "document", "voice", "audio", "video", "animation"):
        return None
    stored = (message or {}).get(kind)
    file_id = ""
    if isinstance(stored, list) and stored:
        file_id = str(stored[-1].get("file_id", ""))
    elif isinstance(stored, dict):
        file_id = str(stored.get("file_id", ""))
    upload = files.get(kind) or next(iter(files.values()), None)
    if upload is None:
        # a file_id the bot passes on (a citizen's evidence): the stand-in has no bytes for it
        return {"kind": kind, "url": "", "name": str(params.get(kind, ""))}
    return {"kind": kind, "url": f"/chat/api/file/{file_id}", "name": upload.filename or file_id}


def _static(name: str) -> tuple[int, str, bytes]:
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        return _json(404, {"ok": False, "error": "not found"})
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript",):
        kind += "; charset=utf-8"
    return 200, kind, path.read_bytes()


def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode("utf-8")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
