"""The one place that registers handlers and jobs. Order matters: groups run low to high; within a group the
first matching handler wins. The error handler tells the user that something went wrong and the admins what
(once per distinct error and hour, through the outbox)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.rules import error_summary
from bot.services import approvals as approvals_service
from bot.services import error_reports, identity

from bot.runtime import outbox_sender
from bot.runtime import exactly_once
from bot.texts import t
from handlers import (approvals, campaign_list, correct, directory, draw, enter, followup, group, imports, invite, jobs,
                      new_campaign, profile, report, staff, start, tasks, toolkit)
from handlers.common import lang_of, load, preload, refuse, wake_outbox
from models import utcnow

log = logging.getLogger(__name__)


async def fallback_msg(update: Update, context) -> None:
    """Anything not understood in a private chat: tell unknown users how to get a code, others /help."""
    actor = load(update, context)
    if actor is None or update.effective_message is None:
        return
    lang = lang_of(update, context, actor)
    await update.effective_message.reply_text(t("unknown_text" if actor.known else "unknown_user", lang))


async def stale_callback(update: Update, context) -> None:
    actor = load(update, context)
    lang = lang_of(update, context, actor)
    await refuse(update, t("error.stale_button", lang))


# Our packages: the frame of an error's traceback the admins are shown is the last one in these.
_ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = tuple(_ROOT / p for p in ("bot", "handlers", "models", "reports"))


def _origin(update: object, context) -> str:
    """What was being handled, without what the user typed: a command, a button's kind, a job."""
    if isinstance(update, Update):
        if update.callback_query is not None:
            return f"button {(update.callback_query.data or '').split(':', 1)[0]}:"
        msg = update.effective_message
        if msg is not None and msg.text and msg.text.startswith("/"):
            return msg.text.split()[0].split("@")[0]
        if msg is not None and msg.document is not None:
            return "document"
        return "message" if msg is not None else "update"
    job = getattr(context, "job", None)
    return f"job {job.name}" if job is not None else "—"


def tell_admins(update: object, context) -> None:
    """Report the error to the bound admins through the outbox, once per distinct error and hour
    (bot.services.error_reports). Never raises: the database may be what failed."""
    try:
        cfg = context.bot_data.cfg
        summary = error_summary.summarize(context.error, origin=_origin(update, context), roots=OUR_PACKAGES,
                                          secrets=(cfg.bot.token, cfg.bot.webhook_secret_token()))
        with context.bot_data.sessions.begin() as session:
            told = error_reports.tell_admins(session, summary, config_admins=cfg.access.admins, now=utcnow(),
                                             default_lang=cfg.bot.language)
        if told:
            wake_outbox(context)
    except Exception:  # noqa: BLE001 — never let the error handler raise
        log.warning("could not tell the admins about the error", exc_info=True)


async def error_handler(update: object, context) -> None:
    log.error("error while handling an update", exc_info=context.error)
    tell_admins(update, context)
    if isinstance(update, Update) and update.effective_chat:
        try:
            lang = lang_of(update, context, None)
            if update.callback_query:
                await update.callback_query.answer(t("error.internal", lang), show_alert=True)
            elif update.effective_message:
                await update.effective_message.reply_text(t("error.internal", lang))
        except Exception:  # noqa: BLE001 — never let the error handler raise
            log.warning("could not tell the user about the error", exc_info=True)


# The guided flows (command → conversation name, user_data key of its draft): starting one sets the others aside.
FLOWS = {"new": ("new_campaign", "new_campaign"), "enter": ("entry", "entry"), "correct": ("correct", "correct"),
         "followup": ("followup", "followup")}
FLOW_GROUP = -50  # after the dedup check (-100), before the conversations (0)


def register(app: Application) -> None:
    # -- exactly-once: drop re-delivered updates (group -100), mark handled ones (group 100)
    exactly_once.install_dedup(app, app.bot_data.sessions, preload=preload)

    # -- conversations first: while one is active, its states take the user's messages and buttons
    conversations = [
        new_campaign.new_conversation(),  # /new (leaders, private)
        enter.entry_conversation(),  # /enter (inspectors, private)
        correct.correct_conversation(),  # /correct (inspectors, private)
        followup.followup_conversation(),  # /followup (inspectors, private)
    ]
    app.add_handler(toolkit.one_flow_at_a_time(FLOWS), group=FLOW_GROUP)
    toolkit.bind_flow_gates(app, conversations)
    for conversation in conversations:
        app.add_handler(conversation)

    # -- commands (private unless noted)
    app.add_handler(CommandHandler("start", start.start_cmd))
    app.add_handler(CommandHandler("help", profile.help_cmd))
    app.add_handler(CommandHandler("me", profile.me_cmd))
    app.add_handler(CommandHandler("lang", profile.lang_cmd))
    app.add_handler(CommandHandler("targets", directory.targets_cmd))
    app.add_handler(CommandHandler("people", directory.people_cmd))
    app.add_handler(CommandHandler("items", directory.items_cmd))
    app.add_handler(CommandHandler("campaigns", campaign_list.campaigns_cmd))  # private or the bound group
    app.add_handler(CommandHandler("tasks", tasks.tasks_cmd))  # an inspector's assignments and deadlines
    app.add_handler(CommandHandler("progress", tasks.progress_cmd))  # leaders, coordinators; private or group
    app.add_handler(CommandHandler("report", report.report_cmd))  # leaders, coordinators; private (a group is told)
    app.add_handler(CommandHandler("publish", report.publish_cmd))  # leaders; private or the bound group

    # -- admin commands
    app.add_handler(CommandHandler("invite", invite.invite_cmd))
    app.add_handler(CommandHandler("template", imports.template_cmd))
    app.add_handler(CommandHandler("bindgroup", group.bindgroup_cmd))  # in the group to bind

    # -- group commands (the bound group only; checked in the handlers)
    app.add_handler(CommandHandler("draw", draw.draw_cmd))
    app.add_handler(CommandHandler("verify", draw.verify_cmd))
    app.add_handler(CommandHandler("leader", staff.leader_cmd))  # group or private

    # -- staff changes (inspectors, private) and their approval
    app.add_handler(CommandHandler("swap", staff.swap_cmd))
    app.add_handler(CommandHandler("recuse", staff.recuse_cmd))

    # -- files: directory workbooks
    app.add_handler(MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, imports.document_msg))

    # -- callbacks
    app.add_handler(CallbackQueryHandler(directory.page_callback, pattern=r"^dir:"))
    app.add_handler(CallbackQueryHandler(profile.lang_callback, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(staff.pick_callback, pattern=r"^(swap|recuse):"))
    app.add_handler(CallbackQueryHandler(approvals.decide_callback, pattern=approvals_service.CALLBACK_PATTERN))
    app.add_handler(CallbackQueryHandler(stale_callback))  # anything else: forged or from an old version

    # -- fallbacks
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.COMMAND, fallback_msg))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, fallback_msg))

    app.add_error_handler(error_handler)

    # -- jobs
    cfg = app.bot_data.cfg
    app.bot_data.outbox_worker = outbox_sender.start_outbox_worker(
        app, admin_chat_ids=lambda s: identity.admin_chat_ids(s, cfg.access.admins),
        lease=dt.timedelta(seconds=cfg.outbox.lease_seconds))
    jobs.schedule(app)
    app.bot_data.report_sender = report.start_report_sender(app)  # automatic report sends; first run at start-up
