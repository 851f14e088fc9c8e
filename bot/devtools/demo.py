"""`python -m bot demo`: a whole campaign offline, told in Chinese — what a newcomer runs first.

No token and no network: the local Bot API emulator (bot.devtools.botapi_emulator, the one the end-to-end tests use) runs in a
thread of this process, and the real bot runs against it as a child process (`python -m bot run`, as deployed),
on a fresh SQLite database in the output folder. The simulated people talk to the bot over HTTP, through the people
side of bot.devtools.people. With `--platform dingtalk` the same story runs on 钉钉: the local 钉钉 emulator
(bot.devtools.dingtalk_emulator) instead, the bot with `[bot] platform = "dingtalk"` behind the messenger bridge;
buttons are cards (updated in place), documents file messages, group commands @-messages to the robot:

 1. an admin sends the sample directory workbook (bot.devtools.sample_data: the seed's four departments and their items, a
    roster, targets) and binds the group chat; the leader 马勇 binds his account with a one-time invite code;
 2. a campaign is created from a plan file (`python -m bot campaign create`'s code path);
 3. 马勇 sends /draw in the group: the bot announces the draw and notifies the drawn inspectors;
 4. one drawn inspector per department enters the results through /enter (bot.devtools.simulated_users.ScriptedInspector) —
    all but the fire brigade's;
 5. the daily checks run as of the day of the 5-working-day reminder (`python -m bot tick`'s code path) and the
    fire brigade's inspectors get their reminder; then the last inspector enters;
 6. the five workbooks of SPEC §8 are written to the folder (`python -m bot report`'s code path);
 7. the draw's record is exported and re-run by `python -m bot draw verify` in a separate process; the
    verification page the group received (SPEC §5.11) is saved beside it, for a browser.

Everything printed is also written to 演示记录.txt in the folder; the bot's own log is bot.log. The last line of
output is the folder's path. The emulator and the bot are stopped on success, error and Ctrl-C alike.
"""

from __future__ import annotations

import _thread
import datetime as dt
import functools
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import unicodedata
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select

from bot.devtools.botapi_emulator import FakeBotAPI
from bot.devtools.people import DingTalkPeople, People, Shown, TelegramPeople

ROOT = Path(__file__).resolve().parents[2]  # the repository: bot/devtools/demo.py
TOKEN = "7000000:DEMO-offline-token"  # the emulator's; nothing leaves this machine
BOT_USERNAME = "shuangsui_demo_bot"
ADMIN_TG = 5001  # bootstrapped by [access] admins, like a real office's first admin
LEADER_NAME = "马勇"  # 领导小组 in the sample roster (seed 六(一))
LEADER_TG = 6101
GROUP_ID = -1001000
GROUP_TITLE = "西华县联合抽查工作群"
TG_BASE = 7000  # simulated Telegram id of roster person n: TG_BASE + n
PLATFORMS = ("telegram", "dingtalk")
# 钉钉 (--platform dingtalk): staffIds, the group's conversation id, the app's credentials (the emulator's)
DT_ADMIN = "admin001"  # bootstrapped by [dingtalk] admins
DT_LEADER = "mayong01"
DT_GROUP = "cidDemoGroup00000000=="
DT_CLIENT_ID, DT_CLIENT_SECRET = "dingappkey", "s3cret"
LATE_DEPARTMENT = "西华县消防救援大队"  # its inspector enters only after the reminder
PROBLEM_DEPARTMENT = "西华县公安局"  # its inspector reports a problem (code 5 with a description)
# their inspectors take the shortcuts (issue 13): 全部「1 未发现问题」 → 提交; 公安 marks its problem first
SHORTCUT_DEPARTMENTS = ("西华县市场监督管理局", "西华县公安局")
# bot.services.reminders.TickReport.queued's kinds, as the story names them
TICK_KINDS = {"before": "录入提醒", "overdue": "逾期通知", "escalation": "逾期上报", "publish": "公示提醒",
              "digest": "每日汇总", "report": "报表文件"}
TIMEOUT = 30.0  # seconds any one step may take before the demo gives up

