"""The commands. Each prints what the matching /admin route answers, as JSON; a refusal is one line on stderr and
exit status 1 (2 for a usage error)."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Callable
from typing import Any, get_args

import click
from pydantic import BaseModel, ValidationError

from robotappel.errors import DomainError
from robotappel.models.tenants import CreateOrgDto, CreditDto, IssueApiKeyDto, OrgStatusName, Role
from robotappel.observability import logger
from robotappel.tenants import api_keys, orgs, suspension, usage_plans
from robotappel_admin import stage
from robotappel_admin.onboarding import onboard

ROLES = click.Choice(get_args(Role))


def _request_id() -> str:
    """What a ledger entry made by the tool names as its request (the routes name API Gateway's request id)."""
    return f"cli-{uuid.uuid4()}"


def _run(context: click.Context, command: Callable[[], BaseModel | list[Any] | dict[str, Any]]) -> None:
    """Run `command` on the chosen stage and print its answer; domain refusals and invalid input exit 1."""
    target: stage.Stage = context.obj
    try:
        with target.active():
            answer = command()
    except DomainError as refused:
        raise click.ClickException(f"{refused.error_code}: {refused.message}") from refused
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in invalid.errors())
        raise click.ClickException(f"validation_error: {problems}") from invalid
    click.echo(json.dumps(_plain(answer), indent=2))


def _plain(answer: Any) -> Any:
    if isinstance(answer, BaseModel):
        return answer.model_dump(mode="json")
    if isinstance(answer, list):
        return [_plain(item) for item in answer]
    if isinstance(answer, dict):
        return {name: _plain(value) for name, value in answer.items()}
    return answer


@click.group()
@click.option("--stack", help="CloudFormation stack of the deployed stage (sam deploy's stack name).")
@click.option("--region", envvar="AWS_REGION", help="AWS region of the stack (default: $AWS_REGION).")
@click.option("--local", "use_local", is_flag=True, help="The running `make run` instead of a deployed stage.")
@click.pass_context
def cli(context: click.Context, stack: str | None, region: str | None, use_local: bool) -> None:
    """Operate RobotAppel's phone-number API: organisations, API keys, tokens.

    Works on a deployed stage (--stack and --region, with your AWS credentials) or on `make run` (--local).
    """
    if use_local == bool(stack):
        raise click.UsageError("Give either --stack (and --region) or --local.")
    try:
        if use_local:
            context.obj = stage.local()
        elif not region:
            raise click.UsageError("--stack needs --region (or AWS_REGION).")
        else:
            context.obj = stage.deployed(str(stack), region)
    except stage.StageNotFound as error:
        raise click.ClickException(str(error)) from error


@cli.command("onboard")
@click.argument("org_id")
@click.option("--tokens", type=click.IntRange(min=0), default=0, show_default=True, help="Opening balance.")
@click.option("--operator", is_flag=True, help="An operator org (the platform's staff): the only orgs with admin keys.")
@click.option("--role", type=ROLES, help="Role of its first API key.  [default: admin with --operator, else member]")
@click.pass_context
def onboard_command(context: click.Context, org_id: str, tokens: int, operator: bool, role: Role | None) -> None:
    """Create ORG_ID with its opening balance and its first API key (shown once: hand it over now)."""

    def run() -> dict[str, Any]:
        first_role = role or ("admin" if operator else "member")
        onboarded = onboard(org_id, tokens, first_role, _request_id(), operator=operator)
        return {"org": onboarded.org, "apiKey": onboarded.key}

    _run(context, run)


@cli.group("orgs")
def orgs_group() -> None:
    """Organisations."""


@orgs_group.command("create")
@click.argument("org_id")
@click.option("--tokens", type=click.IntRange(min=0), default=0, show_default=True, help="Opening balance.")
@click.option("--operator", is_flag=True, help="An operator org (the platform's staff): the only orgs with admin keys.")
@click.pass_context
def create_org(context: click.Context, org_id: str, tokens: int, operator: bool) -> None:
    """Create ORG_ID, with its opening balance credited to its ledger."""
    dto = CreateOrgDto(orgId=org_id, tokens=tokens, operator=operator)
    _run(context, lambda: orgs.create_org(dto, _request_id()))


