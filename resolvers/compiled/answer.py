"""What a compiled statement's JSON carries besides the data: a denied field is the object
``{"$denied": reason}`` in its place, and an object may carry ``"$reads"``: the access-log
reads its fields made, ``{"plan": id, "subject": id, "what": [...]}``. Walked once, guided by
the selection, into the data the client gets, the FORBIDDEN errors with their paths, and the
reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from db.access_log import Read
from resolvers.compiled.selection import Field
from resolvers.policy.reasons import Reason

DENIED = "$denied"
READS = "$reads"


@dataclass
class Answer:
    data: Any
    denials: list[tuple[Reason, Field, list[str | int]]] = field(default_factory=list)
    reads: set[Read] = field(default_factory=set)


def read_answer(root: Field, text: str) -> Answer:
    """The statement's JSON text as data, errors and reads. Without any marker (no
    ``{"$`` can occur otherwise: inside a JSON string a quote is escaped) it is the data as
    it stands, and is not walked."""
    value = orjson.loads(text)
    if '{"$' not in text and '"$reads"' not in text:
        return Answer(value)
    answer = Answer(None)
    answer.data = _value(root, value, [root.key], answer)
    return answer


def _value(f: Field, value: Any, path: list[str | int], answer: Answer) -> Any:
    if isinstance(value, dict) and DENIED in value:
        answer.denials.append((Reason(value[DENIED]), f, path))
        return None
    if f.children is None or value is None:
        return value
    if isinstance(value, list):
        return [_object(f, item, [*path, i], answer) for i, item in enumerate(value)]
    return _object(f, value, path, answer)


def _object(f: Field, value: Any, path: list[str | int], answer: Answer) -> Any:
    if value is None:
        return None
    reads = value.get(READS)
    if reads:
        plan_id, subject_id = reads["plan"], reads["subject"]
        for what in reads["what"]:
            answer.reads.add(
                Read(
                    uuid.UUID(plan_id) if plan_id else None,
                    uuid.UUID(subject_id) if subject_id else None,
                    what,
                )
            )
    assert f.children is not None
    return {c.key: _value(c, value[c.key], [*path, c.key], answer) for c in f.children}
