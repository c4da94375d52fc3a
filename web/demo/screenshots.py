"""``python -m web.demo.screenshots``: the README's screenshots, taken in real headless Chromium
from a running demo (``python -m web.demo`` on free loopback ports, a smaller campaign).

Writes docs/screenshots/chat.png (a citizen filing a complaint on the web chat page) and, when
the dashboard is in this checkout, cases.png, case.png and scoreboard.png (logged in through
the office persona's /web link, as a person would).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
STEP = 30.0
URL = re.compile(r"https?://127\.0\.0\.1:\d+/[^\s\"'<>]+")  # in the message's HTML too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_demo(workdir: Path, cases: int) -> Iterator[tuple[str, str]]:
    """The demo started as ``make demo`` starts it; yields (chat base, dashboard base)."""
    chat_port, web_port = free_port(), free_port()
    output = workdir / "demo.out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.demo", "--db", str(workdir / "demo.db"),
             "--logs", str(workdir / "logs"), "--chat-port", str(chat_port), "--web-port", str(web_port),
             "--cases", str(cases)],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "The demo is running" not in output.read_text("utf-8", "replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the demo did not start:\n{output.read_text('utf-8', 'replace')}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{web_port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _post(base: str, name: str, **body: Any) -> None:
    request = urllib.request.Request(
        f"{base}/chat/api/{name}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def _log(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/chat/api/log", timeout=10) as r:
        return list(json.load(r)["entries"])


def _wait(what: str, found: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        if (value := found()) is not None and value is not False:
            return value
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for {what}")


def login_link(chat_base: str, persona: str, chat_id: int) -> str:
    """Send /web as ``persona`` on the chat page's API and return the link the bot sent."""
    _post(chat_base, "send", persona=persona, text="/web")

    def link() -> str | None:
        for entry in reversed(_log(chat_base)):
            if entry["chat_id"] == chat_id and entry["who"] == "bot":
                urls = [b["url"] for row in entry["inline"] for b in row if b.get("url")]
                urls += URL.findall(entry["text"])
                if urls:
                    return str(urls[0]).replace("&amp;", "&")
        return None

    return str(_wait("the /web login link", link))


def make_driver(downloads: Path | None = None) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,860", "--lang=zh-CN", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    if downloads is not None:
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        )
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def shoot_chat(driver: Any, chat_base: str, out: Path) -> None:
    """A citizen's complaint on the chat page, up to the area question."""
    from selenium.webdriver.common.by import By

    _post(chat_base, "send", persona="citizen-zhang", text="/start")
    _wait("the welcome", lambda: any(e["chat_id"] == 100_101 and e["who"] == "bot" for e in _log(chat_base)))
    _post(
        chat_base,
        "send",
        persona="citizen-zhang",
        text="区政务中心窗口的工作人员上班时间玩手机，材料要了一遍又一遍，让我跑了三趟还没办成",
    )
    _wait("the area question", lambda: any(e["chat_id"] == 100_101 and e["inline"] for e in _log(chat_base)))
    driver.get(f"{chat_base}/chat/#citizen-zhang")
    _wait("the page", lambda: driver.find_elements(By.CSS_SELECTOR, "#messages .msg .inline button"))
    time.sleep(0.5)  # fonts
    driver.save_screenshot(str(out / "chat.png"))


def shoot_dashboard(driver: Any, chat_base: str, web_base: str, out: Path) -> list[str]:
    """The case list, a case page and the scoreboard, as the office sees them."""
    from selenium.webdriver.common.by import By

    driver.get(login_link(chat_base, "office", 900_001))
    time.sleep(1)
    shots = []
    for name, path in (("cases", "/cases"), ("scoreboard", "/reports/scoreboard")):
        driver.get(f"{web_base}{path}")
        time.sleep(1)
        driver.save_screenshot(str(out / f"{name}.png"))
        shots.append(name)
    driver.get(f"{web_base}/cases")
    links = driver.find_elements(By.CSS_SELECTOR, "a[href*='/cases/']")
    if links:
        links[0].click()
        time.sleep(1)
        driver.save_screenshot(str(out / "case.png"))
        shots.append("case")
    return shots


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.demo.screenshots", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default=str(OUT_DIR))
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from web.demo.__main__ import has_dashboard

    with tempfile.TemporaryDirectory() as tmp, running_demo(Path(tmp), args.cases) as (chat_base, web_base):
        driver = make_driver()
        try:
            shoot_chat(driver, chat_base, out)
            shots = ["chat"]
            if has_dashboard():
                shots += shoot_dashboard(driver, chat_base, web_base, out)
        finally:
            driver.quit()
    print("wrote " + ", ".join(str(out / f"{name}.png") for name in shots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