# The campaign, in the plan-file format of SPEC §4 (also saved to the folder): the seed's 2022 joint
# inspection of internet cafés, one group of two inspectors from each of the four departments (seed 附件:
# "该检查组的8名检查人员分别来自4个单位"), every item of the sample.
PLAN_HEAD = """\
title = "2022年全县互联网上网服务营业场所经营活动联合抽查"
lead = "西华县文化广电和旅游局"
departments = ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"]
scope = ["互联网上网服务营业场所"]
inspectors_per_department = 2
targets_per_group = 0  # 0: one group
summary_due = 2022-09-30

[window]
start = 2022-09-26
end = 2022-09-28

[sampling]
count = 2
"""


class DemoError(Exception):
    """A step of the demo did not happen as it should; the message says which."""


def plan_text() -> str:
    """The demo's plan file: PLAN_HEAD and an [items] table listing every sample item by department."""
    from bot.devtools.sample_data import ITEMS

    by_department: dict[str, list[str]] = {}
    for department, name, _content, _basis in ITEMS:
        by_department.setdefault(department, []).append(name)
    lines = [PLAN_HEAD, "[items]"]
    lines += [f"{json.dumps(d, ensure_ascii=False)} = {json.dumps(names, ensure_ascii=False)}"
              for d, names in by_department.items()]
    return "\n".join(lines) + "\n"


def config_text(emu: Any, db_path: Path, platform: str = "telegram") -> str:
    # The running bot's own daily job stays off: it would tick on today's real date; the demo ticks itself (step 5).
    database = f"[database]\nurl = {json.dumps('sqlite:///' + db_path.resolve().as_posix())}\n"
    if platform == "dingtalk":
        return (f'[bot]\nplatform = "dingtalk"\n[dingtalk]\nclient_id = "{DT_CLIENT_ID}"\n'
                f'client_secret = "{DT_CLIENT_SECRET}"\ncard_template_id = "tpl.schema"\nadmins = ["{DT_ADMIN}"]\n'
                f'openapi_endpoint = "{emu.openapi_url}"\noapi_endpoint = "{emu.oapi_url}"\n'
                f"{database}[reminders]\nenabled = false\n")
    return (f'[bot]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\nbase_file_url = "{emu.base_file_url}"\n'
            f"{database}[access]\nadmins = [{ADMIN_TG}]\n[reminders]\nenabled = false\n")


# ------------------------------------------------------------------------------------------------ output

class Story:
    """Prints the demo's lines and keeps them in the transcript file."""

    def __init__(self, transcript: Path, out: TextIO = sys.stdout):
        self.out = out
        self.file = open(transcript, "w", encoding="utf-8")
        self.step = 0
        self.last_buttons: list[str] | None = None

    def line(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)
        self.file.write(text + "\n")
        self.file.flush()

    def heading(self, title: str) -> None:
        self.step += 1
        self.line()
        self.line(f"== {self.step}. {title} ==")

    def block(self, who: str, text: str, buttons: list[str] | None = None) -> None:
        """`【who】 first line`, further lines aligned under it, then the buttons (「同上」 when they repeat)."""
        lines = (text or "").splitlines() or [""]
        self.line(f"  【{who}】 {lines[0]}")
        pad = " " * (_width(who) + 7)
        for rest in lines[1:]:
            self.line(pad + rest if rest else "")
        if buttons:
            same = buttons == self.last_buttons
            self.last_buttons = buttons
            self.line(pad + "按钮：" + ("（同上）" if same else " ".join(f"[{b}]" for b in buttons)))

    def close(self) -> None:
        self.file.close()


