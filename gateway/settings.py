"""Settings, read once from the environment into a frozen object."""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from strawberry.http.websocket_origin import normalize_origin

from db.retention import Retention
from gateway.logs import FORMATS, LEVELS
from gateway.oidc_settings import (
    OidcConfigError,
    OidcProvider,
    parse_app_redirects,
    parse_providers,
    parse_require,
)
from gateway.trusted_documents import TrustedDocuments
from resolvers.secret_box import SecretBox, key_from_file, parse_keys

OTP_CHANNELS = ("EMAIL", "SMS", "APP")

log = logging.getLogger("plangruppe")


class ConfigError(Exception):
    """A configuration value is missing or malformed (exit code 2)."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("plangruppe")))
    env: str = "development"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "plangruppe@localhost"
    smtp_starttls: bool = False
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    # PLANGRUPPE_CORS_ORIGINS: browser origins allowed to call /graphql over HTTP (CORS) and
    # to open its WebSocket; none by default (same origin only).
    cors_origins: tuple[str, ...] = ()
    otp_channels: tuple[str, ...] = OTP_CHANNELS
    expose_sql_count: bool = False  # benchmarks: X-SQL-Statements on every GraphQL response
    # PLANGRUPPE_COMPILED_READS: serve covered read selections with one compiled SQL
    # statement per root field (docs/compiled-reads.md); off: the resolvers answer everything.
    compiled_reads: bool = True
    # PLANGRUPPE_COMPILED_MAX_COST / PLANGRUPPE_COMPILED_TIMEOUT_MS: a compiled statement's
    # list-weighted cost limit and its time limit (QUERY_TOO_COMPLEX beyond either).
    compiled_max_cost: int = 20_000
    compiled_timeout_ms: int = 5_000
    # Proxies whose X-Forwarded-For names the client (addresses or CIDRs); none by default.
    trusted_proxies: tuple[str, ...] = ()
    # PLANGRUPPE_SECRET_KEY: Fernet keys sealing secrets at rest; the first seals, all open.
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    # OpenID Connect (docs/oidc.md): the providers, the key of the national identity HMAC,
    # the roles that must use a provider, and where native apps receive their exchange code.
    oidc_providers: tuple[OidcProvider, ...] = ()
    identity_hash_key: bytes | None = field(default=None, repr=False)
    require_oidc_for: frozenset[str] = frozenset()
    oidc_app_redirects: tuple[str, ...] = ()
    # PLANGRUPPE_RETAIN_*_DAYS: how long expired rows are kept (db/retention.py).
    retention: Retention = field(default_factory=Retention)
    # PLANGRUPPE_MESSAGE_EDIT_MINUTES: how long after posting an unread message can be edited
    # or withdrawn by its author (resolvers/messages.py); afterwards only a correction.
    message_edit_minutes: int = 15
    # PLANGRUPPE_METRICS_TOKEN: /metrics for a scraper holding it (gateway/metrics.py).
    metrics_token: str | None = field(default=None, repr=False)
    # PLANGRUPPE_LOG_LEVEL / PLANGRUPPE_LOG_FORMAT (gateway/logs.py).
    log_level: str = "INFO"
    log_format: str = "text"
    # PLANGRUPPE_TRUSTED_DOCUMENTS: only these operations run (gateway/trusted_documents.py).
    trusted_documents: TrustedDocuments | None = None

    def oidc_provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @functools.cached_property
    def secret_box(self) -> SecretBox:
        """Seals secrets at rest: PLANGRUPPE_SECRET_KEY, or (development only) a key made
        once in the data dir and reused (docs/secrets.md)."""
        if self.secret_keys:
            return SecretBox(self.secret_keys)
        if self.production:
            raise ConfigError(_PRODUCTION_NEEDS_KEY)
        try:
            return SecretBox(key_from_file(self.data_dir))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"the secret key in {self.data_dir}: {exc}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        mode = get("PLANGRUPPE_ENV") or "development"
        if mode not in ("development", "production"):
            raise ConfigError(f"PLANGRUPPE_ENV must be development or production, not {mode!r}")
        settings = cls(
            database_url=get("DATABASE_URL"),
            data_dir=Path(get("PLANGRUPPE_DATA_DIR") or platformdirs.user_data_dir("plangruppe")),
            env=mode,
            smtp_host=get("SMTP_HOST"),
            smtp_port=_port(get("SMTP_PORT"), "SMTP_PORT", 587),
            smtp_username=get("SMTP_USERNAME"),
            smtp_password=get("SMTP_PASSWORD"),
            smtp_from=get("SMTP_FROM") or "plangruppe@localhost",
            smtp_starttls=_flag(get("SMTP_STARTTLS"), "SMTP_STARTTLS"),
            sms_gateway_url=get("SMS_GATEWAY_URL"),
            sms_gateway_token=get("SMS_GATEWAY_TOKEN"),
            public_url=(get("PLANGRUPPE_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            cors_origins=_cors_origins(
                get("PLANGRUPPE_CORS_ORIGINS"), get("PLANGRUPPE_ALLOWED_ORIGINS")
            ),
            otp_channels=_channels(get("PLANGRUPPE_OTP_CHANNELS")),
            expose_sql_count=_flag(
                get("PLANGRUPPE_EXPOSE_SQL_COUNT"), "PLANGRUPPE_EXPOSE_SQL_COUNT"
            ),
            compiled_reads=_flag(
                get("PLANGRUPPE_COMPILED_READS") or "on", "PLANGRUPPE_COMPILED_READS"
            ),
            compiled_max_cost=_positive(
                get("PLANGRUPPE_COMPILED_MAX_COST"), "PLANGRUPPE_COMPILED_MAX_COST", 20_000
            ),
            compiled_timeout_ms=_positive(
                get("PLANGRUPPE_COMPILED_TIMEOUT_MS"), "PLANGRUPPE_COMPILED_TIMEOUT_MS", 5_000
            ),
            trusted_proxies=_networks(get("PLANGRUPPE_TRUSTED_PROXIES")),
            secret_keys=_secret_keys(get("PLANGRUPPE_SECRET_KEY")),
            **_oidc(get),
            trusted_documents=_trusted(get("PLANGRUPPE_TRUSTED_DOCUMENTS")),
            metrics_token=_metrics_token(get("PLANGRUPPE_METRICS_TOKEN")),
            message_edit_minutes=_positive(
                get("PLANGRUPPE_MESSAGE_EDIT_MINUTES"), "PLANGRUPPE_MESSAGE_EDIT_MINUTES", 15
            ),
            retention=Retention(
                sessions_days=_positive(
                    get("PLANGRUPPE_RETAIN_SESSIONS_DAYS"), "PLANGRUPPE_RETAIN_SESSIONS_DAYS", 30
                ),
                login_attempts_days=_positive(
                    get("PLANGRUPPE_RETAIN_LOGIN_ATTEMPTS_DAYS"),
                    "PLANGRUPPE_RETAIN_LOGIN_ATTEMPTS_DAYS",
                    90,
                ),
                idempotency_days=_positive(
                    get("PLANGRUPPE_RETAIN_IDEMPOTENCY_DAYS"),
                    "PLANGRUPPE_RETAIN_IDEMPOTENCY_DAYS",
                    7,
                ),
                outbox_days=_positive(
                    get("PLANGRUPPE_RETAIN_OUTBOX_DAYS"), "PLANGRUPPE_RETAIN_OUTBOX_DAYS", 30
                ),
                plan_content_years=_positive(
                    get("PLANGRUPPE_RETAIN_PLAN_CONTENT_YEARS"),
                    "PLANGRUPPE_RETAIN_PLAN_CONTENT_YEARS",
                    10,
                ),
            ),
            log_level=_choice(get("PLANGRUPPE_LOG_LEVEL"), "PLANGRUPPE_LOG_LEVEL", LEVELS, "INFO"),
            log_format=_choice(
                get("PLANGRUPPE_LOG_FORMAT"),
                "PLANGRUPPE_LOG_FORMAT",
                FORMATS,
                "json" if mode == "production" else "text",
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe in production."""
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must start with postgresql://")
        if self.oidc_providers and self.identity_hash_key is None:
            raise ConfigError(
                "PLANGRUPPE_OIDC_PROVIDERS needs PLANGRUPPE_IDENTITY_HASH_KEY (at least 32 random"
                " bytes, base64 or hex; docs/oidc.md)"
            )
        if self.require_oidc_for and not self.oidc_providers:
            raise ConfigError("PLANGRUPPE_REQUIRE_OIDC_FOR needs PLANGRUPPE_OIDC_PROVIDERS")
        if not self.production:
            return
        if not self.database_url:
            raise ConfigError(
                "PLANGRUPPE_ENV=production needs DATABASE_URL (the embedded database lives in "
                "the data dir and is lost with a container)"
            )
        if not self.smtp_host:
            raise ConfigError("PLANGRUPPE_ENV=production needs SMTP_HOST (mail is not optional)")
        if not self.sms_gateway_url:
            raise ConfigError("PLANGRUPPE_ENV=production needs SMS_GATEWAY_URL")
        if not (self.smtp_starttls or self.smtp_port == 465):
            raise ConfigError("PLANGRUPPE_ENV=production needs mail over TLS (SMTP_STARTTLS=true)")
        if not self.secret_keys:
            raise ConfigError(_PRODUCTION_NEEDS_KEY)


