"""``GET /healthz``: is the process up, and can it reach its database?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from leadline import __version__
from leadline.db import get_engine, is_unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and database check")
def healthz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    try:
        with get_engine(settings).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        if not is_unavailable(error):
            raise
        return JSONResponse({"status": "unavailable", "database": "down", "version": __version__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
