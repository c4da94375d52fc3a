"""/start and /help: what the campaign is, what can be reported, how, and the commands."""

from __future__ import annotations

from telegram import Update

from bot.commands import CITIZEN_COMMANDS, help_lines
from bot.context import BotContext
from bot.i18n import Catalogue, Html
from bot.language import remember_user, user_language
from bot.plan_view import campaign_view
from bot.replies import reply
from core.plan import Plan


def campaign_intro(plan: Plan, catalogue: Catalogue, lang: str) -> str:
    """The /start text: title, intro, the five areas in plain words, office and phone."""
    view = campaign_view(plan, lang)
    areas = "\n".join(
        catalogue.t(lang, "start.area_line", number=area.number, numeral=area.numeral, plain=area.plain)
        for area in view.areas
    )
    return catalogue.t(
        lang,
        "start.intro",
        title=view.title,
        intro=view.intro,
        areas=Html(areas),
        office=view.office_location,
        phone=view.phone,
    )


async def start(update: Update, context: BotContext) -> None:
    """Remembers the user and where to reach them; shows the campaign intro."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None:  # channel posts: nobody to greet or remember
        lang = await user_language(update, context)
        await reply(update, context, campaign_intro(context.deps.plan, context.deps.catalogue, lang))
        return
    lang = await remember_user(context, user, chat.id if chat else None)
    catalogue = context.deps.catalogue
    greeting = catalogue.t(lang, "start.greeting", name=user.first_name)
    await reply(update, context, greeting + "\n\n" + campaign_intro(context.deps.plan, catalogue, lang))


async def help_command(update: Update, context: BotContext) -> None:
    """Lists the commands this user has and the office phone."""
    lang = await user_language(update, context)
    catalogue = context.deps.catalogue
    text = catalogue.t(
        lang,
        "help.text",
        commands=Html(help_lines(catalogue, lang, CITIZEN_COMMANDS)),
        phone=campaign_view(context.deps.plan, lang).phone,
    )
    await reply(update, context, text)
