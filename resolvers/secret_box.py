"""Secrets sealed at rest: authenticator-app (TOTP) secrets, and one-time codes and links while
they wait in the outbox. Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under the
keys of PLANGRUPPE_SECRET_KEY: the first seals, every key opens (docs/secrets.md)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from db import accounts, outbox
from db.pool import Conn

log = logging.getLogger("plangruppe.secrets")

# A sealed value is recognisable by this prefix; a value without it was written before sealing.
PREFIX = "fernet:"
# The development key, made once in the data dir when PLANGRUPPE_SECRET_KEY is unset.
KEY_FILE = "secret.key"
MAKE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SecretKeyError(Exception):
    """A stored value that none of the configured keys opens (a key was dropped too early)."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class SecretBox:
    """Seals with the first key, opens with any (MultiFernet)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self.key_count = len(keys)
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not is_sealed(stored):
            raise SecretKeyError("the stored value is not sealed")
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX)).decode()
        except InvalidToken:
            raise SecretKeyError(_NO_KEY_OPENS) from None

    def reseal(self, stored: str) -> str:
        """The value under the first key: a sealed one re-encrypted, a plain one sealed."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            token = self._fernet.rotate(stored.removeprefix(PREFIX))
        except InvalidToken:
            raise SecretKeyError(_NO_KEY_OPENS) from None
        return PREFIX + token.decode("ascii")


_NO_KEY_OPENS = (
    "no key in PLANGRUPPE_SECRET_KEY opens a stored secret: was a key removed before"
    " `plangruppe rotate-secrets` ran?"
)


def parse_keys(value: str) -> tuple[str, ...]:
    """Comma-separated Fernet keys; ValueError (never showing a key) when one is malformed."""
    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64 bytes; make one with"
                f" {MAKE_KEY})"
            ) from None
    return keys


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_from_file(data_dir: Path) -> tuple[str, ...]:
    """The development key(s) in the data dir, made on first use (mode 0600) and reused."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by others: chmod 600 it", path)
    keys = parse_keys(path.read_text("ascii"))
    if not keys:
        raise ValueError(f"{path} holds no key")
    return keys


def _create_key_file(path: Path) -> None:
    # Written in full under another name, then linked: a process starting at the same time
    # sees either no file or the whole key, and only one key ever wins.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(generate_key() + "\n")
    try:
        os.link(draft, path)
        log.warning("made a secret key in %s (development); back it up with the data", path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


async def reseal_stored_secrets(conn: Conn, box: SecretBox, *, rotate: bool) -> int:
    """Seal what was stored in clear (TOTP secrets from before sealing, pending outbox secrets);
    with ``rotate``, re-encrypt sealed values under the first key too. Returns how many values
    were rewritten. Run in the caller's transaction."""
    rewritten = 0
    for row in await accounts.totp_secrets_for_update(conn, only_plain=not rotate):
        secret = box.reseal(row.totp_secret) if row.totp_secret else None
        pending = box.reseal(row.totp_pending_secret) if row.totp_pending_secret else None
        await accounts.set_totp_secrets(conn, row.account_id, secret, pending)
        rewritten += (secret is not None) + (pending is not None)
    for outbox_id, body in await outbox.pending_secrets_for_update(conn, only_plain=not rotate):
        await outbox.set_body(conn, outbox_id, box.reseal(body))
        rewritten += 1
    return rewritten