_PRODUCTION_NEEDS_KEY = (
    "PLANGRUPPE_ENV=production needs PLANGRUPPE_SECRET_KEY (a Fernet key; see docs/secrets.md)"
)


def _oidc(get: Callable[[str], str | None]) -> dict[str, Any]:
    try:
        return {
            "oidc_providers": parse_providers(get("PLANGRUPPE_OIDC_PROVIDERS")),
            "identity_hash_key": _hash_key(get("PLANGRUPPE_IDENTITY_HASH_KEY")),
            "require_oidc_for": parse_require(get("PLANGRUPPE_REQUIRE_OIDC_FOR")),
            "oidc_app_redirects": parse_app_redirects(get("PLANGRUPPE_OIDC_APP_REDIRECTS")),
        }
    except OidcConfigError as exc:
        raise ConfigError(str(exc)) from None


def _metrics_token(value: str | None) -> str | None:
    if value is not None and len(value) < 24:
        raise ConfigError("PLANGRUPPE_METRICS_TOKEN must be at least 24 characters")
    return value


def _choice(value: str | None, name: str, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    normal = value.upper() if allowed[0].isupper() else value.lower()
    if normal not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return normal


def _trusted(path: str | None) -> TrustedDocuments | None:
    if path is None:
        return None
    try:
        return TrustedDocuments.load(path)
    except ValueError as exc:
        raise ConfigError(f"PLANGRUPPE_TRUSTED_DOCUMENTS: {exc}") from None


def _hash_key(value: str | None) -> bytes | None:
    """PLANGRUPPE_IDENTITY_HASH_KEY: hex or base64, at least 32 bytes."""
    if value is None:
        return None
    key: bytes | None = None
    with contextlib.suppress(ValueError):
        key = bytes.fromhex(value)
    if key is None:
        with contextlib.suppress(ValueError, binascii.Error):
            key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_")
    if key is None or len(key) < 32:
        raise ConfigError("PLANGRUPPE_IDENTITY_HASH_KEY must be at least 32 bytes, hex or base64")
    return key


def _secret_keys(value: str | None) -> tuple[str, ...]:
    try:
        return parse_keys(value or "")
    except ValueError as exc:
        raise ConfigError(f"PLANGRUPPE_SECRET_KEY: {exc}") from None


def _port(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{name} must be a port number, not {value!r}")
    return int(value)


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be above 0, not {value!r}")
    return number


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _cors_origins(value: str | None, deprecated: str | None) -> tuple[str, ...]:
    """PLANGRUPPE_CORS_ORIGINS, normalised as browsers send `Origin` (lowercase, no default
    port). PLANGRUPPE_ALLOWED_ORIGINS, its old name (WebSocket origins only), still counts
    when it is alone or names the same origins."""
    origins = _origins(value, "PLANGRUPPE_CORS_ORIGINS")
    if deprecated is None:
        return origins
    old = _origins(deprecated, "PLANGRUPPE_ALLOWED_ORIGINS")
    if value is not None and set(old) != set(origins):
        raise ConfigError(
            "PLANGRUPPE_ALLOWED_ORIGINS (deprecated) and PLANGRUPPE_CORS_ORIGINS name different "
            "origins; set only PLANGRUPPE_CORS_ORIGINS"
        )
    log.warning(
        "PLANGRUPPE_ALLOWED_ORIGINS is deprecated: name the origins in PLANGRUPPE_CORS_ORIGINS, "
        "which also allows them over HTTP (CORS)"
    )
    return old


def _origins(value: str | None, name: str) -> tuple[str, ...]:
    found: list[str] = []
    for item in _list(value):
        origin = "*" if item == "*" else normalize_origin(item)
        if origin is None or (origin != "*" and not _only_an_origin(item)):
            raise ConfigError(
                f"{name}: {item!r} is not an origin like https://plan.kommune.example "
                "(scheme, host and optional port, no path) or *"
            )
        if origin not in found:
            found.append(origin)
    return tuple(found)


def _only_an_origin(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme.lower() in ("http", "https")
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username)
    )


def _networks(value: str | None) -> tuple[str, ...]:
    """PLANGRUPPE_TRUSTED_PROXIES: IP addresses or networks (CIDR), normalised."""
    found = []
    for item in _list(value):
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"PLANGRUPPE_TRUSTED_PROXIES: {item!r} is not an IP address or network (CIDR)"
            ) from None
    return tuple(found)


def _channels(value: str | None) -> tuple[str, ...]:
    channels = tuple(c.upper() for c in _list(value)) or OTP_CHANNELS
    unknown = [c for c in channels if c not in OTP_CHANNELS]
    if unknown:
        raise ConfigError(f"PLANGRUPPE_OTP_CHANNELS: unknown channel {unknown[0]!r}")
    return channels
