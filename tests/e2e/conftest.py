"""Running the real ``python -m bot`` process for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAN_FILE = REPO_ROOT / "plans" / "zhuhui-2014.toml"
TOKEN = "123456:TEST"


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    stdout: str
    stderr: str


def clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment without any of the bot's settings (a developer's BOT_TOKEN
    must not leak in), plus ``overrides``."""
    ours = {name.upper() for name in Settings.model_fields} | {"OFFICE_ADMIN_IDS"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
    # the bot package from this checkout, whatever is installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PLAN_FILE"] = str(PLAN_FILE)
    env.update(overrides)
    return env


async def run_bot(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60,  # noqa: ASYNC109
) -> Finished:
    """``python -m bot ARGS`` to completion."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


async def stop_process(proc: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    """SIGTERM (a clean stop), or SIGKILL after 30 s; the process's stdout and stderr."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        return await proc.communicate()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The process's working directory: empty, so no stray .env is read."""
    path = tmp_path / "work"
    path.mkdir()
    return path
