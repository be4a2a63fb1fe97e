"""The document view: an email with its header block and attachments, a chat as bubbles around the
hit, an image beside its OCR text, other files as paged text; links to family, thread and duplicates.

Originals are hostile: they are served as downloads (never rendered as HTML here), images only with
an image type, and an email's HTML only after nh3, inside a sandboxed frame with its own policy."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import nh3
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from disclose.items import Item, Kind
from disclose.store.records import children_of, load_item
from search_api.audit import record_item_view
from search_api.highlight import highlight
from search_api.items import ItemView, item_view
from ui.web.pages.common import services_of
from ui.web.security import EMAIL_FRAME_POLICY
from ui.web.templating import templates
from ui.web.textspans import paged

router = APIRouter()

SAFE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}
CHAT_WINDOW = 30  # messages shown either side of the one asked for
MAX_EMAIL_HTML = 5 * 1024 * 1024
EMAIL_TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl", "dt", "em",
              "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small",
              "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
EMAIL_ATTRIBUTES = {"*": {"style", "align", "valign", "width", "height", "colspan", "rowspan", "bgcolor", "color", "title"},
                    "img": {"src", "alt"}, "a": {"title"}, "font": {"face", "size", "color"}}


@dataclass
class ChatBubble:
    item: Item
    day: date | None
    new_day: bool
    is_hit: bool
    mine: bool  # shown on the right: sent by the conversation's first sender (the export's owner)


def _local(moment: datetime | None, offset: int | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(timezone(timedelta(minutes=offset or 0)))


def chat_bubbles(services: Any, conversation_id: str, hit_id: str | None) -> tuple[list[ChatBubble], int, int]:
    """Messages in order around the hit (or from the start), with a flag where a new day begins."""
    with services.store.session() as session:
        messages = [m for m in children_of(session, conversation_id) if m.kind is Kind.CHAT_MESSAGE]
    messages.sort(key=lambda m: (m.metadata.get("position", 0), m.id))
    centre = next((i for i, m in enumerate(messages) if m.id == hit_id), 0)
    first = max(0, centre - CHAT_WINDOW)
    shown = messages[first : centre + CHAT_WINDOW + 1]
    owner = next((m.participants.sender[0].label() for m in messages if m.participants.sender), "")
    bubbles: list[ChatBubble] = []
    previous: date | None = None
    for message in shown:
        local = _local(message.date, message.date_offset_minutes)
        day = local.date() if local else None
        sender = message.participants.sender[0].label() if message.participants.sender else ""
        bubbles.append(ChatBubble(message, day, day != previous or not bubbles, message.id == hit_id, bool(owner) and sender == owner))
        previous = day
    return bubbles, first, len(messages)


def _query_spans(services: Any, query: str, text: str) -> list[tuple[int, int, Any]]:
    if not query.strip() or not text:
        return []
    from search_api.search import parse_query

    try:
        tree = parse_query(services, query)
    except ValueError:
        return []
    return [(s, e, "match") for s, e in highlight(tree, text).matches]


def _thread(services: Any, view: ItemView) -> list[Any]:
    thread_id = view.metadata.get("thread_id")
    if not thread_id:
        return []
    from search_api.search import run_search

    try:
        return run_search(services, f"thread:{thread_id}", limit=100, sort="date", facets=False).hits
    except ValueError:
        return []


def _has_html_body(view: ItemView) -> bool:
    return view.kind == "email" and view.metadata.get("body_format") == "html" and bool(view.sha256) and view.mime_type in (
        "message/rfc822", "application/mbox", "")


@router.get("/items/{item_id}", response_class=HTMLResponse)
def document(request: Request, item_id: str, q: str = "") -> HTMLResponse:
    services = services_of(request)
    view = item_view(services, item_id)
    if view is None:
        raise HTTPException(status_code=404, detail="There is no item with that id.")
    record_item_view(services.store, item_id)
    spans = _query_spans(services, q, view.text)
    body_start = int(view.metadata.get("body_offset", 0) or 0) if view.kind == "email" else 0
    context: dict[str, Any] = {
        "title": view.title or view.filename or "Untitled item", "section": "search", "item": view, "q": q, "errors": [],
        "pages": paged(view.text, spans, body_start if body_start <= len(view.text) else 0),
        "attachments": [m for m in view.family if m.parent_id == view.id],
        "parent": next((m for m in view.family if m.id == view.parent_id), None),
        "family": view.family[:50], "thread": _thread(services, view) if view.kind == "email" else [],
        "html_body": _has_html_body(view),
        "is_image": view.mime_type in SAFE_IMAGE_TYPES or view.kind == "image",
        "bubbles": [], "chat_first": 0, "chat_total": 0,
    }
    if view.kind in ("chat_message", "chat_conversation"):
        conversation = view.parent_id if view.kind == "chat_message" else view.id
        if conversation:
            context["bubbles"], context["chat_first"], context["chat_total"] = chat_bubbles(
                services, conversation, view.id if view.kind == "chat_message" else None)
            context["conversation_id"] = conversation
    return templates.TemplateResponse(request, "document.html", context)


def _native(services: Any, item_id: str) -> tuple[Item, Any]:
    with services.store.session() as session:
        item = load_item(session, item_id)
    if item is None or not item.sha256:
        raise HTTPException(status_code=404, detail="That item has no original file.")
    path = services.evidence.path_for(item.sha256)
    if not path.exists():
        raise HTTPException(status_code=410, detail="The original is no longer in the evidence store.")
    return item, path


def download_name(item: Item) -> str:
    name = (item.filename or item.title or item.id).replace("\r", " ").replace("\n", " ")
    return name[:150] or item.id


@router.get("/items/{item_id}/native")
def native(request: Request, item_id: str, download: bool = False) -> Response:
    """The original bytes. Images in a safe image type may be shown inline; everything else
    (HTML above all) is an octet-stream attachment, so the browser never renders it here."""
    item, path = _native(services_of(request), item_id)
    inline = item.mime_type in SAFE_IMAGE_TYPES and not download
    response = FileResponse(path, media_type=item.mime_type if inline else "application/octet-stream",
                            filename=download_name(item), content_disposition_type="inline" if inline else "attachment")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def email_html(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(preferencelist=("html",)) if hasattr(message, "get_body") else None
    if body is None:
        return ""
    content = body.get_content()
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def clean_email_html(html: str) -> str:
    """Only formatting survives: no scripts, handlers, forms, frames, links that go anywhere, or remote images."""
    return nh3.clean(
        html, tags=EMAIL_TAGS, attributes=EMAIL_ATTRIBUTES, url_schemes={"data"}, link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@router.get("/items/{item_id}/email-body", response_class=HTMLResponse)
def email_body(request: Request, item_id: str) -> Response:
    item, path = _native(services_of(request), item_id)
    if item.kind is not Kind.EMAIL or path.stat().st_size > MAX_EMAIL_HTML * 4:
        raise HTTPException(status_code=404, detail="That item has no HTML body to show.")
    cleaned = clean_email_html(email_html(path.read_bytes())[:MAX_EMAIL_HTML])
    page = f'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Email body</title></head><body>{cleaned}</body></html>'
    return HTMLResponse(page, headers={"Content-Security-Policy": EMAIL_FRAME_POLICY, "X-Content-Type-Options": "nosniff",
                                       "Cache-Control": "no-store"})
