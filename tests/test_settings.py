"""Settings.from_env: defaults, parsing, and what production refuses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import platformdirs
import pytest

from gateway.settings import OTP_CHANNELS, ConfigError, Settings

PRODUCTION = {
    "PLANGRUPPE_ENV": "production",
    "DATABASE_URL": "postgresql://plangruppe@db.kommune.example/plangruppe",
    "SMTP_HOST": "smtp.kommune.example",
    "SMTP_STARTTLS": "true",
    "SMS_GATEWAY_URL": "https://sms.kommune.example/send",
    # A Fernet key (docs/secrets.md); made for these tests, never used anywhere else.
    "PLANGRUPPE_SECRET_KEY": "b2MWn8Y7nrxYp7gxQdVNnc3ZvfiyUvMCzuPWxCmCflc=",
}


OTHER_KEY = "Yq1pm3V0o7oJqS4l1V8qVZbqMZb6X0aGkq2m5Kx3bEo="


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.database_url is None
    assert s.data_dir == Path(platformdirs.user_data_dir("plangruppe"))
    assert s.env == "development"
    assert not s.production
    assert s.smtp_host is None
    assert s.smtp_port == 587
    assert s.smtp_username is None
    assert s.smtp_password is None
    assert s.smtp_from == "plangruppe@localhost"
    assert s.smtp_starttls is False
    assert s.sms_gateway_url is None
    assert s.sms_gateway_token is None
    assert s.public_url == "http://127.0.0.1:8000"
    assert s.cors_origins == ()
    assert s.otp_channels == OTP_CHANNELS == ("EMAIL", "SMS", "APP")


def test_blank_values_count_as_unset() -> None:
    s = Settings.from_env({"SMTP_HOST": "  ", "SMTP_PORT": "", "PLANGRUPPE_ENV": ""})
    assert s.smtp_host is None
    assert s.smtp_port == 587
    assert s.env == "development"


def test_every_variable_is_read(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://plan@db.example/plangruppe",
            "PLANGRUPPE_DATA_DIR": str(tmp_path),
            "SMTP_HOST": "smtp.example",
            "SMTP_PORT": "2525",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "hemmelig",
            "SMTP_FROM": "ikkesvar@kommune.example",
            "SMTP_STARTTLS": "yes",
            "SMS_GATEWAY_URL": "https://sms.example/send",
            "SMS_GATEWAY_TOKEN": "sms-token",
            "PLANGRUPPE_PUBLIC_URL": "https://plan.kommune.example/",
            "PLANGRUPPE_CORS_ORIGINS": "https://a.example, https://b.example,",
            "PLANGRUPPE_SECRET_KEY": f" {PRODUCTION['PLANGRUPPE_SECRET_KEY']}, {OTHER_KEY} ",
        }
    )
    assert s.database_url == "postgresql://plan@db.example/plangruppe"
    assert s.data_dir == tmp_path
    assert (s.smtp_host, s.smtp_port) == ("smtp.example", 2525)
    assert (s.smtp_username, s.smtp_password) == ("mailer", "hemmelig")
    assert s.smtp_from == "ikkesvar@kommune.example"
    assert s.smtp_starttls is True
    assert (s.sms_gateway_url, s.sms_gateway_token) == ("https://sms.example/send", "sms-token")
    assert s.public_url == "https://plan.kommune.example"
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.secret_keys == (PRODUCTION["PLANGRUPPE_SECRET_KEY"], OTHER_KEY)


def test_a_complete_production_configuration_is_accepted() -> None:
    s = Settings.from_env(PRODUCTION)
    assert s.production
    assert s.smtp_starttls
    assert s.secret_keys == (PRODUCTION["PLANGRUPPE_SECRET_KEY"],)


def test_production_needs_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "PLANGRUPPE_SECRET_KEY"}
    with pytest.raises(ConfigError, match="PLANGRUPPE_SECRET_KEY"):
        Settings.from_env(env)
    # Development makes its own key in the data dir when it needs one.
    assert Settings.from_env({**env, "PLANGRUPPE_ENV": "development"}).secret_keys == ()


def test_production_over_implicit_tls_port_465_is_accepted() -> None:
    env = {**PRODUCTION, "SMTP_PORT": "465"}
    del env["SMTP_STARTTLS"]
    assert Settings.from_env(env).smtp_port == 465


@pytest.mark.parametrize(
    ("missing", "named"),
    [("SMTP_HOST", "SMTP_HOST"), ("SMS_GATEWAY_URL", "SMS_GATEWAY_URL")],
)
def test_production_needs_mail_and_sms(missing: str, named: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
    # The same settings are fine for development.
    Settings.from_env({**env, "PLANGRUPPE_ENV": "development"})


@pytest.mark.parametrize("starttls", [None, "false", "0"])
def test_production_needs_mail_over_tls(starttls: str | None) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SMTP_STARTTLS"}
    if starttls is not None:
        env["SMTP_STARTTLS"] = starttls
    with pytest.raises(ConfigError, match="TLS"):
        Settings.from_env(env)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="PLANGRUPPE_ENV"):
        Settings.from_env({"PLANGRUPPE_ENV": "staging"})


@pytest.mark.parametrize("port", ["smtp", "0", "65536", "-1", "25.5", "99999"])
def test_bad_smtp_port(port: str) -> None:
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        Settings.from_env({"SMTP_PORT": port})


@pytest.mark.parametrize("port", ["1", "25", "65535"])
def test_good_smtp_port(port: str) -> None:
    assert Settings.from_env({"SMTP_PORT": port}).smtp_port == int(port)


@pytest.mark.parametrize("value", ["maybe", "2", "ja", "truee"])
def test_bad_smtp_starttls(value: str) -> None:
    with pytest.raises(ConfigError, match="SMTP_STARTTLS"):
        Settings.from_env({"SMTP_STARTTLS": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("TRUE", True), ("on", True), ("no", False), ("Off", False), ("0", False)],
)
def test_smtp_starttls_flags(value: str, expected: bool) -> None:
    assert Settings.from_env({"SMTP_STARTTLS": value}).smtp_starttls is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("EMAIL", ("EMAIL",)),
        ("sms, app", ("SMS", "APP")),
        (" APP ,EMAIL,", ("APP", "EMAIL")),
        ("EMAIL,SMS,APP", ("EMAIL", "SMS", "APP")),
        (",", OTP_CHANNELS),
    ],
)
def test_otp_channels(value: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env({"PLANGRUPPE_OTP_CHANNELS": value}).otp_channels == expected


@pytest.mark.parametrize("value", ["EMAIL,FAX", "BANKID", "SMS;APP"])
def test_unknown_otp_channel(value: str) -> None:
    with pytest.raises(ConfigError, match="PLANGRUPPE_OTP_CHANNELS"):
        Settings.from_env({"PLANGRUPPE_OTP_CHANNELS": value})


@pytest.mark.parametrize(
    "url", ["mysql://db.example/plan", "sqlite:///plan.db", "db.example:5432", "http://db"]
)
def test_bad_database_url_scheme(url: str) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"DATABASE_URL": url})


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u:p@h:5433/db"])
def test_good_database_url(url: str) -> None:
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_settings_are_frozen() -> None:
    s = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.env = "production"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.smtp_host = "smtp.example"  # type: ignore[misc]
    assert s.env == "development"
    assert s.smtp_host is None


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PRODUCTION, "SMTP_PORT", "DATABASE_URL", "PLANGRUPPE_OTP_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_FROM", "prosess@kommune.example")
    assert Settings.from_env().smtp_from == "prosess@kommune.example"
