"""`disclose crawl imap|exchange|graph`: collect live mailboxes (and Teams chats) into the workspace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable, secret_from_environment
from crawler.exchange_ews import AUTH_TYPES, EwsCrawler
from crawler.exchange_graph import AUTHORITY_URL, GRAPH_URL, GraphCrawler
from crawler.imap import ImapCrawler
from disclose.workspace import Workspace
from indexer.pipeline import RunReport, run_crawl
from indexer.services import open_services
from ui.commands.crawl import crawl_app
from ui.output import BadInput, JsonFlag, emit, guarded

Custodian = Annotated[str, typer.Option("--custodian", help="Whose mailbox this is (recorded on every item).")]
Timezone = Annotated[str, typer.Option("--timezone", help="Zone for local times found in content.")]


def secret(variable: str, prompt: str) -> Secret:
    """From the environment, else a hidden prompt on the terminal; never from the case store or arguments."""
    found = secret_from_environment(variable)
    if found is not None:
        return found
    if not sys.stdin.isatty():
        raise BadInput(f"no secret given: set {variable} or run from a terminal to be asked")
    # err=True keeps the prompt off stdout, which --json reserves for the one JSON document
    return Secret(typer.prompt(prompt, hide_input=True, err=True))


def _run(workspace: Workspace, crawler: Any, timezone: str) -> RunReport:
    from ui.commands.ingest import checked_timezone

    zone = checked_timezone(timezone)
    services = open_services(workspace)
    try:
        return run_crawl(services, crawler, timezone=zone)
    except SourceLoginFailed as error:
        raise BadInput(f"login refused: {error}") from None
    except SourceUnreachable as error:
        raise BadInput(str(error)) from None
    finally:
        services.close()


def _report(as_json: bool, build: Callable[[], Any], workspace: Workspace, timezone: str) -> None:
    report: RunReport = guarded(as_json, lambda: _run(workspace, build(), timezone))
    data = {"source": report.source, **report.summary()}

    def human(_: Any) -> None:
        print(
            f"Crawled {report.source}: {data['stored']} new original(s) ({data['items_added']} items, "
            f"{data['duplicates']} duplicates); {data['removed']} removed at source; {data['problems']} problem(s) "
            f"in {data['seconds']} s."
        )
        if data["problems"]:
            print("See them with: disclose exceptions")

    emit(data, as_json, human)


@crawl_app.command("imap")
def crawl_imap(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="IMAP server name.")],
    custodian: Custodian,
    user: Annotated[Optional[str], typer.Option("--user", help="Login name (default: $DISCLOSE_IMAP_USER).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Default 993 (TLS) or 143 (STARTTLS).")] = None,
    folder: Annotated[Optional[list[str]], typer.Option("--folder", help="Only this folder (repeatable); default all.")] = None,
    starttls: Annotated[bool, typer.Option("--starttls", help="Plain connection upgraded with STARTTLS.")] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="No encryption at all (test servers only).")] = False,
    ca_file: Annotated[Optional[Path], typer.Option("--ca-file", help="Also trust this CA certificate (PEM).")] = None,
    timezone: Timezone = "Europe/London",
    as_json: JsonFlag = False,
) -> None:
    """Collect every folder of an IMAP mailbox; later runs fetch only new messages. Password: $DISCLOSE_IMAP_PASSWORD or prompt."""

    def build() -> ImapCrawler:
        if starttls and insecure:
            raise BadInput("choose one of --starttls and --insecure")
        login = user or secret_from_environment("DISCLOSE_IMAP_USER")
        if not login:
            raise BadInput("say which account: --user NAME or DISCLOSE_IMAP_USER")
        if ca_file is not None and not ca_file.is_file():
            raise BadInput(f"no such CA file: {ca_file}")
        return ImapCrawler(
            host=host, port=port, user=login if isinstance(login, str) else login.reveal(),
            password=secret("DISCLOSE_IMAP_PASSWORD", "IMAP password"), custodians=[custodian],
            security="insecure" if insecure else "starttls" if starttls else "tls", folders=list(folder or []),
            ca_file=ca_file,
        )

    _report(as_json, build, ctx.obj, timezone)


@crawl_app.command("exchange")
def crawl_exchange(
    ctx: typer.Context,
    server: Annotated[str, typer.Option("--server", help="EWS URL, e.g. https://mail.example.gov.uk/EWS/Exchange.asmx")],
    mailbox: Annotated[str, typer.Option("--mailbox", help="Primary SMTP address of the mailbox.")],
    custodian: Custodian,
    username: Annotated[Optional[str], typer.Option("--username", help="Login (default: $DISCLOSE_EWS_USERNAME, else the mailbox).")] = None,
    auth_type: Annotated[str, typer.Option("--auth-type", help="auto, ntlm, basic or digest.")] = "auto",
    impersonation: Annotated[bool, typer.Option("--impersonation", help="Act as the mailbox via ApplicationImpersonation.")] = False,
    timezone: Timezone = "Europe/London",
    as_json: JsonFlag = False,
) -> None:
    """Collect every mail folder of an Exchange mailbox over EWS; later runs fetch only changes. Password: $DISCLOSE_EWS_PASSWORD or prompt."""

    def build() -> EwsCrawler:
        if not server.lower().startswith(("https://", "http://")):
            raise BadInput("--server must be the EWS URL (https://…/EWS/Exchange.asmx)")
        if auth_type not in AUTH_TYPES:
            raise BadInput(f"--auth-type must be one of {', '.join(sorted(AUTH_TYPES))}")
        env_user = secret_from_environment("DISCLOSE_EWS_USERNAME")
        login = username or (env_user.reveal() if env_user else mailbox)
        return EwsCrawler(
            server=server, mailbox=mailbox, username=login, password=secret("DISCLOSE_EWS_PASSWORD", "Exchange password"),
            custodians=[custodian], auth_type=auth_type, impersonation=impersonation,
        )

    _report(as_json, build, ctx.obj, timezone)


@crawl_app.command("graph")
def crawl_graph(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Directory (tenant) id or domain.")],
    client_id: Annotated[str, typer.Option("--client-id", help="Application (client) id of the app registration.")],
    mailbox: Annotated[str, typer.Option("--mailbox", help="User principal name or id of the mailbox.")],
    custodian: Custodian,
    teams: Annotated[bool, typer.Option("--teams", help="Also collect the user's Teams chats.")] = False,
    authority: Annotated[str, typer.Option("--authority", help="Identity platform base URL.")] = AUTHORITY_URL,
    graph_url: Annotated[str, typer.Option("--graph-url", help="Graph base URL (national clouds, test fakes).")] = GRAPH_URL,
    ca_file: Annotated[Optional[Path], typer.Option("--ca-file", help="Also trust this CA certificate (PEM).")] = None,
    timezone: Timezone = "Europe/London",
    as_json: JsonFlag = False,
) -> None:
    """Collect an Exchange Online mailbox (and Teams chats) over Microsoft Graph with app credentials. Secret: $DISCLOSE_GRAPH_CLIENT_SECRET or prompt."""

    def build() -> GraphCrawler:
        for name, url in (("--authority", authority), ("--graph-url", graph_url)):
            if not url.lower().startswith("https://"):
                raise BadInput(f"{name} must be an https:// URL")
        if ca_file is not None and not ca_file.is_file():
            raise BadInput(f"no such CA file: {ca_file}")
        return GraphCrawler(
            tenant=tenant, client_id=client_id,
            client_secret=secret("DISCLOSE_GRAPH_CLIENT_SECRET", "Graph client secret"),
            mailbox=mailbox, custodians=[custodian], teams=teams, authority_url=authority, graph_url=graph_url,
            ca_file=str(ca_file) if ca_file else None,
        )

    _report(as_json, build, ctx.obj, timezone)


def register(app: typer.Typer) -> None:
    """Commands attach to crawl_app on import; ui.commands.crawl registers the group."""
