"""The reviewer workbench: server-rendered Chinese pages over the same service calls as the API.

`mount_web(app)` adds the pages under `/web/` and their static files under `/web/static/`.
Nothing here scores, stores or checks roles on its own: every page calls `EvaluationService`
(create, get, list, adjust, audit), the rubric catalogue and `engine.export`, and shows the
answer. Sign-in turns an API key into a signed session cookie (service.web.session).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from service.logs import get_logger

HERE = Path(__file__).resolve().parent


def mount_web(app: FastAPI) -> None:
    """Mount the pages on an app built by `create_app` (it needs `app.state.service`)."""
    try:
        # Imported here: without Jinja2 installed the API must still serve, without pages.
        from service.web.routes import Web, router
        from service.web.session import Sessions, load_secret
    except ImportError as exc:
        get_logger().error("web.disabled", error=str(exc), hint="pip install jinja2")
        return
    app.state.web = Web(
        HERE / "templates",
        Sessions(app.state.store, load_secret(app.state.settings.session_secret)),
        tz=app.state.settings.timezone,
    )
    # Static files first: the pages' catch-all 404 must not shadow them.
    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.include_router(router)

    # A browser pointed at the bare address lands on the workbench, not on a JSON 404.
    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=307)


__all__ = ["mount_web"]
