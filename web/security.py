"""Who is looking and what they may do, for every dashboard route (SPEC §9, §10).

- The session is a cookie holding a random secret (``core.web_access``), HttpOnly, SameSite=Lax,
  Secure when the dashboard is served over https (then also named ``__Host-…``, which browsers
  only accept from that very origin over https). The holder and their roles are read afresh on
  every request (``WebAccessService.viewer``).
- ``require_staff`` / ``require_office`` are the only ways a route gets a viewer: an office
  member sees the campaign, a liaison its unit (and never the complainant), anyone else is
  sent to ask the bot for a link.
- Every form carries a CSRF token (an HMAC of the session secret, ``core.web_access``), checked
  by ``checked_form`` before any service is called. The Open311 API (machine clients, key in
  the body) has no session and no CSRF: it is not behind any of this.
- ``SecurityHeaders``: a strict Content-Security-Policy (everything from the app itself), no
  framing, no referrer (a sign-in link must never leak in a Referer header), no sniffing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.context import Deps
from core.errors import PermissionDenied
from core.services.web_access import SessionInvalid, SignedIn, WebViewer
from core.web_access import SESSION_MAX, csrf_matches, csrf_token

log = logging.getLogger(__name__)

LANG_COOKIE = "lang"
LANGS = ("zh", "en")
MAX_FORM_FIELDS = 50


def cookie_name(deps: Deps) -> str:
    return "__Host-bsn_session" if deps.settings.web_cookie_secure else "bsn_session"


def csrf_key(deps: Deps) -> bytes:
    """WEB_SECRET, else derived from BOT_TOKEN (every instance of a deployment has the same),
    else a random key for this process (a test, a demo without token)."""
    settings = deps.settings
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode()
    if settings.bot_token is not None:
        return hashlib.sha256(b"web-csrf:" + settings.bot_token.get_secret_value().encode()).digest()
    return _PROCESS_KEY


_PROCESS_KEY = secrets.token_bytes(32)


class SignInRequired(Exception):
    """No live session: the page says how to get a link (401)."""


class Forbidden(Exception):
    """Signed in, but this is not for the viewer's role (403). Carries the viewer, so the page
    keeps their header and menu: a liaison who followed an office link finds their way back."""

    def __init__(self, viewer: Viewer | None = None) -> None:
        super().__init__("forbidden")
        self.viewer = viewer


class CsrfFailed(Exception):
    """A form without the session's anti-forgery token (403)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in person as the pages see them."""

    web: WebViewer
    lang: str
    csrf: str

    @property
    def user_id(self) -> int:
        return self.web.user_id

    @property
    def office(self) -> bool:
        return self.web.office

    @property
    def unit_id(self) -> str | None:
        """A liaison's unit (None for the office, who sees every unit)."""
        return self.web.unit_id

    @property
    def campaign(self) -> str | None:
        """The one campaign whose cases an office viewer sees (a street's or township's office),
        None for the district's office, which sees every case."""
        scope = self.web.roles.office_scope
        return scope if self.office and scope else None


def request_lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or LANGS[0]
    return lang if lang in LANGS else LANGS[0]


async def require_staff(request: Request, deps: Deps) -> Viewer:
    secret = request.cookies.get(cookie_name(deps))
    try:
        web = await deps.services.web_access.viewer(secret)
    except SessionInvalid:
        raise SignInRequired() from None
    assert secret is not None
    return Viewer(web, request_lang(request), csrf_token(secret, csrf_key(deps)))


async def require_office(request: Request, deps: Deps) -> Viewer:
    viewer = await require_staff(request, deps)
    if not viewer.office:
        raise Forbidden(viewer)
    return viewer


async def checked_form(request: Request, deps: Deps, viewer: Viewer) -> FormData:
    """The posted form, after its CSRF token matched the viewer's session."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    secret = request.cookies.get(cookie_name(deps)) or ""
    token = form.get("csrf")
    if not isinstance(token, str) or not csrf_matches(token, secret, csrf_key(deps)):
        log.warning("dashboard form without a valid CSRF token: %s %s", request.method, request.url.path)
        raise CsrfFailed()
    return form


def set_session_cookie(response: Response, deps: Deps, signed_in: SignedIn) -> None:
    response.set_cookie(
        cookie_name(deps),
        signed_in.secret,
        max_age=int(SESSION_MAX.total_seconds()),
        path="/",
        secure=deps.settings.web_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, deps: Deps) -> None:
    response.delete_cookie(
        cookie_name(deps), path="/", secure=deps.settings.web_cookie_secure, httponly=True, samesite="lax"
    )


def staff_error(error: PermissionDenied) -> Exception:
    """A service's refusal as the page's: the role is gone (sign in again) or not enough."""
    return Forbidden() if not isinstance(error, SessionInvalid) else SignInRequired()


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the headers above to every response; HTML pages are also never cached (a shared
    browser must not show a case page from its cache after sign-out)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _HEADERS if h[0] not in present)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
