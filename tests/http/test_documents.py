"""Documents over real HTTP: uploadDocument as a GraphQL multipart request (built here part by
part: ``operations``, ``map`` and the file), the type sniffed from the bytes, downloadUrl
with the same bearer token and the same access check, and every refusal writing nothing.

The files are real and minimal, built in this module: a one-page PDF, a 2×2 PNG, an 8×8
baseline JPEG, a DOCX and an XLSX package, and UTF-8 text.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import uuid
import zipfile
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.conftest import Gateway
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OUTSIDER,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    SYSTEM_ADMIN,
    PlanWorld,
    build_world,
    errors_by_path,
    ok,
    today_of,
)

MiB = 1024 * 1024
PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = "text/plain"

UPLOAD = """mutation($p: ID!, $file: Upload!) { uploadDocument(planId: $p, file: $file) {
  id name contentType sizeBytes downloadUrl uploadedAt uploadedBy { id } } }"""
DOCUMENTS = """query($p: ID!) { plan(id: $p) { documents { id name contentType sizeBytes
  uploadedBy { id } } } }"""


# --- real, minimal files ---------------------------------------------------------------------


def pdf_bytes(text: str = "Plan") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png_bytes() -> bytes:
    """A 2×2 red RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A baseline 8×8 grey JPEG: one block whose DC difference is 0 and whose AC part is an
    end-of-block, each coded with a one-symbol Huffman table (the code "0")."""

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # one code of length 1, for symbol 0
    return (
        b"\xff\xd8"
        + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table 0
        + segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")  # 8×8, 1 component
        + segment(0xC4, b"\x00" + one_code)  # DC table 0
        + segment(0xC4, b"\x10" + one_code)  # AC table 0
        + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")  # scan: component 1, tables 0/0
        + b"\x3f"  # bits 0 (DC diff 0) and 0 (EOB), padded with ones
        + b"\xff\xd9"
    )


_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _package(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, _XML + text)
    return buffer.getvalue()


def _content_types(overrides: dict[str, str]) -> str:
    return (
        f'<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
        + "</Types>"
    )


def _relationships(*targets: tuple[str, str]) -> str:
    return (
        f'<Relationships xmlns="{_PKG}/relationships">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="{_RELS}/{kind}" Target="{target}"/>'
            for n, (kind, target) in enumerate(targets, start=1)
        )
        + "</Relationships>"
    )


def docx_bytes() -> bytes:
    """A one-paragraph Word document (WordprocessingML package)."""
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return _package(
        {
            "[Content_Types].xml": _content_types({"/word/document.xml": main}),
            "_rels/.rels": _relationships(("officeDocument", "word/document.xml")),
            "word/document.xml": (
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
                'main"><w:body><w:p><w:r><w:t>Referat</w:t></w:r></w:p></w:body></w:document>'
            ),
        }
    )


def xlsx_bytes() -> bytes:
    """A one-cell spreadsheet (SpreadsheetML package)."""
    ml = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return _package(
        {
            "[Content_Types].xml": _content_types(
                {
                    "/xl/workbook.xml": f"{kind}.sheet.main+xml",
                    "/xl/worksheets/sheet1.xml": f"{kind}.worksheet+xml",
                }
            ),
            "_rels/.rels": _relationships(("officeDocument", "xl/workbook.xml")),
            "xl/workbook.xml": (
                f'<workbook xmlns="{ml}" xmlns:r="{_RELS}"><sheets>'
                '<sheet name="Ark1" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": _relationships(("worksheet", "worksheets/sheet1.xml")),
            "xl/worksheets/sheet1.xml": (
                f'<worksheet xmlns="{ml}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
                "<is><t>Budsjett</t></is></c></row></sheetData></worksheet>"
            ),
        }
    )


def text_bytes() -> bytes:
    return "Referat fra ansvarsgruppemøtet\nÆØÅ æøå – neste møte i januar.\n".encode()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hei.txt", "hei")
    return buffer.getvalue()


def content_types_only_zip() -> bytes:
    """An OOXML-looking package that is neither a Word nor an Excel document."""
    return _package({"[Content_Types].xml": _content_types({}), "ppt/presentation.xml": "<p/>"})


# --- the multipart request ---------------------------------------------------------------


async def upload(
    gateway: Gateway,
    token: str | None,
    plan_id: str,
    filename: str,
    data: bytes,
    claimed_type: str = "application/octet-stream",
) -> httpx.Response:
    """uploadDocument by the GraphQL multipart request spec: an ``operations`` part with the
    file variable null, a ``map`` part pointing file part "0" at it, then the file."""
    operations = {"query": UPLOAD, "variables": {"p": plan_id, "file": None}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await gateway.client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, claimed_type)},
        headers=headers,
    )


def uploaded(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    document: dict[str, Any] = body["data"]["uploadDocument"]
    return document


def refused(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """(code, reason, field) of a refused upload."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    ext = error["extensions"]
    return ext["code"], ext.get("reason"), ext.get("field")


