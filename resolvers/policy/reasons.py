"""Why a rule refused: the ``reason`` a FORBIDDEN error carries (API.md, "Error codes").

The values are the contract's strings; ``extensions.reason`` is the member's value.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    NOT_PARTICIPANT = "NOT_PARTICIPANT"
    NO_GRANT = "NO_GRANT"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    PLAN_ENDED = "PLAN_ENDED"
    FIELD_HIDDEN = "FIELD_HIDDEN"
    ROLE_REQUIRED = "ROLE_REQUIRED"
    # Added beside the contract's: a message is changed only shortly after posting and before
    # anyone else read it; afterwards a correction is a new message.
    EDIT_WINDOW_CLOSED = "EDIT_WINDOW_CLOSED"


# A rule's verdict: None when the viewer may go ahead, else the reason it may not.
Denial = Reason | None
