"""End-to-end in webhook mode (issue 7): the real bot process sets its webhook on the Bot API emulator, which
POSTs the updates to it the way Telegram does (with the secret token header); the bot answers a POST only
after it has handled the update, so a `kill -9` mid-update makes the emulator deliver it again."""

from __future__ import annotations

import json
import socket
from pathlib import Path
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

from bot.devtools.botapi_emulator import FakeBotAPI
from bot.devtools.simulated_users import ScriptedInspector
from models import Assignment, DrawGroup, GroupTarget, Person, ProcessedUpdate, ResultDraft, Submission
from tests.e2e.conftest import BotProcess, drawn_database, webhook_emulator

pytestmark = pytest.mark.e2e

SECRET = "e2e-webhook_Secret-42"
STRANGER = 5555  # a Telegram user the bot does not know (no outbox traffic to their chat)


class WebhookBot(BotProcess):
    ready = "webhook as @"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def emu():
    with webhook_emulator() as api:
        yield api


@pytest.fixture
def drawn(db_url):
    with drawn_database(db_url) as (sessions, _cid):
        yield sessions


def use_webhook(config: Path, secret: str = SECRET) -> str:
    """Switch an e2e config file to webhook mode on a free local port; returns the webhook URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook-7f3a"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[bot]\n", f'[bot]\nmode = "webhook"\nwebhook_url = "{url}"\n'
                                   f'webhook_listen = "127.0.0.1"\nwebhook_port = {port}\n'
                                   f'webhook_secret = "{secret}"\n', 1), encoding="utf-8")
    return url


@pytest.fixture
def hook_url(bot_config) -> str:
    return use_webhook(bot_config)


@pytest.fixture
def hook_bot(drawn, hook_url, bot_config, tmp_path, emu):
    proc = WebhookBot(bot_config, tmp_path / "bot.log")
    proc.start(emu)
    yield proc
    proc.stop()


def _inspector(sessions) -> Person:
    with sessions.begin() as s:
        group = s.scalars(select(DrawGroup).order_by(DrawGroup.number)).first()
        person = s.scalars(select(Person).join(Assignment, Assignment.person_id == Person.id)
                           .where(Assignment.group_id == group.id).order_by(Assignment.position)).first()
        s.expunge(person)
        return person


def _settled(emu: FakeBotAPI, user_id: int, timeout: float = 30) -> None:
    emu.wait_for(lambda e: user_id not in e.pending_senders(), timeout=timeout)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_webhook_mode_start_help_press_and_a_clean_stop(emu, drawn, hook_url, hook_bot):
    [set_hook] = emu.calls_to("setWebhook")
    assert set_hook.params["url"] == hook_url and set_hook.params["secret_token"] == SECRET
    person = _inspector(drawn)
    user = emu.user(person.telegram_user_id, person.name)

    user.send("/start")
    _settled(emu, user.id)
    assert person.name in emu.sent_to(user)[-1].text
    user.send("/help")
    _settled(emu, user.id)
    assert "/enter" in emu.sent_to(user)[-1].text
    user.send("/lang")
    _settled(emu, user.id)
    query = user.press(emu.sent_to(user)[-1], "English")
    _settled(emu, user.id)
    assert emu.callback_answer(query) is not None
    assert emu.sent_to(user)[-1].text == "Interface language set to English."
    with drawn.begin() as s:
        assert s.get(Person, person.id).language == "en"

    # Every update came by webhook, with the secret, and was answered 2xx; the bot never polled.
    deliveries = emu.webhook_deliveries
    assert len(deliveries) == 4 and all(d.ok for d in deliveries), deliveries
    assert {d.headers["X-Telegram-Bot-Api-Secret-Token"] for d in deliveries} == {SECRET}
    assert {d.url for d in deliveries} == {hook_url}
    assert not emu.calls_to("getUpdates")

    hook_bot.stop()  # SIGTERM
    assert hook_bot.proc.returncode == 0, hook_bot.log()
    assert "Traceback" not in hook_bot.log()


def test_a_post_without_the_right_secret_is_refused_and_not_handled(emu, drawn, hook_url, hook_bot):
    update = {"update_id": 900001, "message": {
        "message_id": 1, "date": 1700000000, "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        "chat": {"id": STRANGER, "type": "private", "first_name": "X"},
        "from": {"id": STRANGER, "is_bot": False, "first_name": "X"}}}
    body = json.dumps(update).encode()
    emu.user(STRANGER, "X")
    json_type = {"Content-Type": "application/json"}
    assert _post(hook_url, body, json_type) == 403
    assert _post(hook_url, body, {**json_type, "X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
    assert _post(hook_url, b"{not json", {**json_type, "X-Telegram-Bot-Api-Secret-Token": SECRET}) == 400
    with drawn.begin() as s:
        assert s.get(ProcessedUpdate, 900001) is None
    assert not emu.sent_to(STRANGER)
    # the same POST with the secret is handled, and only then answered 200
    assert _post(hook_url, body, {**json_type, "X-Telegram-Bot-Api-Secret-Token": SECRET}) == 200
    assert emu.sent_to(STRANGER) and "/start" in emu.sent_to(STRANGER)[0].text
    with drawn.begin() as s:
        assert s.get(ProcessedUpdate, 900001) is not None


def test_kill9_before_the_update_is_handled_redelivers_it(emu, drawn, hook_bot):
    """The bot is killed while /help is being answered (its sendMessage held, then lost): no 200 went out, so
    the emulator delivers the update again to the restarted bot, which answers it. (PTB's run_webhook answers
    200 before handling: the update would be gone and the user never answered.)"""
    user = emu.user(STRANGER, "陌生人")
    emu.delay("sendMessage", 30, times=1, chat_id=STRANGER)
    emu.fail("sendMessage", status=500, times=1, chat_id=STRANGER)  # the held reply never arrives
    user.send("/help")
    update_id = emu.pending_updates()[-1]["update_id"]
    emu.wait_for(lambda e: e.in_flight("sendMessage") == 1, timeout=20)
    hook_bot.kill9()
    hook_bot.start(emu)
    _settled(emu, STRANGER)
    replies = [m for m in emu.sent_to(STRANGER) if "/start" in (m.text or "")]
    assert len(replies) == 1, emu.dump()
    tries = [d for d in emu.webhook_deliveries if d.update_id == update_id]
    assert not tries[0].ok and tries[-1].ok and len([d for d in tries if d.ok]) == 1, tries
    with drawn.begin() as s:
        assert s.get(ProcessedUpdate, update_id) is not None


def test_kill9_after_the_update_was_handled_redelivers_it_and_it_is_dropped(emu, drawn, hook_bot):
    """A code pressed in /enter: the draft and the update's marker are committed, then the bot is killed while
    it edits the message. The emulator delivers the press again; the restarted bot drops it as handled. The
    inspector goes on pressing what the bot shows and submits everything."""
    person = _inspector(drawn)

    def done() -> bool:
        with drawn.begin() as s:
            return s.scalar(select(func.count()).select_from(Submission).where(
                Submission.department_id == person.department_id, Submission.target_id.in_(
                    select(GroupTarget.target_id).where(GroupTarget.group_id == group_id)))) == n_targets

    def codes_shown() -> bool:
        msg = inspector.latest_with_buttons()
        return msg is not None and any(text.startswith("1 ") for text in msg.button_texts)

    with drawn.begin() as s:
        group_id = s.scalar(select(Assignment.group_id).where(Assignment.person_id == person.id))
        n_targets = s.scalar(select(func.count()).select_from(GroupTarget).where(GroupTarget.group_id == group_id))
    inspector = ScriptedInspector(emu, person.telegram_user_id, person.name, done)
    inspector.send("/enter")
    while not codes_shown():
        inspector.step()
    prompt = inspector.latest_with_buttons()
    data = prompt.find_button("1 ").data  # ent:c:<gt>:<item>:1
    item_id = int(data.split(":")[3])
    emu.delay("editMessageText", 30, times=1, chat_id=person.telegram_user_id)
    emu.fail("editMessageText", status=500, times=1, chat_id=person.telegram_user_id)
    query = inspector.person.press(prompt, "1 ")
    emu.wait_for(lambda e: e.in_flight("editMessageText") == 1, timeout=20)
    update_id = emu.pending_updates()[-1]["update_id"]
    with drawn.begin() as s:
        assert s.get(ProcessedUpdate, update_id) is not None  # handled and committed, not yet answered 200
    hook_bot.kill9()
    hook_bot.start(emu)
    _settled(emu, person.telegram_user_id)
    assert f"update {update_id} was already handled; dropped" in hook_bot.log()
    tries = [d for d in emu.webhook_deliveries if d.update_id == update_id]
    assert not tries[0].ok and tries[-1].ok, tries
    with drawn.begin() as s:
        drafts = s.scalars(select(ResultDraft).where(ResultDraft.person_id == person.id,
                                                     ResultDraft.item_id == item_id)).all()
        assert [d.code for d in drafts] == [1]
    assert emu.callback_answer(query) is not None
    # the pressed message still shows the codes (its edit was lost); pressing on finishes the entry
    inspector.run()
    assert inspector.error is None, inspector.error
    assert done()
