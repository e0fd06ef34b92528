"""The contract's enums (API.md)."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(
    description="A participant's role in one plan: OWNER planeier (the person the plan is for),"
    " COORDINATOR koordinator, SERVICE_PROVIDER tjenesteyter, RELATIVE pårørende or foresatt,"
    " GUARDIAN verge."
)
class Role(Enum):
    OWNER = "OWNER"
    COORDINATOR = "COORDINATOR"
    SERVICE_PROVIDER = "SERVICE_PROVIDER"
    RELATIVE = "RELATIVE"
    GUARDIAN = "GUARDIAN"


@strawberry.enum(description="A grant on one plan section.")
class Access(Enum):
    NONE = "NONE"
    READ = "READ"
    WRITE = "WRITE"


@strawberry.enum(description="The sections of a plan that the consent grants access to.")
class Section(Enum):
    PARTICIPANTS = "PARTICIPANTS"
    GOALS = "GOALS"
    ACTIVITIES = "ACTIVITIES"
    MESSAGES = "MESSAGES"
    CALENDAR = "CALENDAR"
    DOCUMENTS = "DOCUMENTS"
    LINKED_PLANS = "LINKED_PLANS"


@strawberry.enum(
    description="Who may see a person's contact field: PRIVATE the person themself only; PLAN"
    " those who share an active-consent plan with the person; ALL anyone logged in."
)
class Visibility(Enum):
    PRIVATE = "PRIVATE"
    PLAN = "PLAN"
    ALL = "ALL"


@strawberry.enum(description="A person's contact fields whose visibility the person sets.")
class PersonField(Enum):
    BIRTH_DATE = "BIRTH_DATE"
    WORKPLACE = "WORKPLACE"
    EMAIL = "EMAIL"
    MOBILE = "MOBILE"
    PHONE = "PHONE"
    FAX = "FAX"
    ADDRESS = "ADDRESS"


@strawberry.enum(description="How one-time login codes (engangskoder) reach the person.")
class OtpChannel(Enum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    APP = "APP"


@strawberry.enum(
    description="How a linked plan stands to the plan it is seen from: OVER, the IP above it;"
    " UNDER, a plan under this IP (IOP, IUP, stafettlogg)."
)
class PlanRelation(Enum):
    OVER = "OVER"
    UNDER = "UNDER"


@strawberry.enum(description="ACTIVE, or ENDED (avsluttet: read-only for everyone).")
class PlanStatus(Enum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@strawberry.enum(
    description="IP: individuell plan; IOP: individuell opplæringsplan; "
    "IUP: individuell utviklingsplan; STAFETTLOGG: stafettlogg."
)
class PlanType(Enum):
    IP = "IP"
    IOP = "IOP"
    IUP = "IUP"
    STAFETTLOGG = "STAFETTLOGG"


@strawberry.enum(description="Who gave the consent: the owner, a parent (owner under 16), a verge.")
class ConsentGiver(Enum):
    SELF = "SELF"
    PARENT = "PARENT"
    GUARDIAN = "GUARDIAN"


@strawberry.enum(
    description="Municipality-wide roles, outside any plan: SYSTEM_ADMIN (accounts, roles, API"
    " keys), LOCAL_ADMIN lokal administrator (one service unit's accounts), COORDINATING_UNIT"
    " koordinerende enhet (creates plans, appoints coordinators), REPORTER (aggregate reports)."
)
class GlobalRole(Enum):
    SYSTEM_ADMIN = "SYSTEM_ADMIN"
    LOCAL_ADMIN = "LOCAL_ADMIN"
    COORDINATING_UNIT = "COORDINATING_UNIT"
    REPORTER = "REPORTER"


@strawberry.enum(description="What a participant may be notified of (varsling) by SMS or e-mail.")
class NotificationEvent(Enum):
    MESSAGE_TO_ME = "MESSAGE_TO_ME"
    GOAL_OR_ACTIVITY = "GOAL_OR_ACTIVITY"
    COMMENT = "COMMENT"
    CALENDAR_ENTRY = "CALENDAR_ENTRY"
    PARTICIPANT_ADDED = "PARTICIPANT_ADDED"


@strawberry.enum(description="What a plan count report is grouped by.")
class PlanGroupBy(Enum):
    TYPE = "TYPE"
    STATUS = "STATUS"
    SERVICE_UNIT = "SERVICE_UNIT"
    START_MONTH = "START_MONTH"


@strawberry.enum(
    description="How a session was opened: PASSWORD (password and one-time code) or OIDC (an"
    " identity provider such as ID-porten or HelseID)."
)
class AuthMethod(Enum):
    PASSWORD = "PASSWORD"  # noqa: S105 - a method name
    OIDC = "OIDC"


@strawberry.enum(
    description="How a consent was given: PAPER (typed in by the coordinator from the form) or"
    " APP (given by the person themself, giveConsent)."
)
class GivenThrough(Enum):
    PAPER = "PAPER"
    APP = "APP"
