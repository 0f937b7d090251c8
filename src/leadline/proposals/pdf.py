"""A proposal's PDF with WeasyPrint: the document as shown, and for a signed one a certificate page after it.

WeasyPrint needs Pango (``libpango-1.0-0``, ``libpangoft2-1.0-0``; see docs/deployment.md). It fetches
nothing: only ``data:`` URLs are allowed, so a template cannot make the server read a file or a URL.
"""

from __future__ import annotations

from html import escape
from typing import Any

from leadline.errors import Unavailable

CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; color: #1d2330; line-height: 1.45; }
h1 { font-size: 19pt; margin: 0 0 6pt; } h2 { font-size: 13pt; margin: 14pt 0 4pt; }
.kicker { color: #667085; font-size: 9pt; text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4pt 6pt;
  border-bottom: 1px solid #e4e7ec; vertical-align: top; } th { width: 38%; font-weight: 600; }
.certificate { page-break-before: always; } .certificate td { font-family: "DejaVu Sans Mono", monospace;
  font-size: 9pt; word-break: break-all; }
.small { font-size: 9pt; color: #667085; }
"""


def _certificate(evidence: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in evidence.items())
    return (
        "<section class='certificate'><h1>Certificate of acceptance</h1>"
        "<p>The person named below accepted the proposal on the previous pages by typing their name and "
        "ticking the box “I accept this proposal”, on the page of its private link. The SHA-256 below is "
        "that of the exact document shown to them.</p>"
        f"<table>{rows}</table></section>"
    )


def render(document_html: str, *, title: str, certificate: dict[str, Any] | None = None) -> bytes:
    try:
        from weasyprint import HTML, URLFetcher  # type: ignore[import-untyped]
    except (OSError, ImportError) as missing:  # WeasyPrint loads Pango when it is imported
        raise Unavailable(
            "proposal PDFs need Pango, which is not installed on this server (make pdf-support; docs/deployment.md)"
        ) from missing

    body = document_html + (_certificate(certificate) if certificate else "")
    page = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )
    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
    data: bytes = HTML(string=page, url_fetcher=fetcher).write_pdf()
    return data
