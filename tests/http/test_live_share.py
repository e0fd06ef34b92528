"""A live message answered once for every subscriber whose selection reads the same for every
reader (resolvers/live_share.py, policy.SAME_FOR_EVERY_READER).

- Which selections share: only fields the table names, with fragments, aliases and
  __typename; the plan, recipients, readByMe, a contact field, an argument or a directive
  make the selection run per subscriber.
- Differential, over real WebSockets: every subscriber's live payload equals what the same
  selection reads for that viewer through `plan { messages }` (the resolvers), for shared and
  unshared selections, group messages and chosen recipients; those not meant for a message
  receive nothing of it.
- The sharing is real: one execution per (shape, message) however many subscribers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from graphql import parse
from graphql.execution.collect_fields import FragmentDetails
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode

from resolvers import live_share
from tests.conftest import Gateway
from tests.http.test_live_messages import LIVE_WAIT, Live, Poster, connected, post
from tests.plan_world import (
    COORDINATOR,
    GUARDIAN,
    OWNER,
    RELATIVE,
    SERVICE_PROVIDER,
    PlanWorld,
    build_world,
    ok,
)

SHARED_FRAGMENT = """fragment M on Message {
  id body createdAt __typename
  writer: author { id role joinedOn leftOn person { id firstName lastName position } } }"""
SHARED = "subscription($p: ID) { messageAdded(planId: $p) { ...M } }\n" + SHARED_FRAGMENT
# The same fields in another shape (an alias, an inline fragment): shared within itself.
SHARED_OTHER = """subscription($p: ID) { live: messageAdded(planId: $p) {
  ... on Message { key: id body } author { person { firstName } } } }"""
# A contact field and readByMe: these read differently per viewer and are never shared.
OWN = """subscription($p: ID) { messageAdded(planId: $p) {
  id body readByMe author { person { firstName email mobile } } } }"""


def shape(document: str) -> live_share.Shape | None:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in parsed.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    return live_share.shape_of(operation, fragments)


@pytest.mark.parametrize("document", [SHARED, SHARED_OTHER])
def test_selections_of_fields_that_read_the_same_for_every_reader_share(document: str) -> None:
    assert shape(document) is not None


@pytest.mark.parametrize(
    "selection",
    [
        "id plan { id }",
        "id recipients { id }",
        "id readByMe",
        "id author { person { firstName email } }",
        "id author { rights { messages } }",
        "id author { responsibility }",
        "id body @include(if: $yes)",
        "...on Message { id @skip(if: $no) }",
        "id author { plan { id } }",
    ],
)
def test_a_selection_that_may_read_differently_per_reader_is_not_shared(selection: str) -> None:
    document = f"subscription($p: ID) {{ messageAdded(planId: $p) {{ {selection} }} }}"
    assert shape(document) is None


def test_equal_shapes_only_for_equal_answers() -> None:
    a = shape("subscription { messageAdded { id body } }")
    assert a == shape("subscription($p: ID) { messageAdded(planId: $p) { id body } }")
    assert a != shape("subscription { messageAdded { body id } }")  # key order differs
    assert a != shape("subscription { messageAdded { id text: body } }")
    assert a != shape("subscription { added: messageAdded { id body } }")


def test_the_shared_encoding_is_the_plain_encoding() -> None:
    data = live_share.SharedData({"messageAdded": {"id": "1", "body": 'Hei «du» "x" \u2028'}})
    message = {"id": 'op"1', "type": "next", "payload": {"data": data}}
    text = live_share.encoded_next(message)
    assert text is not None
    assert orjson.loads(text) == orjson.loads(orjson.dumps(message))
    # Anything else is not taken over: errors beside the data, or plain data.
    assert live_share.encoded_next({**message, "payload": {"data": data, "errors": []}}) is None
    assert live_share.encoded_next({**message, "payload": {"data": dict(data)}}) is None


# --- over WebSockets ------------------------------------------------------------------------

SUBSCRIBERS = (OWNER, COORDINATOR, SERVICE_PROVIDER, RELATIVE, GUARDIAN)


def _strip(document: str) -> tuple[str, str]:
    """The selection under messageAdded and the fragments of a subscription document."""
    rest = document.partition("messageAdded(planId: $p) {")[2]
    depth = 1
    for end, char in enumerate(rest):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return rest[:end], rest[end + 1 :].lstrip(" }\n")
    raise AssertionError(f"no selection in {document}")


async def read_back(world: PlanWorld, key: str, document: str, message_id: str) -> Any:
    """The message as the viewer reads it through plan.messages, in the document's selection."""
    selection, fragments = _strip(document)
    query = (
        "query($p: ID!) { plan(id: $p) { messages(first: 50) { edges { node { "
        + selection
        + " } } } } }\n"
        + fragments
    )
    body = await world.post(key, query, {"p": world.plan_id})
    edges = ok(body, "plan.messages")["plan"]["messages"]["edges"]
    return next(e["node"] for e in edges if _message_id(e["node"]) == message_id)


