"""Argument checks shared by every resolver; each failure names the field at fault."""

from __future__ import annotations

import re
import unicodedata
import uuid

from graphql import GraphQLError

from resolvers.errors import bad_input

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
_EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def nfc(value: object) -> object:
    """Text in Unicode NFC, inside input objects and lists too: "Å" typed as A + combining
    ring becomes the one letter "Å", so names compare and search alike however they were
    typed. Anything but text (enum members, dates, uploads) is left as it is."""
    if type(value) is str:
        return unicodedata.normalize("NFC", value)  # the same object when already NFC
    if type(value) is dict:
        return {key: nfc(item) for key, item in value.items()}
    if type(value) is list:
        return [nfc(item) for item in value]
    return value


def lone_surrogate_at(field: str, value: object) -> str | None:
    """Where a JSON-like argument value holds a lone surrogate (half of a UTF-16 pair, which
    no UTF-8 text can hold): the innermost input field's name, or ``field`` itself."""
    if isinstance(value, str):
        return field if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(str(key)):
                return field
            found = lone_surrogate_at(str(key), item)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = lone_surrogate_at(field, item)
            if found:
                return found
    return None


def unicode_text(field: str, value: object) -> object:
    """An argument as resolvers get it: NFC, and BAD_USER_INPUT for a lone surrogate."""
    fault = lone_surrogate_at(field, value)
    if fault:
        raise not_unicode(fault)
    return nfc(value)


def not_unicode(field: str) -> GraphQLError:
    return bad_input(field, f"{field} is not valid Unicode text (it holds a lone surrogate).")


def text(field: str, value: str | None, *, max_length: int, required: bool = False) -> str | None:
    """Trim a text argument (in NFC); None for blank optional text."""
    if value is None:
        if required:
            raise bad_input(field, f"{field} is required.")
        return None
    value = str(unicode_text(field, value)).strip()
    if not value:
        if required:
            raise bad_input(field, f"{field} must not be empty.")
        return None
    if len(value) > max_length:
        raise bad_input(field, f"{field} must be at most {max_length} characters.")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise bad_input(field, f"{field} contains control characters.")
    return value


def required_text(field: str, value: str | None, *, max_length: int) -> str:
    result = text(field, value, max_length=max_length, required=True)
    assert result is not None
    return result


def identifier(field: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise bad_input(field, f"{field} is not a valid id.") from None


def username(field: str, value: str) -> str:
    value = value.strip()
    if not _USERNAME.match(value):
        raise bad_input(
            field,
            "A username is 3-64 characters: letters a-z, digits and . _ @ -, "
            "starting with a letter or digit.",
        )
    return value


def email(field: str, value: str | None) -> str | None:
    value = text(field, value, max_length=254)
    if value is not None and not _EMAIL.match(value):
        raise bad_input(field, f"{field} is not a valid e-mail address.")
    return value


def mobile(field: str, value: str | None) -> str | None:
    """A Norwegian mobile (8 digits, +47 optional) or any E.164 number, stored as E.164."""
    value = text(field, value, max_length=32)
    if value is None:
        return None
    compact = re.sub(r"[\s-]", "", value)
    if compact.startswith("0047"):
        compact = "+47" + compact[4:]
    if re.fullmatch(r"\d{8}", compact):
        compact = "+47" + compact
    if compact.startswith("+47") and not re.fullmatch(r"\+47\d{8}", compact):
        raise bad_input(field, f"{field}: a Norwegian number is +47 and 8 digits.")
    if not _E164.match(compact):
        raise bad_input(field, f"{field} must be +47 and 8 digits, or an E.164 number.")
    return compact


def phone(field: str, value: str | None) -> str | None:
    value = text(field, value, max_length=32)
    if value is not None and not re.fullmatch(r"\+?[0-9 ()-]{5,30}", value):
        raise bad_input(field, f"{field} is not a valid phone number.")
    return value


def postcode(field: str, value: str | None) -> str | None:
    value = text(field, value, max_length=10)
    if value is not None and not re.fullmatch(r"[0-9A-Za-z -]{3,10}", value):
        raise bad_input(field, f"{field} is not a valid postcode.")
    return value
