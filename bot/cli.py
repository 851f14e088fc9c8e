"""Command line: `python -m bot run | import FILE.xlsx | template DIR | invite QUERY | migrate`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import logging
import sys
from pathlib import Path

from bot.config import ConfigError, load_config

log = logging.getLogger("bot")


class RedactingFormatter(logging.Formatter):
    """Log lines with the bot token removed: Telegram's URLs carry it (`/bot<TOKEN>/sendMessage`), and a
    network error's message or traceback may quote such a URL."""

    def format(self, record: logging.LogRecord) -> str:
        from bot.rules.error_summary import redact

        return redact(super().format(record))


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _open_db(cfg):
    from bot.db import make_engine, make_sessionmaker, migrate

    engine = make_engine(cfg.database.url)
    migrate(engine)
    return make_sessionmaker(engine)


def cmd_run(cfg, args) -> int:
    from bot.runtime import messengers, polling, webhook
    from bot.runtime.app import build_application

    cfg.require_token()
    sessions = _open_db(cfg)
    cfg = messengers.with_platform_admins(cfg, sessions)
    app = build_application(cfg, sessions, request=messengers.bridge_request(cfg, sessions),
                            rate_limiter=not args.no_rate_limiter)
    if cfg.bot.mode == "webhook":  # bot.runtime.webhook, not PTB's run_webhook: that one answers Telegram before handling
        asyncio.run(webhook.run(app, url=cfg.bot.webhook_url, listen=cfg.bot.webhook_listen,
                                port=cfg.bot.webhook_port, secret=cfg.bot.webhook_secret_token()))
        return 0
    asyncio.run(polling.run(app))
    return 0


def cmd_import(cfg, args) -> int:
    from bot.services.directory_import import import_workbook

    path = Path(args.file)
    if not path.exists():
        print(f"文件不存在：{path}", file=sys.stderr)
        return 2
    sessions = _open_db(cfg)
    data = path.read_bytes()
    today = dt.datetime.now(cfg.tz).date()
    with sessions.begin() as session:
        outcome = import_workbook(session, data, actor="cli", filename=path.name, today=today,
                                  lang=cfg.bot.language, max_bytes=cfg.rules.max_upload_mb * 1024 * 1024,
                                  credit=cfg.credit_scheme, industry=args.industry)
        if not outcome.ok:
            session.rollback()
    print(outcome.summary(cfg.bot.language))
    if outcome.needs_industry:
        example = outcome.known_industries[0] if outcome.known_industries else "行业名称"
        print(f"请加上 --industry 指定行业，例如：python -m bot import {path} --industry {example}")
        if outcome.known_industries:
            print("系统中已有的行业：" + "、".join(outcome.known_industries))
    if outcome.annotated:
        out = path.with_name(path.stem + "_错误标注.xlsx")
        out.write_bytes(outcome.annotated)
        print(f"→ {out}")
    return 0 if outcome.ok else 1


def cmd_template(cfg, args) -> int:
    from bot.services.directory_template import write_templates

    for p in write_templates(Path(args.dir)):
        print(p)
    return 0


def cmd_invite(cfg, args) -> int:
    from bot.services import identity

    sessions = _open_db(cfg)
    with sessions.begin() as session:
        found = identity.find_person(session, " ".join(args.query))
        if found.person is None:
            names = ", ".join(f"{p.name}/{p.department.name}/{p.cert_no or p.phone or '-'}" for p in found.candidates)
            print(f"没有唯一匹配的人员：{names or '无'}", file=sys.stderr)
            return 1
        issued = identity.issue_invite(session, found.person, actor="cli", hours=cfg.rules.invite_code_hours)
    expires = issued.expires_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M")
    username = args.bot_username
    print(f"{issued.person.name}（{issued.person.department.name}）邀请码，{expires} 前有效：")
    if username:
        print(f"https://t.me/{username}?start={issued.code}")
    print(f"/start {issued.code}")
    return 0