@orgs_group.command("make-operator")
@click.argument("org_id")
@click.pass_context
def make_operator(context: click.Context, org_id: str) -> None:
    """Make ORG_ID, which exists, an operator org: one created before orgs said so (the first org of a stage)."""

    def run() -> dict[str, Any]:
        orgs.make_operator(org_id)
        return {"orgId": org_id, "operator": True}

    _run(context, run)


@cli.group("keys")
def keys_group() -> None:
    """API keys."""


@keys_group.command("issue")
@click.argument("org_id")
@click.option("--role", type=ROLES, default="member", show_default=True)
@click.pass_context
def issue_key(context: click.Context, org_id: str, role: Role) -> None:
    """A new API key for ORG_ID. It is shown this once; only its hash is stored."""
    _run(context, lambda: api_keys.issue_api_key(org_id, IssueApiKeyDto(role=role)))


@keys_group.command("list")
@click.argument("org_id")
@click.pass_context
def list_keys(context: click.Context, org_id: str) -> None:
    """ORG_ID's keys by their last 4 characters, revoked ones included."""
    _run(context, lambda: api_keys.list_api_keys(org_id))


@keys_group.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke_key(context: click.Context, key_id: str) -> None:
    """Revoke KEY_ID: refused from its next call (the stage's authorizer cache is flushed, as the admin route does)."""
    target: stage.Stage = context.obj

    def run() -> BaseModel:
        revoked = api_keys.revoke_api_key(key_id)
        if target.api is None or not api_keys.flush_authorizer_cache(target.api):
            click.echo("warning: authorizer cache not flushed: the key may work for up to 300 s more", err=True)
        return revoked

    _run(context, run)


@orgs_group.command("suspend")
@click.argument("org_id")
@click.option(
    "--operator",
    is_flag=True,
    help="ORG_ID may be an operator org: its admin keys stop working until `orgs reactivate` (the admin route "
    "refuses to suspend one).",
)
@click.pass_context
def suspend(context: click.Context, org_id: str, operator: bool) -> None:
    """Suspend ORG_ID: its routes answer 403 org_suspended and its Twilio subaccount is suspended."""
    _set_status(context, org_id, "suspended", operator_too=operator)


@orgs_group.command("reactivate")
@click.argument("org_id")
@click.pass_context
def reactivate(context: click.Context, org_id: str) -> None:
    """Reactivate a suspended ORG_ID: its Twilio subaccount, then its routes."""
    _set_status(context, org_id, "active")


def _set_status(context: click.Context, org_id: str, status: OrgStatusName, *, operator_too: bool = False) -> None:
    target: stage.Stage = context.obj

    def run() -> BaseModel:
        changed = suspension.set_status(org_id, status, operator_too=operator_too)
        if target.api is None or not api_keys.flush_authorizer_cache(target.api):
            click.echo("warning: authorizer cache not flushed: the change may take up to 300 s", err=True)
        return changed

    _run(context, run)


@cli.group("plans")
def plans_group() -> None:
    """Usage plans: each org's requests a second and a day (template.yaml's plans)."""


@plans_group.command("list")
@click.pass_context
def list_plans(context: click.Context) -> None:
    """The stage's usage plans and their limits (per org)."""
    _run(context, usage_plans.list_plans)


@plans_group.command("move")
@click.argument("org_id")
@click.argument("plan")
@click.pass_context
def move_org(context: click.Context, org_id: str, plan: str) -> None:
    """Move ORG_ID to the usage plan PLAN (see `plans list`): its requests counted by that plan from now on."""
    _run(context, lambda: orgs.change_plan(org_id, plan))


@plans_group.command("backfill")
@click.pass_context
def backfill(context: click.Context) -> None:
    """Give every org without one its API key in the default plan (orgs made before usage plans); idempotent."""
    _run(context, usage_plans.enrol_every_org)


@cli.command("credit")
@click.argument("org_id")
@click.argument("tokens", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (invoice, goodwill...): kept in the ledger entry.")
@click.pass_context
def credit(context: click.Context, org_id: str, tokens: int, reason: str) -> None:
    """Top up ORG_ID with TOKENS, as a ledger entry."""
    _run(context, lambda: orgs.credit_tokens(org_id, CreditDto(tokens=tokens, reason=reason), _request_id()))


def main() -> None:
    # The layer's JSON log lines are for CloudWatch: here stdout carries the answers, and what was done is the answer.
    logger.setLevel("WARNING")
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)
    cli(prog_name="python -m robotappel_admin")
