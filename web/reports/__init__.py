"""The dashboard's report pages (SPEC §6, §9, §10): the scoreboard and its chart, the
campaign's progress and its chart, the exports, and the audit-trail viewer.

``routes(deps)`` is what ``web.app.create_app`` mounts. Every route checks the viewer first
(the office for everything, a liaison for its own unit's scoreboard row only) and reads
through a read-only session; nothing here writes, so every route is a GET and no form needs a
CSRF token.
"""

from __future__ import annotations

from web.reports.views import routes

__all__ = ["routes"]