def cmd_campaign(cfg, args) -> int:
    """`campaign create PLAN.toml` (last line of output: the new id alone) and `campaign list`."""
    from bot.services import campaigns
    from bot.texts import t

    lang = cfg.bot.language
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep stderr to the one error line scripts read
    if args.campaign_command == "list":
        with _open_db(cfg).begin() as session:
            print(t("campaign.cli.header", lang))
            for c in campaigns.list_campaigns(session):
                res, pub = campaigns.provisional_marks(c, cfg)
                print("\t".join([str(c.id), c.number, campaigns.state_label(c.state, lang),
                                 f"{c.window_start.isoformat()}..{c.window_end.isoformat()}",
                                 campaigns.date_text(c.results_due, res, lang),
                                 campaigns.date_text(c.publication_due, pub, lang), c.title]))
        return 0
    try:
        plan = campaigns.load_plan(args.plan)
        with _open_db(cfg).begin() as session:
            outcome = campaigns.create_campaign(session, plan, cfg=cfg, actor="cli", lang=lang)
            c = outcome.campaign
            res, pub = campaigns.provisional_marks(c, cfg)
            created = t("campaign.cli.created", lang, number=c.number, title=c.title,
                        results_due=campaigns.date_text(c.results_due, res, lang),
                        publication_due=campaigns.date_text(c.publication_due, pub, lang))
            campaign_id = c.id
    except campaigns.PlanError as exc:
        print(t("campaign.cli.error", lang, error=str(exc)), file=sys.stderr)
        return 1
    print(created)
    for warning in outcome.warnings:
        print(t("campaign.cli.warning", lang, warning=warning))
    print(campaign_id)  # last line, alone: for scripts
    return 0


def cmd_draw(cfg, args) -> int:
    from bot.rules import drawalgo

    if args.draw_command == "verify":
        # From the file alone: no database, no config needed — what a citizen runs.
        try:
            record = drawalgo.load_record(args.file)
        except (OSError, ValueError) as exc:
            print(f"无法读取抽取记录：{exc}", file=sys.stderr)
            return 2
        from bot.services.draws import verify_full

        report = verify_full(record)
        if report.ok:
            print(f"一致 / match: draw {record.get('draw_id', '?')} re-run from {args.file} gives the same "
                  "digests and result")
            return 0
        print("不一致 / MISMATCH:")
        for line in report.mismatches:
            print(f"  {line}")
        return 1
    if args.draw_command == "page" and not args.source.isdigit():
        return _draw_page_from_file(args)  # an exported record: no database, no config
    from bot.services.draw_announcements import published_record, verification_page
    from models import Draw

    draw_id = int(args.source) if args.draw_command == "page" else args.draw_id
    sessions = _open_db(cfg)
    with sessions.begin() as session:
        draw = session.get(Draw, draw_id)
        if draw is None:
            print(f"没有抽取编号 {draw_id}", file=sys.stderr)
            return 1
        record = published_record(session, draw, tz=cfg.tz)
    if args.draw_command == "page":
        Path(args.file).write_bytes(verification_page(record, lang=args.lang or cfg.bot.language)[1])
    else:
        drawalgo.dump_record(record, args.file)
    print(args.file)
    return 0


def _draw_page_from_file(args) -> int:
    from bot.rules import drawalgo
    from reports.draw_page import build_draw_page

    try:
        record = drawalgo.load_record(args.source)
    except (OSError, ValueError) as exc:
        print(f"无法读取抽取记录：{exc}", file=sys.stderr)
        return 2
    Path(args.file).write_bytes(build_draw_page(record, lang=args.lang or "zh"))
    print(args.file)
    return 0


def _parse_now(text: str | None, cfg) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=cfg.tz)  # a bare time is the office's local time


async def _deliver_all(cfg, sessions) -> tuple[int, int]:
    """Deliver the outbox's due messages now (what the running bot's worker does); (sent, still waiting)."""
    from sqlalchemy import func, select
    from telegram import Bot

    from bot.services import identity

    from bot.runtime import messengers, outbox_sender
    from models import OutboxMessage

    sent = 0
    cfg = messengers.with_platform_admins(cfg, sessions)
    bridge = messengers.bridge_request(cfg, sessions)  # None on Telegram
    async with Bot(cfg.require_token(), base_url=cfg.bot.base_url, base_file_url=cfg.bot.base_file_url,
                   request=bridge, get_updates_request=bridge) as bot:
        while True:
            report = await outbox_sender.deliver_due(bot, sessions, admin_chat_ids=lambda s: identity.admin_chat_ids(
                s, cfg.access.admins), lease=dt.timedelta(seconds=cfg.outbox.lease_seconds))
            sent += report.sent
            if report.claimed == 0 or report.retry_after is not None:
                break
    with sessions.begin() as session:
        waiting = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.state.in_(("pending", "sending"))))
    return sent, waiting


