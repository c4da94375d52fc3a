"""Wiring: the only module that knows every handler. ``build_application(settings, deps)`` gives
a ready python-telegram-bot ``Application`` over the dependencies ``bot.wiring.make_deps``
builds."""

from __future__ import annotations

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import pending_input
from bot.commands import set_default_menus
from bot.concurrency import PerChatUpdateProcessor
from bot.context import CONTEXT_TYPES, BotApplication, Deps
from bot.dialog_state import DialogJobQueue, DialogTurns, make_dialog_persistence
from bot.dialogs import complaint
from bot.handlers import (
    campaign,
    cases,
    fallback,
    follow_up,
    forget,  # issue 15: /forget
    join,
    lang,
    liaison,
    measures,  # issue 14: 长效机制
    office,
    start,
    stats,
    unit_review,  # issue 14: the liaison's /my_review
    web_login,
)
from bot.handlers.errors import ErrorReporter
from bot.handlers.office import practices as office_practices  # issue 14: 推介典型
from bot.handlers.office import review as office_review  # issue 14: 复核检查, 验收
from bot.handlers.office.classifier import classifier_command  # issue 14: the classifier report
from bot.health_server import start_health_server  # issue 15
from bot.jobs import schedule_checkpoints
from bot.metrics import MeteredApplication, metrics_for  # issue 15
from bot.persistence import DialogPersistence
from bot.rendering import PlanTerms
from bot.send_budget import BudgetRateLimiter, make_send_budget
from bot.sender import make_sender
from bot.settings import Settings
from bot.throttle import THROTTLE_GROUP, make_throttle_handler
from bot.tick import schedule_periodic
from bot.warm_start import start_warming
from core.services.units import sync_plan_units

# Replies retry this often on Telegram's 429 before giving up (the outbox sender has its own,
# more patient policy for notifications).
REPLY_MAX_RETRIES = 2


