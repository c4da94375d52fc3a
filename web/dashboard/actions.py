"""The office's actions on the case page, as forms that call the same services as the chat's
buttons: route (reassign), reclassify, reject, decide an extension request, send a
supervision notice. Each checks the office role and the CSRF token first; a service's refusal
(wrong state, a unit that may not lead, an empty reason) re-renders the case page with the
reason, status 409; success goes back to the case page (303, so a reload posts nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.context import Deps
from bot.error_replies import error_text
from bot.reports.labels import plain
from core.errors import DomainError, PermissionDenied
from web.dashboard.cases import CasePages
from web.security import Viewer, checked_form, require_office, staff_error

Action = Callable[[Viewer, int, FormData], Awaitable[Any]]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def routes(deps: Deps, cases: CasePages) -> list[BaseRoute]:
    office = deps.services.office
    extensions = deps.services.extensions

    async def route(viewer: Viewer, case_id: int, form: FormData) -> Any:
        units = [u for u in form.getlist("lead") if isinstance(u, str)]
        return await office.route(viewer.user_id, case_id, _text(form, "area") or None, units or None)

    async def reclassify(viewer: Viewer, case_id: int, form: FormData) -> Any:
        return await office.reclassify(viewer.user_id, case_id, _text(form, "area"))

    async def reject(viewer: Viewer, case_id: int, form: FormData) -> Any:
        return await office.reject(viewer.user_id, case_id, _text(form, "reason"))

    async def extension(viewer: Viewer, case_id: int, form: FormData) -> Any:
        if _text(form, "decision") == "approve":
            return await extensions.approve(viewer.user_id, case_id)
        return await extensions.refuse(viewer.user_id, case_id, _text(form, "reason"))

    async def supervise(viewer: Viewer, case_id: int, form: FormData) -> Any:
        return await office.supervise(viewer.user_id, case_id, _text(form, "text"))

    table: dict[str, Action] = {
        "route": route,
        "reclassify": reclassify,
        "reject": reject,
        "extension": extension,
        "supervise": supervise,
    }

    def endpoint(name: str, action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            viewer = await require_office(request, deps)
            form = await checked_form(request, deps, viewer)
            number = request.path_params["number"]
            case_id = await cases.case_id(viewer, number)
            try:
                await action(viewer, case_id, form)
            except PermissionDenied as denied:
                raise staff_error(denied) from None
            except DomainError as error:
                text = plain(error_text(deps, viewer.lang, error))
                return await cases.render_case(request, viewer, number, error=text, status=409)
            deps.wake_sender()  # the units' and the citizen's notices go now, not at the next poll
            return RedirectResponse(f"/cases/{number}?done={name}", status_code=303)

        return handle

    return [
        Route(f"/cases/{{number}}/{name}", endpoint(name, action), methods=["POST"], name=f"case_{name}")
        for name, action in table.items()
    ]
