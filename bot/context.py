"""What every handler gets: a typed context with ``context.deps`` (python-telegram-bot's
``contexttypesbot.py`` pattern) instead of string keys into ``bot_data``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.i18n import Catalogue
from bot.language_cache import LanguageCache

# One way only: the sender never imports this module (its ``drain_once`` takes any object
# shaped like ``Deps``, ``bot.sender.SenderDeps``), so the two cannot form an import cycle.
from bot.send_budget import SendBudget
from bot.sender import OutboxSender
from bot.services import Services, make_services
from bot.settings import Settings
from core.clock import Clock
from core.ports import UnitOfWorkFactory
from core.roles import Roles, resolve_roles

if TYPE_CHECKING:
    from bot.metrics import Metrics  # issue 15
    from core.plan import Plan
    from storage.evidence_store import EvidenceStore  # issue 15


@dataclass(slots=True)
class Deps:
    """Everything handlers may use. Built once per process (``bot.wiring.make_deps``) or per test."""

    settings: Settings
    plan: Plan
    clock: Clock
    catalogue: Catalogue
    uow: UnitOfWorkFactory  # call once per use case: ``async with deps.uow() as uow: ...``
    session_factory: async_sessionmaker[AsyncSession] | None = None  # for code needing a raw session
    # awaited, last first, when the application shuts down (disposing the engine, for one)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # the outbox sender (bot.sender), set by build_application
    sender: OutboxSender | None = None
    # the deployment's send budget that replies and the sender share (bot.send_budget), set by
    # build_application
    send_budget: SendBudget | None = None
    # users' stored languages (bot.language), so answering an update reads no database
    languages: LanguageCache = field(default_factory=LanguageCache)
    # Prometheus metrics on this deps' own registry (bot.metrics.metrics_for; issue 15)
    metrics: Metrics | None = None
    # the office's own copy of the evidence files (storage.evidence_store; issue 15), set by
    # bot.wiring.make_deps
    evidence: EvidenceStore | None = None
    services: Services = field(init=False)

    def __post_init__(self) -> None:
        self.services = make_services(self.settings, self.plan, self.clock, self.uow)

    @property
    def engine(self) -> AsyncEngine | None:
        """The engine behind ``session_factory`` (None when there is none: a test's deps)."""
        if self.session_factory is None:
            return None
        return cast(AsyncEngine, self.session_factory.kw["bind"])

    def wake_sender(self) -> None:
        """Call after committing outbox rows: the sender sends them now, not at its next poll."""
        if self.sender is not None:
            self.sender.wake()

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()
        self.closers.clear()


class BotData:
    """``application.bot_data``: holds the deps. Not persisted (see ``bot.app``)."""

    __slots__ = ("_deps",)

    def __init__(self) -> None:
        self._deps: Deps | None = None

    @property
    def deps(self) -> Deps:
        if self._deps is None:
            raise RuntimeError("bot_data.deps is not set: use bot.app.build_application")
        return self._deps

    @deps.setter
    def deps(self, value: Deps) -> None:
        self._deps = value


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The callback context of this bot: ``context.deps`` is the process's ``Deps``."""

    @property
    def deps(self) -> Deps:
        return self.bot_data.deps


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]

CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)


async def roles_of(context: BotContext, user_id: int) -> Roles:
    """The caller's roles, read fresh for every update: removing a liaison or office member
    takes effect at once. Handlers check these on every command and every button."""
    async with context.deps.uow() as uow:
        return await resolve_roles(uow, user_id, context.deps.settings.office_admin_ids)
