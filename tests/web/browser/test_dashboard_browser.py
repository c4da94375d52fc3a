"""The dashboard in real headless Chromium against the running demo (``python -m web.demo``,
a seeded campaign; see conftest.py): people sign in through the link the bot's ``/web`` sends
them on the demo's chat page, and use the pages as a person would.

The office filters the case list, opens a case, reassigns it through the form and sees the new
unit and the history entry, and downloads the XLSX export; a liaison sees only its unit's cases,
never who complained, and gets the 403 page on an office route; a forged link, an expired link
and a form POST without its CSRF token are refused.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from openpyxl import load_workbook

from bot.i18n import Catalogue
from core.plan import load_plan
from tests.web.browser.conftest import REPO_ROOT, Demo
from web.demo.personas import OFFICE, liaisons

CATALOGUE = Catalogue.load()
DEMO_PLAN = REPO_ROOT / "plans" / "zhuhui-2014.toml"  # the demo's default plan (web/demo/__main__.py)
WAIT = 20.0
LINK = re.compile(r"https?://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_-]+")


def t(key: str, **kwargs: Any) -> str:
    return CATALOGUE.t("zh", key, **kwargs)


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def wait_until(what: str, found: Any, timeout: float = WAIT) -> Any:
    """Poll ``found`` until it is truthy. A page still loading after a click replaces the
    elements ``found`` reads (the old ``body`` goes stale, the new one is not there yet): that
    is "not yet", not a failure."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = found()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def login_link(demo: Demo, persona: str, chat_id: int) -> str:
    """Send /web as ``persona`` on the chat page's API; the link in the bot's answer to it."""
    after = demo.last_seq()
    demo.post("send", persona=persona, text="/web")
    answer = demo.wait_for(chat_id, lambda e: LINK.search(e["text"]) is not None, after=after)
    match = LINK.search(answer["text"])
    assert match is not None
    return match.group()


def sign_in(browser: Any, demo: Demo, persona: str, chat_id: int) -> None:
    """Ask the bot for /web as ``persona``, open the link, press the sign-in button."""
    browser.delete_all_cookies()
    link = login_link(demo, persona, chat_id)
    assert link.startswith(demo.web_base), link
    browser.get(link)
    browser.find_element(_by().ID, "sign-in").click()
    try:
        wait_until("the case list", lambda: urlparse(browser.current_url).path == "/cases")
    except AssertionError as e:
        body = browser.find_element(_by().TAG_NAME, "body").text
        raise AssertionError(f"{e}: at {browser.current_url}: {body}") from None


def listed_numbers(browser: Any) -> list[str]:
    return [a.text for a in browser.find_elements(_by().CSS_SELECTOR, "#case-list tbody td:first-child a")]


def select(browser: Any, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(_by().CSS_SELECTOR, f"#filters select[name={name}]")).select_by_value(value)


def _plan_units(browser: Any) -> list[tuple[str, str]]:
    options = browser.find_elements(_by().CSS_SELECTOR, "#filters select[name=unit] option")
    return [(o.get_attribute("value"), o.text) for o in options if o.get_attribute("value")]


