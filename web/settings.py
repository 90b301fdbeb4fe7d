"""What the web adapter needs to know: where it listens, its address, its key, upload limits.

Built by the composition layer (``app.settings.Settings.web()``) from ``SIGNOFF_*``
variables, already checked; nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    """The web app's settings. ``secret_key`` signs forms and cookies."""

    secret_key: bytes = field(repr=False)
    base_url: str = "http://localhost:8000"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    max_upload_mb: int = 25
    max_upload_files: int = 10
