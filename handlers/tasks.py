"""/tasks (an inspector's assignments, targets and deadlines) and /progress (a campaign's entry progress, for
leaders, coordinators, heads and admins)."""

from __future__ import annotations

from telegram import Update

from bot.runtime.app import Ctx
from bot.services import campaigns, result_entry
from bot.services.identity import Actor
from bot.services.staffing import active_assignments
from bot.texts import t
from handlers.common import permitted
from handlers.toolkit import split_messages
from models import Person


@permitted("tasks")
async def tasks_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/tasks — each assignment: campaign, group, leader, targets with this department's status, deadlines."""
    blocks = []
    with context.sessions.begin() as session:
        views = active_assignments(session, actor.person.id)
        tasks = result_entry.tasks_for(session, actor.person.id)
        for view in views:
            leader = session.get(Person, view.group.leader_person_id) if view.group.leader_person_id else None
            c = view.campaign
            res, _pub = campaigns.provisional_marks(c, context.cfg)
            mine = [task for task in tasks if task.group_id == view.group.id]
            lines = []
            for n, task in enumerate(mine, 1):
                if task.submitted:
                    lines.append(t("tasks.target_done", lang, n=n, name=task.target_name, by=task.submitted_by,
                                   date=task.submitted_date.isoformat() if task.submitted_date else "—"))
                else:
                    lines.append(t("tasks.target_pending", lang, n=n, name=task.target_name,
                                   answered=task.answered, total=task.total))
            done = sum(1 for task in mine if task.submitted)
            blocks.append(t("tasks.assignment", lang, number=c.number, title=c.title, group=view.group.number,
                            leader=leader.name if leader else "—", department=view.assignment.department.name,
                            start=c.window_start.isoformat(), end=c.window_end.isoformat(),
                            due=campaigns.date_text(c.results_due, res, lang),
                            done=done, count=len(mine), targets="\n".join(lines)))
    if not blocks:
        await update.effective_message.reply_text(t("tasks.none", lang))
        return
    for text in split_messages(t("tasks.header", lang, count=len(blocks)), blocks, t("tasks.footer", lang)):
        await update.effective_message.reply_text(text)


# ------------------------------------------------------------------------------------------------ /progress

@permitted("progress")
async def progress_cmd(update: Update, context: Ctx, actor: Actor, lang: str) -> None:
    """/progress [campaign] — entered/expected targets per group and department, totals, the results deadline."""
    # (in a group, the guard has checked it is the bound one: the table's PRIVATE_OR_GROUP)
    ref = " ".join(context.args or []) or None
    with context.sessions.begin() as session:
        try:
            campaign = campaigns.resolve_campaign(session, ref)
        except campaigns.CampaignChoiceError as exc:
            messages = [exc.message(lang)]
        else:
            p = result_entry.progress(session, campaign.id)
            res, _pub = campaigns.provisional_marks(campaign, context.cfg)
            messages = _progress_messages(p, campaigns.date_text(p.results_due, res, lang), lang)
    for text in messages:
        await update.effective_message.reply_text(text)


def _progress_messages(p: result_entry.Progress, due: str, lang: str) -> list[str]:
    sep = "、" if lang == "zh" else ", "
    header = t("progress.header", lang, number=p.number, title=p.title, state=campaigns.state_label(p.state, lang),
               draw_id=p.draw_id or "—")
    if p.draw_id is None:
        return [header + "\n" + t("progress.no_draw", lang, due=due)]
    blocks = []
    for g in p.groups:
        deps = sep.join(t("progress.department", lang, department=d.label, entered=d.entered, expected=d.expected)
                        + (" ✅" if d.expected and d.entered == d.expected else "") for d in g.departments)
        blocks.append(t("progress.group", lang, group=g.number, leader=g.leader_name or "—", targets=g.targets,
                        entered=g.entered, expected=g.expected, departments=deps))
    percent = round(100 * p.entered / p.expected) if p.expected else 0
    totals = sep.join(t("progress.department", lang, department=d.label, entered=d.entered, expected=d.expected)
                      for d in p.departments)
    footer = t("progress.total", lang, entered=p.entered, expected=p.expected, percent=percent, departments=totals,
               due=due)
    if p.complete:
        footer += "\n" + t("progress.complete", lang)
    return split_messages(header, blocks, footer)
