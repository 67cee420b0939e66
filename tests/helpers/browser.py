"""Headless Chromium driven over the DevTools protocol: navigate, read the DOM, take screenshots.

Only what the UI test needs, on Debian's ``chromium`` binary and the ``websockets`` client (no
browser-automation framework to install)::

    with Chromium(tmp_path / "profile") as page:
        page.set_cookie("_token", token, url=base_url)
        page.navigate(f"{base_url}/dags")
        page.wait_for_text("ai_training_run", timeout=120)
        page.screenshot(tmp_path / "dags.png")

Waits poll the DOM until a condition holds: a page of a single-page application is "loaded" long
before the data it shows has arrived.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from netapp_dataops_airflow.demo import processes

POLL = 0.25
"""Seconds between two looks at the DOM while waiting."""


class BrowserError(AssertionError):
    """The page did not show what was expected in time, or Chromium answered an error."""


def chromium_binary() -> str:
    """Return Debian's ``chromium`` (or a ``chromium-browser``/``google-chrome`` on the PATH)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("no Chromium on the PATH: `apt-get install chromium` (Debian) and run again")


class Chromium:
    """One headless Chromium process with one page (tab), driven over its DevTools websocket.

    :param profile: a fresh directory for Chromium's profile (cookies, cache).
    :param width: viewport width in CSS pixels; the screenshots are this wide.
    :param height: viewport height in CSS pixels.
    """

    def __init__(self, profile: Path, *, width: int = 1440, height: int = 900) -> None:
        self.profile = profile
        # Tags every Chromium process: its crash handlers leave its process group.
        self.marker = f"chromium-{secrets.token_hex(8)}"
        self.width = width
        self.height = height
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: ClientConnection | None = None
        self._ids = itertools.count(1)
        self.exceptions: list[str] = []
        """Uncaught JavaScript exceptions the page reported, in order."""

    def start(self, *, timeout: float = 60.0) -> Chromium:
        """Start Chromium, wait for its DevTools endpoint, attach to its page."""
        self.profile.mkdir(parents=True, exist_ok=True)
        argv = [
            chromium_binary(),
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-dev-shm-usage",  # /dev/shm is small in containers
            "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",  # Chromium picks one and writes it to DevToolsActivePort
            f"--user-data-dir={self.profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        if os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a reused profile's is stale
        self._process = processes.start_group(
            argv, env={**os.environ, processes.MARKER: self.marker}, log=self.profile / "chromium.log"
        )
        try:
            self._attach(timeout)
        except BaseException:
            self.stop()  # a browser that never answered is not left behind
            raise
        return self

    def _attach(self, timeout: float) -> None:
        port_file = self.profile / "DevToolsActivePort"
        port = self._wait(
            lambda: (
                port_file.exists()
                and port_file.read_text().split("\n", 1)[0].strip().isdigit()
                and port_file.read_text().split("\n", 1)[0]
            ),
            timeout,
            f"Chromium's DevTools port (its output: {self.profile / 'chromium.log'})",
        )
        targets = self._wait(lambda: self._pages(int(port)), timeout, "Chromium's first page")
        # Entered as a context manager, as websockets wants (left by stop()). No keepalive pings:
        # Chromium's DevTools server does not answer them, and the connection is local.
        socket = connect(
            targets[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout, ping_interval=None
        )
        self._socket = socket.__enter__()
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Network.enable")
        self.resize(self.width, self.height)

    def _pages(self, port: int) -> list[dict[str, Any]] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                targets = json.loads(answer.read())
        except OSError:
            return None
        pages = [target for target in targets if target.get("type") == "page"]
        return pages or None

    def stop(self) -> None:
        """Close the websocket and stop Chromium (and its helper processes)."""
        if self._socket is not None:
            self._socket.__exit__(None, None, None)
            self._socket = None
        if self._process is not None:
            processes.stop_groups([self._process], grace=10)
            self._process = None
        processes.sweep(self.marker)

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- the protocol -----------------------------------------------------------------------------

    def send(self, method: str, *, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        """Call a DevTools ``method``; return its result. Events arriving meanwhile are recorded."""
        if self._socket is None:
            raise BrowserError(f"{method}: Chromium is not started")
        call_id = next(self._ids)
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"Chromium did not answer {method} in {timeout:.0f} s")
            message = json.loads(self._socket.recv(timeout=remaining))
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return dict(message.get("result", {}))
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            self.exceptions.append(str(description))

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript ``expression`` in the page (promises awaited); return its value."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression[:80]!r} threw: {details.get('exception', details)}")
        return result["result"].get("value")

    # --- what a test does -------------------------------------------------------------------------

    def set_cookie(self, name: str, value: str, *, url: str) -> None:
        """Set a cookie for ``url``'s site, as a login would."""
        self.send("Network.setCookie", name=name, value=value, url=url, path="/")

    def resize(self, width: int, height: int) -> None:
        """Make the viewport ``width`` x ``height`` CSS pixels (what a screenshot shows)."""
        self.width, self.height = width, height
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def navigate(self, url: str) -> None:
        """Open ``url`` (returns when navigation starts: wait for what the page should show)."""
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"opening {url} failed: {result['errorText']}")

    def text(self) -> str:
        """Return the page's visible text (``document.body.innerText``)."""
        return str(self.evaluate("document.body ? document.body.innerText : ''"))

    def wait_for(self, expression: str, *, timeout: float, what: str) -> Any:
        """Poll JavaScript ``expression`` until it is truthy; return its value (``what`` names it)."""
        return self._wait(lambda: self.evaluate(expression), timeout, what)

    def wait_for_text(self, *texts: str, timeout: float) -> str:
        """Wait until the page's text contains every one of ``texts``; return the text."""
        last = ""

        def shown() -> str | None:
            nonlocal last
            last = self.text()
            return last if all(text in last for text in texts) else None

        try:
            return self._wait(shown, timeout, f"text {texts!r}")
        except BrowserError as exc:
            missing = [text for text in texts if text not in last]
            raise BrowserError(f"{exc}; missing {missing!r}; the page shows:\n{last[:3000]}") from None

    def click(self, selector: str, *, text: str | None = None, timeout: float = 60.0) -> None:
        """Click, with the mouse, the first element matching ``selector`` whose text is ``text``."""
        script = f"""(() => {{
            const wanted = {json.dumps(text)};
            const found = [...document.querySelectorAll({json.dumps(selector)})]
                .find(e => wanted === null || e.innerText.trim() === wanted);
            if (!found) return null;
            found.scrollIntoView({{block: 'center'}});
            const box = found.getBoundingClientRect();
            if (box.width === 0 || box.height === 0) return null;
            return [box.x + box.width / 2, box.y + box.height / 2];
        }})()"""
        x, y = self.wait_for(
            script, timeout=timeout, what=f"an element {selector!r} with text {text!r} to click"
        )
        # Some widgets (accordions, menus) react to pointer events, not to a scripted click().
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_into(self, selector: str, text: str, *, timeout: float = 60.0) -> None:
        """Focus the first element matching ``selector`` and type ``text`` as a user would."""
        self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.focus(); return document.activeElement === e; })()",
            timeout=timeout,
            what=f"an element {selector!r} to type into",
        )
        self.send("Input.insertText", text=text)

    def press(self, key: str, *, code: int) -> None:
        """Press and release ``key`` (a DOM key name such as ``Enter``; ``code``: its key code)."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    def settle(self, *, timeout: float = 30.0) -> None:
        """Wait until no animation runs (a dialog fading in), so a screenshot shows the final picture."""
        self.wait_for(
            "document.getAnimations().every(a => a.playState !== 'running'"
            " || a.effect.getComputedTiming().endTime === Infinity)",
            timeout=timeout,
            what="animations to end",
        )

    def screenshot(self, path: Path, *, element: str | None = None, margin: int = 16) -> Path:
        """Save the viewport, or the first ``element`` (CSS selector) with a margin, as PNG to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if element is not None:
            box = self.wait_for(
                f"(() => {{ const e = document.querySelector({json.dumps(element)}); if (!e) return null;"
                " const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; })()",
                timeout=30,
                what=f"an element {element!r} to photograph",
            )
            x, y = max(0.0, box[0] - margin), max(0.0, box[1] - margin)
            params["clip"] = {
                "x": x,
                "y": y,
                "width": min(self.width - x, box[2] + 2 * margin),
                "height": min(self.height - y, box[3] + 2 * margin),
                "scale": 1,
            }
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def _wait(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"{what} not there after {timeout:.0f} s")
            time.sleep(POLL)