def _message_id(node: dict[str, Any]) -> str:
    return str(node.get("id") or node.get("key"))


async def subscribe(live: Live, op: str, document: str, plan_id: str) -> None:
    await live.send(
        {
            "id": op,
            "type": "subscribe",
            "payload": {"query": document, "variables": {"p": plan_id}},
        }
    )


async def next_of(live: Live, probes: set[str]) -> dict[str, dict[str, Any]]:
    """The next non-probe payload per operation id, until each of the three has one."""
    got: dict[str, dict[str, Any]] = {}
    while len(got) < 3:
        frame = await live.frame(what="the live message on each subscription")
        assert frame["type"] == "next", frame
        assert "errors" not in frame["payload"], frame
        (value,) = frame["payload"]["data"].values()
        if _message_id(value) in probes:
            continue
        assert frame["id"] not in got, f"delivered twice: {frame}"
        got[frame["id"]] = value
    return got


async def until_all_live(send: Poster, lives: list[Live], probes: set[str]) -> None:
    """Post probes until each subscription of every socket has received one (subscribe has
    no acknowledgement), then the probes still on their way."""
    heard: list[set[str]] = [set() for _ in lives]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIVE_WAIT
    n = 0
    while any(len(h) < 3 for h in heard):
        assert loop.time() < deadline, f"not every subscription live within {LIVE_WAIT} s"
        n += 1
        probes.add(await send(f"Probe {n}"))
        await asyncio.sleep(0.3)
        for live, h in zip(lives, heard, strict=True):
            while not live.frames.empty():
                frame = live.frames.get_nowait()
                assert frame["type"] == "next", frame
                assert _message_id(next(iter(frame["payload"]["data"].values()))) in probes
                h.add(frame["id"])
    await asyncio.sleep(0.5)
    for live in lives:
        while not live.frames.empty():
            frame = live.frames.get_nowait()
            assert _message_id(next(iter(frame["payload"]["data"].values()))) in probes


async def test_every_subscriber_gets_what_the_resolvers_read_for_them(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: dict[str, int] = {}
    answer = live_share._answer

    async def counted(run: Any) -> Any:
        result = await answer(run)
        if result.data:
            (value,) = result.data.values()
            runs[_message_id(value)] = runs.get(_message_id(value), 0) + 1
        return result

    monkeypatch.setattr(live_share, "_answer", counted)
    world = await build_world(gateway)
    documents = {"shared": SHARED, "other": SHARED_OTHER, "own": OWN}
    async with (
        connected(gateway.url, world.token(OWNER)) as owner,
        connected(gateway.url, world.token(COORDINATOR)) as coordinator,
        connected(gateway.url, world.token(SERVICE_PROVIDER)) as provider,
        connected(gateway.url, world.token(RELATIVE)) as relative,
        connected(gateway.url, world.token(GUARDIAN)) as guardian,
    ):
        sockets = (owner, coordinator, provider, relative, guardian)
        lives = dict(zip(SUBSCRIBERS, sockets, strict=True))
        for live in lives.values():
            for op, document in documents.items():
                await subscribe(live, op, document, world.plan_id)
        probes: set[str] = set()

        async def probe(body: str) -> str:
            return await post(gateway.client, world.token(COORDINATOR), world.plan_id, body)

        await until_all_live(probe, list(lives.values()), probes)

        to_all = await post(
            gateway.client, world.token(SERVICE_PROVIDER), world.plan_id, "Til alle"
        )
        chosen = [world.participant_ids[k] for k in (COORDINATOR, RELATIVE)]
        to_some = await post(
            gateway.client, world.token(OWNER), world.plan_id, "Til noen", to=chosen
        )
        for key, live in lives.items():
            first = await next_of(live, probes)
            for op, value in first.items():
                assert _message_id(value) == to_all, (key, op, value)
                assert value == await read_back(world, key, documents[op], to_all), (key, op)
            if key in (OWNER, COORDINATOR, RELATIVE):  # the author and the chosen ones
                second = await next_of(live, probes)
                for op, value in second.items():
                    assert _message_id(value) == to_some, (key, op, value)
                    assert value == await read_back(world, key, documents[op], to_some)
        for key in (SERVICE_PROVIDER, GUARDIAN):  # not meant for them: nothing comes
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(lives[key].frames.get(), 1.0)

    # One execution per shape for each message: two shared shapes, five and three readers.
    assert runs[to_all] == 2, runs
    assert runs[to_some] == 2, runs
