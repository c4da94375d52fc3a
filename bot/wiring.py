"""The process's dependencies, built from settings: the wiring shared by every entry point (the
bot, ``tick``, ``invite``) that needs services but not the Telegram handlers. ``bot.app`` builds
the Application on top of it; nothing here imports ``bot.handlers`` or ``bot.dialogs``."""

from __future__ import annotations

import functools

from bot.context import Deps
from bot.i18n import Catalogue
from bot.reports.job import make_digest_job
from bot.settings import Settings
from core.clock import Clock, SystemClock
from core.plan import Plan
from storage import scoreboard_daily
from storage.db import make_engine, make_session_factory
from storage.evidence_store import EvidenceStore
from storage.health import record_pass_finished
from storage.uow import SqlUnitOfWork


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
    # the daily and weekly digests the periodic pass pushes to the office chat (bot/reports)
    deps.services.periodic.digest_job = make_digest_job(deps)
    # issue 15: when the last pass finished, for /readyz and `python -m bot check`
    deps.services.periodic.on_finished = functools.partial(record_pass_finished, session_factory)
    # issue 13: then the campaign scoreboard's per-day cache, rebuilt when due (storage/scoreboard_daily.py)
    deps.services.periodic.on_finished = scoreboard_daily.after_pass(
        deps.services.periodic.on_finished, session_factory, deps.services.deadlines, plan
    )
    # issue 15: the evidence store (the office's copy of the attachments)
    deps.evidence = EvidenceStore(settings.evidence_dir)
    deps.services.retention.evidence = deps.evidence
    return deps
