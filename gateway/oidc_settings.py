"""PLANGRUPPE_OIDC_PROVIDERS and its companions, read into plain objects: which OpenID
Providers (ID-porten, HelseID, the municipality's Entra ID) a person may log in with
(docs/oidc.md). Every mistake stops `serve` with exit 2 and one clear line."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from resolvers.policy import facts

GLOBAL_ROLES = tuple(facts.GLOBAL_ROLES)
PLAN_ROLES = tuple(facts.ROLES)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class OidcConfigError(ValueError):
    """A provider entry or a companion setting is malformed."""


@dataclass(frozen=True)
class OidcProvider:
    """One OpenID Provider the gateway is a confidential client of (private_key_jwt)."""

    name: str  # in the URLs: /auth/oidc/{name}/login
    issuer: str
    client_id: str
    private_key: RSAKey | ECKey = field(repr=False)
    acr_values: tuple[str, ...]  # weakest first
    required_acr: str
    identity_claim: str = "sub"
    # The claim is a national identity number (fødselsnummer/d-nummer): stored only as an
    # HMAC, and the same number from another such provider is the same person.
    national_id: bool = False
    scopes: tuple[str, ...] = ("openid", "profile")

    def level(self, acr: object) -> int:
        """The rank of an acr value in this provider's order; -1 for an unknown one."""
        return self.acr_values.index(acr) if isinstance(acr, str) and acr in self.acr_values else -1

    @property
    def signing_alg(self) -> str:
        return "ES256" if isinstance(self.private_key, ECKey) else "RS256"


def parse_providers(value: str | None) -> tuple[OidcProvider, ...]:
    if value is None:
        return ()
    try:
        entries = json.loads(value)
    except ValueError as exc:
        raise OidcConfigError(f"PLANGRUPPE_OIDC_PROVIDERS is not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise OidcConfigError("PLANGRUPPE_OIDC_PROVIDERS must be a JSON list of providers")
    found: list[OidcProvider] = []
    for n, entry in enumerate(entries, start=1):
        provider = _provider(n, entry)
        if any(p.name == provider.name for p in found):
            raise OidcConfigError(f"PLANGRUPPE_OIDC_PROVIDERS: provider {n}: name repeated")
        found.append(provider)
    return tuple(found)


def _provider(n: int, entry: object) -> OidcProvider:
    where = f"PLANGRUPPE_OIDC_PROVIDERS: provider {n}"
    if not isinstance(entry, dict):
        raise OidcConfigError(f"{where} must be an object")
    known = {
        "name",
        "issuer",
        "client_id",
        "private_key_file",
        "acr_values",
        "required_acr",
        "identity_claim",
        "national_id",
        "scopes",
    }
    unknown = sorted(set(entry) - known)
    if unknown:
        raise OidcConfigError(f"{where}: unknown key {unknown[0]!r}")

    def text(key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise OidcConfigError(f"{where}: {key} must be a non-empty string")
        return value.strip()

    name = text("name")
    if not _NAME.match(name):
        raise OidcConfigError(f"{where}: name {name!r} must be lowercase letters, digits, -")
    where = f"PLANGRUPPE_OIDC_PROVIDERS: provider {name!r}"
    issuer = text("issuer").rstrip("/")
    parts = urlsplit(issuer)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise OidcConfigError(f"{where}: issuer must be an https URL")
    acr_values = entry.get("acr_values")
    if (
        not isinstance(acr_values, list)
        or not acr_values
        or not all(isinstance(a, str) and a for a in acr_values)
        or len(set(acr_values)) != len(acr_values)
    ):
        raise OidcConfigError(f"{where}: acr_values must be a list of acr values, weakest first")
    required = text("required_acr")
    if required not in acr_values:
        raise OidcConfigError(f"{where}: required_acr {required!r} is not one of acr_values")
    claim = entry.get("identity_claim", "sub")
    if not isinstance(claim, str) or not claim:
        raise OidcConfigError(f"{where}: identity_claim must be a claim name")
    national = entry.get("national_id", claim != "sub")
    if not isinstance(national, bool):
        raise OidcConfigError(f"{where}: national_id must be true or false")
    scopes = entry.get("scopes", ["openid", "profile"])
    if not isinstance(scopes, list) or "openid" not in scopes:
        raise OidcConfigError(f"{where}: scopes must be a list that includes openid")
    return OidcProvider(
        name=name,
        issuer=issuer,
        client_id=text("client_id"),
        private_key=_key(where, text("private_key_file")),
        acr_values=tuple(acr_values),
        required_acr=required,
        identity_claim=claim,
        national_id=national,
        scopes=tuple(str(s) for s in scopes),
    )


def _key(where: str, path: str) -> RSAKey | ECKey:
    """The client's private key: a PEM file or a JWK (JSON) with its kid."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise OidcConfigError(f"{where}: private_key_file {path}: {exc.strerror}") from None
    try:
        if raw.lstrip().startswith(b"{"):
            data: Any = json.loads(raw)
            key = (ECKey if data.get("kty") == "EC" else RSAKey).import_key(data)
        else:
            try:
                key = RSAKey.import_key(raw)
            except (JoseError, ValueError, TypeError):
                key = ECKey.import_key(raw)
    except (JoseError, ValueError, TypeError) as exc:
        msg = f"{where}: private_key_file {path} is no private key: {exc}"
        raise OidcConfigError(msg) from None
    if not key.is_private:
        raise OidcConfigError(f"{where}: private_key_file {path} holds a public key only")
    return key


def parse_require(value: str | None) -> frozenset[str]:
    """PLANGRUPPE_REQUIRE_OIDC_FOR: global roles and plan roles that may not log in by
    password."""
    roles = frozenset(v.strip().upper() for v in (value or "").split(",") if v.strip())
    unknown = sorted(roles - set(GLOBAL_ROLES) - set(PLAN_ROLES))
    if unknown:
        raise OidcConfigError(
            f"PLANGRUPPE_REQUIRE_OIDC_FOR: unknown role {unknown[0]!r} (global roles: "
            f"{', '.join(GLOBAL_ROLES)}; plan roles: {', '.join(PLAN_ROLES)})"
        )
    return roles


def parse_app_redirects(value: str | None) -> tuple[str, ...]:
    """PLANGRUPPE_OIDC_APP_REDIRECTS: where a native app receives its exchange code."""
    found = []
    for item in (v.strip() for v in (value or "").split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if not parts.scheme or parts.fragment or parts.scheme in ("javascript", "data"):
            raise OidcConfigError(
                f"PLANGRUPPE_OIDC_APP_REDIRECTS: {item!r} is not an app redirect URI"
            )
        found.append(item)
    return tuple(found)
