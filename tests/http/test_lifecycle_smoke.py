"""Ending and archiving a plan, print, the access log, reports and API keys, end to end."""

from __future__ import annotations

import hashlib
import io

import httpx
from pypdf import PdfReader

from tests.conftest import Gateway
from tests.support import error_codes, make_user, session_for

CREATE = "mutation($in: CreatePlanInput!) { createPlan(input: $in) { id } }"
CONSENT = "mutation($p: ID!, $in: ConsentInput!) { recordConsent(planId: $p, input: $in) { id } }"
ADD = """mutation($p: ID!, $who: ID!, $r: AccessGrantInput) {
  addParticipant(planId: $p, personId: $who, role: RELATIVE, rights: $r) { id } }"""


async def test_end_archive_print_and_access_log(gateway: Gateway) -> None:
    pool, post = gateway.pool, gateway.client.post
    unit = await make_user(pool, "enhet", roles=("COORDINATING_UNIT",))
    owner = await make_user(pool, "ingrid")
    coord = await make_user(pool, "ola")
    relative = await make_user(pool, "per")
    t = {u.username: await session_for(pool, u) for u in (unit, owner, coord, relative)}
    pid = (
        await post(
            CREATE,
            {
                "in": {
                    "ownerId": str(owner.person_id),
                    "shortName": "Ingrids IP",
                    "type": "IP",
                    "startDate": "2026-11-01",
                    "coordinatorId": str(coord.person_id),
                }
            },
            token=t["enhet"],
        )
    )["data"]["createPlan"]["id"]
    await post(
        CONSENT,
        {
            "p": pid,
            "in": {
                "givenById": str(owner.person_id),
                "givenByRelation": "SELF",
                "givenOn": "2026-11-01",
                "expiresOn": "2027-11-01",
                "defaultGrant": {"goals": "WRITE", "messages": "READ"},
            },
        },
        token=t["ola"],
    )
    await post(
        ADD, {"p": pid, "who": str(relative.person_id), "r": {"print": True}}, token=t["ola"]
    )
    await post(
        'mutation($p: ID!) { addGoal(planId: $p, title: "Bo hjemme") { id } }',
        {"p": pid},
        token=t["ola"],
    )

    # The relative reads the goals; the owner sees that read in the access log.
    seen = await post(
        "query($p: ID!) { plan(id: $p) { goals { title } } }", {"p": pid}, token=t["per"]
    )
    assert seen["data"]["plan"]["goals"] == [{"title": "Bo hjemme"}]
    log = await post(
        "{ myAccessLog { edges { what viewer { firstName } plan { id } } } }", token=t["ingrid"]
    )
    entries = log["data"]["myAccessLog"]["edges"]
    assert {"what": "goals", "viewer": {"firstName": "Test"}, "plan": {"id": pid}} in entries

    async with httpx.AsyncClient(base_url=gateway.url) as http:
        printed = await http.get(
            f"/plans/{pid}/print.pdf", headers={"Authorization": f"Bearer {t['per']}"}
        )
        assert printed.status_code == 200, printed.text
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages)
        assert "Ingrids IP" in text and "Bo hjemme" in text
        assert "Meldinger" in text and "Plangruppa" not in text  # no PARTICIPANTS grant

    ended = await post(
        'mutation($p: ID!) { endPlan(id: $p, endDate: "2026-11-27", reason: "Mål nådd")'
        " { status archives { sha256 jsonUrl pdfUrl } } }",
        {"p": pid},
        token=t["ola"],
    )
    assert "errors" not in ended, ended
    [archive] = ended["data"]["endPlan"]["archives"]
    write = await post(
        'mutation($p: ID!) { addGoal(planId: $p, title: "Mer") { id } }', {"p": pid}, token=t["ola"]
    )
    assert write["errors"][0]["extensions"]["reason"] == "PLAN_ENDED"
    async with httpx.AsyncClient() as http:
        auth = {"Authorization": f"Bearer {t['ingrid']}"}
        base = gateway.settings.public_url
        doc = await http.get(archive["jsonUrl"].replace(base, gateway.url), headers=auth)
        assert hashlib.sha256(doc.content).hexdigest() == archive["sha256"]
        pdf = await http.get(archive["pdfUrl"].replace(base, gateway.url), headers=auth)
        assert pdf.content.startswith(b"%PDF")


async def test_reports_with_an_api_key(gateway: Gateway) -> None:
    pool, post = gateway.pool, gateway.client.post
    admin = await make_user(pool, "admin", roles=("SYSTEM_ADMIN",))
    token = await session_for(pool, admin)
    key = await post(
        'mutation { createApiKey(name: "Statistikk", roles: [REPORTER]) { id secret } }',
        token=token,
    )
    secret = key["data"]["createApiKey"]["secret"]
    body = await post(
        "{ reports { planCounts(groupBy: [TYPE]) { type count }"
        " consentsExpiring(withinDays: 30) } }",
        token=secret,
    )
    assert "errors" not in body, body
    other = await post("{ me { id } }", token=secret)
    assert error_codes(other) == ["FORBIDDEN"]
    await post(
        "mutation($id: ID!) { revokeApiKey(id: $id) }",
        {"id": key["data"]["createApiKey"]["id"]},
        token=token,
    )
    revoked = await post("{ reports { consentsExpiring(withinDays: 30) } }", token=secret)
    assert error_codes(revoked) == ["UNAUTHENTICATED"]
