"""Webhook mode as an operator sets it up (README "Configuration", "Several instances").

The start-up checks of BOT_MODE run the real ``python -m bot`` and need nothing else. The
deployment tests run what docs/deploy/nginx-webhook.conf describes: real ``python -m bot``
workers in webhook mode, each with its own INSTANCE_NAME and WEBHOOK_PORT, all on ONE fresh
PostgreSQL database (next to TEST_DATABASE_URL's, migrated with ``python -m bot migrate``),
behind a real nginx the test starts on a loopback port with that very config file. Updates
are POSTed to nginx as Telegram would post them, with the secret header; the Bot API
stand-in serves every worker's outgoing calls and records what each citizen was sent.

Which worker took an update is read from nginx's answer (``X-Webhook-Worker``, the upstream
address), so "the updates alternate between the instances" is asserted, not assumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import text

from bot.i18n import Catalogue
from core.cases import Case
from storage.db import make_engine, make_session_factory, normalise_url
from storage.uow import sql_uow_factory
from tests.e2e.conftest import REPO_ROOT, TOKEN, clean_env, run_bot
from tests.support.botapi_standin import BotApiStandin, SentMessage
from tests.support.updates import TgUser, UpdateFactory, payload

pytestmark = pytest.mark.e2e

NGINX_TEMPLATE = REPO_ROOT / "docs" / "deploy" / "nginx-webhook.conf"
SECRET = "mi-s3cret_Token-42"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
SERVED_BY = "X-Webhook-Worker"
HOOK_PATH = "/tg/hook-7f3a9c"
STEP = 20.0  # seconds to wait for any one answer of the bot
START = 60.0  # seconds for a process to come up

CITIZEN = TgUser(100_711, "张三", "zh-hans")
DESCRIPTION = "区政务中心的工作人员上班时间玩手机，办事拖拉，让我跑了三趟"  # conduct, confidently
PLACE = "二楼3号窗口"
WHEN = "11月20日上午"
TRACKING = re.compile(r"ZH-\d{4}-\d{6}")
PG_SKIP = (
    "TEST_DATABASE_URL is not set: the multi-instance test runs several processes on one "
    "PostgreSQL database, e.g. TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NGINX_SKIP = "nginx is not installed (`make setup` installs it: DEB_PACKAGES in the Makefile)"


# ---------------------------------------------------------------------------------------------
# BOT_MODE at start-up: one clear line and exit 2 before anything else happens


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        ({"BOT_MODE": "webhook"}, "BOT_MODE=webhook needs WEBHOOK_URL and WEBHOOK_SECRET"),
        (
            {"BOT_MODE": "Webhook", "WEBHOOK_URL": "https://bot.example.org/tg"},
            "BOT_MODE=webhook needs WEBHOOK_SECRET",
        ),
        (
            {"WEBHOOK_URL": "https://bot.example.org/tg"},
            "webhook mode (WEBHOOK_URL is set) needs WEBHOOK_SECRET",
        ),
        ({"BOT_MODE": "webhook", "WEBHOOK_SECRET": SECRET}, "BOT_MODE=webhook needs WEBHOOK_URL:"),
        (
            {"BOT_MODE": "webhook", "WEBHOOK_URL": "https://bot.example.org/tg", "WEBHOOK_SECRET": "not ok!"},
            "WEBHOOK_SECRET may only hold 1-256 characters",
        ),
        (
            {"BOT_MODE": "webhook", "WEBHOOK_URL": "bot.example.org/tg", "WEBHOOK_SECRET": SECRET},
            "WEBHOOK_URL must be a whole URL Telegram can reach (https://host/path), got 'bot.example",
        ),
    ],
    ids=["nothing", "no-secret", "url-alone-no-secret", "no-url", "bad-secret", "bad-url"],
)
async def test_webhook_mode_without_its_url_or_secret_stops_in_one_line(
    workdir: Path, settings: dict[str, str], line: str
) -> None:
    env = clean_env(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:9/bot",  # nothing listens: it must not get that far
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'none.db'}",
        **settings,
    )
    result = await run_bot(env=env, cwd=workdir)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr  # one line
    assert line in result.stderr, result.stderr
    assert settings.get("WEBHOOK_SECRET", "\0") not in result.stderr  # a secret is never echoed
    assert not (workdir / "none.db").exists()  # stopped before the database was touched


async def test_bot_mode_polling_wins_over_a_webhook_url(workdir: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{workdir / 'bot.db'}"
    assert (await run_bot("migrate", env=clean_env(DATABASE_URL=database_url), cwd=workdir)).code == 0
    async with BotApiStandin(TOKEN) as api:
        env = clean_env(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url, BOT_MODE="polling",
            WEBHOOK_URL="https://bot.example.org/tg", WEBHOOK_SECRET=SECRET,
        )  # fmt: skip
        log = workdir / "bot.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=workdir, stdout=out, stderr=out
            )
        try:
            await api.wait_for_call("getUpdates", timeout=START)
        finally:
            await _stop(proc)
        stderr = _read(log)
    assert api.calls_of("setWebhook") == []
    assert api.calls_of("deleteWebhook")  # polling removes any webhook first
    assert "WEBHOOK_URL is ignored" in stderr
    assert proc.returncode == 0, stderr


# ---------------------------------------------------------------------------------------------
# The deployment: workers, nginx, PostgreSQL


@pytest.fixture
def nginx() -> str:
    """The nginx binary, or skip saying so (before any database is made for nothing)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.skip(NGINX_SKIP)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_nginx(template: str, *, listen: str, path: str, worker_ports: Sequence[int]) -> str:
    """The repo's template with its placeholders filled as README says an operator fills them:
    the line holding ${WORKER_PORT} once per worker."""
    lines: list[str] = []
    for line in template.splitlines(keepends=True):
        code = line.split("#", 1)[0]
        if "${WORKER_PORT}" in code:
            lines.extend(line.replace("${WORKER_PORT}", str(port)) for port in worker_ports)
        else:
            lines.append(line.replace("${NGINX_LISTEN}", listen).replace("${WEBHOOK_PATH}", path))
    rendered = "".join(lines)
    leftover = [line for line in rendered.splitlines() if "${" in line.split("#", 1)[0]]
    assert not leftover, f"placeholders the test does not know: {leftover}"
    return rendered


