"""Signing in with the bot's one-time link, signing out, and the page language."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from core.services.web_access import LinkRefused
from web.render import Pages
from web.security import (
    LANG_COOKIE,
    LANGS,
    checked_form,
    clear_session_cookie,
    request_lang,
    require_staff,
    set_session_cookie,
)


def routes(deps: Deps, pages: Pages) -> list[BaseRoute]:
    service = deps.services.web_access

    async def login_page(request: Request) -> Response:
        # A GET spends nothing: link previews, mail scanners and a second tab cannot use up the
        # link; the button below posts it.
        token = request.query_params.get("token", "")
        return pages.render(request, None, "login.html", {"token": token[:128]}, lang=request_lang(request))

    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        token = form.get("token")
        client = request.client.host if request.client else ""
        try:
            signed_in = await service.sign_in(token if isinstance(token, str) else None, client=client)
        except LinkRefused as refused:
            values = {"reason": refused.reason.value}
            return pages.render(
                request, None, "login_refused.html", values, lang=request_lang(request), status=403
            )
        response = RedirectResponse("/cases", status_code=303)
        set_session_cookie(response, deps, signed_in)
        return response

    async def logout(request: Request) -> Response:
        viewer = await require_staff(request, deps)
        await checked_form(request, deps, viewer)
        await service.sign_out(viewer.web)
        response = pages.render(request, None, "signed_out.html", lang=viewer.lang)
        clear_session_cookie(response, deps)
        return response

    async def set_lang(request: Request) -> Response:
        code = request.path_params["code"]
        back = request.query_params.get("next", "/cases")
        if not back.startswith("/") or back.startswith("//"):
            back = "/cases"  # only our own pages: no open redirect
        response = RedirectResponse(back, status_code=303)
        if code in LANGS:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path="/", samesite="lax")
        return response

    return [
        Route("/login", login_page, methods=["GET"], name="login_page"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/lang/{code}", set_lang, methods=["GET"], name="set_lang"),
    ]
