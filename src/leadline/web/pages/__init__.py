"""The web app's pages: thin shells over the same services as the CLI and the API.

Each module has a ``router``; every page route depends on ``PageUser`` (read) or
``PageWriter``/``PageAdmin`` (change), so an anonymous browser is sent to the sign-in page.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

from leadline.web.pages import dashboard, duplicates, emails, files, prospects  # noqa: E402

router.include_router(files.router)  # before customers: /customers/{ref}/files is not a status change

router.include_router(dashboard.router)
router.include_router(duplicates.router)  # before prospects: /prospects/duplicates is not a prospect's page
router.include_router(prospects.router)
router.include_router(emails.router)

# Board, calls, customers, reports and settings (web2).

from leadline.web.pages import board, calls, customers, reports, settings  # noqa: E402

router.include_router(board.router)
router.include_router(calls.router)
router.include_router(customers.router)
router.include_router(reports.router)
router.include_router(settings.router)

from leadline.web.pages import availability  # noqa: E402

router.include_router(availability.router)

from leadline.web.pages import compose, search  # noqa: E402

router.include_router(search.router)
router.include_router(compose.router)

from leadline.web.pages import tasks  # noqa: E402

router.include_router(tasks.router)

from leadline.web.pages import today  # noqa: E402

router.include_router(today.router)

from leadline.web.pages import views  # noqa: E402

router.include_router(views.router)

from leadline.texts import pages as texts_pages  # noqa: E402

router.include_router(texts_pages.router)
from leadline.web.pages import replies  # noqa: E402

router.include_router(replies.router)
