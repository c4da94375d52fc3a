"""An offline ``telegram.request.BaseRequest`` that records every Bot API call.

It never touches the network. Each call is decoded (method name, parameters as Python values,
uploaded files as bytes) into a ``RecordedCall`` and answered with a plausible result, so the
real ``telegram.Bot`` parses it into real objects: ``getMe`` gives a bot user, ``send*`` and
``edit*`` give a ``Message`` with an incrementing ``message_id`` in the right chat, and so on.
Tests can override the answer for a method (``respond``) or make it fail (``fail``).

Like Telegram, a callback query can be answered once: a second ``answerCallbackQuery`` for the
same ``callback_query_id`` fails with 400 (``QUERY_ANSWERED_TWICE``), and is kept in
``repeated_answers`` so the harness can fail the test that caused it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_001
BOT_USERNAME = "banshinan_test_bot"
BOT_NAME = "办事难测试"
DEFAULT_FILE_BYTES = b"%PDF-1.4 test evidence\n"

SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
    }
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
TEXT_METHODS = SEND_METHODS | EDIT_METHODS
# What the Bot API says to a second answerCallbackQuery (and to one sent too late): the user
# never sees that answer's text or alert.
QUERY_ANSWERED_TWICE = (
    "Bad Request: query is too old and response timeout expired or query id is invalid"
)


@dataclass(frozen=True, slots=True)
class RecordedFile:
    field: str
    filename: str | None
    content: bytes
    mime_type: str | None


@dataclass(slots=True)
class RecordedCall:
    """One Bot API request: ``method`` (e.g. ``sendMessage``), decoded ``params``, uploaded
    ``files`` by multipart field, and the ``result`` the bot was given back."""

    method: str
    params: dict[str, Any]
    files: dict[str, RecordedFile] = field(default_factory=dict)
    result: Any = None
    http_method: str = "POST"

    @property
    def chat_id(self) -> int | str | None:
        value = self.params.get("chat_id")
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        return value

    @property
    def text(self) -> str | None:
        """The message text or caption, as sent (HTML)."""
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as (text, callback_data), row by row; reply-keyboard buttons as
        (text, None)."""
        markup = self.reply_markup or {}
        out: list[tuple[str, str | None]] = []
        for row in markup.get("inline_keyboard", []):
            out.extend((button["text"], button.get("callback_data")) for button in row)
        for row in markup.get("keyboard", []):
            for button in row:
                out.append((button if isinstance(button, str) else button["text"], None))
        return out

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict):
            return self.result.get("message_id")
        return None