def build_application(
    settings: Settings,
    deps: Deps,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    start_sender: bool | None = None,
) -> BotApplication:
    """The application, handlers registered. ``request`` replaces the HTTP layer (tests pass an
    offline recording request); it serves ``getUpdates`` too unless that gets its own.

    It also gives ``deps.sender``, the outbox sender (its own ``Bot`` and pacing, over
    ``request`` when one is given). ``start_sender``: run it in the background from post_init
    until shutdown; by default only when no ``request`` is given, so tests with an offline
    request send notifications when they call ``deps.sender.drain_once()``."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    if start_sender is None:
        # an offline request means a test, which drains the outbox itself when it wants to
        start_sender = request is None
    # A named instance (INSTANCE_NAME) runs its sender and periodic pass under the same
    # identity after a restart, so it takes back at once what a crash left leased. Only the
    # long-running bot does: a `tick` from cron on the same host must stay someone else.
    stable = f"{settings.instance_name}:" if settings.instance_name and start_sender else None
    if stable is not None:
        deps.services.periodic.holder = f"{stable}periodic"
    if deps.send_budget is None:
        engine = deps.session_factory.kw.get("bind") if deps.session_factory is not None else None
        deps.send_budget = make_send_budget(engine)
    if deps.sender is None:
        deps.sender = make_sender(
            settings,
            uow=deps.uow,
            clock=deps.clock,
            catalogue=deps.catalogue,
            request=request,
            terms=PlanTerms(deps.plan),
            budget=deps.send_budget,
            **({"worker_id": f"{stable}sender", "stable_identity": True} if stable else {}),
        )
        deps.closers.append(deps.sender.aclose)  # closers run last first: before the engine goes
    if deps.sender.on_outcome is None:  # issue 15: sends and 429s in /metrics
        deps.sender.on_outcome = metrics_for(deps).sent
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
        # one budget with the outbox sender and, on PostgreSQL, with the other instances
        .rate_limiter(BudgetRateLimiter(deps.send_budget, max_retries=REPLY_MAX_RETRIES))
        .concurrent_updates(PerChatUpdateProcessor(settings.max_concurrent_updates))
        .post_init(_post_init_and_start_sender if start_sender else _post_init)
        .post_shutdown(_post_shutdown)
        # issue 15: every update counted and timed (bot.metrics), its id in the logs' context
        .application_class(MeteredApplication)
    )
    persistence: DialogPersistence | None = None
    if deps.session_factory is not None:
        # dialogs in progress (conversation states and drafts) survive a restart (SPEC §4.1),
        # and are read and written per update, so any instance serves any chat (SPEC §9)
        persistence = make_dialog_persistence(deps, settings.max_concurrent_updates)
        builder = builder.persistence(persistence).job_queue(DialogJobQueue())
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
    processor = application.update_processor
    if persistence is not None and isinstance(processor, PerChatUpdateProcessor):
        turns = DialogTurns(persistence)
        turns.bind(application, processor.hold)  # after register_handlers: it finds the dialogs
        processor.bind_dialogs(turns)
        if isinstance(application.job_queue, DialogJobQueue):
            application.job_queue.turns = turns  # conversation timeouts run in turns too
    return application


def register_handlers(application: BotApplication) -> None:
    """Every handler, in the order they are tried. In group 0 the first matching handler wins,
    so the specific come first and the catch-alls last."""
    add = application.add_handler

    # 0. Flood control (bot/throttle.py), in a group before all others: a user over
    #    THROTTLE_MESSAGES in THROTTLE_WINDOW_SECONDS gets one "slow down" and the rest of the
    #    flood is dropped before any handler reads the database.
    throttle = make_throttle_handler(application.bot_data.deps)
    if throttle is not None:
        application.add_handler(throttle, group=THROTTLE_GROUP)
    # 0b. What no handler may take (bot/handlers/fallback.py), in GUARD_GROUP before every
    #     dialog: a button without data (python-telegram-bot hands one to any patterned
    #     handler) gets the stale-button answer; an edited message is never taken (in a
    #     private chat one line says so, in a group nothing).
    guard = fallback.GUARD_GROUP
    blank_button = CallbackQueryHandler(fallback.blank_button, pattern=fallback.no_data)
    application.add_handler(blank_button, group=guard)
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, fallback.edited_message), group=guard)
    # 0c. A citizen's command in a group chat other than the office chat (/start, /my, /new...):
    #     a pointer to the private chat, never a case; first, so no greeting or case handler
    #     answers it there. The office chat keeps its commands (3e) and its /start menu.
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    if application.bot_data.deps.settings.office_chat_id is not None:
        groups = groups & ~filters.Chat(application.bot_data.deps.settings.office_chat_id)
    add(CommandHandler(fallback.GROUP_POINTER_COMMANDS, fallback.group_pointer, filters=groups))

    # 1. Commands every user has, and their buttons.
    #    (/start oc<case> first: the office group card's link to the whole card, opened in an
    #    office member's private chat, bot/handlers/office/card.py)
    add(CommandHandler("start", office.private_card_start, filters=office.PRIVATE_CARD_LINK))
    add(CommandHandler("start", start.start))
    add(CommandHandler("help", start.help_command))
    add(CommandHandler("lang", lang.lang_command))
    add(CallbackQueryHandler(lang.language_chosen, pattern=lang.CALLBACK_PATTERN))
    # 1a. /forget (bot/handlers/forget.py, issue 15): a citizen erases what the bot keeps about
    #     them (private chats; staff refused), their fgt:yes|no confirmation, and the office's
    #     fgt:e|k: decisions on open cases (office role checked on every press). Before the
    #     dialogs, so /forget in the middle of a complaint is still /forget.
    add(CommandHandler("forget", forget.forget_command, filters=filters.ChatType.PRIVATE))
    add(CallbackQueryHandler(forget.forget_button, pattern=forget.CITIZEN_PATTERN))
    add(CallbackQueryHandler(forget.office_decision_button, pattern=forget.OFFICE_PATTERN))
    # 1b. The campaign and unit reports (bot/handlers/campaign.py, bot/dialogs/self_inspection.py,
    #     bot/dialogs/rectification/): /launch, /phase, /reports, the /selfcheck, /rectification
    #     and /rectify dialogs, the office's rq: review buttons. Above the complaint dialog (2c)
    #     because these dialogs take free text and files; roles checked on every step and button.
    for handler in campaign.handlers(persistent=application.persistence is not None):
        add(handler)

    # 2. Citizen complaint dialog (bot/dialogs/complaint): goes here, before the fallbacks,
    #    so it receives free text in private chats.
    # 2b. Citizens following their cases (bot/handlers/cases.py): /my, /case, a tracking
    #     number sent on its own, and the case: buttons (ownership re-checked on every press;
    #     malformed case: data gets the stale-button answer here, not the generic one).
    # (private chats only: a citizen's cases never show up in a group; new messages only, so
    # editing an old "/my" does not answer again)
    private_message = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    add(CommandHandler("my", cases.my_command, filters=private_message))
    add(CommandHandler("case", cases.case_command, filters=private_message))
    add(MessageHandler(cases.TRACKING_NUMBER_TEXT & private_message, cases.tracking_number_message))
    add(CallbackQueryHandler(cases.case_button, pattern=cases.CALLBACK_PATTERN))
    # 2c. The complaint dialog itself (bot/dialogs/complaint/), after 2b so a tracking
    #     number sent on its own is looked up rather than taken as a new complaint. Its entry
    #     takes any other private text or file, so dialogs that expect free text (liaison
    #     replies, office reasons) must be registered above this line.
    add(complaint.conversation(persistent=application.persistence is not None))
    # 3. Liaison and office handlers (role-checked inside every callback) go here.
    # 3a. Liaisons (bot/handlers/join.py, liaison.py): /join, /inbox, the case card's lc:
    #     buttons (unit re-checked on every press; malformed lc: data gets the stale-button
    #     answer), the office's /invite, /remove_liaison and its rv: decisions on replies
    #     held for review.
    add(CommandHandler("join", join.join_command, filters=filters.ChatType.PRIVATE))
    add(CommandHandler("inbox", liaison.inbox_command, filters=filters.ChatType.PRIVATE))
    add(CommandHandler("invite", join.invite_command))
    add(CommandHandler("remove_liaison", join.remove_liaison_command))
    add(CommandHandler("leaders", join.leaders_command))
    add(CommandHandler("remove_leader", join.remove_leader_command))
    add(CallbackQueryHandler(liaison.review_button, pattern=liaison.REVIEW_PATTERN))
    add(CallbackQueryHandler(liaison.liaison_button, pattern=liaison.CALLBACK_PATTERN))
    # 3b. Follow-up (bot/handlers/follow_up.py): the citizen's fu: rating buttons and the
    #     office's ro: reopen decisions (whose case / office role checked in the service).
    add(CallbackQueryHandler(follow_up.reopen_decision_button, pattern=follow_up.REOPEN_PATTERN))
    add(CallbackQueryHandler(follow_up.follow_up_button, pattern=follow_up.CALLBACK_PATTERN))
    # 3c. The buttons that ask for a text (a reply, a return reason, an extension, a note, a
    #     follow-up comment) and confirm or cancel it run in group -1, before everything above,
    #     and stop the update there. The texts they ask for are bot/pending_input.py's (3f).
    for pattern, callback in (
        (liaison.INPUT_PATTERN, liaison.input_started),
        (liaison.CONFIRM_PATTERN, liaison.input_confirmed),
        (liaison.CANCEL_PATTERN, liaison.input_cancelled),
        (follow_up.COMMENT_PATTERN, follow_up.comment_started),
        (measures.BUTTON_PATTERN, measures.measure_button),  # 长效机制: in progress, done, dropped
    ):
        application.add_handler(CallbackQueryHandler(callback, pattern=pattern), group=-1)
    # 3d. Statistics (bot/handlers/stats.py): the public /stats, and the office's /digest,
    #     /scoreboard and /export (office role checked in each, before anything is read).
    add(CommandHandler("stats", stats.stats_command))
    add(CommandHandler("digest", stats.digest_command))
    add(CommandHandler("scoreboard", stats.scoreboard_command))
    add(CommandHandler("export", stats.export_command))
    add(CommandHandler("classifier", classifier_command))  # issue 14: office only (@office_only)
    # 3e. The office (bot/handlers/office/): /office, /triage, /case_office, /finding,
    #     /supervise, /spotcheck, /broadcast, /members, /failed, the of: buttons (malformed of:
    #     data gets the stale-button answer there) and the ext: extension decisions. The office
    #     role is checked first in every one of them, forged data or not. In group 1, after the
    #     greeting, /start gives an office member's chat the office menu.
    add(CommandHandler("office", office.office_command))
    add(CommandHandler("triage", office.triage_command))
    add(CommandHandler("case_office", office.case_office_command))
    add(CommandHandler("finding", office.finding_command))
    add(CommandHandler("supervise", office.supervise_command))
    add(CommandHandler("spotcheck", office.spotcheck_command))
    add(CommandHandler("broadcast", office.broadcast_command))
    add(CommandHandler("notice", office.notice_command))  # 典型案件通报
    add(CommandHandler("accountability", office.accountability_command))  # 案件查办
    # 推介典型 and 长效机制 (issue 14): the office's register of good practices and their share
    # button; /measure (a liaison, private) and /measures (the liaison's unit, or the office's all)
    add(CommandHandler("practice", office_practices.practice_command))
    add(CommandHandler("practices", office_practices.practices_command))
    add(CallbackQueryHandler(office_practices.share_button, pattern=office_practices.SHARE_PATTERN))
    add(CommandHandler("measure", measures.measure_command, filters=filters.ChatType.PRIVATE))
    add(CommandHandler("measures", measures.measures_command))
    # 复核检查 and 验收 (issue 14): inspections with findings (a finding's button issues a
    # 整改建议书), acceptance of a unit and of the campaign, the status (office only in each)
    add(CommandHandler("review", office_review.review_command))
    add(CommandHandler("review_status", office_review.review_status_command))
    add(CommandHandler("accept", office_review.accept_command))
    add(CommandHandler("accept_campaign", office_review.accept_campaign_command))
    add(CallbackQueryHandler(office_review.rectify_button, pattern=office_review.RECTIFY_PATTERN))
    add(CommandHandler("my_review", unit_review.my_review_command))  # the liaison's own unit
    add(CommandHandler("members", office.members_command))
    add(CommandHandler("failed", office.failed_command))
    # the Open311 API's keys (web/open311): issue (private chat only), list, revoke
    add(CommandHandler("apikey", office.apikey_command))
    # the web dashboard's one-time sign-in link (office members and liaisons; web/)
    add(CommandHandler("web", web_login.web_command))
    add(CallbackQueryHandler(office.extension_button, pattern=office.EXTENSION_PATTERN))
    add(CallbackQueryHandler(office.office_button, pattern=office.CALLBACK_PATTERN))
    application.add_handler(CommandHandler("start", office.office_start_menu), group=1)
    # 3f. The answers to what those buttons asked (bot/pending_input.py), in ANSWER_GROUP, before
    #     the buttons of group -1 and the dialogs: only while a question waits for this user in
    #     that chat (in a group: a reply to the prompt) is the text taken and stopped there;
    #     otherwise (none, lapsed, answered) it goes on.
    questions = (*liaison.QUESTIONS, *follow_up.QUESTIONS, *office.QUESTIONS, *measures.QUESTIONS)
    application.add_handler(pending_input.answer_handler(questions), group=pending_input.ANSWER_GROUP)
    # a measure's evidence (a document or photo) while one waits for it (issue 14)
    application.add_handler(measures.evidence_handler(), group=pending_input.ANSWER_GROUP)

    # 4. Fallbacks, last: anything the handlers above did not take. New messages in private
    #    chats only, so the bot neither chatters in the office group nor answers edits (0b
    #    answers those). Before them, for groups other than the office chat: text that
    #    mentions or replies to the bot gets the pointer of 0c; other chatter gets nothing.
    add(MessageHandler(groups & ~filters.COMMAND & (filters.TEXT | filters.CAPTION), fallback.group_message))
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    add(CommandHandler("cancel", fallback.nothing_to_cancel, filters=private))
    add(MessageHandler(filters.COMMAND & private, fallback.unknown_command))
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & private, fallback.unhandled_text))
    add(CallbackQueryHandler(fallback.stale_button))
    add(MessageHandler(private & ~filters.StatusUpdate.ALL, fallback.unhandled_message))


async def _post_init(application: BotApplication) -> None:
    await sync_plan_units(application.bot_data.deps.plan, application.bot_data.deps.uow)
    await set_default_menus(application.bot, application.bot_data.deps.catalogue)
    # reminders, supervision, follow-up timeouts, digests: every minute once the bot runs
    schedule_periodic(application)
    # issue 15: /healthz, /readyz, /metrics on HEALTH_HOST:HEALTH_PORT (unset: none)
    await start_health_server(application.bot_data.deps)


async def _post_init_and_start_sender(application: BotApplication) -> None:
    await _post_init(application)
    deps = application.bot_data.deps
    # the long-running bot: jieba loaded and connections made at start, not in a citizen's
    # step (bot.warm_start): two of the services' pool (a step and the sender or a job), two
    # of the dialog locks' (PostgreSQL)
    pools = [(deps.engine, 2)] if deps.engine is not None else []
    persistence = application.persistence
    if isinstance(persistence, DialogPersistence) and persistence.store.lock_engine is not None:
        pools.append((persistence.store.lock_engine, 2))
    start_warming(deps.services.classifier, pools)
    # and SQLite's WAL checkpointed beside the updates, not in one of their commits (bot.jobs)
    if application.job_queue is not None:
        schedule_checkpoints(application.job_queue, deps)
    sender = deps.sender
    if sender is not None:
        sender.start()  # stopped by deps.aclose() in _post_shutdown


async def _post_shutdown(application: BotApplication) -> None:
    await application.bot_data.deps.aclose()