async def download(gateway: Gateway, url: str, token: str | None) -> httpx.Response:
    """GET a downloadUrl from the running gateway (its public host is configured apart)."""
    path = urlsplit(url).path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await gateway.client.http.get(path, headers=headers)


async def stored(gateway: Gateway) -> tuple[int, int]:
    async with gateway.pool.acquire() as conn:
        documents = await conn.fetchval("SELECT count(*) FROM documents")
        contents = await conn.fetchval("SELECT count(*) FROM document_contents")
    return int(documents), int(contents)


async def documents_world(gateway: Gateway, **kwargs: Any) -> PlanWorld:
    """Everyone may read documents; the service provider may add them; the guardian may not
    even read them."""
    return await build_world(
        gateway,
        default_grant={
            "participants": "READ",
            "goals": "READ",
            "activities": "READ",
            "messages": "READ",
            "calendar": "READ",
            "documents": "READ",
        },
        rights={SERVICE_PROVIDER: {"documents": "WRITE"}, GUARDIAN: {"documents": "NONE"}},
        **kwargs,
    )


# --- accepted types --------------------------------------------------------------------------

ACCEPTED = [
    # (file name, bytes, the type the client claims, the type the server must store)
    ("vedtak.pdf", pdf_bytes("Vedtak"), PDF, PDF),
    ("bilde.png", png_bytes(), PNG, PNG),
    ("foto.jpg", jpeg_bytes(), JPEG, JPEG),
    ("referat.docx", docx_bytes(), DOCX, DOCX),
    ("budsjett.xlsx", xlsx_bytes(), XLSX, XLSX),
    ("notat.txt", text_bytes(), TEXT, TEXT),
    # The bytes decide, never the name or the claimed type.
    ("x.txt", pdf_bytes("Forkledd"), TEXT, PDF),
    ("skjema.pdf", png_bytes(), PDF, PNG),
    ("dokument", docx_bytes(), "application/octet-stream", DOCX),
    ("regneark.docx", xlsx_bytes(), DOCX, XLSX),
]


async def test_every_allowed_type_is_stored_with_its_sniffed_type_and_served_back(
    gateway: Gateway,
) -> None:
    w = await documents_world(gateway)
    sp = w.token(SERVICE_PROVIDER)
    prefix = f"{gateway.settings.public_url}/plans/{w.plan_id}/documents/"
    documents = []
    for name, data, claimed, sniffed in ACCEPTED:
        doc = uploaded(await upload(gateway, sp, w.plan_id, name, data, claimed))
        assert doc["name"] == name
        assert doc["contentType"] == sniffed, name
        assert doc["sizeBytes"] == len(data)
        assert doc["uploadedBy"] == {"id": w.participant_ids[SERVICE_PROVIDER]}
        assert doc["downloadUrl"] == prefix + doc["id"]
        assert dt.datetime.fromisoformat(doc["uploadedAt"]) == gateway.clock()
        documents.append(doc)

        for who in (SERVICE_PROVIDER, RELATIVE, OWNER):
            got = await download(gateway, doc["downloadUrl"], w.token(who))
            assert got.status_code == 200, (name, who, got.text)
            assert got.content == data, (name, who)
            assert got.headers["content-type"].split(";")[0] == sniffed, (name, who)
            assert got.headers["content-disposition"].startswith("attachment"), name
            assert got.headers["x-content-type-options"] == "nosniff"

    assert await stored(gateway) == (len(ACCEPTED), len(ACCEPTED))
    listed = ok(await w.post(RELATIVE, DOCUMENTS, {"p": w.plan_id}), "documents")
    assert sorted(
        (d["name"], d["contentType"], d["sizeBytes"]) for d in listed["plan"]["documents"]
    ) == sorted((d["name"], d["contentType"], d["sizeBytes"]) for d in documents)


async def test_the_coordinator_and_owner_upload_and_a_path_in_the_name_is_dropped(
    gateway: Gateway,
) -> None:
    w = await documents_world(gateway)
    for who in (COORDINATOR, OWNER):
        doc = uploaded(
            await upload(gateway, w.token(who), w.plan_id, "../../etc/passwd.pdf", pdf_bytes())
        )
        assert doc["name"] == "passwd.pdf"
        assert doc["uploadedBy"] == {"id": w.participant_ids[who]}
    assert await stored(gateway) == (2, 2)


