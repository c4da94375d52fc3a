"""The office's campaign commands (SPEC §6): ``/launch`` (安排部署: every unit's liaisons get
the plan and their duties), ``/phase [PHASE_ID]`` (the phases and their state; open one), and
``/reports [UNIT_ID]`` (a unit's report history: the office for any unit, a liaison for its own).

Also the campaign service built from ``Deps`` and the launch briefing written from the
catalogue; what the report dialogs share with these commands is in ``bot.dialogs.reporting``.
``handlers()`` gives every handler of the campaign and report features, in order, for
``bot.app.register_handlers``.

Roles are checked on every command (``roles_of``, read fresh per update) and again by the
services inside their transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, tzinfo
from typing import Any, Final

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext, Deps, roles_of
from bot.dialogs import rectification, self_inspection
from bot.dialogs.reporting import error_text, format_date, report_service, resolve_unit, unit_label
from bot.i18n import Catalogue, Html, escape
from bot.language import user_language
from bot.replies import reply
from core.calendar import WorkingDays
from core.errors import NotFound, ValidationFailed
from core.plan import Phase, Plan, Producer
from core.services.campaign import CampaignService, PhaseOver, PhaseState, UnitDuties, phase_state
from core.services.reports import HistoryEntry, HistoryKind, effective_due

MAX_HISTORY_SHOWN: Final = 30  # the newest entries; a long history would pass Telegram's limit
MAX_NOTE_SHOWN: Final = 200


# ---------------------------------------------------------------------------------------------
# The campaign service


def campaign_service(deps: Deps) -> CampaignService:
    return CampaignService(
        uow=deps.uow,
        plan=deps.plan,
        clock=deps.clock,
        working_days=deps.services.working_days,
        render_briefing=CatalogueBriefing(deps.catalogue, deps.services.working_days),
        office_chat_id=deps.settings.office_chat_id,
        office_admin_ids=deps.settings.office_admin_ids,
    )


async def say(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None, **kw: Any
) -> None:
    await reply(update, context, text, reply_markup=markup, **kw)


# ---------------------------------------------------------------------------------------------
# The launch briefing


class CatalogueBriefing:
    """``core.services.campaign.BriefingRenderer`` over the catalogue: the plan's title, the
    unit's duties, each phase with its dates and what the units hand in."""

    def __init__(self, catalogue: Catalogue, working_days: WorkingDays) -> None:
        self.catalogue = catalogue
        self.working_days = working_days

    def __call__(self, plan: Plan, duties: UnitDuties, lang: str) -> str:
        t = self.catalogue.t
        english = lang == "en"
        campaign = plan.campaign

        def areas(ids: Sequence[str]) -> Html:
            lines = []
            for area_id in ids:
                area = plan.area(area_id)
                title = (area.title_en or area.title) if english else area.title
                # the plan's own numbering (一..五) in Chinese, digits in English
                label = str(area.number) if english else area.numeral
                lines.append(t(lang, "campaign.briefing_area", label=label, title=title))
            return Html("\n".join(lines))

        duty_parts = [
            t(lang, f"campaign.briefing_{role}", areas=areas(ids))
            for role, ids in (
                ("lead", duties.lead_area_ids),
                ("implementing", duties.implementing_area_ids),
                ("assist", duties.assist_area_ids),
            )
            if ids
        ]
        if not duty_parts:
            duty_parts.append(t(lang, "campaign.briefing_no_area"))
        phases = "\n".join(self._phase(plan, phase, lang) for phase in plan.phases)
        return t(
            lang,
            "campaign.briefing",
            title=(campaign.title_en or campaign.title) if english else campaign.title,
            unit=unit_label(plan, lang, duties.unit_id),
            duties=Html("\n".join(duty_parts)),
            phases=Html(phases),
            phone=campaign.office.phone,
        )

    def _phase(self, plan: Plan, phase: Phase, lang: str) -> str:
        t = self.catalogue.t
        english = lang == "en"
        lines = [
            t(
                lang,
                "campaign.briefing_phase",
                number=phase.number,
                name=(phase.name_en or phase.name) if english else phase.name,
                start=Html(escape(format_date(self.catalogue, lang, phase.start))),
                end=Html(escape(format_date(self.catalogue, lang, phase.end))),
            )
        ]
        if phase.coverage_target is not None:
            lines.append(t(lang, "campaign.briefing_coverage", coverage=round(phase.coverage_target * 100)))
        for d in phase.deliverables:
            name = (d.name_en or d.name) if english else d.name
            key = "campaign.briefing_yours" if d.by is Producer.UNITS else "campaign.briefing_office"
            if d.due is None:
                due = t(lang, "campaign.briefing_due_case_by_case")
            else:
                # the units' own deadlines as the services count them (a day off moves them on)
                day = effective_due(d.due, self.working_days) if d.by is Producer.UNITS else d.due
                shown = Html(escape(format_date(self.catalogue, lang, day)))
                due = t(lang, "campaign.briefing_due", due=shown)
            lines.append(t(lang, key, name=name, due=Html(due)))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# /launch, /phase, /reports


async def launch_command(update: Update, context: BotContext) -> None:
    """安排部署: brief every liaison (each once); says how many were reached."""
    user = update.effective_user
    if user is None:
        return
    lang = await user_language(update, context)
    t = context.deps.catalogue.t
    if not (await roles_of(context, user.id)).office:
        await say(update, context, t(lang, "campaign.office_only"))
        return
    launched = await campaign_service(context.deps).launch(user.id)
    context.deps.wake_sender()
    text = t(
        lang, "campaign.launched", units=launched.units, liaisons=launched.liaisons, briefed=launched.briefed
    )
    await say(update, context, text)


