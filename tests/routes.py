"""The application's route table, flattened (FastAPI includes routers lazily)."""

from __future__ import annotations

from typing import Any


def route_table(app: Any) -> list[tuple[str, str]]:
    """(method, path) for every route the app answers, mounts as (``MOUNT``, path)."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                walk(route.effective_route_contexts())
            elif hasattr(route, "original_router") and hasattr(route, "effective_candidates"):
                walk(route.effective_candidates())
            elif getattr(route, "methods", None):
                found.extend((method, route.path) for method in sorted(route.methods) if method != "HEAD")
            elif hasattr(route, "path"):
                found.append(("MOUNT", route.path))

    walk(app.routes)
    return sorted(set(found))
