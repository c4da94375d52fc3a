"""Wiring: the only module that knows everything. ``build_application(settings, deps)`` gives
a ready python-telegram-bot ``Application``; ``make_deps`` builds the process's dependencies."""

from __future__ import annotations

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.commands import set_default_menus
from bot.concurrency import PerChatUpdateProcessor
from bot.context import CONTEXT_TYPES, BotApplication, Deps
from bot.handlers import fallback, lang, start
from bot.handlers.errors import ErrorReporter
from bot.i18n import Catalogue
from bot.settings import Settings
from core.clock import Clock, SystemClock
from core.plan import Plan
from core.services.units import sync_plan_units
from storage.db import make_engine, make_session_factory
from storage.uow import SqlUnitOfWork

# Replies retry this often on Telegram's 429 before giving up (the outbox sender has its own,
# more patient policy for notifications).
REPLY_MAX_RETRIES = 2


def make_deps(
    settings: Settings, plan: Plan, *, clock: Clock | None = None, catalogue: Catalogue | None = None
) -> Deps:
    """The real dependencies: a database engine for ``settings.database_url`` (disposed when the
    application shuts down), the catalogue, a system clock in the configured time zone."""
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    deps = Deps(
        settings=settings,
        plan=plan,
        clock=clock or SystemClock(settings.timezone),
        catalogue=catalogue or Catalogue.load(),
        uow=lambda: SqlUnitOfWork(session_factory),
        session_factory=session_factory,
    )
    deps.closers.append(engine.dispose)
    return deps


def build_application(
    settings: Settings,
    deps: Deps,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> BotApplication:
    """The application, handlers registered. ``request`` replaces the HTTP layer (tests pass an
    offline recording request); it serves ``getUpdates`` too unless that gets its own."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.file_url)
        .context_types(CONTEXT_TYPES)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=settings.tz,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=REPLY_MAX_RETRIES))
        .concurrent_updates(PerChatUpdateProcessor(settings.max_concurrent_updates))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    elif get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    # the builder's type tracks the rate limiter's argument type in ExtBot[...]; handlers only
    # need the bot's methods, so the application is typed with our context types instead
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.deps = deps
    register_handlers(application)
    application.add_error_handler(ErrorReporter())
    return application


def register_handlers(application: BotApplication) -> None:
    """Every handler, in the order they are tried. In group 0 the first matching handler wins,
    so the specific come first and the catch-alls last."""
    add = application.add_handler

    # 1. Commands every user has, and their buttons.
    add(CommandHandler("start", start.start))
    add(CommandHandler("help", start.help_command))
    add(CommandHandler("lang", lang.lang_command))
    add(CallbackQueryHandler(lang.language_chosen, pattern=lang.CALLBACK_PATTERN))

    # 2. Citizen complaint dialog (bot/dialogs/complaint): goes here, before the fallbacks,
    #    so it receives free text in private chats.
    # 3. Liaison and office handlers (role-checked inside every callback) go here.

    # 4. Fallbacks, last: anything the handlers above did not take. New messages in private
    #    chats only, so the bot neither chatters in the office group nor answers edits.
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    add(MessageHandler(filters.COMMAND & private, fallback.unknown_command))
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & private, fallback.unhandled_text))
    add(CallbackQueryHandler(fallback.stale_button))
    add(MessageHandler(private & ~filters.StatusUpdate.ALL, fallback.unhandled_message))


async def _post_init(application: BotApplication) -> None:
    await sync_plan_units(application.bot_data.deps.plan, application.bot_data.deps.uow)
    await set_default_menus(application.bot, application.bot_data.deps.catalogue)


async def _post_shutdown(application: BotApplication) -> None:
    await application.bot_data.deps.aclose()

