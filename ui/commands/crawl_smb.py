"""`disclose crawl smb //server/share[/path]`: collect a Windows file share in place, with no mount."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable, secret_from_environment
from crawler.custodians import CustodianRules
from crawler.smb import SmbCrawler, SmbTarget
from indexer.pipeline import RunReport, run_crawl
from indexer.services import open_services
from ui.commands.crawl import crawl_app
from ui.commands.custodians import owner_lookup_for
from ui.commands.ingest import checked_timezone
from ui.output import BadInput, JsonFlag, emit, guarded

PASSWORD_VARIABLE = "DISCLOSE_SMB_PASSWORD"


def _password(user: str, server: str) -> Secret:
    found = secret_from_environment(PASSWORD_VARIABLE)
    if found is not None:
        return found
    if not sys.stdin.isatty():
        raise BadInput(f"no password: set {PASSWORD_VARIABLE} or run from a terminal to be asked")
    typed = getpass.getpass(f"Password for {user} on {server}: ")
    if not typed:
        raise BadInput("no password given")
    return Secret(typed)


def _print_report(report: RunReport) -> None:
    data = report.summary()
    print(
        f"Collected {data['collected']} file(s): {data['stored']} new or changed, {data['unchanged']} unchanged, "
        f"{data['removed']} no longer present; {data['items_added']} items added; {data['problems']} problem(s) in {data['seconds']} s."
    )
    if data["problems"]:
        print("See them with: disclose exceptions")


@crawl_app.command("smb")
def crawl_smb(
    ctx: typer.Context,
    share: Annotated[str, typer.Argument(help="//server/share[/folder]")],
    user: Annotated[str, typer.Option("--user", help="Account to log in as (password from DISCLOSE_SMB_PASSWORD or asked).")],
    domain: Annotated[str, typer.Option("--domain", help="Windows domain of the account.")] = "",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 445,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Only paths (relative to the folder) matching this glob.")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Skip paths matching this glob.")] = None,
    custodian: Annotated[Optional[str], typer.Option("--custodian", help="Whose material all of this is.")] = None,
    custodian_map: Annotated[Optional[Path], typer.Option("--custodian-map", help="Path patterns -> custodians.")] = None,
    owners: Annotated[bool, typer.Option("--owners/--no-owners", help="Ask the server for each file's owner.")] = True,
    timezone: Annotated[str, typer.Option("--timezone", help="Zone for local times in chat exports and screenshots.")] = "Europe/London",
    workers: Annotated[int, typer.Option("--workers", min=1, max=32)] = 2,
    as_json: JsonFlag = False,
) -> None:
    """Collect every file on a share (again: only new and changed ones; gone ones are marked no longer present)."""

    def work() -> RunReport:
        if custodian and custodian_map is not None:
            raise BadInput("use --custodian or --custodian-map, not both")
        try:
            target = SmbTarget.parse(share)
        except ValueError as error:
            raise BadInput(str(error)) from None
        if custodian_map is not None and not custodian_map.is_file():
            raise BadInput(f"no such custodian map: {custodian_map}")
        zone = checked_timezone(timezone)
        password = _password(user, target.server)
        services = open_services(ctx.obj)
        try:
            try:
                rules = CustodianRules.from_options(custodian, custodian_map, owner_lookup_for(services))
            except ValueError as error:
                raise BadInput(str(error)) from None
            crawler = SmbCrawler(
                target=target, username=user, password=password, rules=rules, domain=domain, port=port,
                include=list(include or []), exclude=list(exclude or []), read_owner=owners,
            )
            try:
                return run_crawl(services, crawler, timezone=zone, workers=workers)
            except SourceLoginFailed as error:
                raise BadInput(str(error)) from None
            except SourceUnreachable as error:
                raise BadInput(str(error)) from None
        finally:
            services.close()

    report = guarded(as_json, work)
    emit(report.summary(), as_json, lambda _: _print_report(report))