def _width(text: str) -> int:
    """Terminal columns of a text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_PART = re.compile(r"（\d+/\d+）$")  # "（2/5）" at the end of a report file's caption


class Chats:
    """Shows the bot's side of the conversations: everything it did since the last look (bot.devtools.people
    `People.activity`), as chat lines.

    Messages to the person in focus are shown whole; a notice to someone else is shown whole the first time its
    first line appears and as that line alone afterwards (eight inspectors get the same draw notice); the
    documents of one send are listed on one line. An edit reads "更新消息" (钉钉: "更新卡片", a card updated in
    place)."""

    def __init__(self, people: People, story: Story, names: dict, group: Any):
        self.people = people
        self.story = story
        self.names = names  # a person's key → how the story names their chat
        self.group = group  # the work group's key
        self.mark, _ = people.activity(0)
        self.seen: set[str] = set()
        self.buttons: dict[Any, list[str]] = {}  # chat → the buttons it sees last
        self.updated = "更新卡片" if people.platform == "dingtalk" else "更新消息"

    def button(self, chat: Any, prefix: str) -> str:
        """The whole text of the button a press by prefix ("1 ") chose."""
        texts = self.buttons.get(chat, [])
        return next((b for b in texts if b == prefix), None) or next(
            (b for b in texts if b.startswith(prefix)), prefix.strip())

    def show_new(self, focus: Any = None) -> list[Shown]:
        """Print what the bot did since the last look; messages to `focus` read as replies, others as notices."""
        self.mark, shown = self.people.activity(self.mark)
        i = 0
        while i < len(shown):
            item = shown[i]
            i += 1
            who = self._who(item.chat, focus)
            if item.kind == "answer":
                if item.text:
                    self.story.block("机器人·提示", item.text)
                continue
            if item.kind == "file":
                caption = _PART.sub("", item.caption)
                names = [item.filename or "文件"]
                while (i < len(shown) and shown[i].kind == "file" and shown[i].chat == item.chat
                       and _PART.sub("", shown[i].caption) == caption):
                    names.append(shown[i].filename or "文件")
                    i += 1
                files = f"📎 {names[0]}" if len(names) == 1 else f"📎 {len(names)} 个文件：" + "、".join(names)
                self.story.block(who, files + (f"\n{caption}" if caption else ""))
                continue
            buttons = list(item.buttons)
            if buttons:
                self.buttons[item.chat] = buttons
            label = who if item.kind == "message" else f"{who}·{self.updated}"
            first = item.text.split("\n", 1)[0]
            if item.chat != focus and first in self.seen and "\n" in item.text:
                self.story.block(label, first + "（同类通知，从略）")
                continue
            self.seen.add(first)
            self.story.block(label, item.text, buttons)
        return shown

    def _who(self, chat: Any, focus: Any) -> str:
        if chat == focus:
            return "机器人"
        if chat == self.group:
            return "机器人 → 工作群"
        return f"机器人 → {self.names.get(chat, chat)}（私聊）"


# ------------------------------------------------------------------------------------------------ the bot

class BotProcess:
    """`python -m bot run` as a child process against the emulator, its output in bot.log."""

    def __init__(self, config: Path, log: Path):
        self.config = config
        self.log_path = log
        self.proc: subprocess.Popen | None = None
        self.stopping = False
        self.died = False

    def start(self, timeout: float = TIMEOUT) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
        # PYTHONPATH set here, not inherited: the bot is the repository's own, wherever the demo was started from
        env.update(BOT_CONFIG=str(self.config), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--no-rate-limiter"], cwd=ROOT,
                                         env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._watch, name="demo-bot-watch", daemon=True).start()
        deadline = time.monotonic() + timeout
        while "polling as @" not in self.log():  # start-up done: menus set, first getUpdates under way
            if self.proc.poll() is not None:
                raise DemoError(f"机器人进程退出（{self.proc.returncode}），见 {self.log_path}")
            if time.monotonic() > deadline:
                raise DemoError(f"机器人 {timeout:.0f} 秒内未启动，见 {self.log_path}")
            time.sleep(0.05)

    def _watch(self) -> None:
        """The bot exiting before stop(): interrupt the main thread rather than let it wait for replies."""
        self.proc.wait()
        if not self.stopping:
            self.died = True
            _thread.interrupt_main()

    def stop(self) -> None:
        self.stopping = True
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # bot.runtime.polling stops cleanly on SIGTERM
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


# ------------------------------------------------------------------------------------------------ the demo

class Demo:
    def __init__(self, folder: Path, story: Story, platform: str = "telegram"):
        from bot.devtools.dingtalk_emulator import FakeDingTalk

        if platform not in PLATFORMS:
            raise DemoError(f"未知的平台：{platform}（可选：{'、'.join(PLATFORMS)}）")
        self.folder = folder
        self.story = story
        self.platform = platform
        self.dingtalk = platform == "dingtalk"
        self.db_path = folder / "demo.db"
        if self.dingtalk:
            self.emu: Any = FakeDingTalk(client_id=DT_CLIENT_ID, client_secret=DT_CLIENT_SECRET)
            self.admin, self.leader, self.group_key = DT_ADMIN, DT_LEADER, DT_GROUP
        else:
            self.emu = FakeBotAPI(token=TOKEN, bot_username=BOT_USERNAME, bot_first_name="双随机抽查助手")
            self.admin, self.leader, self.group_key = ADMIN_TG, LEADER_TG, GROUP_ID
        self.at = "@机器人 " if self.dingtalk else ""  # a group command: 钉钉 delivers only @-messages to the robot
        self.people: People | None = None
        self.keys: dict[int, Any] = {}  # the id the bot knows a person by → their key on the messenger
        self.started = False
        self.bot: BotProcess | None = None
        self.engine = None
        self.sessions = None
        self.cfg = None
        self.chats: Chats | None = None
        self.campaign_id = 0
        self.draw_id = 0

    # -- plumbing
    def _settle(self, key: Any) -> None:
        """Until the bot has handled everything the person sent (bot.devtools.people: "settled")."""
        self.people.person(key).wait_settled(TIMEOUT)

    def person_key(self, person_id: int) -> Any:
        """The key on the messenger of a roster person bound directly (not the leader)."""
        return f"staff{person_id:04d}" if self.dingtalk else TG_BASE + person_id

    def _outbox_idle(self) -> None:
        """Until the bot's outbox has delivered every queued notification."""
        from models import OutboxMessage

        def idle() -> bool:
            with self.sessions.begin() as s:
                return not s.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.state.in_(("pending", "sending"))))

        deadline = time.monotonic() + TIMEOUT
        while not idle():
            if time.monotonic() > deadline:
                raise DemoError("发件箱中的通知未能送出，见 bot.log")
            time.sleep(0.05)

    def say(self, key: Any, name: str, text: str, group=None) -> None:
        """A person sends a message (in `group`: to the bot, with an @ on 钉钉); the bot's answer is printed."""
        where = "（工作群）" if group is not None else ""
        self.story.block(name + where, (self.at if group is not None else "") + text)
        self.people.person(key).send(text, group)
        self._settle(key)
        self.chats.show_new(focus=group.key if group is not None else key)

    # -- the steps
    def start(self) -> None:
        from bot.config import load_config
        from bot.db import make_engine, make_sessionmaker, migrate

        if self.dingtalk:
            self.story.heading("启动本地钉钉模拟器和机器人（离线，无需钉钉应用）")
        else:
            self.story.heading("启动本地 Bot API 模拟器和机器人（离线，无需 token）")
        self.emu.start()
        self.started = True
        config = self.folder / "config.toml"
        config.write_text(config_text(self.emu, self.db_path, self.platform), encoding="utf-8")
        self.cfg = load_config(config, env={})
        self.engine = make_engine(self.cfg.database.url)
        migrate(self.engine)  # before the bot starts: one process creates the schema
        self.sessions = make_sessionmaker(self.engine)
        self.people = (DingTalkPeople(self.emu, self.sessions) if self.dingtalk
                       else TelegramPeople(self.emu, language_code="zh-hans"))
        self.bot = BotProcess(config, self.folder / "bot.log")
        self.bot.start()
        self.chats = Chats(self.people, self.story, {self.admin: "管理员"}, self.group_key)
        if self.dingtalk:
            self.story.line(f"  模拟器：{self.emu.openapi_url}，Stream {self.emu.ws_url}（钉钉开放平台的替身，只在本机）")
        else:
            self.story.line(f"  模拟器：{self.emu.url}（Telegram 的替身，只在本机）")
        self.story.line(f"  机器人：python -m bot run（进程 {self.bot.proc.pid}），数据库 {self.db_path.name}，"
                        f"日志 bot.log")

    def directories(self) -> None:
        from bot.services import identity
        from bot.devtools.sample_data import sample_workbook
        from models import Department, Item, Person, Target

        self.story.heading("管理员导入名录（单位、抽查事项、人员、检查对象、回避关系）")
        data = sample_workbook(n_targets=30)
        (self.folder / "样例名录.xlsx").write_bytes(data)
        admin = self.people.person(self.admin, "管理员")
        self.story.block("管理员", "📎 样例名录.xlsx（私聊发给机器人）")
        admin.send_file(data, "样例名录.xlsx")
        self._settle(self.admin)
        self.chats.show_new(focus=self.admin)
        with self.sessions.begin() as s:
            counts = [s.scalar(select(func.count()).select_from(m)) for m in (Department, Item, Person, Target)]
        if not counts[3]:
            raise DemoError("名录未导入，见 bot.log")
        self.story.line(f"  → 数据库中：{counts[0]} 个单位、{counts[1]} 个抽查事项、{counts[2]} 名人员、"
                        f"{counts[3]} 个检查对象")

        self.story.heading("绑定账号和工作群")
        with self.sessions.begin() as s:
            leader = s.scalar(select(Person).where(Person.name == LEADER_NAME))
            for p in s.scalars(select(Person).where(Person.id != leader.id)):
                key = self.person_key(p.id)
                p.telegram_user_id = self.people.bind(s, key, p.name)
                self.keys[p.telegram_user_id] = key
                self.chats.names[key] = f"{p.name}（{p.department.label or p.department.name}）"
            issued = identity.issue_invite(s, leader, actor="demo", hours=self.cfg.rules.invite_code_hours)
            code = issued.code
            leader_id = leader.id
        self.chats.names[self.leader] = LEADER_NAME
        account = "钉钉账号" if self.dingtalk else "模拟账号"
        self.story.line(f"  （演示从简：名录中其余 {counts[2] - 1} 人直接绑定了{account}；实际使用时每人收到一次性"
                        "邀请码，发送 /start 邀请码 绑定）")
        self.story.line(f"  管理员为 {LEADER_NAME} 生成邀请码（/invite {LEADER_NAME} 或 python -m bot invite {LEADER_NAME}）")
        if self.dingtalk:
            self.story.line("  （钉钉没有 Telegram 那样的邀请链接：他在与机器人的单聊中发送 /start 邀请码）")
        leader = self.people.person(self.leader, LEADER_NAME)
        self.say(self.leader, LEADER_NAME, f"/start {code}")
        with self.sessions.begin() as s:
            bound = s.get(Person, leader_id).telegram_user_id
        if bound is None:
            raise DemoError(f"{LEADER_NAME} 未能绑定账号，见上面机器人的回复")
        self.keys[bound] = self.leader
        group = self.people.group(self.group_key, GROUP_TITLE, members=[admin, leader])
        self.say(self.admin, "管理员", "/bindgroup", group=group)

    def campaign(self) -> None:
        from bot.services import campaigns

        self.story.heading("创建抽查任务（等同 python -m bot campaign create 抽查计划.toml）")
        path = self.folder / "抽查计划.toml"
        path.write_text(plan_text(), encoding="utf-8")
        plan = campaigns.load_plan(path)
        with self.sessions.begin() as s:
            outcome = campaigns.create_campaign(s, plan, cfg=self.cfg, actor="demo")
            c = outcome.campaign
            self.campaign_id = c.id
            res, pub = campaigns.provisional_marks(c, self.cfg)
            lines = [f"任务编号：{c.number}", f"名称：{c.title}",
                     f"检查时间：{c.window_start.isoformat()} 至 {c.window_end.isoformat()}",
                     f"参加单位：{'、'.join(campaigns.department_names(c))}",
                     f"抽查事项：{len(c.items)} 项；抽取 2 个检查对象，每单位 2 名检查人员，编为 1 个检查组",
                     f"结果录入截止：{campaigns.date_text(c.results_due, res, 'zh')}（检查结束后 20 个工作日）",
                     f"结果公示截止：{campaigns.date_text(c.publication_due, pub, 'zh')}（15 个工作日）"]
        for text in lines:
            self.story.line("  " + text)
        for warning in outcome.warnings:  # the window is in the past: the demo replays the seed's 2022 plan
            self.story.line(f"  提示：{warning}（演示重演 2022 年的方案，日期都按当年的计算）")

    def draw(self) -> None:
        from bot.services import draws

        self.story.heading("领导在工作群发送 /draw：随机抽取检查对象和检查人员")
        group = self.people.group(self.group_key)
        self.story.block(f"{LEADER_NAME}（工作群）", self.at + "/draw")
        self.people.person(self.leader).send("/draw", group)
        self._settle(self.leader)
        with self.sessions.begin() as s:
            draw = draws.current_draw(s, self.campaign_id)
            if draw is None:
                self.chats.show_new(focus=self.group_key)
                raise DemoError("抽取未完成，见上面机器人的回复")
            self.draw_id = draw.id
        self._outbox_idle()  # the announcement and the notices go through the outbox
        self.chats.show_new(focus=self.group_key)

    def _drawn(self) -> list[tuple[str, Any, str, int]]:
        """The first drawn inspector of each department, campaign order: (department, their key on the messenger,
        name, group id)."""
        from models import Assignment, CampaignDepartment, DrawGroup

        with self.sessions.begin() as s:
            order = {cd.department_id: cd.position for cd in s.scalars(
                select(CampaignDepartment).where(CampaignDepartment.campaign_id == self.campaign_id))}
            first: dict[int, tuple[str, int, str, int]] = {}
            for a in s.scalars(select(Assignment).join(DrawGroup, DrawGroup.id == Assignment.group_id)
                               .where(DrawGroup.draw_id == self.draw_id, Assignment.active)
                               .order_by(DrawGroup.number, Assignment.position, Assignment.id)):
                first.setdefault(a.department_id, (a.department.name, self.keys[a.person.telegram_user_id],
                                                   a.person.name, a.group_id))
        return [first[d] for d in sorted(first, key=lambda d: order.get(d, 0))]

    def _enter(self, department: str, key: Any, name: str, group_id: int) -> None:
        from bot.devtools.simulated_users import ScriptedInspector
        from models import Department, GroupTarget, Submission

        def done() -> bool:
            with self.sessions.begin() as s:
                dept_id = s.scalar(select(Department.id).where(Department.name == department))
                targets = s.scalar(select(func.count()).select_from(GroupTarget)
                                   .where(GroupTarget.group_id == group_id))
                subs = s.scalar(select(func.count()).select_from(Submission).join(
                    GroupTarget, GroupTarget.target_id == Submission.target_id).where(
                    GroupTarget.group_id == group_id, Submission.department_id == dept_id,
                    Submission.draw_id == self.draw_id))
            return subs >= targets

        def on_step(kind: str, text: str) -> None:
            self.story.block(name, text if kind == "send" else f"点击 [{self.chats.button(key, text)}]")
            self.chats.show_new(focus=key)

        self.story.line(f"  —— {name}（{department}）——")
        inspector = ScriptedInspector(self.people, key, name, done, problem_first=department == PROBLEM_DEPARTMENT,
                                      shortcuts=department in SHORTCUT_DEPARTMENTS, on_step=on_step)
        inspector.run(max_steps=100)
        if isinstance(inspector.error, KeyboardInterrupt):  # run() hands every exception back, Ctrl-C too
            raise inspector.error
        if inspector.error is not None:
            raise DemoError(f"{name} 的录入未完成：{inspector.error}")
        self._outbox_idle()  # the group leader's notice of each submission
        self.chats.show_new(focus=key)

    def entry(self) -> tuple[str, Any, str, int]:
        drawn = self._drawn()
        late = next(d for d in drawn if d[0] == LATE_DEPARTMENT)
        self.story.heading("检查人员在私聊中用 /enter 录入检查结果（每个单位一人录入即可）")
        self.story.line(f"  （{LATE_DEPARTMENT}的 {late[2]} 先不录入：第 {self.story.step + 1} 步的提醒会找到他）")
        for d in drawn:
            if d is not late:
                self._enter(*d)
        return late

    def reminders(self, late: tuple[str, Any, str, int]) -> None:
        from bot.services import reminders
        from bot.services.report_sends import send_deadline_reports
        from bot.rules.workdays import WorkCalendar
        from models import Campaign

        with self.sessions.begin() as s:
            due = s.get(Campaign, self.campaign_id).results_due
        # The day of the 5-day reminder: the working day with 5 working days after it up to the deadline.
        calendar = WorkCalendar.from_config(self.cfg)
        day, counted = due, 0
        while counted < 5:
            counted += calendar.is_workday(day)
            day -= dt.timedelta(days=1)
        while not calendar.is_workday(day):
            day -= dt.timedelta(days=1)
        now = dt.datetime.combine(day, self.cfg.reminders.at(), tzinfo=self.cfg.tz)
        self.story.heading(f"每日检查，按 {day.isoformat()} 运行（录入截止 {due.isoformat()} 前 5 个工作日；"
                           f"等同 python -m bot tick --now {now.isoformat(timespec='minutes')}）")
        report = reminders.daily_checks(self.sessions, self.cfg, now,
                                        send_reports=functools.partial(send_deadline_reports, cfg=self.cfg))
        kinds = "、".join(f"{TICK_KINDS.get(kind, kind)} {n}" for kind, n in report.queued.items())
        self.story.line(f"  {report.day.isoformat()}（{'工作日' if report.workday else '非工作日'}）："
                        f"排队 {report.total} 条通知（{kinds or '无'}）")
        self._outbox_idle()
        shown = self.chats.show_new(focus=None)
        if not any(c.chat == late[1] and "提醒" in c.text for c in shown):
            raise DemoError(f"{late[2]} 没有收到录入提醒")
        self.story.heading("收到提醒后，最后一个单位录入；全部录入后机器人自动把报表发给联络员")
        self._enter(*late)
        self._entered_reports()

    def _entered_reports(self) -> None:
        """The bot's automatic send of the reports once every result is in (bot.services.report_sends.pending_sends)."""
        from bot.services import report_sends

        reason = f"entered:{self.draw_id}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.sessions.begin() as s:
                if report_sends.already_sent(s, self.campaign_id, reason):
                    break
            time.sleep(0.05)
        else:
            self.story.line("  （机器人未自动发送报表，见 bot.log）")
            return
        self._outbox_idle()
        self.chats.show_new(focus=None)

    def reports(self) -> list[Path]:
        from bot.services import report_data
        from models import utcnow

        self.story.heading("生成五个报表（等同 python -m bot report 任务编号 --out 文件夹）")
        with self.sessions.begin() as s:  # load in a short transaction, build outside it (bot.services.report_sends)
            report = report_data.load_report(s, self.campaign_id, cfg=self.cfg, now=utcnow())
        paths = []
        for name, data in report_data.build_files(report):
            path = self.folder / name
            path.write_bytes(data)
            paths.append(path)
            self.story.line(f"  {path}")
        if len(paths) != 5:
            raise DemoError(f"应生成 5 个报表，实际 {len(paths)} 个")
        return paths

    def verify(self) -> None:
        from bot.services.draw_announcements import published_record
        from bot.rules.drawalgo import dump_record
        from models import Draw

        self.story.heading("验证抽取：群内 /verify，以及任何人都能运行的 python -m bot draw verify 抽取记录.json")
        self.say(self.leader, LEADER_NAME, f"/verify {self.draw_id}", group=self.people.group(self.group_key))
        with self.sessions.begin() as s:
            record = published_record(s, s.get(Draw, self.draw_id), tz=None)
        path = self.folder / f"抽取记录_{self.draw_id}.json"
        dump_record(record, path)
        self.story.line(f"  抽取记录（导出，即 python -m bot draw export {self.draw_id} 文件.json）：{path}")
        self.story.line(f"  $ python -m bot draw verify {path.name}（单独进程：不用数据库，不读配置）")
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL", "BOT_CONFIG")}
        env["PYTHONPATH"] = str(ROOT)
        out = subprocess.run([sys.executable, "-m", "bot", "draw", "verify", str(path)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        for text in out.stdout.splitlines():
            self.story.line(f"  {text}")
        if out.returncode != 0 or "一致" not in out.stdout:
            raise DemoError(f"验证未通过（退出码 {out.returncode}）：{out.stderr.strip()}")
        # the verification page the group received (SPEC §5.11): anyone opens it in a browser, no Python needed
        pages = [m for m in self.people.messages(self.people.group(self.group_key))
                 if m.filename and m.filename.endswith("_抽取核验.html") and m.data]
        if not pages:
            raise DemoError("群里没有收到抽取核验网页")
        page = self.folder / pages[-1].filename
        page.write_bytes(pages[-1].data)
        self.story.line(f"  群里收到的抽取核验网页（用任何浏览器打开，即在本机重新运行抽取，不联网）：{page}")

    def close(self) -> None:
        try:
            if self.bot is not None:
                self.bot.stop()
        finally:
            if self.started:
                self.emu.stop()
            if self.engine is not None:
                self.engine.dispose()


def _folder(out: str | None) -> Path:
    folder = Path(out) if out else Path("demo-output") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        raise DemoError(f"文件夹不是空的：{folder}（演示需要一个新的文件夹）")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM/SIGHUP end the demo like Ctrl-C: through the clean-up below


def main(out: str | None = None, verbose: bool = False, platform: str = "telegram") -> int:
    """Run the demo; 0 on success. The last line printed is the folder holding the files."""
    return run(out, verbose, platform)[0]


def run(out: str | None = None, verbose: bool = False, platform: str = "telegram") -> tuple[int, Demo | None]:
    """`main`, also handing back the Demo (stopped) whose emulator and people can still be looked at."""
    if platform not in PLATFORMS:
        print(f"演示无法开始：未知的平台 {platform}（可选：{'、'.join(PLATFORMS)}）", file=sys.stderr)
        return 2, None
    root = logging.getLogger()
    level = root.level
    if not verbose:  # the story is the output; the bot's own log is in bot.log
        root.setLevel(logging.WARNING)
    try:
        return _run(out, verbose, platform)
    finally:
        root.setLevel(level)


def _run(out: str | None, verbose: bool, platform: str) -> tuple[int, Demo | None]:
    started = time.monotonic()
    try:
        folder = _folder(out)
    except (DemoError, OSError) as exc:
        print(f"演示无法开始：{exc}", file=sys.stderr)
        return 2, None
    story = Story(folder / "演示记录.txt", out=sys.stdout)
    where = "，钉钉" if platform == "dingtalk" else ""
    story.line(f"双随机抽查助手 · 离线演示{where}（输出文件夹：{folder}）")
    # SIGINT too: a shell starts background jobs with it ignored, and Python then never raises KeyboardInterrupt.
    stops = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, _interrupt) for sig in stops}
    demo = Demo(folder, story, platform)
    code = 0
    try:
        demo.start()
        demo.directories()
        demo.campaign()
        demo.draw()
        late = demo.entry()
        demo.reminders(late)
        demo.reports()
        demo.verify()
    except KeyboardInterrupt:
        if demo.bot is not None and demo.bot.died:
            story.line(f"\n演示失败：机器人进程意外退出（{demo.bot.proc.returncode}），见 bot.log")
            code = 1
        else:
            story.line("\n演示已中断。")
            code = 130
    except Exception as exc:  # noqa: BLE001 — any failure: say what, where the logs are, and clean up
        story.line(f"\n演示失败：{exc}")
        if verbose or not isinstance(exc, DemoError):
            story.line(traceback.format_exc())
        code = 1
    finally:
        demo.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code == 0:
        story.line()
        story.line(f"演示完成，用时 {time.monotonic() - started:.1f} 秒。数据库、日志、演示记录和报表都在这个文件夹：")
    else:
        story.line("记录和日志（bot.log）在这个文件夹：")
    story.line(str(folder))
    story.close()
    return code, demo
