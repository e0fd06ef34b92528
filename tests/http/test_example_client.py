"""The example client in examples/ (TypeScript, fetch and graphql-ws) against a served gateway.

It runs under Node exactly as a frontend developer would run it: it logs in with the password
and the one-time code (which this test takes from the SMTP server and types on its standard
input), lists the plans, opens one asking only for what `myAccess` and `visibleFields` allow
(it exits 1 on any error in an answer, so a FORBIDDEN fails it), posts a message and receives it
over the live subscription, and logs out. Its pinned packages (examples/package-lock.json) are
installed with `npm ci` into examples/node_modules (git-ignored) once and reused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import Gateway, Mailbox
from tests.plan_world import COORDINATOR, PERSON_FIELD_NAMES, RELATIVE, build_world, ok, today_of
from tests.support import PASSWORD, node_with_pinned_packages, six_digit_code

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAIL_WAIT = 30.0  # for the login code to leave the outbox
RUN_WAIT = 90.0  # for the whole client run (its own live wait is 30 s)

ADD_GOAL = """mutation($p: ID!, $t: String!) { addGoal(planId: $p, title: $t) { id } }"""
ADD_ACTIVITY = """mutation($g: ID!, $t: String!) { addActivity(goalId: $g, title: $t) { id } }"""
ADD_ENTRY = """mutation($p: ID!, $t: String!, $at: DateTime!) {
  addCalendarEntry(planId: $p, title: $t, startsAt: $at) { id } }"""
POST = """mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }"""
VISIBLE = """query($id: ID!) { person(id: $id) { visibleFields } }"""
MESSAGES = """query($p: ID!) { plan(id: $p) { messages(first: 50) {
  edges { node { body author { role } } } } } }"""
HIDE_MOBILE = """mutation { setFieldVisibility(field: MOBILE, visibility: PRIVATE) { id } }"""


@pytest.fixture(scope="session")
def example_client() -> str:
    """node, with the example's pinned packages installed (npm ci from package-lock.json)."""
    return node_with_pinned_packages(EXAMPLES, "to run the example client", lockfile=True)


def test_example_client_type_checks(example_client: str) -> None:
    """The example is strict TypeScript against the pinned graphql-ws and ws types."""
    done = subprocess.run(
        [example_client, str(EXAMPLES / "node_modules" / "typescript" / "bin" / "tsc"), "-p", "."],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def _login_code(gateway: Gateway, smtp: Mailbox, address: str) -> str:
    """The code of the login mail to `address`, once the client's login has queued it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAIL_WAIT
    while not smtp.bodies_to(address):
        if loop.time() > deadline:
            pytest.fail(f"no login code was mailed to {address} within {MAIL_WAIT} s")
        await gateway.deliver()
        await asyncio.sleep(0.1)
    [text] = smtp.bodies_to(address)
    return six_digit_code(text)


async def test_example_client_runs_against_a_served_gateway(
    example_client: str, gateway: Gateway, smtp: Mailbox
) -> None:
    # The relative's grant (the world's default): participants READ, goals WRITE, activities
    # READ, messages WRITE, calendar READ, documents NONE.
    world = await build_world(gateway)
    tag = uuid.uuid4().hex[:8]
    goal = ok(
        await world.post(COORDINATOR, ADD_GOAL, {"p": world.plan_id, "t": f"Mål {tag}"}), "goal"
    )
    ok(
        await world.post(
            COORDINATOR, ADD_ACTIVITY, {"g": goal["addGoal"]["id"], "t": f"Tiltak {tag}"}
        ),
        "activity",
    )
    starts = dt.datetime.combine(today_of(gateway) + dt.timedelta(days=7), dt.time(10), dt.UTC)
    ok(
        await world.post(
            COORDINATOR,
            ADD_ENTRY,
            {"p": world.plan_id, "t": f"Møte {tag}", "at": starts.isoformat()},
        ),
        "calendar",
    )
    ok(await world.post(COORDINATOR, POST, {"p": world.plan_id, "b": f"Velkommen {tag}"}), "post")
    # Skjul mobilnummer: the coordinator's mobile is theirs alone, so asking for it would fail.
    ok(await world.post(COORDINATOR, HIDE_MOBILE), "setFieldVisibility")
    coordinator_id = world.person_id(COORDINATOR)
    visible = ok(await world.post(RELATIVE, VISIBLE, {"id": coordinator_id}), "visibleFields")[
        "person"
    ]["visibleFields"]
    assert "MOBILE" not in visible and "EMAIL" in visible, visible

    relative = world.actors[RELATIVE]
    assert relative.user.email is not None
    while await gateway.deliver():  # the world's own notifications, before the login code
        pass
    smtp.messages.clear()
    body = f"Hei fra eksempelklienten {tag}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLANGRUPPE_")},
        "PLANGRUPPE_URL": gateway.url,
        "PLANGRUPPE_USERNAME": relative.user.username,
        "PLANGRUPPE_PASSWORD": PASSWORD,
        "PLANGRUPPE_PLAN_ID": world.plan_id,
        "PLANGRUPPE_MESSAGE": body,
    }
    proc = await asyncio.create_subprocess_exec(
        example_client,
        "--import",
        "tsx",  # tsx's loader in this one process (its CLI would start a second one)
        "client.ts",
        cwd=EXAMPLES,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        code = await _login_code(gateway, smtp, relative.user.email)
        assert proc.stdin is not None
        proc.stdin.write(f"{code}\n".encode())
        await proc.stdin.drain()
        out_bytes, err_bytes = await asyncio.wait_for(proc.communicate(), RUN_WAIT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    out, err = out_bytes.decode(), err_bytes.decode()
    assert proc.returncode == 0, f"{out}\n{err}"
    lines = out.splitlines()

    assert f"Logged in as Relative W{world.short_name.split()[-1]}." in lines, out
    assert any(world.short_name in line and "[IP, ACTIVE" in line for line in lines), out
    assert f"Opened {world.short_name} (ACTIVE)" in lines, out
    assert (
        "My access: participants READ, goals WRITE, activities READ, messages WRITE,"
        " calendar READ, documents NONE; print no"
    ) in lines, out
    # Sections it may read are shown with their content; the one it may not is not asked for.
    assert f"  - Mål {tag} [NOT_STARTED]" in lines, out
    assert "Activities: 1" in lines, out
    assert any(line.endswith(f"Møte {tag}") for line in lines), out
    assert f"  - COORDINATOR: Velkommen {tag}" in lines, out
    assert "Participants: 5" in lines, out
    assert "Documents: not shown (myAccess documents NONE)" in lines, out
    # The coordinator's contact fields: exactly those visibleFields names, with their values.
    [coordinator_line] = [line for line in lines if line.startswith("Coordinator: ")]
    assert f"(visible fields: {', '.join(visible) or 'none'})" in coordinator_line
    contact = coordinator_line.partition("): ")[2]
    shown = {item.split(" ")[0] for item in contact.split(", ")} if contact else set()
    assert shown == {PERSON_FIELD_NAMES[f] for f in visible}
    # Posted and received live, then logged out.
    assert f"Live: Relative (RELATIVE) wrote: {body}" in lines, out
    assert lines[-1] == "Logged out.", out

    edges = ok(await world.post(COORDINATOR, MESSAGES, {"p": world.plan_id}), "messages")["plan"][
        "messages"
    ]["edges"]
    mine = [e["node"] for e in edges if e["node"]["body"] == body]
    assert mine and all(m["author"]["role"] == "RELATIVE" for m in mine)
