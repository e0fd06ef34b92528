"""Password hashing (argon2id) and the municipality's password policy."""

from __future__ import annotations

import asyncio
import functools
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from resolvers.errors import app_error

MIN_LENGTH = 8
MAX_LENGTH = 128

# DESIGN.md: argon2id with at least t=2, m=19 MiB, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash("plangruppe-dummy-password-for-timing")


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"][:10_000])


def broken_rules(password: str, *, username: str, names: tuple[str, ...] = ()) -> list[str]:
    """Every rule of the policy that this password breaks, by name."""
    rules = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        rules.append("LENGTH")
    if not any(c.islower() for c in password):
        rules.append("LOWERCASE")
    if not any(c.isupper() for c in password):
        rules.append("UPPERCASE")
    if not any(c.isdigit() for c in password):
        rules.append("DIGIT")
    if password.lower() in _common_passwords():
        rules.append("COMMON")
    lowered = password.lower()
    if username and username.lower() in lowered:
        rules.append("CONTAINS_USERNAME")
    if any(len(n) >= 3 and n.lower() in lowered for n in names):
        rules.append("CONTAINS_NAME")
    return rules


def require_strong(password: str, *, username: str, names: tuple[str, ...] = ()) -> None:
    rules = broken_rules(password, username=username, names=names)
    if rules:
        raise app_error(
            "WEAK_PASSWORD",
            "The password does not meet the policy: " + ", ".join(rules) + ".",
            rules=rules,
        )


async def hash_password(password: str) -> str:
    """Hashed as NFC, so a password typed with combining characters (NFD) on one keyboard
    matches the same password typed precomposed on another, whichever path set it."""
    return await asyncio.to_thread(HASHER.hash, unicodedata.normalize("NFC", password))


async def verify(password_hash: str | None, password: str) -> bool:
    """Check a password; an account without one costs the same time as a wrong password."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        candidate = unicodedata.normalize("NFC", password)
        return HASHER.verify(password_hash or _DUMMY_HASH, candidate) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
