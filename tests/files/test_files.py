"""Files on prospects and customers: the CLI, the API and the pages; type by content, the size cap, the
timeline, downloads as attachments; every refusal changes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from leadline.errors import Invalid
from leadline.files.sniff import sniff
from tests.conftest import configure, make_token
from tests.factories import count, make_prospect, snapshot

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _zip(names: list[str]) -> bytes:
    """A zip of ``names`` with a fixed date: the same bytes in every process (xdist's workers must
    collect the same test ids, and a zip written now carries the time it was written)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), "<x/>")
    return out.getvalue()


DOCX = _zip(["[Content_Types].xml", "word/document.xml"])
XLSX = _zip(["[Content_Types].xml", "xl/workbook.xml"])


class TestSniff:
    @pytest.mark.parametrize(
        ("data", "name", "kind"),
        [
            (PDF, "x.bin", "application/pdf"),
            (PNG, "x.pdf", "image/png"),
            (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "a", "image/jpeg"),
            (b"GIF89a" + b"\x00" * 10, "a", "image/gif"),
            (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a", "image/webp"),
            (b"RIFF\x00\x00\x00\x00WAVEfmt ", "a", "audio/wav"),
            (b"ID3\x04\x00" + b"\x00" * 10, "a", "audio/mpeg"),
            (b"\xff\xfb\x90\x00" + b"\x00" * 10, "a", "audio/mpeg"),
            (b"\x00\x00\x00\x20ftypM4A \x00\x00", "a", "audio/mp4"),
            (DOCX, "a.zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (XLSX, "a", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (b"name,city\nRoyal,Austin\n", "list.csv", "text/csv"),
            ("Notes from the call: ça va\n".encode(), "notes.exe", "text/plain"),
        ],
        ids=["pdf", "png", "jpeg", "gif", "webp", "wav", "mp3-id3", "mp3", "m4a", "docx", "xlsx", "csv", "text"],
    )
    def test_allowed_by_content_not_name(self, data, name, kind):
        assert sniff(data, name).content_type == kind

    @pytest.mark.parametrize(
        ("data", "why"),
        [
            (b"MZ\x90\x00\x03", "program"),
            (b"\x7fELF\x02\x01", "program"),
            (b"#!/bin/sh\nrm -rf /\n", "program"),
            (b"<!DOCTYPE html><html><script>alert(1)</script>", "HTML"),
            (b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "HTML"),
            (b"<?xml version='1.0'?><x/>", "HTML"),
            (_zip(["evil.exe"]), "zip archive"),
            (_zip(["[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"]), "macros"),
            (b"\x00\x01\x02binary", "binary"),
            (b"\xff\xfe\x00\x00 not utf8 \x00", "binary"),
        ],
        ids=["exe", "elf", "script", "html", "svg", "xml", "zip", "docm", "binary", "not-utf8"],
    )
    def test_refused(self, data, why):
        with pytest.raises(Invalid) as refused:
            sniff(data, "report.pdf")
        assert why in str(refused.value) and refused.value.field == "file"


def test_cli_add_list_get_remove_with_the_timeline(cli, settings, tmp_path):
    p = make_prospect(settings)
    path = tmp_path / "contract.pdf"
    path.write_bytes(PDF)
    added = cli("files", "add", f"prospect:{p.id}", str(path), "--json")
    assert added.exit_code == 0, added.stderr
    kept = added.json
    assert (kept["name"], kept["contentType"], kept["size"]) == ("contract.pdf", "application/pdf", len(PDF))
    assert kept["sha256"] == hashlib.sha256(PDF).hexdigest() and kept["customerId"] is None
    listed = cli("files", "list", f"prospect:{p.id}", "--json").json
    assert [f["id"] for f in listed] == [kept["id"]]
    out = tmp_path / "back.pdf"
    got = cli("files", "get", kept["id"], "-o", str(out))
    assert got.exit_code == 0 and out.read_bytes() == PDF
    assert cli("files", "remove", kept["id"]).exit_code == 0
    assert cli("files", "list", "--json").json == []
    timeline = cli("prospects", "show", p.id, "--json").json["timeline"]
    files = [(e["type"], e["status"], e["details"]["name"]) for e in timeline if e["type"] == "file"]
    assert files == [("file", "added", "contract.pdf"), ("file", "removed", "contract.pdf")]


def test_a_customers_file(cli, settings, tmp_path):
    p = make_prospect(settings)
    won = cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "900", "--json")
    customer = won.json["id"]
    path = tmp_path / "photo.png"
    path.write_bytes(PNG)
    kept = cli("files", "add", f"customer:{customer}", str(path), "--json").json
    assert kept["customerId"] == customer and kept["prospectId"] == p.id
    assert [f["id"] for f in cli("files", "list", f"customer:{customer}", "--json").json] == [kept["id"]]


def test_cli_refusals_change_nothing(cli, settings, monkeypatch, tmp_path):
    p = make_prospect(settings)
    configure(monkeypatch, settings, file_max_bytes=1000)
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * 1000)
    exe = tmp_path / "invoice.pdf"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    page = tmp_path / "page.txt"
    page.write_bytes(b"<html><body><script>steal()</script></body></html>")
    good = tmp_path / "ok.pdf"
    good.write_bytes(PDF)
    before = snapshot(settings)
    for args, words in [
        (("files", "add", f"prospect:{p.id}", str(big)), "larger than 1,000 bytes (LEADLINE_FILE_MAX_BYTES)"),
        (("files", "add", f"prospect:{p.id}", str(exe)), "a program (executable or script) is not a type"),
        (("files", "add", f"prospect:{p.id}", str(page)), "HTML, SVG or XML is not a type"),
        (("files", "add", "prospect:nobody", str(good)), "no prospect with id 'nobody'"),
        (("files", "add", p.id, str(good)), "write prospect:ID or customer:ID"),
        (("files", "add", f"prospect:{p.id}", str(tmp_path / "missing.pdf")), "not a file"),
        (("files", "get", "fil_nope", "-o", str(tmp_path / "x")), "no file with id"),
        (("files", "remove", "fil_nope"), "no file with id"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1 and words in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(settings) == before


def test_api_upload_download_remove(client, settings):
    p = make_prospect(settings)
    made = client.post("/api/files", data={"target": f"prospect:{p.id}"},
                       files={"file": ("notes.csv", b"a,b\n1,2\n", "application/x-msdownload")})  # fmt: skip
    assert made.status_code == 201, made.text
    kept = made.json()
    assert kept["contentType"] == "text/csv"  # told by its content (and .csv), not by what the client said
    got = client.get(f"/api/files/{kept['id']}/content")
    assert got.status_code == 200 and got.content == b"a,b\n1,2\n"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/files", params={"prospectId": p.id}).json()[0]["id"] == kept["id"]
    assert client.delete(f"/api/files/{kept['id']}").status_code == 204
    assert client.get(f"/api/files/{kept['id']}").status_code == 404


def test_api_refusals_change_nothing(client, anon_client, settings, monkeypatch):
    p = make_prospect(settings)
    configure(monkeypatch, settings, file_max_bytes=2000)
    before = snapshot(settings)
    too_big = client.post("/api/files", data={"target": f"prospect:{p.id}"},
                          files={"file": ("a.pdf", PDF + b"0" * 2000, "application/pdf")})  # fmt: skip
    assert too_big.status_code == 413 and too_big.json()["field"] == "file"
    way_too_big = client.post("/api/files", data={"target": f"prospect:{p.id}"},
                              files={"file": ("a.pdf", PDF + b"0" * 200_000, "application/pdf")})  # fmt: skip
    assert way_too_big.status_code == 413  # refused by the body limit before the body is read
    svg = client.post("/api/files", data={"prospectId": p.id},
                      files={"file": ("logo.png", b"<svg onload='x()'/>", "image/png")})  # fmt: skip
    assert svg.status_code == 422 and svg.json()["field"] == "file" and "SVG" in svg.json()["message"]
    nowhere = client.post("/api/files", files={"file": ("a.pdf", PDF, "application/pdf")})
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "target"
    read_only = {"Authorization": f"Bearer {make_token(settings, scope='read', name='reader')}"}
    before = snapshot(settings)
    refused = anon_client.post("/api/files", headers=read_only, data={"prospectId": p.id},
                               files={"file": ("a.pdf", PDF, "application/pdf")})  # fmt: skip
    assert refused.status_code == 403
    assert anon_client.post("/api/files", data={"prospectId": p.id},
                            files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 401  # fmt: skip
    assert snapshot(settings) == before


def test_downloads_need_sign_in(client, anon_client, signed_in, settings):
    p = make_prospect(settings)
    kept = client.post("/api/files", data={"prospectId": p.id}, files={"file": ("a.pdf", PDF, "x/y")}).json()
    assert anon_client.get(f"/api/files/{kept['id']}/content").status_code == 401
    page = anon_client.get(f"/files/{kept['id']}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    viewer = signed_in("viewer")
    got = viewer.get(f"/files/{kept['id']}")
    assert got.status_code == 200 and got.content == PDF and "attachment" in got.headers["content-disposition"]
    before = snapshot(settings)
    removed = viewer.post(f"/files/{kept['id']}/remove", data={"csrf_token": viewer.csrf}, follow_redirects=False)
    assert removed.status_code == 403 and snapshot(settings) == before


def test_pages_upload_and_remove(page_client, settings):
    p = make_prospect(settings)
    page = page_client.post(f"/prospects/{p.id}/files", data={"csrf_token": page_client.csrf},
                            files={"file": ("quote.pdf", PDF, "application/pdf")})  # fmt: skip
    assert page.status_code == 200 and "The file is kept." in page.text and "quote.pdf" in page.text
    assert count(settings, "files") == 1
    before = snapshot(settings)
    refused = page_client.post(f"/prospects/{p.id}/files", data={"csrf_token": page_client.csrf},
                               files={"file": ("quote.pdf", b"MZ\x90\x00", "application/pdf")})  # fmt: skip
    assert refused.status_code == 422 and "a program (executable or script) is not a type" in refused.text
    assert snapshot(settings) == before
    kept = page_client.get("/api/files").json()[0]
    gone = page_client.post(f"/files/{kept['id']}/remove", data={"csrf_token": page_client.csrf})
    assert gone.status_code == 200 and "The file is removed." in gone.text
    assert count(settings, "files") == 0


def test_customer_page_upload(page_client, cli, settings):
    p = make_prospect(settings)
    customer = cli("deals", "won", "--prospect", p.id, "--service", "paid_ads", "--monthly-fee", "900",
                   "--json").json["id"]  # fmt: skip
    page = page_client.post(f"/customers/{customer}/files", data={"csrf_token": page_client.csrf},
                            files={"file": ("w9.pdf", PDF, "application/pdf")})  # fmt: skip
    assert page.status_code == 200 and "w9.pdf" in page.text and "The file is kept." in page.text
    before = snapshot(settings)
    empty = page_client.post(f"/customers/{customer}/files", data={"csrf_token": page_client.csrf})
    assert empty.status_code == 422 and "choose a file" in empty.text and snapshot(settings) == before


def test_export_all_carries_the_bytes(cli, settings, tmp_path):
    p = make_prospect(settings)
    path = tmp_path / "c.pdf"
    path.write_bytes(PDF)
    cli("files", "add", f"prospect:{p.id}", str(path))
    out = tmp_path / "all.jsonl"
    assert cli("export", "--all", "-o", str(out)).exit_code == 0
    import base64

    assert base64.b64encode(PDF).decode() in Path(out).read_text()


def test_a_backup_restore_and_a_whole_export_import_carry_the_bytes(cli, settings, tmp_path):
    """The bytes live in the database: `leadline backup` / `restore` bring a removed file back, and
    `export --all` / `import --all` carry it into a new database, byte for byte."""
    from leadline.db import dispose_engines
    from tests.conftest import Cli

    p = make_prospect(settings)
    data = PDF + bytes(range(256)) * 400  # every byte value, 100 KB
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    kept = cli("files", "add", f"prospect:{p.id}", str(path), "--json").json
    target = tmp_path / ("backup.db" if settings.database_url.startswith("sqlite") else "backup.dump")
    assert cli("backup", str(target)).exit_code == 0
    assert cli("files", "remove", kept["id"]).exit_code == 0 and count(settings, "files") == 0
    restored = cli("restore", str(target), "--yes")
    assert restored.exit_code == 0, restored.stderr
    out = tmp_path / "restored.pdf"
    assert cli("files", "get", kept["id"], "-o", str(out)).exit_code == 0 and out.read_bytes() == data

    exported = tmp_path / "all.jsonl"
    assert cli("export", "--all", "-o", str(exported)).exit_code == 0
    dispose_engines()
    fresh = Cli(settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'fresh.db'}"}))
    assert fresh("init").exit_code == 0
    loaded = fresh("import", "--all", str(exported))
    assert loaded.exit_code == 0, loaded.stderr
    again = tmp_path / "imported.pdf"
    assert fresh("files", "get", kept["id"], "-o", str(again)).exit_code == 0 and again.read_bytes() == data
    [listed] = fresh("files", "list", f"prospect:{p.id}", "--json").json  # type: ignore[misc]
    assert listed["sha256"] == hashlib.sha256(data).hexdigest()
    dispose_engines()
