"""The shape of an access rule as db/ uses it: a SQL rendering whose facts the statement binds
to its own columns. The rules themselves are defined once, in resolvers/policy/; a query
that filters rows by one takes it as an argument and never writes the rule again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class SqlRule(Protocol):
    def sql(self, bindings: Mapping[str, str]) -> str:
        """The rule as a SQL expression over the bound columns."""
        ...


# A message's addressing, for the message row filter: to the whole group, or to the
# recipients listed in message_recipients (alias m for the message).
MESSAGE_BINDINGS = {
    "to_all": "m.to_all",
    "author_id": "m.author_id",
    "recipient_ids": "EXISTS (SELECT 1 FROM message_recipients r"
    " WHERE r.message_id = m.id AND r.participant_id = {x})",
}