async def test_a_document_of_exactly_20_mib_is_accepted(gateway: Gateway) -> None:
    w = await documents_world(gateway)
    head = pdf_bytes()
    data = head + b"%" * (20 * MiB - len(head))
    doc = uploaded(await upload(gateway, w.token(COORDINATOR), w.plan_id, "stor.pdf", data))
    assert (doc["contentType"], doc["sizeBytes"]) == (PDF, 20 * MiB)
    got = await download(gateway, doc["downloadUrl"], w.token(RELATIVE))
    assert got.status_code == 200
    assert got.content == data


# --- downloadUrl: the same access as Plan.documents -------------------------------------------


async def test_download_needs_a_session_and_the_documents_grant(gateway: Gateway) -> None:
    w = await documents_world(gateway, consent_expires_on={RELATIVE: today_of(gateway)})
    data = pdf_bytes("Hemmelig")
    doc = uploaded(await upload(gateway, w.token(SERVICE_PROVIDER), w.plan_id, "h.pdf", data))
    url = doc["downloadUrl"]
    assert (await download(gateway, url, w.token(RELATIVE))).content == data

    for token in (None, "not-a-session"):
        got = await download(gateway, url, token)
        assert got.status_code == 401, token
        assert data not in got.content
    # The guardian takes part but has no DOCUMENTS grant.
    got = await download(gateway, url, w.token(GUARDIAN))
    assert got.status_code == 403
    assert data not in got.content
    body = await w.post(GUARDIAN, DOCUMENTS, {"p": w.plan_id})
    assert body["data"]["plan"]["documents"] is None
    assert errors_by_path(body) == {("plan", "documents"): ("FORBIDDEN", "NO_GRANT")}
    # Outsiders (an administrator included) may not know the plan.
    for who in (OUTSIDER, SYSTEM_ADMIN):
        got = await download(gateway, url, w.token(who))
        assert got.status_code in ((404,) if who == OUTSIDER else (403, 404)), who
        assert data not in got.content

    # The relative's own consent runs out: 403 from then on.
    gateway.clock.advance(days=1)
    await w.renew_sessions()
    got = await download(gateway, url, w.token(RELATIVE))
    assert got.status_code == 403
    assert data not in got.content
    assert (await download(gateway, url, w.token(OWNER))).content == data

    # A removed participant no longer knows the plan.
    ok(
        await w.post(
            COORDINATOR,
            "mutation($id: ID!) { removeParticipant(id: $id) { id } }",
            {"id": w.participant_ids[SERVICE_PROVIDER]},
        ),
        "removeParticipant",
    )
    assert (await download(gateway, url, w.token(SERVICE_PROVIDER))).status_code == 404


async def test_a_document_is_served_only_under_its_own_plan(gateway: Gateway) -> None:
    first = await documents_world(gateway)
    # The same coordinator runs a second plan.
    second = await documents_world(gateway, reuse={COORDINATOR: first.actors[COORDINATOR]})
    data = pdf_bytes("Plan A")
    doc = uploaded(await upload(gateway, first.token(COORDINATOR), first.plan_id, "a.pdf", data))
    token = first.token(COORDINATOR)
    wrong_plan = f"/plans/{second.plan_id}/documents/{doc['id']}"
    got = await download(gateway, wrong_plan, token)
    assert got.status_code == 404
    assert data not in got.content
    unknown = f"/plans/{first.plan_id}/documents/{uuid.uuid4()}"
    assert (await download(gateway, unknown, token)).status_code == 404
    assert (await download(gateway, doc["downloadUrl"], token)).content == data
    # The second plan's people cannot reach it through their plan either.
    got = await download(gateway, wrong_plan, second.token(RELATIVE))
    assert got.status_code == 404


# --- refusals ------------------------------------------------------------------------------


async def test_a_document_over_20_mib_is_refused_and_nothing_is_stored(
    gateway: Gateway,
) -> None:
    w = await documents_world(gateway)
    head = pdf_bytes()
    for size in (20 * MiB + 1, 21 * MiB, 30 * MiB):
        data = head + b"%" * (size - len(head))
        response = await upload(gateway, w.token(COORDINATOR), w.plan_id, "stor.pdf", data)
        if response.status_code == 413:
            assert b"uploadDocument" not in response.content
        else:
            assert refused(response) == ("BAD_USER_INPUT", None, "file"), size
        assert await stored(gateway) == (0, 0), size
    # Right below the limit the same file goes in.
    data = head + b"%" * (20 * MiB - 1 - len(head))
    uploaded(await upload(gateway, w.token(COORDINATOR), w.plan_id, "stor.pdf", data))
    assert await stored(gateway) == (1, 1)