class ApiError(Exception):
    """Raise from a responder (or pass to ``fail``) to answer like the Bot API does on error."""

    def __init__(self, code: int = 400, description: str = "Bad Request", retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> bytes:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return json.dumps(body).encode()


Responder = Callable[["RecordingRequest", dict[str, Any]], Any]


class RecordingRequest(BaseRequest):
    """Records every call in ``calls``; ``mark()``/``since(mark)`` slice them per step."""

    def __init__(self, *, bot_id: int = BOT_ID, bot_username: str = BOT_USERNAME) -> None:
        self.calls: list[RecordedCall] = []
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": BOT_NAME,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.files: dict[str, bytes] = {}  # file_id -> content, served by getFile + download
        self._responders: dict[str, Responder] = {}
        self._message_ids: Iterator[int] = itertools.count(1001)
        self._file_paths: dict[str, str] = {}
        # callback_query_id -> how many answerCallbackQuery calls it got (refused ones included)
        self.answer_counts: dict[str, int] = {}
        # the refused second (third, ...) answers, in order
        self.repeated_answers: list[RecordedCall] = []

    # -- BaseRequest -------------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open: no network."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method == "GET":  # File.download_* → the bytes behind a file_path
            path = url.split("/file/bot", 1)[-1].split("/", 1)[-1]
            self.calls.append(RecordedCall("download", {"file_path": path}, http_method="GET"))
            file_id = next((fid for fid, p in self._file_paths.items() if p == path), None)
            content = self.files.get(file_id, DEFAULT_FILE_BYTES) if file_id else DEFAULT_FILE_BYTES
            return 200, content

        api_method = url.rsplit("/", 1)[-1]
        params, files = _decode(request_data)
        call = RecordedCall(api_method, params, files)
        self.calls.append(call)
        if api_method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id"))
            self.answer_counts[query_id] = self.answer_counts.get(query_id, 0) + 1
            if self.answer_counts[query_id] > 1:
                # checked before any responder: no test can make Telegram accept it
                self.repeated_answers.append(call)
                refused = ApiError(400, QUERY_ANSWERED_TWICE)
                call.result = refused
                return refused.code, refused.payload()
        try:
            responder = self._responders.get(api_method)
            result = responder(self, params) if responder else self._default_result(api_method, params)
        except ApiError as exc:
            call.result = exc
            return exc.code, exc.payload()
        call.result = result
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- test controls -----------------------------------------------------------------------

    def respond(self, method: str, responder: Responder) -> None:
        """Answer ``method`` with ``responder(request, params)`` from now on."""
        self._responders[method] = responder

    def fail(self, method: str, error: ApiError, *, times: int | None = None) -> None:
        """Make ``method`` fail with ``error`` (``times`` times, or until ``reset``)."""
        remaining = [times]

        def responder(request: RecordingRequest, params: dict[str, Any]) -> Any:
            if remaining[0] is not None:
                if remaining[0] <= 0:
                    del self._responders[method]
                    return request._default_result(method, params)
                remaining[0] -= 1
            raise error

        self._responders[method] = responder

    def reset(self, method: str | None = None) -> None:
        if method is None:
            self._responders.clear()
        else:
            self._responders.pop(method, None)

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[RecordedCall]:
        return self.calls[mark:]

    def of(self, *methods: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method in methods]

    def answers_to(self, query_id: str, calls: list[RecordedCall] | None = None) -> list[RecordedCall]:
        """The answerCallbackQuery calls for one callback query (refused ones included)."""
        source = self.calls if calls is None else calls
        return [
            c
            for c in source
            if c.method == "answerCallbackQuery" and str(c.params.get("callback_query_id")) == query_id
        ]

    # -- plausible answers ---------------------------------------------------------------------

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def message(self, chat_id: Any, **fields: Any) -> dict[str, Any]:
        """A Message JSON sent by the bot into ``chat_id``."""
        chat = _chat(chat_id)
        return {
            "message_id": self.next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            **fields,
        }

    def _default_result(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        markup = params.get("reply_markup")
        # Telegram returns only inline keyboards in a sent message; a reply keyboard (e.g. the
        # contact button) is not part of the Message object
        inline = isinstance(markup, dict) and "inline_keyboard" in markup
        extra: dict[str, Any] = {"reply_markup": markup} if inline else {}
        if method == "getMe":
            return self.bot_user
        if method == "sendMessage":
            return self.message(chat_id, text=params.get("text", ""), **extra)
        if method == "sendPhoto":
            return self.message(chat_id, photo=[_photo_size(self, 320)], **_caption(params), **extra)
        if method in ("sendDocument", "sendVoice", "sendAudio", "sendVideo", "sendAnimation"):
            kind = method[len("send") :].lower()
            n = self.next_message_id()
            media: dict[str, Any] = {"file_id": f"{kind}-{n}", "file_unique_id": f"u{kind}-{n}"}
            if kind in ("voice", "audio"):
                media["duration"] = 1
            if kind in ("video", "animation"):
                media.update(width=1, height=1, duration=1)
            return self.message(chat_id, **{kind: media}, **_caption(params), **extra)
        if method in EDIT_METHODS:
            if "inline_message_id" in params:
                return True
            fields: dict[str, Any] = dict(extra)
            if "text" in params:
                fields["text"] = params["text"]
            if "caption" in params:
                fields["caption"] = params["caption"]
            msg = self.message(chat_id, **fields)
            msg["message_id"] = int(params.get("message_id", msg["message_id"]))
            msg["edit_date"] = int(time.time())
            return msg
        if method == "sendMediaGroup":
            return [self.message(chat_id, photo=[_photo_size(self, 320)]) for _ in params.get("media", [])]
        if method == "copyMessage":
            return {"message_id": self.next_message_id()}
        if method == "getFile":
            file_id = str(params["file_id"])
            path = self._file_paths.setdefault(file_id, f"documents/file_{len(self._file_paths) + 1}")
            content = self.files.get(file_id, DEFAULT_FILE_BYTES)
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(content),
                "file_path": path,
            }
        if method == "getUpdates":
            return []
        if method == "getMyCommands":
            return []
        if method == "getChat":
            return {**_chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11}
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        # answerCallbackQuery, setMyCommands, deleteMyCommands, deleteWebhook, setWebhook,
        # sendChatAction, deleteMessage, ... all answer True
        return True


def _decode(request_data: RequestData | None) -> tuple[dict[str, Any], dict[str, RecordedFile]]:
    if request_data is None:
        return {}, {}
    params: dict[str, Any] = dict(request_data.parameters)
    files: dict[str, RecordedFile] = {}
    if request_data.contains_files:
        for name, part in request_data.multipart_data.items():
            filename, content, mime_type = part  # InputFile.field_tuple
            data = content.read() if hasattr(content, "read") else content
            files[name] = RecordedFile(name, filename, bytes(data), mime_type)
    return params, files


def _chat(chat_id: Any) -> dict[str, Any]:
    try:
        numeric = int(chat_id)
    except (TypeError, ValueError):
        return {"id": -100_000_000_0001, "type": "channel", "title": str(chat_id)}
    if numeric > 0:
        return {"id": numeric, "type": "private", "first_name": "user"}
    if numeric < -1_000_000_000_000:
        return {"id": numeric, "type": "supergroup", "title": "group"}
    return {"id": numeric, "type": "group", "title": "group"}


def _caption(params: dict[str, Any]) -> dict[str, Any]:
    return {"caption": params["caption"]} if "caption" in params else {}


def _photo_size(request: RecordingRequest, width: int) -> dict[str, Any]:
    n = request.next_message_id()
    return {"file_id": f"photo-{n}", "file_unique_id": f"uphoto-{n}", "width": width, "height": width}
