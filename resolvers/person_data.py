"""Innsyn and erasure (GDPR Art. 15 and 17) for one person.

Export: everything held about the person as JSON (db/person_data.py), for the person, a
SYSTEM_ADMIN or a LOCAL_ADMIN of their unit (policy.person_export_denial); an administrator's
export is in the person's own access log. Erasure: by a SYSTEM_ADMIN, of a person who takes
part in no plan (a plan's content is kept for its retention) and whom no kept record names."""

from __future__ import annotations

import orjson

from db import accounts, person_data, persons
from db.bus import notify_access_changed
from resolvers import policy, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import require_viewer


async def export(ctx: Context, person_id: str) -> bytes:
    viewer = require_viewer(ctx)
    pid = validation.identifier("personId", person_id)
    async with ctx.pool.acquire() as conn, conn.transaction():
        person = await persons.by_id(conn, pid)
        if person is None:
            raise not_found("person")
        me = await persons.by_id(conn, viewer.person_id)
        denial = policy.person_export_denial(
            viewer.global_roles,
            is_self=pid == viewer.person_id,
            viewer_unit=me.service_unit_id if me else None,
            person_unit=person.service_unit_id,
        )
        if denial:
            raise forbidden(denial)
        data = await person_data.export(conn, pid)
        await audited(conn, ctx, "person.exported", target=pid)
    if pid != viewer.person_id:
        ctx.record_read(None, pid, "export")
    return orjson.dumps(
        {"exportedAt": ctx.now().isoformat(), **data},
        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
    )


async def erase(ctx: Context, person_id: str) -> bool:
    viewer = require_viewer(ctx)
    denial = policy.person_erasure_denial(viewer.global_roles)
    if denial:
        raise forbidden(denial)
    pid = validation.identifier("personId", person_id)
    if pid == viewer.person_id:
        raise bad_input("personId", "You cannot erase yourself.")
    async with ctx.pool.acquire() as conn, conn.transaction():
        if await persons.by_id(conn, pid) is None:
            raise not_found("person")
        if await person_data.takes_part_anywhere(conn, pid):
            raise bad_input(
                "personId",
                "The person takes or took part in a plan: its content is kept for the plan's"
                " retention, and so are they.",
            )
        account = await accounts.by_person(conn, pid)
        if not await person_data.erase(conn, pid):
            raise bad_input(
                "personId",
                "Kept records (the access log, the audit log, plans they created) still name"
                " this person; nothing was erased.",
            )
        if account is not None:  # its sessions went with it: live subscriptions end
            await notify_access_changed(conn, f"account:{account.id}")
        await audited(conn, ctx, "person.erased", target=pid)
    return True
