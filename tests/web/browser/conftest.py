"""Real headless Chromium (Debian's /usr/bin/chromium through /usr/bin/chromedriver, both
installed by the Makefile's set-up) against the real demo: ``python -m web.demo`` on free
loopback ports, with a small seeded campaign. Skips, saying why, where the browser is missing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
DEMO_CASES = 60  # enough for every state, and seeded in a couple of seconds
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)) and shutil.which(Path(path).name) is None:
            return f"{path} not found: install Debian's {package} (`make setup` as root does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra: `make setup`)"
    return None


@dataclass
class Demo:
    """The running demo: the chat page's stand-in and (when present) the dashboard."""

    chat_base: str
    web_base: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    output: Path

    def log(self, after: int = 0) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.chat_base}/chat/api/log?after={after}", timeout=10) as r:
            return list(json.load(r)["entries"])

    def post(self, name: str, **body: Any) -> None:
        request = urllib.request.Request(
            f"{self.chat_base}/chat/api/{name}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["ok"]

    def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        after: int = 0,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """The first bot message (or edit) to ``chat_id`` after log entry ``after`` that
        satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.log(after):
                if entry["chat_id"] == chat_id and entry["who"] == "bot" and predicate(entry):
                    return entry
            time.sleep(0.3)
        texts = [e["text"][:60] for e in self.log() if e["chat_id"] == chat_id]
        raise AssertionError(f"no matching message to {chat_id} within {timeout}s; sent: {texts}")

    def last_seq(self) -> int:
        entries = self.log()
        return int(entries[-1]["seq"]) if entries else 0


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if (reason := browser_missing()) is not None:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("demo")
    chat_port, web_port = free_port(), free_port()
    output = workdir / "demo.out"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["PYTHONPATH"] = str(REPO_ROOT)
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.demo", "--db", str(workdir / "demo.db"),
             "--logs", str(workdir / "logs"), "--chat-port", str(chat_port), "--web-port", str(web_port),
             "--cases", str(DEMO_CASES)],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    demo = Demo(f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{web_port}", proc, workdir, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "The demo is running" not in output.read_text("utf-8", "replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the demo did not start:\n{output.read_text('utf-8', 'replace')}")
            time.sleep(0.2)
        yield demo
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does: the demo stops its children
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def browser(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()
