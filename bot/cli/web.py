"""``python -m bot web``: the office's web dashboard, the report pages and the Open311 API
(web/), served by uvicorn on WEB_HOST:WEB_PORT. It shares the bot's database and services;
the bot's /web command sends the sign-in links (to WEB_BASE_URL). Several dashboard
instances may run behind one proxy: sessions live in the database and every instance
derives the same CSRF key (WEB_SECRET, or from BOT_TOKEN)."""

from __future__ import annotations

import argparse
import logging

from bot.cli.common import (
    EXIT_OK,
    SubCommand,
    configure_logging,
    ensure_schema_or_exit,
    load_plan_or_exit,
    load_settings,
)
from bot.wiring import make_deps

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="bind address (default: WEB_HOST)")
    parser.add_argument("--port", type=int, help="port (default: WEB_PORT)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.instance_name)
    plan = load_plan_or_exit(settings.plan_file, settings.campaign_start)
    ensure_schema_or_exit(settings.database_url)
    if not settings.web_cookie_secure and not settings.web_url_local:
        log.warning(
            "WEB_BASE_URL %s is plain http on a network address: session cookies would cross "
            "the network unencrypted; serve the dashboard over https (a reverse proxy) and set "
            "WEB_BASE_URL to its https address",
            settings.web_url,
        )
    deps = make_deps(settings, plan)
    app = create_app(deps, close_deps=True)
    host = args.host or settings.web_host
    port = args.port or settings.web_port
    log.info("dashboard on http://%s:%s (links to %s)", host, port, settings.web_url)
    # No access log: its lines carry query strings, and a sign-in link's token is one (the
    # reverse proxy in front keeps the deployment's access log, without query strings).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
    )
    return EXIT_OK


COMMAND = SubCommand("web", "run the office's web dashboard and the Open311 API", configure, run)
