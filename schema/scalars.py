"""Date and DateTime as Strawberry has them, bounded to the years a plan can concern.

The extreme values Python can hold (0001-01-01, 9999-12-31) are stored by asyncpg as
PostgreSQL's -infinity/infinity, which the compiled path would print as "infinity" and which
no date arithmetic accepts: such input is refused as any malformed date is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

FIRST_YEAR, LAST_YEAR = 1800, 2999


def _bounded(definition: ScalarDefinition, kind: str) -> ScalarDefinition:
    parse = definition.parse_value
    assert parse is not None

    def parse_value(value: object) -> object:
        parsed = parse(value)
        assert isinstance(parsed, dt.date)
        if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {kind}: "{value}". The year must be between'
                f" {FIRST_YEAR} and {LAST_YEAR}."
            )
        return parsed

    return dataclasses.replace(definition, parse_value=parse_value)


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    dt.date: _bounded(DateDefinition, "Date"),
    dt.datetime: _bounded(DateTimeDefinition, "DateTime"),
}