def test_the_office_filters_the_list_by_area_state_and_text(demo: Demo, browser: Any) -> None:
    sign_in(browser, demo, OFFICE.key, OFFICE.chat_id)
    everything = listed_numbers(browser)
    assert everything, "the seeded demo lists cases"
    areas = [o.get_attribute("value") for o in browser.find_elements(
        _by().CSS_SELECTOR, "#filters select[name=area] option") if o.get_attribute("value")]  # fmt: skip
    states = [o.get_attribute("value") for o in browser.find_elements(
        _by().CSS_SELECTOR, "#filters select[name=state] option") if o.get_attribute("value")]  # fmt: skip
    assert areas and states
    # area: every listed row is of that area
    area = areas[0]
    area_name = browser.find_element(
        _by().CSS_SELECTOR, f"#filters select[name=area] option[value='{area}']"
    ).text
    select(browser, "area", area)
    browser.find_element(_by().CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until("the area filter", lambda: parse_qs(urlparse(browser.current_url).query).get("area") == [area])
    cells = [
        td.text for td in browser.find_elements(_by().CSS_SELECTOR, "#case-list tbody tr td:nth-child(4)")
    ]
    assert cells and all(c == area_name for c in cells), (area_name, cells)
    # area and state together: the URL keeps both, every row has that state
    state = next(s for s in states if s != "draft")
    select(browser, "state", state)
    browser.find_element(_by().CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until(
        "the state filter", lambda: parse_qs(urlparse(browser.current_url).query).get("state") == [state]
    )
    state_name = browser.find_element(
        _by().CSS_SELECTOR, f"#filters select[name=state] option[value='{state}']").text  # fmt: skip
    shown = [
        td.text for td in browser.find_elements(_by().CSS_SELECTOR, "#case-list tbody tr td:nth-child(3)")
    ]
    assert all(s == state_name for s in shown), (state_name, shown)
    # text: a tracking number finds exactly that case
    browser.get(f"{demo.web_base}/cases")
    number = everything[0]
    box = browser.find_element(_by().CSS_SELECTOR, "#filters input[name=q]")
    box.clear()
    box.send_keys(number)
    browser.find_element(_by().CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until("the text search", lambda: "q=" in browser.current_url)
    assert listed_numbers(browser) == [number]
    # text: a word of an excerpt finds cases whose text holds it
    browser.get(f"{demo.web_base}/cases")
    excerpt = browser.find_element(_by().CSS_SELECTOR, "#case-list tbody tr td.excerpt").text
    first_number = listed_numbers(browser)[0]
    word = excerpt[:4]
    box = browser.find_element(_by().CSS_SELECTOR, "#filters input[name=q]")
    box.send_keys(word)
    browser.find_element(_by().CSS_SELECTOR, "#filters button[type=submit]").click()
    wait_until("the word search", lambda: "q=" in browser.current_url)
    texts = [td.text for td in browser.find_elements(_by().CSS_SELECTOR, "#case-list tbody tr td.excerpt")]
    # (the search also looks at the place and the named unit, which the list does not show)
    assert texts and sum(word in x for x in texts) >= 1, (word, texts)
    assert first_number in listed_numbers(browser) or len(texts) >= 50


def test_the_office_opens_a_case_and_reassigns_it_through_the_form(demo: Demo, browser: Any) -> None:
    sign_in(browser, demo, OFFICE.key, OFFICE.chat_id)
    By = _by()
    # a case the office may still route: one with the route form
    number = None
    for state in ("submitted", "assigned", "accepted", "signed"):
        browser.get(f"{demo.web_base}/cases?state={state}")
        for candidate in listed_numbers(browser)[:5]:
            browser.get(f"{demo.web_base}/cases/{candidate}")
            if browser.find_elements(By.ID, "form-route"):
                number = candidate
                break
        if number:
            break
    assert number, "no routable case in the seeded demo"
    # the office sees who complained (or that nobody is named)
    assert browser.find_elements(By.ID, "identity")
    history_before = len(browser.find_elements(By.CSS_SELECTOR, "#history li"))
    form = browser.find_element(By.ID, "form-route")
    boxes = form.find_elements(By.CSS_SELECTOR, "input[name=lead]")
    checked = [b for b in boxes if b.is_selected()]
    target = next(b for b in boxes if not b.is_selected())
    target_id = target.get_attribute("value")
    target_name = target.find_element(By.XPATH, "..").text.strip()
    for box in checked:
        box.click()
    target.click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    done = wait_until("the done message", lambda: browser.find_elements(By.ID, "done"))
    assert done[0].text == t("web.case.done_route")
    assert "done=route" in browser.current_url
    tasks = browser.find_element(By.ID, "tasks").text
    assert target_name in tasks, (target_name, tasks)
    history = browser.find_elements(By.CSS_SELECTOR, "#history li")
    assert len(history) > history_before
    assert any(target_name in li.text for li in history), [li.text for li in history]
    # and the list shows the new lead unit
    browser.get(f"{demo.web_base}/cases?q={number}")
    lead = browser.find_element(By.CSS_SELECTOR, "#case-list tbody tr td:nth-child(5)").text
    assert target_name in lead, (target_id, lead)


def test_the_office_downloads_the_xlsx_export(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.support.ui import Select

    sign_in(browser, demo, OFFICE.key, OFFICE.chat_id)
    By = _by()
    downloads: Path = browser.downloads
    before = set(downloads.glob("*.xlsx"))
    browser.get(f"{demo.web_base}/reports/exports")
    form = browser.find_element(By.ID, "export-form")
    Select(form.find_element(By.CSS_SELECTOR, "select[name=format]")).select_by_value("xlsx")
    period = form.find_elements(By.CSS_SELECTOR, "select[name=period]")
    if period:
        values = [o.get_attribute("value") for o in period[0].find_elements(By.TAG_NAME, "option")]
        for wanted in ("campaign", "all", "year"):
            if wanted in values:
                Select(period[0]).select_by_value(wanted)
                break
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def finished() -> list[Path]:
        if list(downloads.glob("*.crdownload")):
            return []
        return sorted(set(downloads.glob("*.xlsx")) - before)

    [path] = wait_until("the downloaded workbook", finished, timeout=60)
    book = load_workbook(path, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert len(rows) > 1, rows[:3]
    found = any("ZH-" in str(cell) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)
                for cell in r if cell)  # fmt: skip
    assert found, [ws.title for ws in book.worksheets]


def test_a_liaison_sees_only_its_units_cases_no_identity_and_not_the_office_routes(
    demo: Demo, browser: Any
) -> None:
    By = _by()
    # the unit with the most cases in the demo is the first lead the office list shows
    sign_in(browser, demo, OFFICE.key, OFFICE.chat_id)
    units = dict(_plan_units(browser))
    first_lead = browser.find_element(By.CSS_SELECTOR, "#case-list tbody tr td:nth-child(5)").text
    lead_name = first_lead.split("、")[0]
    unit_id = next(uid for uid, name in units.items() if name == lead_name)
    persona = next(p for p in liaisons(load_plan(DEMO_PLAN)) if p.unit_id == unit_id)

    sign_in(browser, demo, persona.key, persona.chat_id)
    assert not browser.find_elements(By.CSS_SELECTOR, "#filters select[name=unit]")
    rows = browser.find_elements(By.CSS_SELECTOR, "#case-list tbody tr")
    assert rows and listed_numbers(browser)
    for row in rows:
        lead = row.find_element(By.CSS_SELECTOR, "td:nth-child(5)").text
        assist = row.find_elements(By.CSS_SELECTOR, "td:first-child .tag")
        assert lead_name in lead or assist, (lead_name, row.text)
    # the unit filter in the query string changes nothing
    other = next(uid for uid in units if uid != unit_id)
    browser.get(f"{demo.web_base}/cases?unit={other}")
    for row in browser.find_elements(By.CSS_SELECTOR, "#case-list tbody tr"):
        lead = row.find_element(By.CSS_SELECTOR, "td:nth-child(5)").text
        assert lead_name in lead or row.find_elements(By.CSS_SELECTOR, "td:first-child .tag"), row.text
    # the case page: no identity, no office actions
    number = listed_numbers(browser)[0]
    browser.get(f"{demo.web_base}/cases/{number}")
    assert browser.find_elements(By.ID, "history")
    assert not browser.find_elements(By.ID, "identity")
    assert not browser.find_elements(By.ID, "actions")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "张三" not in body and "李四" not in body and "138" not in body
    # an office route: the 403 page
    for path in ("/triage", "/reports/audit", "/reports/exports"):
        browser.get(f"{demo.web_base}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text == t("web.error.forbidden_title"), path
        assert t("web.error.forbidden") in browser.find_element(By.TAG_NAME, "body").text


def test_a_forged_and_an_expired_link_are_refused(demo: Demo, browser: Any) -> None:
    By = _by()
    browser.delete_all_cookies()
    link = login_link(demo, OFFICE.key, OFFICE.chat_id)
    token = parse_qs(urlparse(link).query)["token"][0]
    forged = link.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    browser.get(forged)
    browser.find_element(By.ID, "sign-in").click()
    wait_until(
        "the refusal",
        lambda: t("web.login.refused_unknown") in browser.find_element(By.TAG_NAME, "body").text,
    )
    browser.get(f"{demo.web_base}/cases")
    assert t("web.login.required") in browser.find_element(By.TAG_NAME, "body").text

    # the link the bot sent, its ten minutes run out (moved back in the demo's database)
    from core.web_access import hash_token

    db = sqlite3.connect(demo.workdir / "demo.db", timeout=10)
    try:
        with db:
            changed = db.execute(
                "UPDATE web_links SET expires_at = created_at WHERE token_hash = ?", (hash_token(token),)
            ).rowcount
    finally:
        db.close()
    assert changed == 1
    browser.get(link)
    browser.find_element(By.ID, "sign-in").click()
    wait_until(
        "the refusal",
        lambda: t("web.login.refused_expired") in browser.find_element(By.TAG_NAME, "body").text,
    )
    browser.get(f"{demo.web_base}/cases")
    assert t("web.login.required") in browser.find_element(By.TAG_NAME, "body").text


def test_a_form_posted_without_its_csrf_token_is_refused(demo: Demo, browser: Any) -> None:
    By = _by()
    sign_in(browser, demo, OFFICE.key, OFFICE.chat_id)
    number = listed_numbers(browser)[0]
    browser.get(f"{demo.web_base}/cases/{number}")
    history = len(browser.find_elements(By.CSS_SELECTOR, "#history li"))
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const body = new URLSearchParams({note: 'x', lead: 'nobody'});
        fetch(arguments[0], {method: 'POST', body, credentials: 'same-origin', redirect: 'manual'})
          .then(async r => done([r.status, await r.text()]), e => done([0, String(e)]));
        """,
        f"/cases/{number}/supervise",
    )
    status, text = result
    assert status == 403, (status, text[:200])
    assert t("web.error.csrf_title") in text
    browser.refresh()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history li")) == history
