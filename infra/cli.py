"""The ``billing`` command: run the local platform, manage tenants and API keys, run invoices
and dunning, check the ledger, and look after usage the aggregator could not count (list it,
replay it).

Every command talks to the AWS endpoint in ``AWS_ENDPOINT_URL``, or to the
embedded one on ``127.0.0.1:$EMULATOR_PORT`` (default 4566).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from infra.local.stack import EmbeddedStack, StackConfig, use_endpoint
from infra.provision import physical_name


def _connect(config: StackConfig) -> bool:
    """Point this process at the stack: the endpoint in AWS_ENDPOINT_URL, else AWS itself when
    BILLING_TABLE names a deployed table, else the embedded endpoint of `billing up`. False for
    AWS itself (the environment then names every resource)."""
    if not config.endpoint_url and os.environ.get("BILLING_TABLE"):
        return False
    use_endpoint(config.endpoint_url or f"http://{config.host}:{config.emulator_port}", config.region)
    for variable, logical_id in (("BILLING_TABLE", "BillingTable"), ("USAGE_TABLE", "UsageTable")):
        os.environ.setdefault(variable, physical_name(config.stack_name, logical_id))
    _queue_url(config, "INVOICE_RUN_QUEUE_URL", "InvoiceRunQueue")
    return True


def _queue_url(config: StackConfig, variable: str, logical_id: str) -> None:
    """Set ``variable`` to the URL of the stack's queue ``logical_id`` unless it is set."""
    if variable not in os.environ:
        import boto3

        sqs = boto3.client("sqs", region_name=config.region)
        os.environ[variable] = sqs.get_queue_url(QueueName=physical_name(config.stack_name, logical_id))["QueueUrl"]


def up(config: StackConfig) -> int:
    from infra import demo

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # set first, and explicitly: a background job
        signal.signal(signum, lambda *_: stopped.set())  # may inherit SIGINT ignored
    stack = EmbeddedStack(config)
    source = "given" if config.endpoint_url else "embedded moto"
    print(f"Starting the AWS endpoint ({source}: {stack.endpoint_url}) ...", flush=True)
    stack.start_emulator()
    provisioned = stack.provision()
    print(f"Provisioned {len(provisioned.template['Resources'])} resources of template.yaml.", flush=True)
    stack.serve_api()
    assert stack.plumbing is not None
    seeded = demo.seed(config.stack_name, settle=stack.plumbing.drain)
    stack.plumbing.start()  # queue consumers, stream consumers, and the hourly invoice run (now, then hourly)
    if stack.standins is not None:
        providers = demo.connect_providers(seeded.tenant_id, stack.standins)
        print(_standins(stack.standins.environment(), providers), flush=True)
    link = demo.checkout_link(seeded.tenant_id)
    sent_at = f"{stack.endpoint_url}/moto-api/data.json" if config.endpoint_url is None else None  # moto's
    print(_welcome(stack.api_url, seeded.tenant_id, seeded.api_key, seeded.created, link, sent_at), flush=True)
    while not stopped.wait(timeout=1):
        pass
    print("\nStopping ...", flush=True)
    stack.stop()
    return 0


def _welcome(
    api: str, tenant_id: str, key: str, created: bool, checkout_link: str | None = None, sent_at: str | None = None
) -> str:
    origin = "created" if created else "found (a new key was issued)"
    pay = f"\n  Pay an invoice: {checkout_link}   (in a browser: README, Get paid)" if checkout_link else ""
    pay += f"\n  Mail and SMS:   curl -s {sent_at}   (README, Notifications)" if sent_at else ""
    return f"""
Billing platform running.
  API:            {api}
  Demo tenant:    {tenant_id} ({origin})
  Demo API key:   {key}{pay}
  Dashboard:      {api}/dashboard/sign-in   (sign in with the demo API key; README, Dashboard)

Try it:
  export KEY={key}
  curl -s {api}/health
  curl -s {api}/v1/customers -H "Authorization: Bearer $KEY"
  curl -s {api}/v1/customers -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
       -H "Idempotency-Key: $(uuidgen || date +%s)" \\
       -d '{{"external_id": "cust-1", "name": "Jane Doe", "email": "jane@example.com", "currency": "USD"}}'
  # a customer's portal: open the "url" this prints in a browser (once, within 10 minutes)
  curl -s {api}/v1/portal_sessions -H "Authorization: Bearer $KEY" -d '{{"customer": "northwind-7"}}'

More: .venv/bin/billing tenant create --name "Other Co"   (README.md has the walkthrough)
Press Ctrl-C to stop.
"""


