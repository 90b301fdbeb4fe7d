"""GOV.UK Frontend's compiled assets, served from this machine at ``/assets``.

``make run`` and ``make test`` install the npm package ``govuk-frontend`` (pinned by
``web/package-lock.json``) into ``web/node_modules``; nothing is fetched from another
origin at run time. The app refuses to start when the files are missing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from engine.errors import AssetsMissing

DIST = Path(__file__).resolve().parent / "node_modules" / "govuk-frontend" / "dist" / "govuk"
_COMPILED = {
    "govuk-frontend.min.css": "text/css; charset=utf-8",
    "govuk-frontend.min.js": "text/javascript; charset=utf-8",
}
# starts GOV.UK Frontend's components; a file, not inline script, so CSP needs no exception
_INIT = 'import { initAll } from "/assets/govuk-frontend.min.js";\ninitAll();\n'


def check(dist: Path = DIST) -> None:
    """Raises AssetsMissing unless the compiled CSS, JS, fonts and images are all there."""
    for name in (*_COMPILED, "assets/fonts", "assets/images", "assets/manifest.json"):
        if not (dist / name).exists():
            raise AssetsMissing(dist, name)


def mount(app: FastAPI, dist: Path = DIST) -> None:
    """Serve the compiled CSS/JS, our module that starts it, and the fonts and images.

    Raises:
        AssetsMissing.
    """
    check(dist)

    def compiled(name: str, media_type: str) -> None:
        path = dist / name

        async def serve() -> FileResponse:
            return FileResponse(path, media_type=media_type)

        app.add_api_route(f"/assets/{name}", serve, methods=["GET"], include_in_schema=False)

    for name, media_type in _COMPILED.items():
        compiled(name, media_type)

    async def init() -> Response:
        return Response(_INIT, media_type="text/javascript; charset=utf-8")

    app.add_api_route("/assets/signoff.mjs", init, methods=["GET"], include_in_schema=False)
    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
