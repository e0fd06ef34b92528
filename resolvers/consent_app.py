"""Consent given by the person (samtykke i appen): the coordinator proposes a consent and
names who gives it (the owner as SELF, a parent or verge as PARENT or GUARDIAN, as on the
paper form); that person gives it when logged in (giveConsent). Consent typed in from paper
stays (recordConsent, givenThrough PAPER). The giver is also reminded 30 days before a
consent expires, not only the coordinator."""

from __future__ import annotations

import datetime as dt

from graphql import GraphQLError

from db import accounts, consent_proposals, plans
from db.bus import notify_access_changed
from db.consent_proposals import ProposalRow
from db.plans import ConsentRow, PlanView
from resolvers import notify, policy, texts, validation
from resolvers.audit_trail import audited
from resolvers.context import Context
from resolvers.errors import bad_input, forbidden, not_found
from resolvers.guard import deny, locked_view, require_viewer
from resolvers.plans import check_consent_giver
from resolvers.policy.build import facts, grant, owner_facts


async def propose_consent(
    ctx: Context,
    plan_id: str,
    given_by_id: str,
    relation: str,
    expires_on: dt.date,
    scope: str | None,
    default_grant: dict[str, object],
) -> ProposalRow:
    pid = validation.identifier("planId", plan_id)
    giver = validation.identifier("givenById", given_by_id)
    text = validation.text("scope", scope, max_length=4000)
    if expires_on <= ctx.today():
        raise bad_input("expiresOn", "expiresOn must be after today.")
    now = ctx.now()
    async with ctx.pool.acquire() as conn, conn.transaction():
        view = await locked_view(conn, ctx, pid)
        deny(policy.coordinator_denial(facts(view)))
        members = (await plans.participants_of(conn, [pid]))[pid]
        giver_part = next((p for p in members if p.person_id == giver), None)
        check_consent_giver(giver_part, relation)
        assert view.mine is not None
        row = await consent_proposals.propose(
            conn,
            plan_id=pid,
            given_by=giver,
            relation=relation,
            expires_on=expires_on,
            scope=text,
            default_grant=grant(default_grant).as_dict(),
            proposed_by=view.mine.id,
            now=now,
        )
        await audited(conn, ctx, "consent.proposed", target=pid, detail={"proposal": row.id})
        # Notices go to the address the holder confirmed, as every notice to an account.
        holder = await accounts.by_person(conn, giver)
        if holder is not None and holder.confirmed_email:
            await notify.queue_email(conn, holder.confirmed_email, texts.consent_requested(), now)
    return row


async def give_consent(ctx: Context, proposal_id: str) -> ConsentRow:
    """The named giver gives the proposed consent: it becomes the plan's consent (given
    today, through the app); the coordinator is told, without content."""
    require_viewer(ctx)
    prid = validation.identifier("proposalId", proposal_id)
    now, today = ctx.now(), ctx.today()
    async with ctx.pool.acquire() as conn, conn.transaction():
        proposal = await consent_proposals.open_for_update(conn, prid)
        if proposal is None:
            raise not_found("consent proposal")
        try:
            view = await locked_view(conn, ctx, proposal.plan_id)
        except GraphQLError:
            raise not_found("consent proposal") from None
        if view.mine is None:  # an administrator who knows of the plan: not theirs to give
            raise not_found("consent proposal")
        denial = policy.give_proposed_consent_denial(facts(view), proposal.given_by)
        if denial:
            raise forbidden(denial)
        if proposal.closed_at is not None:
            raise bad_input("proposalId", "This proposal was answered or withdrawn.")
        if proposal.expires_on <= today:
            raise bad_input("proposalId", "The proposed period has already ended.")
        row = await plans.insert_consent(
            conn,
            proposal.plan_id,
            {
                "given_by": proposal.given_by,
                "given_by_relation": proposal.given_by_relation,
                "given_on": today,
                "expires_on": proposal.expires_on,
                "scope": proposal.scope,
                "default_grant": proposal.default_grant,
                "given_through": "APP",
            },
            now,
            proposal.given_by,
        )
        await consent_proposals.close(conn, prid, row.id, now)
        await audited(
            conn,
            ctx,
            "consent.given",
            target=proposal.plan_id,
            detail={"consent": row.id, "relation": proposal.given_by_relation},
        )
        coordinator = next(
            (
                m
                for m in (await plans.participants_of(conn, [proposal.plan_id]))[proposal.plan_id]
                if m.role == policy.COORDINATOR
            ),
            None,
        )
        holder = await accounts.by_person(conn, coordinator.person_id) if coordinator else None
        if holder is not None and holder.confirmed_email:
            await notify.queue_email(conn, holder.confirmed_email, texts.consent_given(), now)
        await notify_access_changed(conn, f"plan:{proposal.plan_id}")
    ctx.reload_loaders()
    return row


async def open_proposal(ctx: Context, view: PlanView) -> ProposalRow | None:
    """Plan.consentProposal: for the owner side (the coordinator, the owner, whoever represents
    the owner) and for the person it names as giver."""
    async with ctx.pool.acquire() as conn:
        proposal = await consent_proposals.open_of_plan(conn, view.plan.id)
    if proposal is None:
        return None
    named = policy.give_proposed_consent_denial(facts(view), proposal.given_by) is None
    if not named:
        deny(policy.consent_read_denial(facts(view), await owner_facts(ctx, view), ctx.today()))
    return proposal
