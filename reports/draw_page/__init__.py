"""The draw verification page (SPEC §5.11): one self-contained HTML file that carries a draw record and re-runs
algorithm v1 in any browser. Pure: a record in, the page's bytes out.

The page is this package's four files put together: `page.html` (the frame, with a Content-Security-Policy that
allows no network at all), `page.css`, `verifier.js` (a second implementation of SPEC §5 in JavaScript, sharing
nothing with bot/rules/drawalgo.py) and `page.js` (the view). The record and the texts of one language
(bot/texts/page.py) are embedded as JSON; nothing is fetched.

The record is the export of `python -m bot draw export` (bot.services.draw_announcements.published_record); its
`announced` block (time, who drew, the names of drawn targets and inspectors as announced) is shown, never
verified: the check is on the codes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Mapping

from bot.texts import CATALOG, DEFAULT_LANG
from reports import file_stem

HERE = Path(__file__).parent
PAGE_KIND = "抽取核验"
_MARKER = re.compile(r"@@([A-Z]+)@@")


@cache
def _asset(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def page_filename(number: str | None, draw_id: Any = None) -> str:
    """`<campaign number>_抽取核验.html` (the draw's id when the record names no campaign)."""
    stem = file_stem(number) if number else f"抽取{draw_id if draw_id is not None else ''}"
    return f"{stem}_{PAGE_KIND}.html"


def _json_for_script(value: Any) -> str:
    """JSON that cannot end its <script> element or open a comment: <, > and & as \\u escapes (valid JSON)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_texts(lang: str = DEFAULT_LANG) -> dict[str, str]:
    return {key: entry.get(lang) or entry[DEFAULT_LANG] for key, entry in CATALOG.items() if key.startswith("page.")}


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def build_draw_page(record: Mapping[str, Any], *, lang: str = DEFAULT_LANG) -> bytes:
    """The page for `record` (a draw record as exported), its texts in `lang`, as UTF-8 bytes."""
    texts = page_texts(lang)
    campaign = record.get("campaign") if isinstance(record.get("campaign"), Mapping) else {}
    number = str(campaign.get("number") or record.get("draw_id") or "")
    parts = {
        "LANG": texts["page.lang"],
        "TITLE": _escape_html(texts["page.title"].format(number=number)),
        "HEADING": _escape_html(texts["page.heading"]),
        "NOSCRIPT": _escape_html(texts["page.noscript"]),
        "STYLE": _asset("page.css"),
        "TEXTS": _json_for_script(texts),
        "RECORD": _json_for_script(record),
        "VERIFIER": _asset("verifier.js"),
        "PAGE": _asset("page.js"),
    }
    html = _MARKER.sub(lambda m: parts[m.group(1)], _asset("page.html"))  # one pass: no value is scanned again
    return html.encode("utf-8")