def cmd_tick(cfg, args) -> int:
    """The daily checks as of --now (default: now), then delivery of what they queued."""
    from bot.services import reminders

    try:
        now = _parse_now(args.now, cfg)
    except ValueError:
        print(f"--now: expected an ISO date-time like 2022-10-26T09:00+08:00, got {args.now!r}", file=sys.stderr)
        return 2
    sessions = _open_db(cfg)
    from bot.services.report_sends import send_deadline_reports

    report = reminders.daily_checks(sessions, cfg, now, send_reports=functools.partial(send_deadline_reports, cfg=cfg))
    kind = "工作日" if report.workday else "非工作日，不发送提醒"
    print(f"{report.day.isoformat()}（{kind}）：已排队 {report.total} 条通知"
          + (f" {dict(report.queued)}" if report.total else ""))
    if args.no_deliver or not (cfg.bot.token or cfg.bot.platform != "telegram"):
        if not args.no_deliver:
            print("未配置 token：通知留在发件箱中，由运行中的机器人发送")
        return 0
    sent, waiting = asyncio.run(_deliver_all(cfg, sessions))
    print(f"已发送 {sent} 条；发件箱中待发送 {waiting} 条")
    return 0


def cmd_demo(cfg, args) -> int:
    """The offline demo (bot.devtools.demo): its own emulator, database and config; no token."""
    from bot.devtools import demo

    return demo.main(args.out, verbose=args.verbose, platform=args.platform)


def cmd_migrate(cfg, args) -> int:
    _open_db(cfg)
    print(f"schema up to date: {cfg.database.url}")
    return 0


def cmd_report(cfg, args) -> int:
    """`report CAMPAIGN --out DIR`: the five workbooks of SPEC §8, their paths printed one a line."""
    from bot.services import campaigns, report_data
    from models import utcnow

    lang = cfg.bot.language
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with _open_db(cfg).begin() as session:
        try:
            campaign = campaigns.resolve_campaign(session, args.campaign)
        except campaigns.CampaignChoiceError as exc:
            print(exc.message(lang).splitlines()[0], file=sys.stderr)
            return 1
        report = report_data.load_report(session, campaign.id, cfg=cfg, now=utcnow())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in report_data.build_files(report):  # built after the transaction: it takes seconds when big
        path = out / name
        path.write_bytes(data)
        print(path)
    return 0


_AUDIT_PROBLEMS = {
    "changed": "被修改 / changed",
    "deleted": "被删除 / deleted",
    "out_of_order": "顺序被调换 / out of order",
    "added": "不是由机器人追加的 / not appended by the bot",
    "anchor": "尾部锚点缺失或损坏 / tail anchor missing or damaged",
}


def cmd_audit(cfg, args) -> int:
    """`audit verify`: walk the hash chain and its tail anchor; exit 1 naming the first bad row."""
    from bot.services import audit

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with _open_db(cfg).begin() as session:
        out = audit.verify(session)
    if out.ok:
        print(f"完整 / intact: {out.rows} rows; head {out.head}")
        return 0
    what = _AUDIT_PROBLEMS.get(out.problem, out.problem)
    row = f"第 {out.bad_id} 行 / row {out.bad_id}" if out.bad_id is not None else "日志 / the log"
    action = f"（{out.action}）" if out.action else ""
    moved = f"，此处是原第 {out.moved_from} 行 / it holds row {out.moved_from}" if out.moved_from else ""
    print(f"不完整 / BROKEN: {row}{action} {what}{moved} — {out.reason}; "
          f"{out.rows} rows before it hold")
    return 1


