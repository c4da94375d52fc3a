"""What build_application wires, seen from the outside."""

from __future__ import annotations

from telegram.constants import ParseMode

from bot.concurrency import PerChatUpdateProcessor
from bot.handlers import fallback
from bot.send_budget import BudgetRateLimiter
from tests.bot.conftest import HarnessFactory
from tests.support.harness import TEST_TOKEN, BotHarness


async def test_the_bot_talks_to_the_configured_api_and_file_servers(harness_factory: HarnessFactory) -> None:
    async with harness_factory(telegram_api_url="http://127.0.0.1:8081/bot") as h:
        assert h.app.bot.base_url == f"http://127.0.0.1:8081/bot{TEST_TOKEN}"
        assert h.app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TEST_TOKEN}"


async def test_replies_are_html_rate_limited_and_processed_per_chat(harness: BotHarness) -> None:
    bot = harness.app.bot
    assert bot.defaults is not None and bot.defaults.parse_mode == ParseMode.HTML
    assert isinstance(bot.rate_limiter, BudgetRateLimiter)
    processor = harness.app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    assert processor.running_limit == harness.settings.max_concurrent_updates


async def test_the_catch_all_handlers_come_last(harness: BotHarness) -> None:
    callbacks = [getattr(h, "callback", None) for h in harness.app.handlers[0]]
    catch_alls = {fallback.unknown_command, fallback.unhandled_text, fallback.stale_button,
                  fallback.unhandled_message}
    first_catch_all = min(i for i, cb in enumerate(callbacks) if cb in catch_alls)
    assert set(callbacks[first_catch_all:]) == catch_alls


async def test_the_database_engine_is_disposed_on_shutdown(harness_factory: HarnessFactory) -> None:
    async with harness_factory() as h:
        deps = h.deps
        assert deps.closers  # the engine's dispose
    assert deps.closers == []
