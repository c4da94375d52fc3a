"""``python -m web.demo.screenshots``: the README's screenshots, taken in real headless Chromium
from a running demo (``python -m web.demo`` on free loopback ports, a smaller campaign).

Writes docs/screenshots/chat.png (a citizen filing a complaint on the web chat page) and, when
the dashboard is in this checkout, at 1280 px: signin.png (the /web link's page), cases.png,
case.png, triage.png, audit.png, scoreboard.png, review.png and practices.png as the office sees
them (signed in through the office persona's /web link, as a person would; practices and
measures recorded through the bot first, the demo seeds none), liaison.png (a liaison's own
case list) and liaison-403.png (that liaison at the office's triage); at a phone's 390 px,
cases-phone.png and case-phone.png. A PNG over MAX_PNG bytes is written with a palette.
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
MAX_PNG = 300_000  # bytes
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


def _bot_reply(chat_base: str, chat_id: int, after: int, what: str, want: str = "") -> dict[str, Any]:
    """The bot's first message to ``chat_id`` after log entry ``after`` (containing ``want``)."""

    def reply() -> dict[str, Any] | None:
        for entry in _log(chat_base):
            mine = entry["seq"] > after and entry["chat_id"] == chat_id and entry["who"] == "bot"
            if mine and (want in entry["text"] or _buttons(entry, want)):
                return entry
        return None

    found: dict[str, Any] = _wait(what, reply)
    return found


def _buttons(entry: dict[str, Any], prefix: str) -> list[str]:
    """The callback data of the entry's inline buttons starting with ``prefix``."""
    return [str(b["data"]) for r in entry["inline"] for b in r if str(b.get("data")).startswith(prefix)]


def _last_seq(chat_base: str) -> int:
    return max((int(e["seq"]) for e in _log(chat_base)), default=0)


def _say(chat_base: str, persona: dict[str, Any], text: str, want: str = "") -> dict[str, Any]:
    after = _last_seq(chat_base)
    _post(chat_base, "send", persona=persona["key"], text=text)
    return _bot_reply(chat_base, int(persona["chat_id"]), after, f"the answer to {text[:20]}", want)


def _press(chat_base: str, persona: dict[str, Any], entry: dict[str, Any], data: str) -> None:
    after = _last_seq(chat_base)
    _post(chat_base, "press", persona=persona["key"], message_id=entry["message_id"], data=data)
    _bot_reply(chat_base, int(persona["chat_id"]), after, f"the answer to {data}")


def personas(chat_base: str) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(f"{chat_base}/chat/api/personas", timeout=10) as r:
        return {str(p["key"]): p for p in json.load(r)["personas"]}


def record_practices_and_measures(chat_base: str, liaisons: Sequence[dict[str, Any]]) -> None:
    """Through the bot, as people would (the demo seeds none): the office records two good
    practices and shares one; two liaisons propose three measures, one moved to in progress
    and one done with a photo of the 制度 as its evidence. Fills the practices page."""
    people = personas(chat_base)
    office = people["office"]
    first, second = liaisons[0], liaisons[1]
    recorded = _say(chat_base, office, f"/practice {first['unit_name']} 窗口首问负责制 | "
                    "群众来办事，第一个接待的工作人员负责到底，不让群众多跑一次。", "pr:share")  # fmt: skip
    _press(chat_base, office, recorded, _buttons(recorded, "pr:share")[0])
    _say(chat_base, office, f"/practice {second['unit_name']} 一次告知清单 | 办事要件一张清单一次讲清。")
    today = time.localtime()
    due = [time.strftime("%Y-%m-%d", time.localtime(time.mktime(today) + d * 86400)) for d in (40, 25, 12)]
    _say(chat_base, first, f"/measure {due[0]} 建立窗口首问负责制度")
    _say(chat_base, first, f"/measure {due[1]} 推行办事指南一次告知制度")
    _say(chat_base, second, f"/measure {due[2]} 建立限时办结制度")
    listing = _say(chat_base, first, "/measures", "ms:prog")
    _press(chat_base, first, listing, _buttons(listing, "ms:prog")[-1])
    listing = _say(chat_base, second, "/measures", "ms:done")
    _press(chat_base, second, listing, _buttons(listing, "ms:done")[0])
    after = _last_seq(chat_base)
    _post(chat_base, "photo", persona=second["key"], caption="限时办结制度")
    _bot_reply(chat_base, int(second["chat_id"]), after, "the measure done")


