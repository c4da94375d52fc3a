"""The bot test harness: the real Application from ``bot.app.build_application``, fed real
``Update`` objects through ``application.process_update``, talking to an offline
``RecordingRequest`` instead of Telegram.

    async def test_start(harness):
        calls = await harness.command(ZH_USER, "start")
        assert "2540084" in harness.last_text()

Each ``send`` returns the Bot API calls the update caused and keeps them as ``last_calls``;
``texts()``, ``last_text()`` and ``buttons()`` read those by default.

Every callback query must be answered exactly once, as Telegram demands: a second
``answerCallbackQuery`` is refused by the ``RecordingRequest`` (as Telegram does), and a button
press sent through ``send`` that got no answer at all is noted; ``check_callback_answers`` (run
when ``running_harness`` closes after a passing test body) fails the test for either.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from telegram import Update

from bot.app import build_application
from bot.context import BotApplication, Deps
from bot.i18n import Catalogue
from bot.settings import Settings
from bot.wiring import make_deps
from core.clock import FixedClock
from core.plan import Plan
from tests.support.recording_request import TEXT_METHODS, RecordedCall, RecordingRequest
from tests.support.updates import TgUser, UpdateFactory

TEST_TOKEN = "123456:TEST-TOKEN"


class _HermeticSettings(Settings):
    """Settings from the constructor's arguments only: a developer's environment or .env
    (OFFICE_CHAT_ID, MAX_CONCURRENT_UPDATES, ...) must not change what a test sees."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def make_test_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: defaults plus ``overrides`` (by field name, e.g. office_chat_id);
    never read from the environment or .env."""
    values: dict[str, Any] = {
        "bot_token": TEST_TOKEN,
        "database_url": database_url,
        "telegram_api_url": "http://127.0.0.1:9/bot",  # never contacted: the request is offline
        # the harness's clock stands still, so a long test's updates would all fall in one
        # flood window; tests/bot/test_throttle.py turns the limit on where it is the point
        "throttle_messages": 0,
    }
    values.update(overrides)
    return _HermeticSettings(**values)


@dataclass
class BotHarness:
    app: BotApplication
    request: RecordingRequest
    deps: Deps
    settings: Settings
    clock: FixedClock
    make: UpdateFactory
    last_calls: list[RecordedCall] = field(default_factory=list)
    # button presses sent through ``send`` that got no answerCallbackQuery: (query id, data)
    unanswered: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def catalogue(self) -> Catalogue:
        return self.deps.catalogue

    @property
    def plan(self) -> Plan:
        return self.deps.plan

    # -- driving ------------------------------------------------------------------------------

    async def send(self, update: Update) -> list[RecordedCall]:
        """Process one update as the running bot would; returns the Bot API calls it caused."""
        mark = self.request.mark()
        await self.app.process_update(update)
        self.last_calls = self.request.since(mark)
        query = update.callback_query
        if query is not None and not self.request.answers_to(query.id, self.last_calls):
            self.unanswered.append((query.id, query.data))
        return self.last_calls

    async def command(self, user: TgUser, name: str, args: str = "") -> list[RecordedCall]:
        return await self.send(self.make.command(user, name, args))

    async def say(self, user: TgUser, text: str) -> list[RecordedCall]:
        return await self.send(self.make.text(user, text))

    async def click(
        self, user: TgUser, data: str | None = None, *, label: str | None = None
    ) -> list[RecordedCall]:
        """Press an inline button the bot sent to ``user``: the newest message to their chat
        that has a button with this callback ``data`` (or this ``label``)."""
        for call in reversed(self.request.calls):
            if call.chat_id != user.id or call.reply_markup is None:
                continue
            for text, callback_data in call.buttons:
                if (data is not None and callback_data == data) or (label is not None and text == label):
                    assert callback_data is not None, f"button {text!r} has no callback data"
                    update = self.make.callback(
                        user,
                        callback_data,
                        message_id=call.message_id or 1,
                        message_text=call.text or "",
                        reply_markup=call.reply_markup,
                    )
                    return await self.send(update)
        raise AssertionError(f"no button {data or label!r} was sent to user {user.id}")

    # -- reading ------------------------------------------------------------------------------

    def texts(self, calls: Iterable[RecordedCall] | None = None) -> list[str]:
        """Texts (or captions) of the messages sent or edited, in order."""
        source = self.last_calls if calls is None else calls
        return [c.text for c in source if c.method in TEXT_METHODS and c.text is not None]

    def last_text(self, calls: Iterable[RecordedCall] | None = None) -> str:
        texts = self.texts(calls)
        methods = [c.method for c in (self.last_calls if calls is None else calls)]
        assert texts, f"the bot sent no text; calls: {methods}"
        return texts[-1]

    def buttons(self, calls: Iterable[RecordedCall] | None = None) -> list[tuple[str, str | None]]:
        """(label, callback_data) of the last message with buttons."""
        source = list(self.last_calls if calls is None else calls)
        for call in reversed(source):
            if call.reply_markup is not None:
                return call.buttons
        return []

    def sent_to(self, chat_id: int, calls: Iterable[RecordedCall] | None = None) -> list[RecordedCall]:
        source = self.request.calls if calls is None else calls
        return [c for c in source if c.method in TEXT_METHODS and c.chat_id == chat_id]

    def t(self, lang: str, key: str, **params: Any) -> str:
        """The catalogue text, for asserting on exact replies."""
        return self.catalogue.t(lang, key, **params)

    # -- the one-answer rule ----------------------------------------------------------------------

    def callback_answer_problems(self) -> list[str]:
        """What broke the rule "every button press is answered exactly once", one line each."""
        problems = [
            f"callback query {query_id} (data {data!r}) was never answered"
            for query_id, data in self.unanswered
        ]
        for call in self.request.repeated_answers:
            query_id = call.params.get("callback_query_id")
            first = self.request.answers_to(str(query_id))[0]
            problems.append(
                f"callback query {query_id} answered again (Telegram refuses it with 400): "
                f"first {_answer_summary(first)}, then {_answer_summary(call)}"
            )
        return problems

    def check_callback_answers(self) -> None:
        problems = self.callback_answer_problems()
        assert not problems, "\n".join(problems)


def _answer_summary(call: RecordedCall) -> str:
    text = call.params.get("text")
    alert = " (alert)" if call.params.get("show_alert") else ""
    return f"text {text!r}{alert}" if text else "no text"


@contextlib.asynccontextmanager
async def running_harness(
    *,
    plan: Plan,
    clock: FixedClock,
    database_url: str,
    catalogue: Catalogue | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[BotHarness]:
    """Build, initialise (with ``post_init``, as ``run_polling`` would) and finally shut down
    the application against a migrated database."""
    settings = make_test_settings(database_url, **settings_overrides)
    deps = make_deps(settings, plan, clock=clock, catalogue=catalogue)
    request = RecordingRequest()
    app = build_application(settings, deps, request=request)
    await app.initialize()
    harness: BotHarness | None = None
    try:
        if app.post_init is not None:
            await app.post_init(app)
        harness = BotHarness(
            app=app,
            request=request,
            deps=deps,
            settings=settings,
            clock=clock,
            make=UpdateFactory(app.bot, now=clock.now),
        )
        yield harness
    finally:
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
    # reached only when the test body passed: a failing test keeps its own error
    if harness is not None:
        harness.check_callback_answers()
