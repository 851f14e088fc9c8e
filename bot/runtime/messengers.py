"""Which messenger a deployment runs on (`[bot] platform`, SPEC §11). Telegram needs nothing here: PTB speaks to
it directly. 钉钉 gets the bridge (bot.runtime.platform.bridge) over our 钉钉 adapter (bot.runtime.dingtalk)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.runtime.platform import store
from bot.runtime.platform.bridge import BridgeRequest


def bridge_request(cfg: Config, sessions: sessionmaker[Session]) -> BridgeRequest | None:
    """The PTB request object for a messenger other than Telegram; None on Telegram."""
    if cfg.bot.platform == "telegram":
        return None
    from bot.runtime.dingtalk.adapter import DingTalkMessenger
    from bot.runtime.dingtalk.client import DingTalkClient

    d = cfg.dingtalk
    client = DingTalkClient(d.client_id, d.client_secret, robot_code=d.robot, openapi_endpoint=d.openapi_endpoint,
                            oapi_endpoint=d.oapi_endpoint, card_template_id=d.card_template_id)
    messenger = DingTalkMessenger(client, robot_code=d.robot, card_template_id=d.card_template_id)
    return BridgeRequest(messenger, sessions, language=cfg.bot.language)


def with_platform_admins(cfg: Config, sessions: sessionmaker[Session]) -> Config:
    """`[dingtalk] admins` (userIds) added to `[access] admins` as the bridge's stable integer ids."""
    if cfg.bot.platform != "dingtalk" or not cfg.dingtalk.admins:
        return cfg
    with sessions.begin() as session:
        ids = tuple(store.user_id(session, "dingtalk", staff_id) for staff_id in cfg.dingtalk.admins)
    admins = tuple(dict.fromkeys(cfg.access.admins + ids))
    return dataclasses.replace(cfg, access=dataclasses.replace(cfg.access, admins=admins))
