"""A local stand-in for the Telegram Bot API, for end-to-end tests of the real process.

An HTTP/1.1 server on 127.0.0.1 (ephemeral port, stdlib asyncio only) that speaks enough of
the Bot API for python-telegram-bot: ``/bot<TOKEN>/<method>`` for getMe, getUpdates (long
polling with ``timeout`` and ``offset``; the test injects updates), the send/edit/answer
methods, the command-menu and webhook methods, getFile, and ``/file/bot<TOKEN>/<path>``
downloads. It records every call and every message the bot sends, per chat, and a test can
``await standin.wait_for_message(chat_id, predicate, timeout)``.

    async with BotApiStandin(token="123456:TEST") as api:
        env["TELEGRAM_API_URL"] = api.api_url            # http://127.0.0.1:PORT/bot
        ...start the bot process...
        api.push_update(UpdateFactory().command(user, "start"))
        message = await api.wait_for_message(user.id, lambda m: "2540084" in m.text)

With ``rate_limits=True`` (or a ``RateLimits``) it answers like Telegram when a bot sends too
fast: HTTP 429 with ``parameters.retry_after``; ``too_many_requests`` counts those answers, so
a benchmark can show the sender stays under the limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram import Update

BOT_ID = 7_000_000_001
BOT_USERNAME = "banshinan_test_bot"

# Parameters the Bot API takes as JSON-serialised objects; everything else stays a string
# (a user's message text "123" must not turn into a number).
JSON_PARAMS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "media",
        "allowed_updates", "link_preview_options", "reply_parameters", "results", "options",
    }
)
INT_PARAMS = frozenset(
    {"chat_id", "message_id", "from_chat_id", "offset", "limit", "timeout", "reply_to_message_id",
     "cache_time", "user_id"}
)
BOOL_PARAMS = frozenset({"show_alert", "disable_notification", "drop_pending_updates", "protect_content"})
SEND_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo", "sendAnimation",
     "sendSticker", "sendLocation", "sendContact", "sendMediaGroup", "copyMessage", "forwardMessage"}
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram's published limits: about 30 messages a second overall, one a second per
    private chat, 20 a minute per group."""

    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20


@dataclass(frozen=True, slots=True)
class UploadedFile:
    field: str
    filename: str | None
    content: bytes
    content_type: str | None


