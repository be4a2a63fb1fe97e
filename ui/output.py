"""Command output: one JSON document with --json, readable text otherwise; exit 2 for bad input, 1 for failure."""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable

import typer
from pydantic import BaseModel

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]


class BadInput(Exception):
    """The user asked for something that cannot be done as asked. Exit status 2."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.detail = detail


def plain(value: Any) -> Any:
    """Turn models, dataclasses, dates and paths into JSON-ready values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def emit(payload: Any, as_json: bool, human: Callable[[Any], None] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(plain(payload), ensure_ascii=False, indent=2) + "\n")
    elif human is not None:
        human(payload)
    else:
        sys.stdout.write(json.dumps(plain(payload), ensure_ascii=False, indent=2) + "\n")


def fail(message: str, status: int, as_json: bool = False, **detail: Any) -> None:
    line = " ".join(message.split())
    if as_json:
        sys.stdout.write(json.dumps({"error": line, **plain(detail)}, ensure_ascii=False) + "\n")
    sys.stderr.write(f"disclose: {line}\n")
    raise typer.Exit(status)


def guarded(as_json: bool, work: Callable[[], Any]) -> Any:
    """Run a command body, mapping BadInput to exit 2 and anything unexpected to exit 1."""
    try:
        return work()
    except typer.Exit:
        raise
    except BadInput as error:
        fail(str(error), 2, as_json, **error.detail)
    except Exception as error:  # noqa: BLE001  (the one place internal failures become exit 1)
        if os.environ.get("DISCLOSE_DEBUG"):
            traceback.print_exc()
        fail(f"internal error: {type(error).__name__}: {error}", 1, as_json)
