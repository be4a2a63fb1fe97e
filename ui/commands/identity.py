"""`disclose identity …`: link the names, numbers, addresses and handles one person uses."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from indexer.identities import link, people
from indexer.services import open_services
from ui.output import BadInput, JsonFlag, emit, guarded

identity_app = typer.Typer(help="The workspace identity table (one person, many identifiers).", no_args_is_help=True)


def _person_json(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "display_name": record.display_name,
        "identifiers": [{"kind": i.kind, "value": i.value} for i in record.identifiers],
    }


@identity_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The person's display name.")],
    email: Annotated[list[str], typer.Option("--email", help="An email address (repeatable).")] = [],
    phone: Annotated[list[str], typer.Option("--phone", help="A phone number; UK numbers without +44 are read as UK (repeatable).")] = [],
    handle: Annotated[list[str], typer.Option("--handle", help="A chat handle or user name (repeatable).")] = [],
    as_json: JsonFlag = False,
) -> None:
    """Link identifiers to one person (merging with anyone already holding one of them)."""

    def work() -> dict[str, Any]:
        if not name.strip():
            raise BadInput("a person needs a name")
        pairs = [("email", v) for v in email] + [("phone", v) for v in phone] + [("handle", v) for v in handle]
        for kind, value in pairs:
            if kind == "email" and "@" not in value:
                raise BadInput(f"not an email address: {value}")
        services = open_services(ctx.obj)
        with services.store.session() as session:
            person_id = link(session, name, pairs)
            session.commit()
            record = next(p for p in people(session) if p.id == person_id)
            return _person_json(record)

    result = guarded(as_json, work)
    emit(result, as_json, lambda r: typer.echo(f"{r['id']}\t{r['display_name']}\t" + ", ".join(i["value"] for i in r["identifiers"])))


@identity_app.command("list")
def list_people(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Everyone in the identity table with their identifiers."""

    def work() -> dict[str, Any]:
        services = open_services(ctx.obj)
        with services.store.session() as session:
            return {"people": [_person_json(p) for p in people(session)]}

    def human(result: dict[str, Any]) -> None:
        for person in result["people"]:
            typer.echo(f"{person['id']}\t{person['display_name']}\t" + ", ".join(f"{i['kind']}:{i['value']}" for i in person["identifiers"]))

    emit(guarded(as_json, work), as_json, human)


def register(app: typer.Typer) -> None:
    app.add_typer(identity_app, name="identity")