def cmd_backup(cfg, args) -> int:
    """`backup FILE`: an online, checked copy of a SQLite database; for PostgreSQL the pg_dump command."""
    from bot.services import backup

    try:
        result = backup.backup(cfg.database.url, args.file, overwrite=args.force)
    except backup.BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if isinstance(result, backup.PgDumpAdvice):
        print("PostgreSQL 数据库请用 pg_dump 备份（密码由 PGPASSWORD 或 ~/.pgpass 提供）/ "
              "back up PostgreSQL with pg_dump (password from PGPASSWORD or ~/.pgpass):", file=sys.stderr)
        print(result.command)
        return 2
    print(f"已备份 / backed up: {result.path} ({result.size} bytes, {result.tables} tables, integrity_check ok)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="双随机抽查助手")
    parser.add_argument("--config", help="config file (default: BOT_CONFIG or ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the bot (polling or webhook, by config)")
    p.add_argument("--no-rate-limiter", action="store_true", help="skip AIORateLimiter (local emulator only)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("demo", help="run a whole campaign offline (local emulator, sample data, no token)")
    p.add_argument("--out", help="folder for the database, workbooks and transcript (default: demo-output/<time>)")
    p.add_argument("--platform", choices=("telegram", "dingtalk"), default="telegram",
                   help="the messenger to play the story on: its local emulator (default: telegram)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("import", help="import directory workbook")
    p.add_argument("file")
    p.add_argument("--industry", help="行业类别 of every target of a list without that column "
                                      "(e.g. 互联网上网服务营业场所)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("template", help="write the blank import templates into DIR")
    p.add_argument("dir")
    p.set_defaults(func=cmd_template)
    p = sub.add_parser("invite", help="issue a one-time invite code")
    p.add_argument("query", nargs="+", help="执法证号, 姓名 or 手机号")
    p.add_argument("--bot-username", default="", help="to print the t.me deep link")
    p.set_defaults(func=cmd_invite)
    p = sub.add_parser("campaign", help="campaigns: create PLAN.toml | list")
    campaign_sub = p.add_subparsers(dest="campaign_command", required=True)
    cp = campaign_sub.add_parser("create", help="create a campaign from a plan file (prints its id last)")
    cp.add_argument("plan", help="the plan file (TOML, SPEC §4)")
    campaign_sub.add_parser("list", help="list campaigns with state and deadlines")
    p.set_defaults(func=cmd_campaign)
    p = sub.add_parser("report", help="write a campaign's report workbooks (SPEC §8) into DIR")
    p.add_argument("campaign", help="campaign id or number")
    p.add_argument("--out", required=True, help="directory to write the files into")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("draw", help="draws: export DRAW_ID FILE.json | verify FILE.json | "
                                    "page DRAW_ID|FILE.json FILE.html")
    draw_sub = p.add_subparsers(dest="draw_command", required=True)
    dp = draw_sub.add_parser("export", help="write a draw's full record as JSON")
    dp.add_argument("draw_id", type=int)
    dp.add_argument("file")
    dp = draw_sub.add_parser("verify", help="re-run a draw from its JSON record alone; exit 0 only on a match")
    dp.add_argument("file")
    dp = draw_sub.add_parser("page", help="write the self-contained web page that re-runs a draw in any browser")
    dp.add_argument("source", help="a draw id, or an exported record FILE.json (then no database is needed)")
    dp.add_argument("file", help="the page to write, e.g. draw.html")
    dp.add_argument("--lang", choices=("zh", "en"), help="the page's language (default: [bot] language; zh)")
    p.set_defaults(func=cmd_draw)
    p = sub.add_parser("tick", help="run the daily checks (reminders, escalation, digest, deadline reports) now")
    p.add_argument("--now", help="as of this ISO date-time, e.g. 2022-10-26T09:00+08:00 (default: now)")
    p.add_argument("--no-deliver", action="store_true", help="only queue; leave delivery to the running bot")
    p.set_defaults(func=cmd_tick)
    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("audit", help="audit log: verify (the hash chain; exit 1 names the first bad row)")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check every row of the audit log and its tail anchor")
    p.set_defaults(func=cmd_audit)
    p = sub.add_parser("backup", help="back up the database into FILE (SQLite; PostgreSQL: prints the pg_dump command)")
    p.add_argument("file")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_backup)
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.command == "draw" and (args.draw_command == "verify"
                                   or (args.draw_command == "page" and not args.source.isdigit())):
        return cmd_draw(None, args)  # from the file alone: no config, no database
    if args.command == "demo":
        return cmd_demo(None, args)  # its own config and database: no config.toml, no BOT_TOKEN
    try:
        cfg = load_config(args.config)
        for warning in cfg.warnings:
            log.warning("config: %s", warning)
        return args.func(cfg, args)
    except ConfigError as exc:
        print(f"配置错误 / config error: {exc}", file=sys.stderr)
        return 2

