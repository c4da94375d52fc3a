"""The office's side (SPEC §6): the triage queue, the office's case card, routing and
reclassifying, rejecting with a reason, outcomes, supervision notices, spot checks,
broadcasts, office members, undelivered notifications, findings, and the office's decision on
extension requests.

Every command and every button checks the office role first (``roles_of``, read fresh per
update), before anything is parsed or read, so a citizen or a liaison gets the same refusal
whatever they send; the services check it again inside their transaction. Office views show
who complained, so they are given only in a private chat or in the office chat
(``OFFICE_CHAT_ID``), never in another group.

Callback data (case ids are database ids; area and unit ids are the plan's):
    of:queue:<page>                          the triage queue
    of:view:<case>                           the office's case card
    of:route:<case>                          route to the case's area (its lead units)
    of:areas:<case>                          pick an area to route to
    of:area:<case>:<area>                    route to that area's lead units
    of:units:<case>:<area>                   pick the lead unit (for that area)
    of:lead:<case>:<area>:<unit>             route to the area with that lead unit
    of:reclass:<case>[:<area>]               reclassify: pick the area, then set it
    of:close:<case>[:<outcome>[:<measure>]]  record the outcome (closes an answered case)
    of:typical:<case>:<0|1>                  典型案例 on or off
    of:files:<case>                          the evidence files
    of:reject|supervise|reopen:<case>        ask for the reason or the text (next message)
    of:cancel                                drop the question
    of:broadcast:send                        send the broadcast shown for confirmation
    of:member:remove:<user id>               end a run-time office member's role
    ext:approve|refuse:<case>                the office on an extension request (refuse asks why)
(Reopen requests, ``ro:``, are ``bot.handlers.follow_up``'s; replies held for review, ``rv:``,
``bot.handlers.liaison``'s.)

A reason or a text asked for after a button is a ``bot.pending_input`` question (what, which
case, which chat, the prompt's message id, when), answered in ``reasons``; the broadcast shown
for confirmation waits the same way for its button (``broadcasts``).

The modules, by job: ``access`` (the guard every command and button passes first), ``menu``
(/office and the menu), ``triage`` (the queue, the pickers, routing), ``card`` (the case card,
/case_office), ``case_actions`` (the of: buttons), ``reasons`` (the questions, the ext: buttons,
/supervise), ``recusal`` (回避 on the card and its buttons), ``broadcasts`` (/broadcast,
/members), ``reports`` (/spotcheck, /finding, /failed), ``api_keys`` (/apikey, the Open311
API's keys). ``bot.app`` wires them through the names below.
"""

from __future__ import annotations

from typing import Final

from bot.handlers.office import broadcasts, reasons
from bot.handlers.office.access import CALLBACK_PATTERN as CALLBACK_PATTERN
from bot.handlers.office.access import EXTENSION_PATTERN as EXTENSION_PATTERN
from bot.handlers.office.accountability import accountability_command as accountability_command
from bot.handlers.office.api_keys import apikey_command as apikey_command
from bot.handlers.office.broadcasts import broadcast_command as broadcast_command
from bot.handlers.office.broadcasts import members_command as members_command
from bot.handlers.office.broadcasts import notice_command as notice_command
from bot.handlers.office.card import PRIVATE_CARD_LINK as PRIVATE_CARD_LINK
from bot.handlers.office.card import case_office_command as case_office_command
from bot.handlers.office.card import private_card_start as private_card_start
from bot.handlers.office.case_actions import office_button as office_button
from bot.handlers.office.menu import office_command as office_command
from bot.handlers.office.menu import office_start_menu as office_start_menu
from bot.handlers.office.reasons import extension_button as extension_button
from bot.handlers.office.reasons import supervise_command as supervise_command
from bot.handlers.office.reports import failed_command as failed_command
from bot.handlers.office.reports import finding_command as finding_command
from bot.handlers.office.reports import spotcheck_command as spotcheck_command
from bot.handlers.office.triage import triage_command as triage_command
from bot.pending_input import Question

# the office's bot.pending_input questions: the reasons, and the broadcast awaiting its button
QUESTIONS: Final[tuple[Question, ...]] = (*reasons.QUESTIONS, *broadcasts.QUESTIONS)
