"""Mailboxes over IMAP: every folder, incrementally by UIDVALIDITY and UID, without touching \\Seen."""

from __future__ import annotations

import base64
import copy
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable

SECURITY_MODES = ("tls", "starttls", "insecure")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "insecure": 143}

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delimiter>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$', re.IGNORECASE)
_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_FETCH_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def decode_folder_name(encoded: str) -> str:
    """RFC 3501 §5.1.3 modified UTF-7 to Unicode ("Entw&APw-rfe" -> "Entwürfe")."""
    out: list[str] = []
    i = 0
    while i < len(encoded):
        char = encoded[i]
        if char != "&":
            out.append(char)
            i += 1
            continue
        end = encoded.find("-", i)
        if end == -1:  # malformed: keep the rest as written rather than lose the folder
            out.append(encoded[i:])
            break
        chunk = encoded[i + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                out.append(base64.b64decode(padded).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                out.append(encoded[i : end + 1])
        i = end + 1
    return "".join(out)


def encode_folder_name(name: str) -> str:
    """Unicode to RFC 3501 modified UTF-7, for folder names a user types."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii").rstrip("=")
            out.append("&" + raw.replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquoted(token: bytes) -> str:
    text = token.decode("utf-8", errors="replace")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


@dataclass(frozen=True)
class ImapFolder:
    encoded: str  # the name as the server spells it (modified UTF-7), used in SELECT
    path: str  # the decoded name with "/" between levels, as a person reads it
    selectable: bool


def folders_from_list_response(lines: list[Any]) -> list[ImapFolder]:
    """Parse LIST responses, including names sent as literals ({n} then the bytes)."""
    folders: list[ImapFolder] = []
    for line in lines:
        if line is None:
            continue
        if isinstance(line, tuple):
            head, literal = line[0], line[1]
            match = _LIST_LINE.match(head.rsplit(b" ", 1)[0] + b' ""')
            name_token = b'"' + literal.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        else:
            match = _LIST_LINE.match(line)
            name_token = match.group("name") if match else b""
        if not match:
            continue
        flags = match.group("flags").lower().split()
        delimiter = _unquoted(match.group("delimiter")) if match.group("delimiter").upper() != b"NIL" else ""
        encoded = _unquoted(name_token)
        decoded = decode_folder_name(encoded)
        path = decoded.replace(delimiter, "/") if delimiter and delimiter != "/" else decoded
        selectable = b"\\noselect" not in flags and b"\\nonexistent" not in flags
        folders.append(ImapFolder(encoded=encoded, path=path, selectable=selectable))
    return sorted(folders, key=lambda folder: folder.path)


def _internal_date(header: bytes) -> datetime | None:
    match = _FETCH_INTERNALDATE.search(header)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1).decode("ascii"), "%d-%b-%Y %H:%M:%S %z").astimezone(timezone.utc)
    except ValueError:
        return None


@dataclass
class ImapCrawler:
    """One IMAP account. State: {"folders": {encoded_name: {"uidvalidity": int, "last_uid": int}}}."""

    host: str
    user: str
    password: Secret
    custodians: list[str]
    port: int | None = None
    security: str = "tls"
    folders: list[str] = field(default_factory=list)  # Unicode names; empty means every folder
    ca_file: Path | None = None  # trust this certificate authority too (self-signed servers)
    batch_size: int = 50
    timeout: float = 60.0
    source_kind: str = "imap"

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}, not {self.security!r}")
        if self.port is None:
            self.port = DEFAULT_PORTS[self.security]

    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = self.port == DEFAULT_PORTS["tls"] if self.security == "tls" else self.port == 143
        return f"{quote(self.user, safe='')}@{host}" + ("" if default else f":{self.port}")

    @property
    def source_uri(self) -> str:
        return f"imap://{self._authority}"

    @property
    def source_id(self) -> str:
        return self.source_uri

    def message_uri(self, folder: ImapFolder, uidvalidity: int, uid: int) -> str:
        return f"imap://{self._authority}/{quote(folder.path, safe='/')};UIDVALIDITY={uidvalidity};UID={uid}"

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=str(self.ca_file))
        return context

    def connect(self) -> imaplib.IMAP4:
        try:
            if self.security == "tls":
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self._ssl_context(), timeout=self.timeout
                )
            else:
                connection = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    connection.starttls(ssl_context=self._ssl_context())
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
            raise SourceUnreachable(f"cannot connect to IMAP server {self.host}:{self.port}: {error}") from error
        try:
            connection.login(self.user, self.password.reveal())
        except imaplib.IMAP4.error as error:
            connection.logout()
            raise SourceLoginFailed(f"IMAP server {self.host} refused the login for {self.user}") from error
        return connection

    def list_folders(self, connection: imaplib.IMAP4) -> list[ImapFolder]:
        status, lines = connection.list()
        if status != "OK":
            raise SourceUnreachable(f"IMAP LIST failed on {self.host}")
        found = folders_from_list_response(lines)
        if not self.folders:
            return found
        wanted = {name for name in self.folders} | {encode_folder_name(name) for name in self.folders}
        return [folder for folder in found if folder.path in wanted or folder.encoded in wanted]

    def crawl(self, state: dict[str, Any]) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        progress = copy.deepcopy(state) if state else {}
        progress.setdefault("folders", {})
        connection = self.connect()
        try:
            for folder in self.list_folders(connection):
                if folder.selectable:
                    yield from self._crawl_folder(connection, folder, progress)
        finally:
            try:
                connection.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _crawl_folder(
        self, connection: imaplib.IMAP4, folder: ImapFolder, progress: dict[str, Any]
    ) -> Iterator[Collected | CollectionProblem | Checkpoint]:
        folder_uri = f"imap://{self._authority}/{quote(folder.path, safe='/')}"
        # EXAMINE opens the folder read-only, so nothing we do can change flags; BODY.PEEK is belt and braces.
        status, _ = connection.select(_quoted(folder.encoded), readonly=True)
        if status != "OK":
            yield CollectionProblem(source=folder_uri, reason="the server would not open this folder")
            return
        uidvalidity = int((connection.response("UIDVALIDITY")[1] or [b"0"])[0])
        known = progress["folders"].get(folder.encoded, {})
        last_uid = known.get("last_uid", 0) if known.get("uidvalidity") == uidvalidity else 0
        status, data = connection.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            yield CollectionProblem(source=folder_uri, reason="the server would not list this folder's messages")
            return
        # "n:*" always matches the newest message even when its UID is below n, so filter again.
        uids = sorted(uid for uid in (int(token) for token in (data[0] or b"").split()) if uid > last_uid)
        for start in range(0, len(uids), self.batch_size):
            batch = uids[start : start + self.batch_size]
            yield from self._fetch_batch(connection, folder, uidvalidity, batch)
            last_uid = batch[-1]
            progress["folders"][folder.encoded] = {"uidvalidity": uidvalidity, "last_uid": last_uid, "path": folder.path}
            yield Checkpoint(copy.deepcopy(progress))
        if progress["folders"].get(folder.encoded, {}).get("uidvalidity") != uidvalidity:
            progress["folders"][folder.encoded] = {"uidvalidity": uidvalidity, "last_uid": last_uid, "path": folder.path}
            yield Checkpoint(copy.deepcopy(progress))

    def _fetch_batch(
        self, connection: imaplib.IMAP4, folder: ImapFolder, uidvalidity: int, batch: list[int]
    ) -> Iterator[Collected | CollectionProblem]:
        uid_set = ",".join(str(uid) for uid in batch)
        try:
            status, data = connection.uid("FETCH", uid_set, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        except (imaplib.IMAP4.error, OSError, socket.timeout) as error:
            for uid in batch:
                yield CollectionProblem(source=self.message_uri(folder, uidvalidity, uid), reason=f"fetch failed: {error}")
            return
        received: dict[int, tuple[bytes, bytes]] = {}
        for part in data if status == "OK" else []:
            if not isinstance(part, tuple):
                continue
            header, raw = part[0], part[1]
            match = _FETCH_UID.search(header)
            if match:
                received[int(match.group(1))] = (header, raw)
        for uid in batch:
            uri = self.message_uri(folder, uidvalidity, uid)
            if uid not in received:
                yield CollectionProblem(source=uri, reason="the server did not return this message (deleted meanwhile?)")
                continue
            header, raw = received[uid]
            flags_match = _FETCH_FLAGS.search(header)
            flags = flags_match.group(1).decode("ascii", errors="replace").split() if flags_match else []
            internal_date = _internal_date(header)
            yield Collected(
                source=uri,
                source_kind=self.source_kind,
                filename=f"{uid}.eml",
                custodians=list(self.custodians),
                opener=lambda raw=raw: BytesIO(raw),
                display_path=f"{self.user}@{self.host}/{folder.path}",
                size=len(raw),
                created=internal_date,
                format_hint="message/rfc822",
                custodian_rule="explicit",
                metadata={
                    "folder": folder.path,
                    "flags": flags,
                    "internal_date": internal_date.isoformat() if internal_date else None,
                    "uid": uid,
                    "uidvalidity": uidvalidity,
                    "mailbox": f"{self.user}@{self.host}",
                },
            )
