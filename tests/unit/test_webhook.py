"""bot.runtime.webhook's request handler in-process: a POST is answered 200 only after its update has been handled,
one update at a time in arrival order; a wrong secret, a body that is not an update and a stopping bot are
refused without handling (Telegram sends the update again). The default secret comes from the token."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from telegram import Bot
from tornado.httpserver import HTTPServer

from bot.runtime import webhook
from bot.config import ConfigError, config_from_dict

SECRET = "s3cret_-X"


class FakeApp:
    """What the handler needs of an Application: `bot` and `process_update` (recorded, slow for update 1)."""

    def __init__(self) -> None:
        self.bot = Bot("123:TEST")
        self.events: list[tuple[str, int, float]] = []

    async def process_update(self, update) -> None:
        self.events.append(("start", update.update_id, time.monotonic()))
        await asyncio.sleep(0.3 if update.update_id == 1 else 0)
        self.events.append(("end", update.update_id, time.monotonic()))


def _update(update_id: int) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": "hi",
                                                "chat": {"id": 1, "type": "private", "first_name": "A"}}}


@pytest.fixture
async def served():
    app = FakeApp()
    hook = webhook._Hook(app, SECRET)  # noqa: SLF001 - the handler's shared state, as run() builds it
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tg/hook"
    server = HTTPServer(webhook.web_app(hook, url))
    server.listen(port, address="127.0.0.1")
    async with httpx.AsyncClient(timeout=10) as client:
        yield app, hook, client, url
    server.stop()
    await server.close_all_connections()


async def _post(client: httpx.AsyncClient, url: str, body, secret: str | None = SECRET) -> tuple[int, float]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    kwargs = {"json": body} if not isinstance(body, bytes) else {"content": body}
    answer = await client.post(url, headers=headers, **kwargs)
    return answer.status_code, time.monotonic()


async def test_answered_after_handling_one_at_a_time_in_order(served):
    app, _hook, client, url = served
    first = asyncio.create_task(_post(client, url, _update(1)))
    await asyncio.sleep(0.05)  # update 1 is being handled when update 2 arrives
    second = asyncio.create_task(_post(client, url + "/", _update(2)))
    (status1, answered1), (status2, answered2) = await asyncio.gather(first, second)
    assert (status1, status2) == (200, 200)
    assert [(kind, uid) for kind, uid, _ in app.events] == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]
    ended = {uid: at for kind, uid, at in app.events if kind == "end"}
    assert answered1 >= ended[1] and answered2 >= ended[2]  # 200 only once handled


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
async def test_wrong_or_missing_secret_is_refused_unhandled(served, secret):
    app, _hook, client, url = served
    assert (await _post(client, url, _update(3), secret))[0] == 403
    assert app.events == []


async def test_not_an_update_is_a_bad_request(served):
    app, _hook, client, url = served
    assert (await _post(client, url, b"{not json"))[0] == 400
    assert (await _post(client, url, [1, 2]))[0] == 400
    assert app.events == []


async def test_other_paths_and_methods_are_not_served(served):
    app, _hook, client, url = served
    assert (await _post(client, url.rsplit("/", 1)[0] + "/other", _update(4)))[0] == 404
    assert (await client.get(url)).status_code == 405
    assert app.events == []


async def test_a_stopping_bot_does_not_take_new_updates(served):
    app, hook, client, url = served
    hook.stopping = True
    assert (await _post(client, url, _update(5)))[0] == 503  # not 2xx: Telegram delivers it again later
    assert app.events == []


def test_the_default_secret_is_derived_from_the_token_and_stable():
    a = config_from_dict({"bot": {"token": "1:A"}}).bot
    assert a.webhook_secret_token() == config_from_dict({"bot": {"token": "1:A"}}).bot.webhook_secret_token()
    assert a.webhook_secret_token() != config_from_dict({"bot": {"token": "1:B"}}).bot.webhook_secret_token()
    assert len(a.webhook_secret_token()) == 64 and "1:A" not in a.webhook_secret_token()
    assert config_from_dict({"bot": {"token": "1:A", "webhook_secret": "mine"}}).bot.webhook_secret_token() == "mine"
    with pytest.raises(ConfigError, match="bot.webhook_secret"):
        config_from_dict({"bot": {"webhook_secret": "has space"}})