# (file name, path) of the office's pages at desktop width; "case" is the first case of the list
OFFICE_PAGES = (
    ("cases", "/cases"),
    ("case", None),
    ("triage", "/triage"),
    ("audit", "/reports/audit"),
    ("scoreboard", "/reports/scoreboard"),
    ("review", "/reports/review"),
    ("practices", "/reports/practices"),
)
DESKTOP = (1280, 860)
PHONE = (390, 844)


def _viewport(driver: Any, size: tuple[int, int], mobile: bool) -> None:
    """The page's own viewport (not the window's): a phone's width with its meta viewport."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _open(driver: Any, url: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(f"the page {url}", lambda: driver.find_elements(By.CSS_SELECTOR, "main"))
    time.sleep(0.4)  # fonts


def _save(driver: Any, out: Path, name: str) -> str:
    path = out / f"{name}.png"
    driver.save_screenshot(str(path))
    shrink(path)
    return name


def shrink(path: Path) -> None:
    """Keep the README's images small: one over MAX_PNG is written again with a 256-colour
    palette (flat dashboard colours and text lose nothing one can see)."""
    if path.stat().st_size <= MAX_PNG:
        return
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def sign_in(driver: Any, chat_base: str, persona: dict[str, Any], out: Path | None = None) -> str | None:
    """Open the persona's /web link in a browser of no session and press the sign-in button
    (the link page shot when ``out`` is given)."""
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    _open(driver, login_link(chat_base, persona["key"], int(persona["chat_id"])))
    shot = _save(driver, out, "signin") if out is not None else None
    driver.find_element(By.ID, "sign-in").click()
    _wait("the case list after signing in", lambda: "/cases" in driver.current_url)
    return shot


def first_case_url(driver: Any, web_base: str) -> str:
    from selenium.webdriver.common.by import By

    _open(driver, f"{web_base}/cases")
    links = driver.find_elements(By.CSS_SELECTOR, "main a[href*='/cases/']")
    if not links:
        raise SystemExit("the case list shows no case")
    return str(links[0].get_attribute("href"))


def shoot_dashboard(driver: Any, chat_base: str, web_base: str, out: Path) -> list[str]:
    """The sign-in link page; the office's case list, a case, triage, audit, the scoreboard,
    the review and practices pages; the case list and a case at a phone's width; a liaison's
    own case list and the 403 it gets at the office's triage."""
    liaisons = [p for p in personas(chat_base).values() if p["kind"] == "liaison"]
    record_practices_and_measures(chat_base, liaisons)
    _viewport(driver, DESKTOP, mobile=False)
    shots = [s for s in [sign_in(driver, chat_base, personas(chat_base)["office"], out)] if s]
    case_url = first_case_url(driver, web_base)
    for name, path in OFFICE_PAGES:
        _open(driver, case_url if path is None else f"{web_base}{path}")
        shots.append(_save(driver, out, name))
    _viewport(driver, PHONE, mobile=True)
    for name, url in (("cases-phone", f"{web_base}/cases"), ("case-phone", case_url)):
        _open(driver, url)
        shots.append(_save(driver, out, name))
    _viewport(driver, DESKTOP, mobile=False)
    # the liaison of the shown case's unit: its own list is not empty
    lead = _lead_unit(driver, case_url)
    liaison = next((p for p in liaisons if p["unit_name"] == lead), liaisons[0])
    sign_in(driver, chat_base, liaison)
    _open(driver, f"{web_base}/cases")
    shots.append(_save(driver, out, "liaison"))
    _open(driver, f"{web_base}/triage")
    shots.append(_save(driver, out, "liaison-403"))
    return shots


def _lead_unit(driver: Any, case_url: str) -> str | None:
    """The name of the unit of the case page's first task, if any."""
    from selenium.webdriver.common.by import By

    _open(driver, case_url)
    cells = driver.find_elements(By.CSS_SELECTOR, "#tasks tr td:first-child")
    return str(cells[0].text).strip() if cells else None


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
            shrink(out / "chat.png")
            shots = ["chat"]
            if has_dashboard():
                shots += shoot_dashboard(driver, chat_base, web_base, out)
        finally:
            driver.quit()
    print("wrote " + ", ".join(str(out / f"{name}.png") for name in shots))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
