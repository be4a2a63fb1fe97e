"""Maildir folders: each file in `cur/` or `new/` is one message; flags are in its name, the folder in its path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

MAILDIR_FLAGS = {"D": "draft", "F": "flagged", "P": "passed", "R": "answered", "S": "seen", "T": "trashed"}


@dataclass(frozen=True)
class MaildirPlace:
    folder: str  # INBOX, or the Maildir++ sub-folder name with dots as separators ("Sent", "Archive/2023")
    flags: list[str]
    is_new: bool


def maildir_place(source: str, filename: str) -> MaildirPlace | None:
    """Where a file sits in a Maildir, from its location URI; None when it is not in `cur/` or `new/`."""
    if "/cur/" not in source and "/new/" not in source:  # cheap answer for the usual case (URI parsing is not)
        return None
    path = PurePosixPath(unquote(urlparse(source).path)) if "://" in source else PurePosixPath(source)
    parent = path.parent.name
    if parent not in ("cur", "new"):
        return None
    folder = path.parent.parent.name
    name = folder[1:].replace(".", "/") if folder.startswith(".") else "INBOX"
    info = filename.rsplit(":2,", 1)[1] if ":2," in filename else filename.rsplit("!2,", 1)[1] if "!2," in filename else ""
    flags = [MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS]
    return MaildirPlace(folder=name, flags=flags, is_new=parent == "new")