@dataclass(slots=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    status: int = 200


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent (or an edit of one: ``method`` says which)."""

    chat_id: int
    message_id: int
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    at: float = 0.0

    @property
    def text(self) -> str:
        return str(self.params.get("text", self.params.get("caption", "")))

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        markup = self.params.get("reply_markup") or {}
        out: list[tuple[str, str | None]] = []
        for row in markup.get("inline_keyboard", []):
            out.extend((b["text"], b.get("callback_data")) for b in row)
        for row in markup.get("keyboard", []):
            out.extend(((b if isinstance(b, str) else b["text"]), None) for b in row)
        return out


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class BotApiStandin:
    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        rate_limits: bool | RateLimits = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.host = host
        self._requested_port = port
        self.limits: RateLimits | None = RateLimits() if rate_limits is True else (rate_limits or None)
        self.bot_user: dict[str, Any] = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "办事难测试",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[ApiCall] = []
        self.messages: dict[int, list[SentMessage]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope json, language) → menu
        self.webhook: dict[str, Any] = {"url": ""}
        self.too_many_requests = 0
        # (token, method) of every request made with another token: answered like Telegram,
        # 401 Unauthorized for a well-formed token, 404 Not Found for a malformed one
        self.refused: list[tuple[str, str]] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id: Iterator[int] = itertools.count(1)
        self._last_update_id = 0
        self._message_ids: dict[int, Iterator[int]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id → (file_path, content)
        # set and replaced on every change: waiters re-check their condition when it fires
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._sent_times: deque[float] = deque()
        self._chat_sent: dict[int, deque[float]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve_connection, self.host, self._requested_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BotApiStandin:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """For TELEGRAM_API_URL (python-telegram-bot's base_url form)."""
        return f"{self.base}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base}/file/bot"

    # -- what the test does ------------------------------------------------------------------

    def push_update(self, update: Update | dict[str, Any]) -> int:
        """Queue an update for getUpdates. Its update_id is kept if higher than any before,
        otherwise a fresh one is given (Telegram's ids only grow). Returns the update_id."""
        data = update.to_dict() if isinstance(update, Update) else dict(update)
        given = data.get("update_id")
        if not isinstance(given, int) or given <= self._last_update_id:
            given = max(next(self._next_update_id), self._last_update_id + 1)
        data["update_id"] = self._last_update_id = given
        self._remember_chats(data)
        self._updates.append(data)
        self._notify()
        return given

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> str:
        """Make ``file_id`` downloadable (getFile + /file/bot<TOKEN>/<path>); returns the path."""
        path = file_path or f"documents/{file_id}"
        self._files[file_id] = (path, content)
        return path

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return list(self.messages.get(chat_id, []))

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - the e2e tests' own, simpler spelling
        *,
        after: int = 0,
    ) -> SentMessage:
        """The first message to ``chat_id`` (from index ``after``) that satisfies ``predicate``,
        waiting up to ``timeout`` seconds for it; raises ``TimeoutError`` with what was sent."""

        def found() -> SentMessage | None:
            for message in self.messages.get(chat_id, [])[after:]:
                if predicate is None or predicate(message):
                    return message
            return None

        async def wait() -> SentMessage:
            while (message := found()) is None:
                await self._changed.wait()
            return message

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            texts = [m.text[:80] for m in self.messages.get(chat_id, [])]
            raise TimeoutError(
                f"no matching message to chat {chat_id} within {timeout}s; sent: {texts}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> ApiCall:
        async def wait() -> ApiCall:
            while True:
                for call in self.calls:
                    if call.method == method and (predicate is None or predicate(call)):
                        return call
                await self._changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no {method} call within {timeout}s") from None

    # -- HTTP --------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                status, content_type, payload = await self._route(method, target, headers, body)
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                    "Connection: keep-alive\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(
        self, http_method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        path = unquote(urlsplit(target).path)
        file_prefix = f"/file/bot{self.token}/"
        if path.startswith(file_prefix):
            return self._download(path[len(file_prefix) :])
        api_prefix = f"/bot{self.token}/"
        if not path.startswith(api_prefix):
            if path.startswith("/bot"):
                token, _, method = path[len("/bot") :].partition("/")
                self.refused.append((token, method))
                self._notify()
                if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
                    return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            elif path.startswith("/file/bot"):
                return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        api_method = path[len(api_prefix) :]
        try:
            params, files = _decode_params(urlsplit(target).query, headers, body)
        except ValueError as exc:
            return _json(400, ApiError(400, f"Bad Request: {exc}").body())
        call = ApiCall(api_method, params, files, time.monotonic())
        self.calls.append(call)
        self._notify()  # now, not after a long poll: tests wait for "the bot is polling"
        try:
            result = await self._answer(api_method, params, files)
        except ApiError as exc:
            call.status = exc.code
            self._notify()
            return _json(exc.code, exc.body())
        self._notify()
        return _json(200, {"ok": True, "result": result})

    def _download(self, file_path: str) -> tuple[int, str, bytes]:
        for path, content in self._files.values():
            if path == file_path:
                return 200, "application/octet-stream", content
        return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    # -- the Bot API ---------------------------------------------------------------------------

    async def _answer(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if method == "getMe":
            return self.bot_user
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("deleteWebhook", "setWebhook"):
            self.webhook = {"url": params.get("url", "")} if method == "setWebhook" else {"url": ""}
            if params.get("drop_pending_updates"):
                self._updates.clear()
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": 0}
        if method in ("setMyCommands", "deleteMyCommands", "getMyCommands"):
            return self._menus(method, params)
        if method in ("answerCallbackQuery", "sendChatAction", "deleteMessage", "setChatMenuButton"):
            return True
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self._files:
                raise ApiError(400, "Bad Request: invalid file_id")
            path, content = self._files[file_id]
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(content),
                "file_path": path,
            }
        if method in SEND_METHODS:
            return self._send(method, params, files)
        if method in EDIT_METHODS:
            return self._edit(method, params)
        raise ApiError(404, "Not Found: method not found")

    def _menus(self, method: str, params: dict[str, Any]) -> Any:
        scope = json.dumps(params.get("scope", {"type": "default"}), sort_keys=True)
        key = (scope, str(params.get("language_code", "")))
        if method == "setMyCommands":
            self.commands[key] = list(params.get("commands", []))
            return True
        if method == "deleteMyCommands":
            self.commands.pop(key, None)
            return True
        return self.commands.get(key, [])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            # Telegram forgets every update before the offset: they are confirmed
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:

            async def arrival() -> None:
                while not self._updates:
                    await self._changed.wait()

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival(), timeout)
        return self._updates[:limit]

    def _send(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = _chat_id(params)
        self._check_rate(chat_id)
        if method == "sendMediaGroup":
            return [self._record(chat_id, method, {**params, "media": [item]}, files)
                    for item in params.get("media", [])]
        if method == "copyMessage":
            return {"message_id": self._record(chat_id, method, params, files)["message_id"]}
        return self._record(chat_id, method, params, files)

    def _record(
        self, chat_id: int, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        ids = self._message_ids.setdefault(chat_id, itertools.count(10_001))
        message_id = next(ids)
        sent = SentMessage(chat_id, message_id, method, params, files, time.monotonic())
        self.messages.setdefault(chat_id, []).append(sent)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chats.get(chat_id) or _chat(chat_id),
            "from": self.bot_user,
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        kind = method[len("send") :].lower() if method.startswith("send") else ""
        if kind in ("document", "voice", "audio", "video", "animation", "sticker", "photo"):
            file_id = f"{kind}-{chat_id}-{message_id}"
            upload = files.get(kind) or next(iter(files.values()), None)
            self.add_file(file_id, upload.content if upload else b"", f"{kind}s/{file_id}")
            media: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
            if kind == "photo":
                message["photo"] = [{**media, "width": 1, "height": 1}]
            else:
                if kind in ("voice", "audio", "video", "animation"):
                    media["duration"] = 1
                if kind in ("video", "animation", "sticker"):
                    media.update(width=1, height=1)
                if kind == "sticker":
                    media.update(type="regular", is_animated=False, is_video=False)
                message[kind] = media
        return message

    def _edit(self, method: str, params: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            return True
        chat_id = _chat_id(params)
        message_id = int(params.get("message_id") or 0)
        original = next((m for m in self.messages.get(chat_id, []) if m.message_id == message_id), None)
        if original is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        merged = {**original.params, **params}
        if method == "editMessageReplyMarkup" and "reply_markup" not in params:
            merged.pop("reply_markup", None)
        edit = SentMessage(chat_id, message_id, method, merged, {}, time.monotonic())
        self.messages[chat_id].append(edit)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": self._chats.get(chat_id) or _chat(chat_id),
            "from": self.bot_user,
        }
        if "text" in merged:
            message["text"] = merged["text"]
        if isinstance(merged.get("reply_markup"), dict) and "inline_keyboard" in merged["reply_markup"]:
            message["reply_markup"] = merged["reply_markup"]
        return message

    def _check_rate(self, chat_id: int) -> None:
        if self.limits is None:
            return
        now = time.monotonic()
        while self._sent_times and now - self._sent_times[0] >= 1.0:
            self._sent_times.popleft()
        if len(self._sent_times) >= self.limits.overall_per_second:
            self._too_many(max(1, math.ceil(1.0 - (now - self._sent_times[0]))))
        group = chat_id < 0
        window = 60.0 if group else self.limits.per_chat_interval
        allowed = self.limits.group_per_minute if group else 1
        sent = self._chat_sent.setdefault(chat_id, deque())
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= allowed:
            self._too_many(max(1, math.ceil(window - (now - sent[0]))))
        self._sent_times.append(now)
        sent.append(now)

    def _too_many(self, retry_after: int) -> None:
        self.too_many_requests += 1
        raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    # -- helpers -----------------------------------------------------------------------------

    def _remember_chats(self, data: dict[str, Any]) -> None:
        for key in ("message", "edited_message", "channel_post"):
            message = data.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                self._chats[message["chat"]["id"]] = message["chat"]
        query = data.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("message"), dict):
            chat = query["message"].get("chat")
            if isinstance(chat, dict):
                self._chats[chat["id"]] = chat

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


# -- HTTP/1.1 and Bot API parameter decoding ---------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    try:
        method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()  # the empty line after the last chunk (no trailers)
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return method, target, headers, body


def _decode_params(
    query: str, headers: dict[str, str], body: bytes
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/json") and body:
        data = json.loads(body)
        return {k: v for k, v in data.items()}, files
    if content_type.startswith("application/x-www-form-urlencoded"):
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif content_type.startswith("multipart/form-data"):
        fields, files = _parse_multipart(content_type, body)
        raw.update(fields)
    return {name: _coerce(name, value) for name, value in raw.items()}, files


def _coerce(name: str, value: str) -> Any:
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name in INT_PARAMS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername"
    if name in BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    boundary = ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        part_headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            part_headers[name.strip().lower()] = value.strip()
        disposition = _disposition(part_headers.get("content-disposition", ""))
        name = disposition.get("name", "")
        if "filename" in disposition:
            filename = disposition["filename"]
            files[name] = UploadedFile(name, filename, content, part_headers.get("content-type"))
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def _disposition(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.split(";")[1:]:
        key, _, val = item.strip().partition("=")
        out[key.lower()] = val.strip('"')
    return out


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if not isinstance(value, int):
        raise ApiError(400, "Bad Request: chat not found")
    return value


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "user"}
    kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
    return {"id": chat_id, "type": kind, "title": "group"}


def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")
