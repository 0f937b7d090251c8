"""A file's type, told by its content (magic bytes), never by its name.

Allowed: PDF, PNG, JPEG, GIF, WebP, plain text and CSV (UTF-8, no NUL), Word and Excel documents
(DOCX, XLSX: a zip whose parts say so, without macros), MP3, M4A and WAV. Everything else is refused,
and by name: programs (Windows, Linux and Mac executables, scripts starting with ``#!``), HTML, SVG and
XML (a browser would run their scripts), other zips and unknown binaries. Pure: bytes in, a type out.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from leadline.errors import Invalid


class RefusedType(Invalid):
    """The content is not of a type Leadline keeps."""


@dataclass(frozen=True)
class Kind:
    content_type: str
    label: str


PDF = Kind("application/pdf", "PDF")
PNG = Kind("image/png", "PNG image")
JPEG = Kind("image/jpeg", "JPEG image")
GIF = Kind("image/gif", "GIF image")
WEBP = Kind("image/webp", "WebP image")
TEXT = Kind("text/plain", "text")
CSV = Kind("text/csv", "CSV")
DOCX = Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document")
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook")
MP3 = Kind("audio/mpeg", "MP3 audio")
M4A = Kind("audio/mp4", "M4A audio")
WAV = Kind("audio/wav", "WAV audio")

ALLOWED = "PDF, PNG, JPEG, GIF, WebP, plain text, CSV, DOCX, XLSX, MP3, M4A or WAV"

_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_MARKUP = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body", b"<iframe", b"<object")


def _refuse(what: str) -> RefusedType:
    return RefusedType(f"{what} is not a type Leadline keeps; allowed: {ALLOWED}", field="file")


def sniff(data: bytes, name: str = "") -> Kind:
    """The type of ``data``; raises :class:`RefusedType` (field ``file``) for anything not allowed."""
    if not data:
        raise Invalid("is empty", field="file")
    head = data[:64]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B "):
        return M4A
    if head.startswith(b"ID3") or _mp3_frame(head):
        return MP3
    if head.startswith(_EXECUTABLES):
        raise _refuse("a program (executable or script)")
    if head.startswith(b"PK\x03\x04"):
        return _office(data)
    return _text(data, name)


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio layer III frame header: the sync bits, layer III, a real bitrate and sample rate."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE6 != 0xE2:
        return False
    return head[2] & 0xF0 != 0xF0 and head[2] & 0x0C != 0x0C


def _office(data: bytes) -> Kind:
    """A zip is kept only as a Word or Excel document (its central directory is read, nothing is unpacked)."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("a damaged zip") from None
    if "[Content_Types].xml" not in names:
        raise _refuse("a zip archive")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refuse("an Office document with macros")
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    raise _refuse("this Office document")


def _text(data: bytes, name: str) -> Kind:
    if b"\x00" in data:
        raise _refuse("this binary content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("this binary content (or text that is not UTF-8)") from None
    start = text[:2048].lstrip().lower().encode()
    if start.startswith(_MARKUP) or b"<script" in start or b"<html" in start or b"<svg" in start:
        raise _refuse("HTML, SVG or XML")
    if not text.strip():
        raise Invalid("holds only blank space", field="file")
    return CSV if name.lower().endswith((".csv", ".tsv")) else TEXT