def _main_conf(prefix: Path, snippet: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf is to the snippet, with every path in ``prefix``.
    Two nginx worker processes, so the template's shared round robin (``zone``) is what makes
    the updates alternate."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # else nobody, who cannot enter tmp_path
    return (
        f"{user}worker_processes 2;\ndaemon off;\n"
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log notice;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {prefix}/access.log;\n"
        f"    client_body_temp_path {prefix}/body;\n    proxy_temp_path {prefix}/proxy;\n"
        f"    fastcgi_temp_path {prefix}/fastcgi;\n    uwsgi_temp_path {prefix}/uwsgi;\n"
        f"    scgi_temp_path {prefix}/scgi;\n"
        f"    include {snippet};\n"
        "}\n"
    )


async def _accepting(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _read(log: Path) -> str:
    return log.read_text("utf-8", "replace") if log.exists() else ""


async def _wait_listening(proc: asyncio.subprocess.Process, port: int, what: str, log: Path) -> None:
    deadline = asyncio.get_running_loop().time() + START
    while not await _accepting(port):
        if proc.returncode is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{_read(log)}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not listening on {port} after {START}s:\n{_read(log)}")
        await asyncio.sleep(0.1)


async def _stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> None:
    if proc.returncode is None:
        proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()


@dataclass(slots=True)
class Worker:
    name: str
    port: int
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def output(self) -> str:
        return _read(self.log)


@dataclass(slots=True)
class Deployment:
    url: str  # the webhook URL, nginx's
    workers: list[Worker]
    client: httpx.AsyncClient
    stopped: set[str] = field(default_factory=set)

    async def post(self, update: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        """One update as Telegram posts it: JSON, with the secret unless ``headers`` say otherwise."""
        return await self.client.post(
            self.url, json=update, headers={HEADER: SECRET} if headers is None else headers
        )

    def worker(self, address: str) -> Worker:
        return next(w for w in self.workers if w.address == address)

    async def kill(self, worker: Worker) -> None:
        """SIGKILL: no shutdown, no flush, exactly what a crash or an OOM kill leaves."""
        worker.proc.kill()
        await worker.proc.wait()
        self.stopped.add(worker.name)


def served_by(response: httpx.Response) -> str:
    """The worker that answered: the last address nginx tried (after a fail-over it lists all)."""
    assert SERVED_BY.lower() in response.headers, (response.status_code, dict(response.headers))
    return response.headers[SERVED_BY].split(",")[-1].strip()


@pytest.fixture
async def pg_url(workdir: Path) -> AsyncIterator[str]:
    """A fresh PostgreSQL database next to TEST_DATABASE_URL's, migrated by ``python -m bot
    migrate``; dropped at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(PG_SKIP)
    base_url = normalise_url(base)
    name = f"{base_url.database or 'test'}_mi{uuid.uuid4().hex[:8]}"
    url = base_url.set(database=name).render_as_string(hide_password=False)
    await _admin(base_url.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"')
    try:
        migrated = await run_bot("migrate", env=clean_env(DATABASE_URL=url), cwd=workdir)
        assert migrated.code == 0, migrated.stderr
        yield url
    finally:
        await _admin(
            base_url.render_as_string(hide_password=False), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


async def _admin(url: str, statement: str) -> None:
    engine = make_engine(url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE: no transaction
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def deployment(
    nginx: str, tmp_path: Path, workdir: Path, database_url: str, api: BotApiStandin, names: Sequence[str]
) -> AsyncIterator[Deployment]:
    """``names`` workers in webhook mode on ``database_url`` behind nginx; everything stopped
    at the end (the survivors by SIGTERM, asserted clean)."""
    nginx_port = _free_port()
    ports = [_free_port() for _ in names]
    url = f"http://127.0.0.1:{nginx_port}{HOOK_PATH}"
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    snippet = prefix / "banshinan-webhook.conf"
    snippet.write_text(
        render_nginx(
            NGINX_TEMPLATE.read_text("utf-8"),
            listen=f"127.0.0.1:{nginx_port}",
            path=HOOK_PATH,
            worker_ports=ports,
        ),
        "utf-8",
    )
    conf = prefix / "nginx.conf"
    conf.write_text(_main_conf(prefix, snippet), "utf-8")

    workers: list[Worker] = []
    opened: list[IO[bytes]] = []
    nginx_proc: asyncio.subprocess.Process | None = None
    try:
        for name, port in zip(names, ports, strict=True):
            env = clean_env(
                BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.api_url, DATABASE_URL=database_url, BOT_MODE="webhook",
                WEBHOOK_URL=url, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET,
                INSTANCE_NAME=name, THROTTLE_MESSAGES="0",
            )  # fmt: skip
            log = tmp_path / f"{name}.log"
            out: IO[bytes] = log.open("wb")  # a file, not a pipe: nobody reads a pipe while the test runs
            opened.append(out)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", env=env, cwd=workdir, stdout=out, stderr=out
            )
            workers.append(Worker(name, port, proc, log))
        nginx_log = prefix / "nginx.out"
        nginx_out: IO[bytes] = nginx_log.open("wb")
        opened.append(nginx_out)
        nginx_proc = await asyncio.create_subprocess_exec(
            nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
            stdout=nginx_out, stderr=nginx_out,
        )  # fmt: skip
        await _wait_listening(nginx_proc, nginx_port, "nginx", prefix / "error.log")
        for worker in workers:
            await _wait_listening(worker.proc, worker.port, f"worker {worker.name}", worker.log)
        # every worker registered the one public URL, with the secret
        for _ in range(50):
            if len(api.calls_of("setWebhook")) >= len(workers):
                break
            await asyncio.sleep(0.1)
        hooks = api.calls_of("setWebhook")
        assert len(hooks) == len(workers), [c.params for c in hooks]
        assert {(c.params["url"], c.params["secret_token"]) for c in hooks} == {(url, SECRET)}
        async with httpx.AsyncClient(timeout=STEP) as client:
            yield Deployment(url, workers, client)
    finally:
        survivors = [w for w in workers if w.proc.returncode is None]
        await asyncio.gather(*(_stop(w.proc) for w in survivors))
        if nginx_proc is not None:
            await _stop(nginx_proc, signal.SIGQUIT)  # graceful: finish what is in flight
        for out in opened:
            out.close()
    for worker in survivors:
        output = worker.output()
        assert worker.proc.returncode == 0, f"{worker.name}:\n{output}"
        assert "Traceback" not in output, f"{worker.name}:\n{output}"
        assert TOKEN not in output and SECRET not in output


# ---------------------------------------------------------------------------------------------
# A citizen's chat, through nginx


class WebhookChat:
    """One citizen's private chat: updates go to nginx, answers are read from the stand-in."""

    def __init__(self, deployment: Deployment, api: BotApiStandin, user: TgUser) -> None:
        self.deployment, self.api, self.user = deployment, api, user
        self.make = UpdateFactory(first_update_id=5_000)
        self.seen = 0
        self.served: list[str] = []  # the worker that took each update, in order
        self.tried: list[str] = []  # nginx's whole X-Webhook-Worker, fail-overs included

    async def send(self, update: dict[str, Any]) -> str:
        response = await self.deployment.post(update)
        assert response.status_code == 200, (response.status_code, response.text)
        self.tried.append(response.headers[SERVED_BY])
        self.served.append(served_by(response))
        return self.served[-1]

    async def say(self, message: str) -> str:
        return await self.send(payload(self.make.text(self.user, message)))

    async def photo(self) -> str:
        return await self.send(payload(self.make.photo(self.user)))

    async def press(self, message: SentMessage, label: str) -> str:
        data = next((d for t, d in message.buttons if t == label and d), None)
        assert data is not None, f"no button {label!r} in {message.buttons}"
        return await self.send(
            payload(
                self.make.callback(self.user, data, message_id=message.message_id, message_text=message.text)
            )
        )

    async def expect(self, predicate: Callable[[SentMessage], bool], what: str) -> SentMessage:
        try:
            message = await self.api.wait_for_message(self.user.id, predicate, STEP, after=self.seen)
        except TimeoutError as exc:
            logs = "\n".join(f"--- {w.name}:\n{w.output()[-3000:]}" for w in self.deployment.workers)
            raise AssertionError(f"never got {what} (served by {self.served}): {exc}\n{logs}") from None
        self.seen = self.api.sent_to(self.user.id).index(message) + 1
        return message

    async def expect_text(self, needle: str) -> SentMessage:
        return await self.expect(lambda m: needle in m.text, repr(needle))

    async def expect_button(self, label: str) -> SentMessage:
        return await self.expect(lambda m: any(t == label for t, _ in m.buttons), f"a button {label!r}")


def _label(key: str) -> str:
    return Catalogue.load().t("zh", f"complaint.button.{key}")


async def play_complaint(chat: WebhookChat, *, midway: Callable[[], Awaitable[None]] | None = None) -> str:
    """The whole complaint dialog, nine updates, each sent once the previous one was answered;
    ``midway`` runs after the fourth. Returns the tracking number from the receipt."""
    await chat.say(DESCRIPTION)
    await chat.press(await chat.expect_button(_label("confirm_area")), _label("confirm_area"))
    await chat.press(await chat.expect_button(_label("skip")), _label("skip"))  # which unit
    await chat.expect_text("什么地点")
    await chat.say(PLACE)
    await chat.expect_text("什么时间")
    if midway is not None:
        await midway()
    await chat.say(WHEN)
    await chat.expect_button(_label("skip_evidence"))
    await chat.photo()
    added = await chat.expect_button(_label("done"))
    assert "第 1 个证据" in added.text
    await chat.press(added, _label("done"))
    await chat.expect_text("联系方式")
    await chat.say(_label("anonymous"))
    await chat.press(await chat.expect_button(_label("submit")), _label("submit"))
    receipt = await chat.expect(lambda m: TRACKING.search(m.text) is not None, "a receipt")
    assert "区直机关工委" in receipt.text and "答复期限" in receipt.text  # the lead unit, its deadline
    found = TRACKING.search(receipt.text)
    assert found is not None
    return found.group(0)


async def assert_filed_once(database_url: str, api: BotApiStandin, tracking_no: str) -> Case:
    """Exactly one case in the database, with what the citizen said, and one receipt."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM cases")) == 1
        async with sql_uow_factory(make_session_factory(engine))() as uow:
            case = await uow.cases.get_by_tracking_no(tracking_no)
            assert case is not None and case.id is not None
            attachments = await uow.attachments.list_for_case(case.id)
    finally:
        await engine.dispose()
    assert case.description == DESCRIPTION
    assert case.area_final == "conduct"
    assert (case.place, case.occurred) == (PLACE, WHEN)
    assert case.anonymous is True
    assert case.lead_unit_ids == ["organs_work_committee"]
    assert len(attachments) == 1  # the photo
    receipts = [m for m in api.sent_to(CITIZEN.id) if m.method == "sendMessage" and tracking_no in m.text]
    assert len(receipts) == 1, [m.text[:60] for m in receipts]
    return case


# ---------------------------------------------------------------------------------------------
# The tests behind nginx


async def test_a_post_without_or_with_a_wrong_secret_gets_403_from_every_instance_and_is_not_handled(
    tmp_path: Path, workdir: Path, nginx: str, pg_url: str
) -> None:
    forger = TgUser(100_712, "李四", "zh-hans")
    make = UpdateFactory(first_update_id=9_000)
    async with (
        BotApiStandin(TOKEN) as api,
        deployment(nginx, tmp_path, workdir, pg_url, api, ["web-1", "web-2"]) as d,
    ):
        forged = payload(make.command(forger, "start"))
        refused_by: set[str] = set()
        for headers in (
            {},
            {HEADER: "wrong"},
            {},
            {HEADER: SECRET + "x"},
            {HEADER: SECRET[:-1]},
            {HEADER: ""},
        ):
            response = await d.post(forged, headers=headers)
            assert response.status_code == 403, (headers, response.status_code, response.text)
            refused_by.add(served_by(response))
        # the workers refused them, each one (nginx only passed them on)
        assert refused_by == {w.address for w in d.workers}
        for worker in d.workers:  # and straight at a worker's port, past nginx
            direct = await d.client.post(f"http://{worker.address}{HOOK_PATH}", json=forged)
            assert direct.status_code == 403
        assert (await d.client.get(d.url, headers={HEADER: SECRET})).status_code == 403  # POST only
        assert (await d.client.post(d.url.replace(HOOK_PATH, "/other"), json=forged)).status_code == 404

        # the genuine article, once per worker: both answer it
        answered_by = set()
        for _ in d.workers:
            response = await d.post(payload(make.command(forger, "help")))
            assert response.status_code == 200
            answered_by.add(served_by(response))
        assert answered_by == {w.address for w in d.workers}
        for n in range(len(d.workers)):
            await api.wait_for_message(forger.id, timeout=STEP, after=n)
        # one worker's updates of a chat are handled in order: a forged /start handled by either
        # would have been answered before that worker's /help
        await asyncio.sleep(0.5)
        sent = api.sent_to(forger.id)
        assert len(sent) == len(d.workers), [m.text[:60] for m in sent]
        assert all("/lang" in m.text for m in sent)  # /help's answer
        assert len({m.text for m in sent}) == 1  # the same answer twice: no /start greeting among them


async def test_one_instance_behind_nginx_files_a_complaint(
    tmp_path: Path, workdir: Path, nginx: str, pg_url: str
) -> None:
    async with BotApiStandin(TOKEN) as api, deployment(nginx, tmp_path, workdir, pg_url, api, ["web-1"]) as d:
        chat = WebhookChat(d, api, CITIZEN)
        tracking_no = await play_complaint(chat)
        await assert_filed_once(pg_url, api, tracking_no)
    assert chat.served == [d.workers[0].address] * 9


async def test_two_instances_take_turns_through_a_whole_complaint_and_file_it_once(
    tmp_path: Path, workdir: Path, nginx: str, pg_url: str
) -> None:
    async with (
        BotApiStandin(TOKEN) as api,
        deployment(nginx, tmp_path, workdir, pg_url, api, ["web-1", "web-2"]) as d,
    ):
        chat = WebhookChat(d, api, CITIZEN)
        tracking_no = await play_complaint(chat)
        await assert_filed_once(pg_url, api, tracking_no)
    # round robin: every update went to the other worker than the one before
    assert len(chat.served) == 9
    assert set(chat.served) == {w.address for w in d.workers}
    assert all(a != b for a, b in zip(chat.served, chat.served[1:], strict=False)), chat.served


async def test_killing_one_instance_mid_dialog_loses_nothing(
    tmp_path: Path, workdir: Path, nginx: str, pg_url: str
) -> None:
    async with (
        BotApiStandin(TOKEN) as api,
        deployment(nginx, tmp_path, workdir, pg_url, api, ["web-1", "web-2"]) as d,
    ):
        chat = WebhookChat(d, api, CITIZEN)
        victim: list[Worker] = []

        async def kill_the_next_one() -> None:
            # after four updates answered, alternately; nginx would give the fifth to the worker
            # that took the third: that one dies, with its share of the dialog in its memory
            assert len(chat.served) == 4 and chat.served[0] != chat.served[1], chat.served
            victim.append(d.worker(chat.served[-2]))
            await d.kill(victim[0])

        tracking_no = await play_complaint(chat, midway=kill_the_next_one)
        await assert_filed_once(pg_url, api, tracking_no)
    dead = victim[0]
    assert dead.proc.returncode == -signal.SIGKILL
    survivor = next(w for w in d.workers if w is not dead)
    # the fifth update found the victim gone and nginx passed it on at once
    assert chat.tried[4].replace(" ", "") == f"{dead.address},{survivor.address}", chat.tried
    assert chat.served[4:] == [survivor.address] * 5
