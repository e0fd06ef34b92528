"""What a compiled statement's JSON carries besides the data: a denied field is the object
``{"$denied": reason}`` in its place, and an object may carry ``"$reads"``: the access-log
reads its fields made, ``{"plan": id, "subject": id, "what": [...]}``. Walked once, guided by
the selection, into the data the client gets, the FORBIDDEN errors with their paths, and the
reads."""

from __future__ import annotations

import uuid
from collections.abc import Collection
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


def read_answer(root: Field, text: str, clean: Collection[Field] = ()) -> Answer:
    """The statement's JSON text as data, errors and reads. Without any marker (no
    ``{"$`` can occur otherwise: inside a JSON string a quote is escaped) it is the data as
    it stands, and is not walked; nor is any field in ``clean``, whose SQL made no marker."""
    value = orjson.loads(text)
    answer = Answer(value)
    if ('{"$' not in text and '"$reads"' not in text) or value is None:
        return answer
    if isinstance(value, dict) and DENIED in value:
        answer.denials.append((Reason(value[DENIED]), root, [root.key]))
        answer.data = None
    elif root.children is not None:
        _walk(root, value, (None, root.key), Walk(answer, clean))
    return answer


# A path while walking: (parent path, key), made into a list only for a denial.
Path = tuple[Any, str | int]


def _keys(path: Path | None) -> list[str | int]:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    return keys[::-1]


@dataclass(frozen=True)
class Walk:
    answer: Answer
    clean: Collection[Field]


def _walk(f: Field, value: Any, path: Path, walk: Walk) -> None:
    """Turns the markers under the object or list ``value`` of field ``f`` into denials and
    reads, in place: a marker becomes null, and ``$reads`` leaves its object."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if item is not None:
                _object(f, item, (path, i), walk)
    else:
        _object(f, value, path, walk)


def _object(f: Field, value: dict[str, Any], path: Path, walk: Walk) -> None:
    answer = walk.answer
    reads = value.pop(READS, None)
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
    for c in f.children:
        if c in walk.clean:
            continue
        item = value[c.key]
        if item is None:
            continue
        if isinstance(item, dict) and DENIED in item:
            answer.denials.append((Reason(item[DENIED]), c, _keys((path, c.key))))
            value[c.key] = None
        elif c.children is not None:
            _walk(c, item, (path, c.key), walk)
