"""A kept file as an HTTP download (the API's and the pages' one answer): always an attachment, never sniffed."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response


def attachment(data: bytes, name: str, content_type: str) -> Response:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name) or "file"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
