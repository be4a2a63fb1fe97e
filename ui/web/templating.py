"""The Jinja2 environment of the pages (autoescape on) and the filters they share."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import nh3
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html


def marks_only(snippet: str | None) -> Markup:
    """Highlighter snippets are escaped text with <mark>; sanitise anyway, keeping nothing but mark."""
    return Markup(nh3.clean(snippet or "", tags={"mark"}, attributes={}))


def shown_when(moment: datetime | date | None, offset_minutes: int | None = None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        if offset_minutes is not None and moment.tzinfo is not None:
            local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
            sign = "+" if offset_minutes >= 0 else "-"
            hours, minutes = divmod(abs(offset_minutes), 60)
            return local.strftime("%-d %B %Y %H:%M") + f" (UTC{sign}{hours:02d}:{minutes:02d})"
        return moment.strftime("%-d %B %Y %H:%M") + (" UTC" if moment.tzinfo else "")
    return moment.strftime("%-d %B %Y")


def shown_day(moment: datetime | date | None) -> str:
    return moment.strftime("%A %-d %B %Y") if moment else "Undated"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def shown_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


templates.env.filters.update(marks=marks_only, when=shown_when, day=shown_day, plural=plural, size=shown_size)
