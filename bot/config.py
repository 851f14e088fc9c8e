"""Configuration: `config.toml` read with tomllib into frozen dataclasses (SPEC §10).

Every key has a default, so a file holding only `[bot] token` works. Environment variables `BOT_TOKEN`,
`DINGTALK_CLIENT_ID`, `DINGTALK_CLIENT_SECRET`, `DATABASE_URL` and `BOT_CONFIG` (the file's path) override it. An unknown key is a warning naming it (typos);
a bad value raises `ConfigError` whose message is one line naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.rules.codes import (DEFAULT_CODE_SET, FACT_KEYS, RECORD_FORM_LABELS, CodeSet, CodeSetError,
                             code_set_from_config)
from bot.rules.credit import DEFAULT_CREDIT_SCHEME, CreditScheme, CreditSchemeError, credit_scheme_from_config

DEFAULT_CODES: dict[int, str] = dict(RECORD_FORM_LABELS)  # the record form's ten (bot.rules.codes)

DEFAULT_CONFIG_PATH = "config.toml"


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message is one line naming the key."""


@dataclass(frozen=True)
class BotSection:
    token: str = ""
    platform: str = "telegram"  # or "dingtalk" (SPEC §11): one messenger per deployment
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: str = "polling"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every webhook POST; "" = derived from the token
    # (stable across restarts and processes; see webhook_secret_token).
    webhook_secret: str = ""
    group_chat_id: int = 0
    language: str = "zh"
    timezone: str = "Asia/Shanghai"

    def webhook_secret_token(self) -> str:
        """The webhook's secret: `webhook_secret`, else HMAC-SHA256(token, "webhook-secret") in hex — every process
        with the same token expects the same secret, and nobody without the token can forge an update."""
        if self.webhook_secret:
            return self.webhook_secret
        return hmac.new(self.token.encode(), b"webhook-secret", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class DatabaseSection:
    url: str = "sqlite:///data/shuangsui.db"


@dataclass(frozen=True)
class AccessSection:
    admins: tuple[int, ...] = ()


@dataclass(frozen=True)
class RulesSection:
    inspectors_per_department: int = 2
    max_inspections_per_target_per_year: int = 2
    result_entry_workdays: int = 20
    publication_workdays: int = 15
    invite_code_hours: int = 72
    max_upload_mb: int = 10


@dataclass(frozen=True)
class RemindersSection:
    time: str = "09:00"  # local time of the daily checks, "HH:MM" ("HH:MM:SS" accepted)
    before_workdays: tuple[int, ...] = (5, 3, 1)
    enabled: bool = True  # the running bot's daily job (`python -m bot tick` works either way)

    def at(self) -> dt.time:
        """`time` as a time of day; ValueError when it is not "HH:MM" or "HH:MM:SS"."""
        parts = self.time.split(":")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError(self.time)
        return dt.time(*(int(p) for p in parts))


@dataclass(frozen=True)
class CalendarSection:
    extra_holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class OutboxSection:
    # A message claimed by a worker that died (kill -9, power loss) is sent by the next worker after this long.
    # Keep it above the slowest send (a big workbook upload): a send outliving its lease may be sent twice.
    lease_seconds: int = 120


@dataclass(frozen=True)
class DingTalkSection:
    """钉钉 (SPEC §11): the enterprise internal app's keys, its robot and card template, and admins by userId."""

    client_id: str = ""  # AppKey (or DINGTALK_CLIENT_ID)
    client_secret: str = ""  # AppSecret (or DINGTALK_CLIENT_SECRET)
    robot_code: str = ""  # defaults to client_id
    card_template_id: str = ""  # the card template built as README describes (content + buttons)
    admins: tuple[str, ...] = ()  # 钉钉 userIds bootstrapped as admins
    openapi_endpoint: str = "https://api.dingtalk.com"
    oapi_endpoint: str = "https://oapi.dingtalk.com"

    @property
    def robot(self) -> str:
        return self.robot_code or self.client_id


@dataclass(frozen=True)
class Config:
    bot: BotSection = field(default_factory=BotSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    access: AccessSection = field(default_factory=AccessSection)
    rules: RulesSection = field(default_factory=RulesSection)
    reminders: RemindersSection = field(default_factory=RemindersSection)
    calendar: CalendarSection = field(default_factory=CalendarSection)
    outbox: OutboxSection = field(default_factory=OutboxSection)
    dingtalk: DingTalkSection = field(default_factory=DingTalkSection)
    code_set: CodeSet = DEFAULT_CODE_SET  # [codes]: built once, passed to whatever needs a code's meaning
    credit_scheme: CreditScheme = DEFAULT_CREDIT_SCHEME  # [credit]: the credit-risk classes and their words
    warnings: tuple[str, ...] = ()
    source: str = ""

    @property
    def codes(self) -> Mapping[int, str]:
        """code → label, in code order (the labels of `code_set`)."""
        return self.code_set.labels

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    def require_token(self) -> str:
        if self.bot.platform != "telegram":
            return self.bot.token or self.bot.platform  # PTB wants a token; the bridge never sends it anywhere
        if not self.bot.token:
            raise ConfigError(
                "bot.token is not set: put it in config.toml under [bot] token, or set BOT_TOKEN"
            )
        return self.bot.token


_SECTIONS: dict[str, type] = {
    "bot": BotSection,
    "database": DatabaseSection,
    "access": AccessSection,
    "rules": RulesSection,
    "reminders": RemindersSection,
    "calendar": CalendarSection,
    "outbox": OutboxSection,
    "dingtalk": DingTalkSection,
}


def _coerce(key: str, value: Any, default: Any, annotation: str) -> Any:
    """Check one value against the type of its default; raise ConfigError naming the key."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if "dt.date" in annotation:
            out = []
            for v in value:
                if isinstance(v, dt.date):
                    out.append(v)
                    continue
                try:
                    out.append(dt.date.fromisoformat(str(v)))
                except ValueError:
                    raise ConfigError(f"{key}: {v!r} is not a date (YYYY-MM-DD)") from None
            return tuple(out)
        if "tuple[str" in annotation:
            if not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigError(f"{key}: expected a list of non-empty strings, got {value!r}")
            return tuple(v.strip() for v in value)
        for v in value:
            if not isinstance(v, int) or isinstance(v, bool):
                raise ConfigError(f"{key}: expected a list of integers, got {v!r}")
        return tuple(value)
    return value


def _build_section(name: str, cls: type, raw: Any, warnings: list[str]) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}]: expected a table, got {raw!r}")
    defaults = cls()
    kwargs: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        if key not in known:
            warnings.append(f"unknown key {name}.{key} ignored (typo?)")
            continue
        kwargs[key] = _coerce(f"{name}.{key}", value, getattr(defaults, key), str(known[key].type))
    return cls(**kwargs)


def _validate(cfg: Config) -> None:
    if cfg.bot.platform not in ("telegram", "dingtalk"):
        raise ConfigError(f'bot.platform: expected "telegram" or "dingtalk", got {cfg.bot.platform!r}')
    if cfg.bot.platform == "dingtalk":
        d = cfg.dingtalk
        for key in ("client_id", "client_secret", "card_template_id"):
            if not getattr(d, key):
                raise ConfigError(f"dingtalk.{key}: required when bot.platform = \"dingtalk\"")
        if cfg.bot.mode != "polling":
            raise ConfigError('bot.mode: 钉钉 events come over Stream mode; use mode = "polling" (the default)')
    if cfg.bot.mode not in ("polling", "webhook"):
        raise ConfigError(f'bot.mode: expected "polling" or "webhook", got {cfg.bot.mode!r}')
    if cfg.bot.mode == "webhook" and not cfg.bot.webhook_url:
        raise ConfigError('bot.webhook_url: required when bot.mode = "webhook"')
    if cfg.bot.webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", cfg.bot.webhook_secret):
        raise ConfigError("bot.webhook_secret: 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
    if cfg.bot.language not in ("zh", "en"):
        raise ConfigError(f'bot.language: expected "zh" or "en", got {cfg.bot.language!r}')
    try:
        ZoneInfo(cfg.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"bot.timezone: unknown time zone {cfg.bot.timezone!r}") from None
    try:
        cfg.reminders.at()
    except ValueError:
        raise ConfigError(f'reminders.time: expected "HH:MM", got {cfg.reminders.time!r}') from None
    if cfg.outbox.lease_seconds < 5:
        raise ConfigError("outbox.lease_seconds: must be at least 5")
    if any(n <= 0 for n in cfg.reminders.before_workdays):
        raise ConfigError("reminders.before_workdays: every entry must be a positive integer")
    r = cfg.rules
    if r.inspectors_per_department < 1:
        raise ConfigError("rules.inspectors_per_department: must be at least 1")
    for key in ("max_inspections_per_target_per_year", "result_entry_workdays", "publication_workdays",
                "invite_code_hours", "max_upload_mb"):
        if getattr(r, key) <= 0:
            raise ConfigError(f"rules.{key}: must be a positive integer")
    if not cfg.database.url or "://" not in cfg.database.url:
        raise ConfigError(f"database.url: not a database URL: {cfg.database.url!r}")


def _parse_codes(raw: Any) -> CodeSet:
    """`[codes]`: labels by code number, and `problems`, `follow_up`, `clean` (bot.rules.codes says which facts
    default and when the table must give them)."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("[codes]: expected a table like 1 = \"未发现问题\"")
    labels: dict[int, str] = {}
    facts: dict[str, Any] = {}
    for key, value in raw.items():
        if key in FACT_KEYS:
            facts[key] = value
            continue
        try:
            code = int(key)
        except ValueError:
            raise ConfigError(f"codes.{key}: the key must be a code number or one of "
                              f"{', '.join(FACT_KEYS)}") from None
        if code <= 0 or not isinstance(value, str) or not value.strip():
            raise ConfigError(f"codes.{key}: expected a positive code and a non-empty label")
        labels[code] = value.strip()
    problems = facts.get("problems")
    if problems is not None and (not isinstance(problems, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in problems)):
        raise ConfigError(f"codes.problems: expected a list of code numbers, got {problems!r}")
    for key in ("follow_up", "clean"):
        value = facts.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ConfigError(f"codes.{key}: expected a code number (0 for none), got {value!r}")
    try:
        return code_set_from_config(labels or None, problems=problems, follow_up=facts.get("follow_up"),
                                    clean=facts.get("clean"))
    except CodeSetError as exc:
        raise ConfigError(f"codes.{exc.key}: {exc}") from None


CREDIT_KEYS = ("classes", "aliases")


def _parse_credit(raw: Any) -> CreditScheme:
    """`[credit]`: `classes` (canonical names in order) and `aliases` (class → other words); bot.rules.credit says
    what is defaulted."""
    if not isinstance(raw, dict):
        raise ConfigError(f"[credit]: expected a table, got {raw!r}")
    for key in raw:
        if key not in CREDIT_KEYS:
            raise ConfigError(f"credit.{key}: unknown key; expected {' or '.join(CREDIT_KEYS)}")
    classes = raw.get("classes")
    if classes is not None and not isinstance(classes, list):
        raise ConfigError(f"credit.classes: expected a list of class names, got {classes!r}")
    aliases = raw.get("aliases")
    if aliases is not None and not isinstance(aliases, dict):
        raise ConfigError(f"credit.aliases: expected a table like A = [\"低风险\"], got {aliases!r}")
    try:
        return credit_scheme_from_config(classes, aliases)
    except CreditSchemeError as exc:
        raise ConfigError(f"credit.{exc.key}: {exc}") from None


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if it exists) and apply environment overrides."""
    env = os.environ if env is None else env
    path = path or env.get("BOT_CONFIG") or DEFAULT_CONFIG_PATH
    p = Path(path)
    raw: dict[str, Any] = {}
    if p.exists():
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    elif env.get("BOT_CONFIG"):
        raise ConfigError(f"BOT_CONFIG: file {p} does not exist")
    return config_from_dict(raw, env=env, source=str(p))


def config_from_dict(raw: Mapping[str, Any], env: Mapping[str, str] | None = None, source: str = "") -> Config:
    env = {} if env is None else env
    warnings: list[str] = []
    sections: dict[str, Any] = {}
    code_set = DEFAULT_CODE_SET
    credit_scheme = DEFAULT_CREDIT_SCHEME
    for name, value in raw.items():
        if name in _SECTIONS:
            sections[name] = _build_section(name, _SECTIONS[name], value, warnings)
        elif name == "codes":
            code_set = _parse_codes(value)
        elif name == "credit":
            credit_scheme = _parse_credit(value)
        else:
            warnings.append(f"unknown section [{name}] ignored (typo?)")
    cfg = Config(**sections, code_set=code_set, credit_scheme=credit_scheme, warnings=tuple(warnings), source=source)
    cfg = apply_env(cfg, env)
    _validate(cfg)
    return cfg


def apply_env(cfg: Config, env: Mapping[str, str]) -> Config:
    """Environment overrides, in one place."""
    if env.get("BOT_TOKEN"):
        cfg = dataclasses.replace(cfg, bot=dataclasses.replace(cfg.bot, token=env["BOT_TOKEN"]))
    if env.get("DATABASE_URL"):
        cfg = dataclasses.replace(cfg, database=DatabaseSection(url=env["DATABASE_URL"]))
    for key in ("client_id", "client_secret"):
        if env.get(f"DINGTALK_{key.upper()}"):
            cfg = dataclasses.replace(cfg, dingtalk=dataclasses.replace(cfg.dingtalk,
                                                                        **{key: env[f"DINGTALK_{key.upper()}"]}))
    return cfg
