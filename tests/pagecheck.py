"""Reading the draw verification page (SPEC §5.11) in headless Chromium the way a reader sees it: the verdict, the
named differences. The browser fixtures (`chromium`, `page`) are in tests/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.devtools.browser import Page


@dataclass(frozen=True)
class Verdict:
    state: str  # done | error
    word: str  # 一致 | 不一致 | 无法核验 (what the page shows)
    detail: str
    fields: tuple[str, ...]  # each difference's data-field, in order
    lines: tuple[str, ...]  # each difference as the reader sees it
    crypto: str | None

    @property
    def ok(self) -> bool:
        return self.word == "一致"


READ = """(() => ({
  state: document.body.dataset.state,
  word: document.getElementById('verdict').innerText.trim(),
  detail: document.getElementById('verdict-detail').innerText.trim(),
  fields: [...document.querySelectorAll('#differences li')].map(li => li.dataset.field),
  lines: [...document.querySelectorAll('#differences li')].map(li => li.innerText),
  crypto: document.body.dataset.crypto || null,
}))()"""


def read_verdict(page: Page, *, timeout: float = 60) -> Verdict:
    """Wait until the page has a verdict and read it from the rendered page."""
    page.wait_for("['done', 'error'].includes(document.body.dataset.state)", timeout=timeout)
    v = page.evaluate(READ)
    return Verdict(v["state"], v["word"], v["detail"], tuple(v["fields"]), tuple(v["lines"]), v["crypto"])


def open_page(page: Page, path: Path, *, timeout: float = 60) -> Verdict:
    page.goto(path.resolve().as_uri(), timeout=timeout)
    return read_verdict(page, timeout=timeout)


def pick_file(page: Page, path: Path, *, timeout: float = 60) -> Verdict:
    """Verify another record with the page's file picker, as a reader would."""
    page.set_files("#record-file", path)
    page.wait_for(f"document.getElementById('file-note').innerText.includes({path.name!r})", timeout=timeout)
    return read_verdict(page, timeout=timeout)


def python_fields(mismatches) -> tuple[str, ...]:  # noqa: ANN001
    """`draw verify`'s mismatch lines as the page's field names."""
    out = []
    for line in mismatches:
        if line.startswith("seed does not match"):
            out.append("seed")
        elif line.startswith(("malformed record", "algorithm ")):
            out.append("record")
        elif line.startswith("re-running the draw fails"):
            out.append("rerun")
        else:
            out.append(line.split(":")[0])
    return tuple(out)
