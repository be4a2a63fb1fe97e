"""`disclose request|review|markers|redact|suggest|audit`: the casework on a request, from the clock to the markers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from sqlalchemy.orm import Session

from indexer.services import Services, open_services
from search_api import audit, redaction, review, s12, suggest
from search_api import requests as casework
from search_api.exemptions import codes_for
from search_api.requests import CaseworkError, SubjectIdentifiers
from ui.output import BadInput, JsonFlag, emit, guarded

T = TypeVar("T")

request_app = typer.Typer(help="Requests: create, scope, clock, search, estimate.", no_args_is_help=True)
closures_app = typer.Typer(help="Admin-managed closure days (extra non-working days for every clock).", no_args_is_help=True)
review_app = typer.Typer(help="Decisions on the items in a request's review set.", no_args_is_help=True)
markers_app = typer.Typer(help="Redaction markers: list, edit, remove, accept or reject suggestions.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
request_app.add_typer(closures_app, name="closures")

ActorOpt = Annotated[Optional[str], typer.Option("--actor", help="Who is doing this (default: $DISCLOSE_USER, else the OS user).")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Count days left from this date (YYYY-MM-DD; default today).")]
OnOpt = Annotated[Optional[str], typer.Option("--on", help="The date it happened (YYYY-MM-DD; default today).")]


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from None


def _run(ctx: typer.Context, as_json: bool, body: Callable[[Services, Session], T], human: Callable[[T], None] | None = None) -> None:
    def work() -> T:
        services = open_services(ctx.obj)
        try:
            with services.store.session() as session:
                return body(services, session)
        except CaseworkError as error:
            raise BadInput(str(error)) from None
        finally:
            services.close()

    result = guarded(as_json, work)
    emit(result, as_json, human)


def _print_request(view: casework.RequestView) -> None:
    due = view.due.isoformat() if view.due else ("paused" if view.paused else "none")
    left = ""
    if view.working_days_left is not None:
        left = f", {view.working_days_left} working day(s) left"
    elif view.days_left is not None:
        left = f", {view.days_left} day(s) left"
    flag = " OVERDUE" if view.overdue else ""
    print(f"{view.ref} [{view.type}] received {view.received.isoformat()}, due {due}{left}, {view.status}{flag}")


def _print_lines(lines: list[str]) -> None:
    print("\n".join(lines) if lines else "(none)")


def register(app: typer.Typer) -> None:
    app.add_typer(request_app, name="request")
    app.add_typer(review_app, name="review")
    app.add_typer(markers_app, name="markers")
    app.add_typer(audit_app, name="audit")

    @app.command("redact")
    def redact_command(
        ctx: typer.Context,
        ref: str,
        text: Annotated[str, typer.Option("--text", help="The exact words to mark (case-insensitive, whole words).")],
        code: Annotated[str, typer.Option("--code", help="The exemption relied on, e.g. s40(2).")],
        item: Annotated[Optional[str], typer.Option("--item", help="Only this item of the review set.")] = None,
        reason: Annotated[str, typer.Option("--reason")] = "",
        actor: ActorOpt = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Mark every occurrence of the words in the request's review-set items."""
        _run(
            ctx, as_json,
            lambda s, db: redaction.redact_text(db, ref, text=text, code=code, actor=audit.resolve_actor(actor), item_id=item, reason=reason),
            lambda r: print(f"{len(r.created)} marker(s) added for {r.occurrences} occurrence(s) in {r.items_searched} item(s)"),
        )

    @app.command("suggest")
    def suggest_command(
        ctx: typer.Context,
        ref: str,
        item: Annotated[Optional[str], typer.Option("--item")] = None,
        actor: ActorOpt = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Suggest redactions of personal data; each must be accepted (`markers accept`) before a bundle uses it."""
        _run(
            ctx, as_json,
            lambda s, db: suggest.suggest(db, ref, actor=audit.resolve_actor(actor), item_id=item),
            lambda r: print(f"{len(r.created)} suggestion(s) under {r.code} in {r.items_scanned} item(s): {r.by_entity}"),
        )


# --- request -------------------------------------------------------------------------------


@request_app.command("create")
def request_create(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option("--type", help="foi, eir, foisa, eisr, sar or legal.")],
    ref: Annotated[str, typer.Option("--ref", help="Your reference for the request.")],
    received: Annotated[str, typer.Option("--received", help="Date received, YYYY-MM-DD.")],
    requester: Annotated[str, typer.Option("--requester")] = "",
    assignee: Annotated[Optional[list[str]], typer.Option("--assignee")] = None,
    notes: Annotated[str, typer.Option("--notes")] = "",
    due: Annotated[Optional[str], typer.Option("--due", help="Legal disclosure only: the date set by the court or parties.")] = None,
    central_government: Annotated[bool, typer.Option("--central-government", help="s12 limit of £600 (Schedule 1 Part I body).")] = False,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a request; prints its due date."""

    def body(services: Services, session: Session) -> casework.RequestView:
        received_on = _date(received, "--received")
        assert received_on is not None
        return casework.create_request(
            session, ref=ref, kind=kind, received=received_on, actor=audit.resolve_actor(actor), requester=requester,
            assignees=assignee or [], notes=notes, due=_date(due, "--due"), central_government=central_government,
            today=_date(as_of, "--as-of"),
        )

    _run(ctx, as_json, body, _print_request)


@request_app.command("list")
def request_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option("--status")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only requests past their due date.")] = False,
    as_of: AsOfOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """All requests with their due dates and days left."""

    def body(services: Services, session: Session) -> dict[str, Any]:
        views = casework.list_requests(session, today=_date(as_of, "--as-of"), status=status, overdue_only=overdue)
        return {"total": len(views), "requests": views}

    _run(ctx, as_json, body, lambda r: [_print_request(v) for v in r["requests"]] or print("(no requests)"))


@request_app.command("show")
def request_show(ctx: typer.Context, ref: str, as_of: AsOfOpt = None, as_json: JsonFlag = False) -> None:
    """One request: clock, scope and every clock event."""

    def human(view: casework.RequestView) -> None:
        _print_request(view)
        for event in view.events:
            print(f"  {event.on.isoformat()} {event.event} {event.reason} {event.detail or ''} ({event.author})")

    _run(ctx, as_json, lambda s, db: casework.show_request(db, ref, _date(as_of, "--as-of")), human)


@request_app.command("update")
def request_update(
    ctx: typer.Context,
    ref: str,
    status: Annotated[Optional[str], typer.Option("--status", help=", ".join(casework.STATUSES))] = None,
    assignee: Annotated[Optional[list[str]], typer.Option("--assignee", help="Add an assignee.")] = None,
    unassign: Annotated[Optional[list[str]], typer.Option("--unassign", help="Remove an assignee.")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Replace the notes.")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Append a line to the notes.")] = None,
    requester: Annotated[Optional[str], typer.Option("--requester")] = None,
    central_government: Annotated[Optional[bool], typer.Option("--central-government/--not-central-government")] = None,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Change status, assignees, notes or the central-government flag."""
    _run(
        ctx, as_json,
        lambda s, db: casework.update_request(
            db, ref, actor=audit.resolve_actor(actor), status=status, requester=requester, add_assignees=assignee or [],
            remove_assignees=unassign or [], notes=notes, append_note=note, central_government=central_government,
            today=_date(as_of, "--as-of"),
        ),
        _print_request,
    )


@request_app.command("scope")
def request_scope(
    ctx: typer.Context,
    ref: str,
    custodian: Annotated[Optional[list[str]], typer.Option("--custodian")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="A source URI (prefix), id or kind.")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Earliest item date, YYYY-MM-DD.")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Latest item date, YYYY-MM-DD.")] = None,
    saved_search: Annotated[Optional[list[str]], typer.Option("--saved-search")] = None,
    name: Annotated[Optional[list[str]], typer.Option("--name", help="SAR: the data subject's name.")] = None,
    alias: Annotated[Optional[list[str]], typer.Option("--alias")] = None,
    email: Annotated[Optional[list[str]], typer.Option("--email")] = None,
    phone: Annotated[Optional[list[str]], typer.Option("--phone")] = None,
    ni: Annotated[Optional[list[str]], typer.Option("--ni", help="National Insurance number.")] = None,
    nhs: Annotated[Optional[list[str]], typer.Option("--nhs", help="NHS number.")] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", help="Take this value out of the scope.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Start the scope again from empty.")] = False,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Set what the request covers: custodians, sources, dates, saved searches and (SAR) the data subject."""
    subject = SubjectIdentifiers(
        names=name or [], aliases=alias or [], emails=email or [], phones=phone or [], ni_numbers=ni or [], nhs_numbers=nhs or []
    )
    _run(
        ctx, as_json,
        lambda s, db: casework.update_scope(
            db, ref, actor=audit.resolve_actor(actor), custodians=custodian or [], sources=source or [],
            saved_searches=saved_search or [], date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"),
            subject=subject, remove=remove or [], clear=clear,
        ),
        lambda v: print(v.scope.model_dump_json(indent=2)),
    )


@request_app.command("pause")
def request_pause(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str, typer.Option("--reason", help="What is awaited, e.g. proof of identity.")],
    waiting_for: Annotated[str, typer.Option("--for", help="clarification, identity or fee.")] = "",
    on: OnOpt = None,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Stop the clock while identity, clarification or a fee is awaited."""
    _run(
        ctx, as_json,
        lambda s, db: casework.pause_clock(
            db, ref, actor=audit.resolve_actor(actor), reason=reason, on=_date(on, "--on"), waiting_for=waiting_for,
            today=_date(as_of, "--as-of"),
        ),
        _print_request,
    )


@request_app.command("resume")
def request_resume(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str, typer.Option("--reason")] = "",
    on: OnOpt = None,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Start the clock again once what was awaited has arrived."""
    _run(
        ctx, as_json,
        lambda s, db: casework.resume_clock(db, ref, actor=audit.resolve_actor(actor), reason=reason, on=_date(on, "--on"), today=_date(as_of, "--as-of")),
        _print_request,
    )


@request_app.command("extend")
def request_extend(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the extension).")],
    days: Annotated[Optional[int], typer.Option("--days", help="FOIA: further working days (default 20); EIR: up to 20.")] = None,
    months: Annotated[Optional[int], typer.Option("--months", help="SAR: further months (1 or 2).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="FOIA/legal: the new due date.")] = None,
    on: OnOpt = None,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Extend the deadline as the regime allows, recording the reason."""
    _run(
        ctx, as_json,
        lambda s, db: casework.extend_clock(
            db, ref, actor=audit.resolve_actor(actor), reason=reason, days=days, months=months, until=_date(until, "--until"),
            on=_date(on, "--on"), today=_date(as_of, "--as-of"),
        ),
        _print_request,
    )


@request_app.command("answer")
def request_answer(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str, typer.Option("--reason", help="A note on the response.")] = "",
    on: OnOpt = None,
    as_of: AsOfOpt = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Record that the request has been answered (stops the clock)."""
    _run(
        ctx, as_json,
        lambda s, db: casework.answer_request(db, ref, actor=audit.resolve_actor(actor), reason=reason, on=_date(on, "--on"), today=_date(as_of, "--as-of")),
        _print_request,
    )


@request_app.command("add")
def request_add(
    ctx: typer.Context,
    ref: str,
    query: Annotated[Optional[str], typer.Argument(help="A search query.")] = None,
    context: Annotated[int, typer.Option("--context", help="Chats: add N messages either side of each hit.")] = 0,
    day: Annotated[bool, typer.Option("--day", help="Chats: add the hit's whole conversation-day.")] = False,
    saved: Annotated[Optional[list[str]], typer.Option("--saved", help="Run a saved search by name.")] = None,
    subject: Annotated[bool, typer.Option("--subject", help="SAR: search for the data subject's identifiers.")] = False,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Add the hits (with their families and chat context) to the request's review set; each run is recorded."""

    def body(services: Services, session: Session) -> dict[str, Any]:
        if context and day:
            raise BadInput("use --context N or --day, not both")
        row = casework.request_row(session, ref)
        queries = review.queries_for(session, row, query, saved or [], subject)
        who = audit.resolve_actor(actor)
        records = [review.add_hits(services, session, ref, q, actor=who, window=context, whole_day=day) for q in queries]
        summary = review.review_summary(session, ref)
        return {"ref": ref, "records": records, "review_total": summary.total, "undecided": summary.undecided}

    def human(result: dict[str, Any]) -> None:
        for record in result["records"]:
            print(f"{record.query!r}: {record.hits} hit(s), {record.hits_in_scope} in scope; added {record.added}")
        print(f"Review set: {result['review_total']} item(s), {result['undecided']} undecided")

    _run(ctx, as_json, body, human)


@request_app.command("record")
def request_record(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """The record of every search run for the request, as evidence of a reasonable search."""

    def human(result: dict[str, Any]) -> None:
        for r in result["searches"]:
            print(f"#{r.id} {r.at.isoformat()} by {r.author}: {r.query!r}")
            print(f"   hits {r.hits} (in scope {r.hits_in_scope}); per source {r.per_source}; per custodian {r.per_custodian}")
            for s in r.sources_not_searched:
                print(f"   not searched: {s.source}: {s.why}")
            if r.extraction_failures_total:
                print(f"   extraction failures in scope: {r.extraction_failures_total}")
                for f in r.extraction_failures[:20]:
                    print(f"     {f.path} [{f.stage}] {f.reason}")

    _run(ctx, as_json, lambda s, db: {"ref": ref, "searches": review.search_records(db, ref)}, human)


@request_app.command("estimate")
def request_estimate(
    ctx: typer.Context,
    ref: str,
    central_government: Annotated[Optional[bool], typer.Option("--central-government/--not-central-government")] = None,
    locate: Annotated[Optional[float], typer.Option("--locate-minutes", min=0)] = None,
    retrieve: Annotated[Optional[float], typer.Option("--retrieve-minutes", min=0)] = None,
    extract: Annotated[Optional[float], typer.Option("--extract-minutes", min=0)] = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """s12 cost estimate (locate, retrieve, extract; redaction excluded) against the limit; kept as a record."""

    def body(services: Services, session: Session) -> s12.CostEstimate:
        minutes = None
        if any(v is not None for v in (locate, retrieve, extract)):
            row = casework.request_row(session, ref)
            current = s12.Minutes.model_validate(casework.settings_for(session, row).s12_minutes or {})
            minutes = s12.Minutes(
                locate=current.locate if locate is None else locate,
                retrieve=current.retrieve if retrieve is None else retrieve,
                extract=current.extract if extract is None else extract,
            )
        return s12.estimate(session, ref, actor=audit.resolve_actor(actor), minutes=minutes, central_government=central_government)

    def human(e: s12.CostEstimate) -> None:
        verdict = "EXCEEDS" if e.exceeds_limit else "within"
        print(
            f"{e.ref}: {e.items} item(s) x {e.minutes_per_item.per_item:g} min = {e.hours:g} h (£{e.cost_pounds:,.2f}); "
            f"{verdict} the {e.limit.hours:g} h / £{e.limit.pounds} limit ({e.limit.basis})"
        )
        print(e.excluded)

    _run(ctx, as_json, body, human)


@closures_app.command("add")
def closures_add(
    ctx: typer.Context, day: str, reason: Annotated[str, typer.Option("--reason")] = "", actor: ActorOpt = None, as_json: JsonFlag = False
) -> None:
    """Make a day a non-working day for every clock (e.g. an office closure)."""

    def body(services: Services, session: Session) -> casework.ClosureDayView:
        on = _date(day, "DAY")
        assert on is not None
        return casework.add_closure_day(session, on, reason, audit.resolve_actor(actor))

    _run(ctx, as_json, body, lambda v: print(f"{v.day.isoformat()} is a closure day"))


@closures_app.command("remove")
def closures_remove(ctx: typer.Context, day: str, actor: ActorOpt = None, as_json: JsonFlag = False) -> None:
    """Make a closure day a working day again."""

    def body(services: Services, session: Session) -> casework.ClosureDayView:
        on = _date(day, "DAY")
        assert on is not None
        return casework.remove_closure_day(session, on, audit.resolve_actor(actor))

    _run(ctx, as_json, body, lambda v: print(f"{v.day.isoformat()} is no longer a closure day"))


@closures_app.command("list")
def closures_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The admin-managed closure days."""
    _run(
        ctx, as_json,
        lambda s, db: {"closure_days": casework.list_closure_days(db)},
        lambda r: _print_lines([f"{v.day.isoformat()} {v.reason}" for v in r["closure_days"]]),
    )


# --- review --------------------------------------------------------------------------------


@review_app.command("decide")
def review_decide(
    ctx: typer.Context,
    ref: str,
    item_id: str,
    decision: Annotated[str, typer.Option("--decision", help=", ".join(review.DECISIONS))],
    exemption: Annotated[Optional[list[str]], typer.Option("--exemption", help="A code relied on (repeatable).")] = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Record the decision on one item for this request."""
    _run(
        ctx, as_json,
        lambda s, db: review.decide(db, ref, item_id, decision=decision, exemptions=exemption or [], actor=audit.resolve_actor(actor)),
        lambda v: print(f"{v.item_id}: {v.decision} {' '.join(v.exemptions)}"),
    )


@review_app.command("list")
def review_list(
    ctx: typer.Context, ref: str, undecided: Annotated[bool, typer.Option("--undecided")] = False, as_json: JsonFlag = False
) -> None:
    """The review set with each item's decision."""

    def human(summary: review.ReviewSummary) -> None:
        print(f"{summary.ref}: {summary.total} item(s), {summary.undecided} undecided; {summary.by_decision}")
        for v in summary.items:
            print(f"  {v.item_id} [{v.kind}/{v.reason}] {v.decision or '-'} {' '.join(v.exemptions)} {v.title[:60]}")

    _run(ctx, as_json, lambda s, db: review.review_summary(db, ref, undecided_only=undecided), human)


@review_app.command("next")
def review_next(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """The next item still to decide."""

    def human(result: dict[str, Any]) -> None:
        item = result["item"]
        print(f"{item.item_id} [{item.kind}] {item.title}" if item else "Every item has a decision.")

    _run(ctx, as_json, lambda s, db: {"ref": ref, "item": review.next_undecided(db, ref)}, human)


@review_app.command("codes")
def review_codes(ctx: typer.Context, ref: str, as_json: JsonFlag = False) -> None:
    """The exemption codes valid for the request's regime."""

    def body(services: Services, session: Session) -> dict[str, Any]:
        row = casework.request_row(session, ref)
        return {"ref": ref, "type": row.type, "codes": codes_for(casework.request_type(row))}

    _run(ctx, as_json, body, lambda r: _print_lines([f"{c.code:16} {c.label}" for c in r["codes"]]))


# --- markers -------------------------------------------------------------------------------


def _print_markers(result: dict[str, Any]) -> None:
    _print_lines(
        [f"#{m.id} {m.item_id} {m.start}-{m.end} {m.code} [{m.status}/{m.origin}] {m.text!r}{' STALE' if m.stale else ''}" for m in result["markers"]]
    )


@markers_app.command("list")
def markers_list(
    ctx: typer.Context,
    ref: str,
    item: Annotated[Optional[str], typer.Option("--item")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="suggested, accepted or rejected.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The request's redaction markers."""

    def body(services: Services, session: Session) -> dict[str, Any]:
        markers = redaction.list_markers(session, ref, item_id=item, status=status)
        return {"ref": ref, "total": len(markers), "markers": markers}

    _run(ctx, as_json, body, _print_markers)


@markers_app.command("add")
def markers_add(
    ctx: typer.Context,
    ref: str,
    item: Annotated[str, typer.Option("--item")],
    start: Annotated[int, typer.Option("--start")],
    end: Annotated[int, typer.Option("--end")],
    code: Annotated[str, typer.Option("--code")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a character span of an item's text."""
    _run(
        ctx, as_json,
        lambda s, db: redaction.add_marker(db, ref, item_id=item, start=start, end=end, code=code, actor=audit.resolve_actor(actor), reason=reason),
        lambda m: print(f"marker #{m.id}: {m.text!r} ({m.code})"),
    )


@markers_app.command("edit")
def markers_edit(
    ctx: typer.Context,
    marker_id: int,
    code: Annotated[Optional[str], typer.Option("--code")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason")] = None,
    start: Annotated[Optional[int], typer.Option("--start")] = None,
    end: Annotated[Optional[int], typer.Option("--end")] = None,
    actor: ActorOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a marker's code, reason or span."""
    _run(
        ctx, as_json,
        lambda s, db: redaction.edit_marker(db, marker_id, actor=audit.resolve_actor(actor), code=code, reason=reason, start=start, end=end),
        lambda m: print(f"marker #{m.id}: {m.start}-{m.end} {m.code} {m.text!r}"),
    )


@markers_app.command("remove")
def markers_remove(ctx: typer.Context, marker_id: int, actor: ActorOpt = None, as_json: JsonFlag = False) -> None:
    """Delete a marker."""
    _run(
        ctx, as_json,
        lambda s, db: redaction.remove_marker(db, marker_id, actor=audit.resolve_actor(actor)),
        lambda m: print(f"marker #{m.id} removed"),
    )


@markers_app.command("accept")
def markers_accept(ctx: typer.Context, marker_id: int, actor: ActorOpt = None, as_json: JsonFlag = False) -> None:
    """Accept a suggested marker: bundles will redact it."""
    _run(
        ctx, as_json,
        lambda s, db: redaction.set_marker_status(db, marker_id, "accepted", actor=audit.resolve_actor(actor)),
        lambda m: print(f"marker #{m.id} accepted"),
    )


@markers_app.command("reject")
def markers_reject(ctx: typer.Context, marker_id: int, actor: ActorOpt = None, as_json: JsonFlag = False) -> None:
    """Reject a suggested marker: it is kept as rejected and not suggested again."""
    _run(
        ctx, as_json,
        lambda s, db: redaction.set_marker_status(db, marker_id, "rejected", actor=audit.resolve_actor(actor)),
        lambda m: print(f"marker #{m.id} rejected"),
    )


# --- audit ---------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Check the hash chain; exit 1 naming the first bad entry when the log has been tampered with."""

    def work() -> audit.Verification:
        services = open_services(ctx.obj)
        try:
            with services.store.session() as session:
                return audit.verify(session)
        finally:
            services.close()

    result = guarded(as_json, work)
    emit(result, as_json, lambda v: print(f"audit log OK: {v.entries} entries, head {v.head_hash}" if v.ok else f"audit log TAMPERED: {v.problem}"))
    if not result.ok:
        if not as_json:
            typer.echo(f"disclose: audit log tampered: {result.problem}", err=True)
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    action: Annotated[Optional[str], typer.Option("--action")] = None,
    target: Annotated[Optional[str], typer.Option("--target")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1)] = None,
    as_json: JsonFlag = False,
) -> None:
    """The audit log, oldest first."""

    def body(services: Services, session: Session) -> dict[str, Any]:
        entries = audit.list_entries(session, action=action, target=target, limit=limit)
        return {"total": len(entries), "entries": entries}

    _run(
        ctx, as_json, body,
        lambda r: _print_lines([f"{e.seq:6} {e.at.isoformat()} {e.actor} {e.action} {e.target} {e.hash[:12]}" for e in r["entries"]]),
    )
