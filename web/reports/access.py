"""Placeholder until web/security.py exists (replaced by the adapter to it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.context import Deps


@dataclass(frozen=True, slots=True)
class Viewer:
    office: bool
    unit_id: str | None
    lang: str


async def staff_viewer(request: Request, deps: Deps) -> Viewer:
    raise NotImplementedError


async def office_viewer(request: Request, deps: Deps) -> Viewer:
    raise NotImplementedError


def render(request: Request, viewer: Viewer, name: str, values: dict[str, Any]) -> Response:
    raise NotImplementedError
