"""A county ready for a draw: the sample directories, bound accounts, the bound group and the SPEC §4 plan."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.services import campaigns, identity
from bot.config import config_from_dict
from bot.services.directory_import import import_workbook
from bot.devtools.sample_data import sample_workbook
from models import Person

GROUP_ID = -1001000
LEADER_TG = 6101
PLAN = {
    "title": "2022年全县互联网上网服务营业场所经营活动联合抽查",
    "lead": "西华县文化广电和旅游局",
    "departments": ["西华县文化广电和旅游局", "西华县市场监督管理局", "西华县公安局", "西华县消防救援大队"],
    "scope": ["互联网上网服务营业场所"],
    "window": {"start": dt.date(2022, 9, 26), "end": dt.date(2022, 9, 28)},
    "inspectors_per_department": 2,
    "targets_per_group": 5,
    "summary_due": dt.date(2022, 9, 30),
    "sampling": {"ratio": 0.5},
    "items": {
        "西华县文化广电和旅游局": ["网络文化经营许可证的许可情况", "接纳未成年人进入营业场所情况"],
        "西华县市场监督管理局": ["主体注册登记情况"],
        "西华县公安局": ["利用营业场所制作、下载、复制、查阅、发布、传播违法信息情况"],
        "西华县消防救援大队": ["消防安全检查合格及消防安全职责履行情况"],
    },
}


def tg_id(person_id: int) -> int:
    return 7000 + person_id


def prepare(sessions, *, bind_all: bool = True, plan: dict | None = None, n_targets: int = 30) -> int:
    """Import, bind everybody (Telegram id 7000 + person id; 马勇 the leader gets LEADER_TG), bind the group,
    create the campaign; returns its id."""
    cfg = config_from_dict({})
    with sessions.begin() as s:
        outcome = import_workbook(s, sample_workbook(n_targets=n_targets), actor="test", filename="sample.xlsx",
                                  today=dt.date(2022, 9, 1))
        assert outcome.ok, outcome.summary("zh")
    with sessions.begin() as s:
        for p in s.scalars(select(Person)):
            if p.name == "马勇":
                p.telegram_user_id = LEADER_TG
            elif bind_all:
                p.telegram_user_id = tg_id(p.id)
        identity.bind_group(s, GROUP_ID, actor="test", title="联合抽查工作群")
        created = campaigns.create_campaign(s, plan or PLAN, cfg=cfg, actor="test")
        return created.campaign.id
