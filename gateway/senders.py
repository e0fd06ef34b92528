"""Delivery of outbox rows: mail over SMTP (aiosmtplib), SMS over an HTTP gateway, or the log."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import aiosmtplib
import httpx

from db.outbox import OutgoingMessage
from gateway.settings import Settings

log = logging.getLogger("plangruppe.notifications")


class DeliveryError(Exception):
    """The message could not be handed over; the worker retries later."""


class Sender(Protocol):
    async def send(self, message: OutgoingMessage) -> None: ...


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings

    async def send(self, message: OutgoingMessage) -> None:
        s = self._settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=s.smtp_from.partition("@")[2] or "plangruppe")
        mail.set_content(message.body)
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_port == 465,
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc


class SmsGatewaySender:
    def __init__(self, settings: Settings) -> None:
        assert settings.sms_gateway_url is not None
        self._url = settings.sms_gateway_url
        self._token = settings.sms_gateway_token

    async def send(self, message: OutgoingMessage) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                response = await client.post(
                    self._url, json={"to": message.recipient, "text": message.body}, headers=headers
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")


class LogSender:
    """Development only: the message goes to the server log."""

    def __init__(self, channel: str) -> None:
        self._channel = channel

    async def send(self, message: OutgoingMessage) -> None:
        log.warning(
            "%s to %s (no %s configured):\n%s\n%s",
            self._channel,
            message.recipient,
            "SMTP server" if self._channel == "EMAIL" else "SMS gateway",
            message.subject,
            message.body,
        )


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    mail: Sender = SmtpSender(settings) if settings.smtp_host else LogSender("EMAIL")
    sms: Sender = SmsGatewaySender(settings) if settings.sms_gateway_url else LogSender("SMS")
    return {"EMAIL": mail, "SMS": sms}