async def phase_command(update: Update, context: BotContext) -> None:
    """Without an argument: the phases, their dates and state. With a phase id: open it."""
    user = update.effective_user
    if user is None:
        return
    lang = await user_language(update, context)
    catalogue, deps = context.deps.catalogue, context.deps
    if not (await roles_of(context, user.id)).office:
        await say(update, context, catalogue.t(lang, "campaign.office_only"))
        return
    args = context.args or []
    service = campaign_service(deps)
    if not args:
        await say(update, context, phase_list(deps.plan, catalogue, lang, service.today()))
        return
    try:
        opened = await service.open_phase(user.id, args[0].strip().lower())
    except NotFound:
        text = catalogue.t(lang, "campaign.unknown_phase", phase=args[0][:40])
        await say(update, context, text + "\n\n" + phase_list(deps.plan, catalogue, lang, service.today()))
        return
    except PhaseOver as err:
        await say(update, context, error_text(catalogue, lang, err, "campaign"))
        return
    deps.wake_sender()
    phase = opened.phase
    key = "campaign.phase_opened" if opened.told else "campaign.phase_already_told"
    await say(
        update,
        context,
        catalogue.t(
            lang,
            key,
            phase=(phase.name_en or phase.name) if lang == "en" else phase.name,
            told=opened.told,
            state_key=Html(catalogue.t(lang, f"campaign.state_{opened.state_before.value}")),
        ),
    )


def phase_list(plan: Plan, catalogue: Catalogue, lang: str, today: date) -> str:
    states = phase_state(plan, today)
    lines = [catalogue.t(lang, "campaign.phases_header")]
    for phase in plan.phases:
        state: PhaseState = states[phase.id]
        lines.append(
            catalogue.t(
                lang,
                "campaign.phase_line",
                id=phase.id,
                number=phase.number,
                name=(phase.name_en or phase.name) if lang == "en" else phase.name,
                start=format_date(catalogue, lang, phase.start),
                end=format_date(catalogue, lang, phase.end),
                state=Html(catalogue.t(lang, f"campaign.state_{state.value}")),
            )
        )
    lines.append(catalogue.t(lang, "campaign.phase_usage"))
    return "\n".join(lines)


async def reports_command(update: Update, context: BotContext) -> None:
    """A unit's report history: ``/reports UNIT_ID`` for the office, ``/reports`` for a
    liaison's own unit."""
    user = update.effective_user
    if user is None:
        return
    lang = await user_language(update, context)
    catalogue, plan = context.deps.catalogue, context.deps.plan
    roles = await roles_of(context, user.id)
    if not roles.office and not roles.liaison:
        await say(update, context, catalogue.t(lang, "rectification.history_not_allowed"))
        return
    wanted = " ".join(context.args or []).strip() or None
    unit_id = resolve_unit(plan, wanted) if wanted else None
    if wanted and unit_id is None:
        await say(update, context, catalogue.t(lang, "rectification.unknown_unit", unit=wanted[:60]))
        return
    try:
        unit_id, entries = await report_service(context.deps).history(user.id, unit_id)
    except ValidationFailed:
        await say(update, context, catalogue.t(lang, "rectification.history_usage"))
        return
    except NotFound:
        await say(update, context, catalogue.t(lang, "rectification.history_not_allowed"))
        return
    text = history_text(plan, catalogue, lang, context.deps.clock.tz, unit_id, entries)
    await say(update, context, text)


def history_text(
    plan: Plan, catalogue: Catalogue, lang: str, tz: tzinfo, unit_id: str, entries: Sequence[HistoryEntry]
) -> str:
    """The unit's history, newest last, in the campaign's local dates."""
    t = catalogue.t
    header = t(lang, "rectification.history_header", unit=unit_label(plan, lang, unit_id))
    if not entries:
        return header + "\n" + t(lang, "rectification.history_empty")
    lines = [header]
    shown = entries[-MAX_HISTORY_SHOWN:]
    if len(shown) < len(entries):
        lines.append(t(lang, "rectification.history_more", hidden=len(entries) - len(shown)))
    for e in shown:
        when = format_date(catalogue, lang, e.at.astimezone(tz).date())
        kind = Html(t(lang, f"rectification.kind_{e.report_kind.value}")) if e.report_kind else ""
        note = e.note if len(e.note) <= MAX_NOTE_SHOWN else e.note[: MAX_NOTE_SHOWN - 1] + "…"
        params: dict[str, object] = {
            "date": when,
            "kind": kind,
            "recommendation_id": e.recommendation_id or "",
            "report_id": e.report_id or "",
            "note": note,
            "due": format_date(catalogue, lang, e.due) if e.due else "",
        }
        line = t(lang, f"rectification.history_{e.kind.value}", **params)
        if e.kind is HistoryKind.SUBMITTED and e.late:
            line += t(lang, "rectification.history_late")
        lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Registration


def handlers(*, persistent: bool) -> list[BaseHandler[Any, BotContext, Any]]:
    """Every handler of the campaign and report features, in the order to register them. They
    go above the complaint dialog: the dialogs take free text and files."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("launch", launch_command),
        CommandHandler("phase", phase_command),
        CommandHandler("reports", reports_command),
        self_inspection.conversation(persistent=persistent),
        *rectification.handlers(persistent=persistent, private=private),
    ]