def _standins(environment: dict[str, str], providers: list[str]) -> str:
    lines = "\n".join(f"  {variable + ':':28}{url}" for variable, url in environment.items())
    return (
        f"Payment provider stand-ins (infra/local/standins/README.md):\n{lines}\n"
        f"  The demo tenant's accounts ({', '.join(providers)}) send their webhooks to this API.\n"
    )


def provision(config: StackConfig) -> int:
    """Provision template.yaml on the endpoint in AWS_ENDPOINT_URL (e.g. LocalStack) and exit."""
    if not config.endpoint_url:
        print("error: set AWS_ENDPOINT_URL to the endpoint to provision", file=sys.stderr)
        return 2
    stack = EmbeddedStack(config)
    stack.start_emulator()
    provisioned = stack.provision()
    print(f"Provisioned {len(provisioned.template['Resources'])} resources of template.yaml on {config.endpoint_url}.")
    return 0


def tenant_create(name: str, live: bool, as_json: bool, stack_name: str) -> int:
    from billing.adapters import services
    from infra import usage_plan

    tenant, issued = services.tenants().create_tenant(name, livemode=live)
    if not usage_plan.register(tenant.id, stack_name):
        print(_NO_PLAN.format(plan=usage_plan.plan_name(stack_name)), file=sys.stderr)
    if as_json:
        print(json.dumps({"tenant_id": tenant.id, "api_key": issued.secret, "key_id": issued.key.id}))
    else:
        print(f"Tenant:  {tenant.id} ({tenant.name})\nAPI key: {issued.secret}\n(The key is shown only once.)")
    return 0


_NO_PLAN = (
    "warning: no usage plan {plan} (set STACK_NAME to the deployed stack's name); API Gateway refuses "
    "the tenant's requests until `billing tenant sync-usage-plan` adds it"
)


def tenant_sync_usage_plan(stack_name: str) -> int:
    """Add every tenant's key to the usage plan (tenants created before the stack had one)."""
    from billing.adapters.services import tenants
    from infra import usage_plan

    ids = tenants().tenant_ids()
    if not all(usage_plan.register(tenant_id, stack_name) for tenant_id in ids):
        print(_NO_PLAN.format(plan=usage_plan.plan_name(stack_name)), file=sys.stderr)
        return 1
    print(f"{len(ids)} tenant(s) in usage plan {usage_plan.plan_name(stack_name)}.")
    return 0


def api_key_create(tenant_id: str, live: bool, as_json: bool) -> int:
    from billing.adapters import services

    issued = services.tenants().create_key(tenant_id, livemode=live)
    if as_json:
        print(json.dumps({"tenant_id": tenant_id, "api_key": issued.secret, "key_id": issued.key.id}))
    else:
        print(f"Key id:  {issued.key.id}\nAPI key: {issued.secret}\n(The key is shown only once.)")
    return 0


def api_key_revoke(tenant_id: str, key_id: str) -> int:
    from billing.adapters import services

    services.tenants().revoke_key(tenant_id, key_id)
    print(f"Revoked {key_id}.")
    return 0