REFUSED_TYPES = [
    ("program", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x3e\x00", "application/pdf"),
    ("arkiv.zip", plain_zip(), "application/zip"),
    ("lysbilder.pptx", content_types_only_zip(), DOCX),
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48, PDF),
    (
        "bilde.gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04"
        b"\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        PNG,
    ),
    ("binær.txt", b"tekst\x00med\x00nullbyte", TEXT),
    ("latin1.txt", "Blåbærsyltetøy".encode("latin-1"), TEXT),
    ("tom.pdf", b"", PDF),
    # A program with a PDF inside is a program: the type is what the file starts with.
    ("polyglot.pdf", b"MZ\x90\x00" + b"\x00" * 60 + pdf_bytes(), PDF),
]


async def test_a_disallowed_type_is_refused_with_field_file(gateway: Gateway) -> None:
    w = await documents_world(gateway)
    for name, data, claimed in REFUSED_TYPES:
        response = await upload(gateway, w.token(COORDINATOR), w.plan_id, name, data, claimed)
        assert refused(response) == ("BAD_USER_INPUT", None, "file"), name
        assert await stored(gateway) == (0, 0), name


async def test_an_upload_needs_the_documents_write_grant(gateway: Gateway) -> None:
    w = await documents_world(gateway)
    data = pdf_bytes()
    for who, want in (
        (RELATIVE, ("FORBIDDEN", "NO_GRANT", None)),  # READ only
        (GUARDIAN, ("FORBIDDEN", "NO_GRANT", None)),  # NONE
        (OUTSIDER, ("NOT_FOUND", None, None)),
    ):
        response = await upload(gateway, w.token(who), w.plan_id, "a.pdf", data)
        assert refused(response) == want, who
        assert await stored(gateway) == (0, 0), who
    # Without a session the mutation itself is refused.
    response = await upload(gateway, "not-a-session", w.plan_id, "a.pdf", data)
    assert refused(response)[0] == "UNAUTHENTICATED"
    assert await stored(gateway) == (0, 0)


async def test_an_expired_consent_refuses_uploads(gateway: Gateway) -> None:
    w = await documents_world(gateway, consent_expires_on={SERVICE_PROVIDER: today_of(gateway)})
    uploaded(await upload(gateway, w.token(SERVICE_PROVIDER), w.plan_id, "a.pdf", pdf_bytes()))
    gateway.clock.advance(days=1)
    await w.renew_sessions()
    response = await upload(gateway, w.token(SERVICE_PROVIDER), w.plan_id, "b.pdf", pdf_bytes())
    assert refused(response) == ("FORBIDDEN", "CONSENT_EXPIRED", None)
    assert await stored(gateway) == (1, 1)


async def test_an_ended_plan_refuses_uploads_but_serves_its_documents(
    gateway: Gateway,
) -> None:
    w = await documents_world(gateway)
    data = pdf_bytes("Før slutt")
    doc = uploaded(await upload(gateway, w.token(COORDINATOR), w.plan_id, "a.pdf", data))
    await w.end_plan()
    for who in (COORDINATOR, OWNER, SERVICE_PROVIDER):
        response = await upload(gateway, w.token(who), w.plan_id, "b.pdf", pdf_bytes())
        assert refused(response) == ("FORBIDDEN", "PLAN_ENDED", None), who
    assert await stored(gateway) == (1, 1)
    for who in (COORDINATOR, RELATIVE):
        got = await download(gateway, doc["downloadUrl"], w.token(who))
        assert (got.status_code, got.content) == (200, data), who
    listed = ok(await w.post(RELATIVE, DOCUMENTS, {"p": w.plan_id}), "documents")
    assert [d["id"] for d in listed["plan"]["documents"]] == [doc["id"]]


async def test_multipart_without_an_authorization_header_is_415(gateway: Gateway) -> None:
    w = await documents_world(gateway)
    # A browser form can send multipart/form-data with cookies, never a bearer token.
    response = await upload(gateway, None, w.plan_id, "a.pdf", pdf_bytes())
    assert response.status_code == 415
    response = await gateway.client.http.post(
        "/graphql",
        data={
            "operations": json.dumps(
                {"query": UPLOAD, "variables": {"p": w.plan_id, "file": None}}
            ),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("a.pdf", pdf_bytes(), PDF)},
        headers={"Cookie": f"session={w.token(COORDINATOR)}"},
    )
    assert response.status_code == 415
    assert await stored(gateway) == (0, 0)
    # The same request with the header goes through.
    uploaded(await upload(gateway, w.token(COORDINATOR), w.plan_id, "a.pdf", pdf_bytes()))
    assert await stored(gateway) == (1, 1)
