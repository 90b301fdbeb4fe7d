"""The web app: the agency reply page (no account needed) and staff evidence downloads."""

from __future__ import annotations

from web.app import create_app
from web.server import build_server, start_in_thread, stop
from web.staff import issue_staff_link

__all__ = [
    "build_server",
    "create_app",
    "issue_staff_link",
    "start_in_thread",
    "stop",
]