def invoices_run(tenant_id: str | None, as_of: str | None, live: bool, timeout_s: float) -> int:
    """Start invoice runs (one tenant, or every tenant in both modes, as the hourly schedule
    does) and follow them with a progress bar until the queue workers complete them."""
    from billing.adapters.services import invoice_runs, tenants
    from billing.invoicing.runs import RunRequest
    from billing.scope import Scope
    from billing.validation import parse

    scopes = (
        [Scope(tenant_id, live)] if tenant_id else [Scope(t, m) for t in tenants().tenant_ids() for m in (False, True)]
    )
    request = parse(RunRequest, {"as_of": as_of} if as_of else {})
    runs = [(scope, invoice_runs().start(scope, request, trigger="cli")) for scope in scopes]
    print(f"Started {len(runs)} invoice run(s) as of {runs[0][1].as_of if runs else '-'}.", flush=True)
    deadline = time.monotonic() + timeout_s
    while True:
        current = [invoice_runs().get(scope, run.id) for scope, run in runs]
        done = sum(r.progress["messages_done"] for r in current)
        total = max(sum(r.progress["messages_total"] for r in current), 1)
        invoices = sum(r.counts["invoices_created"] for r in current)
        finalized = sum(r.counts["invoices_finalized"] for r in current)
        bar = "#" * (30 * done // total)
        print(
            f"\r[{bar:<30}] {done}/{total} batches, {invoices} invoices drafted, {finalized} finalized",
            end="",
            flush=True,
        )
        if all(r.status == "completed" for r in current):
            print()
            return 0
        if time.monotonic() > deadline:
            print("\nerror: the runs did not complete; is `make run` (the queue workers) running?", file=sys.stderr)
            return 1
        time.sleep(0.5)


def dunning_run(tenant_id: str | None, as_of: str | None, live: bool) -> int:
    """Run dunning (one tenant, or every tenant in both modes, as the daily schedule does) as
    of a date, with a running count of the invoices looked at, then what each run did."""
    from billing.adapters.services import dunning, tenants
    from billing.collections.dunning import DunningRunRequest
    from billing.scope import Scope
    from billing.validation import parse

    scopes = (
        [Scope(tenant_id, live)] if tenant_id else [Scope(t, m) for t in tenants().tenant_ids() for m in (False, True)]
    )
    request = parse(DunningRunRequest, {"as_of": as_of} if as_of else {})
    seen = 0

    def tick(n: int) -> None:
        nonlocal seen
        seen += n
        print(f"\r[{'#' * min(seen, 30):<30}] {seen} invoice(s) looked at", end="", flush=True)

    summaries = [(scope, dunning().start(scope, request, progress=tick)) for scope in scopes]
    print()
    for scope, summary in summaries:
        if summary.invoices:
            mode = "live" if scope.livemode else "test"
            steps = ", ".join(f"{n} {action}" for action, n in sorted(summary.steps.items())) or "no step"
            interest = ", ".join(f"{amount} {currency}" for currency, amount in summary.interest_charged.items())
            print(f"{scope.tenant_id} ({mode}) as of {summary.as_of}: {summary.invoices} invoice(s), {steps}, "
                  f"interest charged: {interest or 'none'} (minor units)")  # fmt: skip
    print(f"Dunning done for {len(scopes)} scope(s) as of {summaries[0][1].as_of if summaries else '-'}.")
    return 0


def ledger_check(tenant_id: str | None) -> int:
    """Check every customer's ledger of one tenant, or of every tenant, in both modes: a line
    per problem (``billing.ledger_check``), exit status 1 when there is any."""
    from billing.adapters.services import ledger_check, tenants
    from billing.scope import Scope

    check = ledger_check()
    tenant_ids = [tenant_id] if tenant_id else tenants().tenant_ids()
    customers = problems = 0
    for scope in (Scope(t, livemode) for t in tenant_ids for livemode in (False, True)):
        for customer in check.customer_ids(scope):
            customers += 1
            for problem in check.problems(scope, customer):
                problems += 1
                print(problem, flush=True)
    print(f"Checked the ledgers of {customers} customer(s) of {len(tenant_ids)} tenant(s): {problems} problem(s).")
    return 1 if problems else 0


def reports_rebuild(tenant_id: str | None) -> int:
    """Recompute the report aggregates of one tenant, or of every tenant, in both modes, from
    their source records (``billing.reports.rebuild``): a line per scope."""
    from billing.adapters.services import reports_rebuild, tenants
    from billing.scope import Scope

    tenant_ids = [tenant_id] if tenant_id else tenants().tenant_ids()
    for scope in (Scope(t, livemode) for t in tenant_ids for livemode in (False, True)):
        done = reports_rebuild().run(scope)
        mode = "live" if scope.livemode else "test"
        print(f"{scope.tenant_id} ({mode}): {done.records} record(s) counted, {done.items} item(s) written", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="billing", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="run the whole platform locally (what `make run` runs)")
    commands.add_parser("provision", help="create the resources of template.yaml on AWS_ENDPOINT_URL and exit")

    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant and its first API key")
    create.add_argument("--name", required=True)
    create.add_argument("--live", action="store_true", help="issue a live-mode key (default: test mode)")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    tenant.add_parser("sync-usage-plan", help="add every tenant to the API's usage plan (its request rate)")

    keys = commands.add_parser("api-key", help="manage API keys").add_subparsers(dest="action", required=True)
    key_create = keys.add_parser("create", help="issue another API key for a tenant")
    key_create.add_argument("--tenant", required=True)
    key_create.add_argument("--live", action="store_true")
    key_create.add_argument("--json", action="store_true")
    revoke = keys.add_parser("revoke", help="revoke an API key")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("key_id")

    invoices = commands.add_parser("invoices", help="invoicing").add_subparsers(dest="action", required=True)
    run = invoices.add_parser("run", help="bill every due subscription now (what the hourly schedule does)")
    run.add_argument("--tenant", help="one tenant (default: every tenant, test and live mode)")
    run.add_argument("--live", action="store_true", help="with --tenant: its live-mode data (default: test mode)")
    run.add_argument("--as-of", help="bill what was due at this moment (ISO 8601, not in the future)")
    run.add_argument("--timeout", type=float, default=600, help="seconds to wait for the runs to complete")

    dunning = commands.add_parser("dunning", help="collections").add_subparsers(dest="action", required=True)
    dun = dunning.add_parser("run", help="apply the dunning steps due and accrue interest (what the daily job does)")
    dun.add_argument("--tenant", help="one tenant (default: every tenant, test and live mode)")
    dun.add_argument("--live", action="store_true", help="with --tenant: its live-mode data (default: test mode)")
    dun.add_argument("--as-of", help="the date to run as of (YYYY-MM-DD; default: today, UTC)")

    ledger = commands.add_parser("ledger", help="the double-entry ledger").add_subparsers(dest="action", required=True)
    check = ledger.add_parser("check", help="check that every entry balances and every balance equals its postings")
    check.add_argument("--tenant", help="one tenant (default: every tenant), test and live mode")

    reports = commands.add_parser("reports", help="report aggregates").add_subparsers(dest="action", required=True)
    rebuild = reports.add_parser("rebuild", help="recompute the report aggregates from the source records")
    rebuild.add_argument("--tenant", help="one tenant (default: every tenant), test and live mode")

    usage = commands.add_parser("usage", help="usage metering").add_subparsers(dest="action", required=True)
    listing = usage.add_parser("dead-letters", help="list usage the aggregator could not count")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    replay = usage.add_parser("replay", help="count parked records and failed stream batches again")
    replay.add_argument("ids", nargs="*", help="parked record ids (upk_...) and failed batch message ids")
    replay.add_argument("--all", action="store_true", help="every parked record and failed batch")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    from billing.errors import BillingError

    args = parser().parse_args(argv)
    config = StackConfig.from_env()
    if args.command == "up":
        return up(config)
    if args.command == "provision":
        return provision(config)
    local = _connect(config)
    try:
        if args.command == "tenant" and args.action == "sync-usage-plan":
            return tenant_sync_usage_plan(config.stack_name)
        if args.command == "tenant":
            return tenant_create(args.name, args.live, args.json, config.stack_name)
        if args.command == "invoices":
            return invoices_run(args.tenant, args.as_of, args.live, args.timeout)
        if args.command == "dunning":
            return dunning_run(args.tenant, args.as_of, args.live)
        if args.command == "ledger":
            return ledger_check(args.tenant)
        if args.command == "reports":
            return reports_rebuild(args.tenant)
        if args.command == "usage":
            from infra import usage_cli

            if local:
                _queue_url(config, "USAGE_DEAD_LETTER_QUEUE_URL", "UsageAggregatorDeadLetterQueue")
            return (
                usage_cli.dead_letters(args.json)
                if args.action == "dead-letters"
                else usage_cli.replay(args.ids, args.all)
            )
        if args.action == "create":
            return api_key_create(args.tenant, args.live, args.json)
        return api_key_revoke(args.tenant, args.key_id)
    except BillingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
