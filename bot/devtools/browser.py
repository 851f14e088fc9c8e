"""A headless Chromium driven over the DevTools protocol, for the draw page's tests and benchmark (SPEC §5.11).

No driver package: Debian's `chromium` (installed by `.ci/run` when missing, see `.ci/chromium`) is started with
`--remote-debugging-port=0` and spoken to over one WebSocket (the `websockets` package the 钉钉 client already
pins). Only what the tests need: open a page, evaluate an expression, wait for a condition, set a file input,
dispatch a drop, read the network requests, print to PDF, take a screenshot.

    with Chromium() as browser:
        page = browser.new_page()
        page.goto(Path("draw.html").resolve().as_uri())
        page.wait_for("document.body.dataset.state === 'done'")
        print(page.evaluate("document.getElementById('verdict').innerText"))
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "headless Chromium is needed: run .ci/chromium (it installs Debian's chromium package)"


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, else the first of CANDIDATES on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless browser process; pages are its tabs, driven over one flattened DevTools session each."""

    def __init__(self, executable: str | None = None, *, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError(INSTALL_HINT)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self._proc: subprocess.Popen | None = None
        self._ws = None
        self._profile: tempfile.TemporaryDirectory | None = None
        self._stack = contextlib.ExitStack()

    # -------------------------------------------------------------------------------------------- lifetime
    def start(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        args = [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--remote-debugging-port=0", "--remote-allow-origins=*",
                f"--user-data-dir={self._profile.name}", "about:blank"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        deadline = time.monotonic() + self.timeout
        url = None
        lines = []
        while time.monotonic() < deadline:
            line = self._proc.stderr.readline()
            if not line:
                if self._proc.poll() is not None:
                    break
                continue
            lines.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            self.close()
            raise BrowserError("Chromium did not start: " + "".join(lines[-10:]))
        # stderr must keep draining or a chatty browser would block on a full pipe
        self._drain = subprocess.Popen(["cat"], stdin=self._proc.stderr, stdout=subprocess.DEVNULL)
        self._ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=self.timeout))
        return self

    def close(self) -> None:
        if self._ws is not None:
            self._ws = None
            try:
                self._stack.close()
            except Exception:  # noqa: BLE001 — the browser may be gone already; closing anyway
                pass
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait(10)
            self._proc = None
        drain = getattr(self, "_drain", None)
        if drain is not None:
            drain.wait(10)
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> str:
        return self.call("Browser.getVersion")["product"]

    # -------------------------------------------------------------------------------------------- protocol
    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        if self._ws is None:
            raise BrowserError("the browser is not running")
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"{method}: no answer in {timeout or self.timeout} s")
            try:
                raw = self._ws.recv(timeout=left)
            except TimeoutError:
                continue
            data = json.loads(raw)
            if data.get("id") == ident:
                if "error" in data:
                    raise BrowserError(f"{method}: {data['error']}")
                return data.get("result", {})
            if "method" in data:
                self._events.append(data)

    def events(self, method: str, session: str | None = None) -> list[dict[str, Any]]:
        return [e["params"] for e in self._events if e["method"] == method
                and (session is None or e.get("sessionId") == session)]

    def new_page(self) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Network"):
            page.call(f"{domain}.enable")
        return page


class Page:
    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> dict:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def goto(self, url: str, *, timeout: float | None = None) -> None:
        """Navigate and wait for the load event."""
        before = len(self.browser.events("Page.loadEventFired", self.session))
        answer = self.call("Page.navigate", {"url": url}, timeout=timeout)
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        self.wait(lambda: len(self.browser.events("Page.loadEventFired", self.session)) > before,
                  timeout=timeout, what=f"the load of {url}")

    def wait(self, condition, *, timeout: float | None = None, what: str = "a condition") -> None:  # noqa: ANN001
        deadline = time.monotonic() + (timeout or self.browser.timeout)
        while not condition():
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {what}")
            self.evaluate("0")  # a round trip: lets pending events arrive
            time.sleep(0.02)

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression[:80]}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float | None = None) -> Any:
        """Poll until the expression is truthy; its value."""
        deadline = time.monotonic() + (timeout or self.browser.timeout)
        while True:
            value = self.evaluate(expression, timeout=timeout)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            time.sleep(0.02)

    def set_files(self, selector: str, *paths: str | Path) -> None:
        """Choose files in an <input type=file>, as a person would in the picker (fires its change event)."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise BrowserError(f"no element matches {selector}")
        self.call("DOM.setFileInputFiles", {"nodeId": node, "files": [str(Path(p).resolve()) for p in paths]})

    def requests(self) -> list[str]:
        """The URLs this page asked for since it was opened."""
        return [e["request"]["url"] for e in self.browser.events("Network.requestWillBeSent", self.session)]

    def pdf(self) -> bytes:
        return base64.b64decode(self.call("Page.printToPDF", {"printBackground": False})["data"])

    def screenshot(self, path: str | Path, *, width: int = 420, height: int = 900, mobile: bool = True) -> None:
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": mobile})
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})
