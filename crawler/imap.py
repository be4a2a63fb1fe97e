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


def uid_set_text(uids: set[int] | list[int]) -> str:
    """UIDs as an IMAP sequence set ("1:5,7,9:12"): a mailbox's UIDs are mostly runs, so state stays small."""
    ordered = sorted(uids)
    runs: list[str] = []
    start = previous = None
    for uid in ordered:
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            runs.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    if start is not None:
        runs.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(runs)


def parse_uid_set(text: str) -> set[int]:
    uids: set[int] = set()
    for run in filter(None, (text or "").split(",")):
        first, _, last = run.partition(":")
        uids.update(range(int(first), int(last or first) + 1))
    return uids


@dataclass
class ImapCrawler:
    """One IMAP account.

    State: {"folders": {encoded_name: {"uidvalidity": int, "last_uid": int, "path": str, "uids": "1:5,7"}}},
    where `uids` are the messages collected (a sequence set). A message collected before and no
    longer on the server, every message of a folder whose UIDVALIDITY changed, and every message of
    a folder that is gone, is reported `Removed`.
    """

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

    def folder_uri(self, folder: ImapFolder) -> str:
        return f"imap://{self._authority}/{quote(folder.path, safe='/')}"

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
            listed = self.list_folders(connection)
            for folder in listed:
                if folder.selectable:
                    yield from self._crawl_folder(connection, folder, progress)
            yield from self._vanished_folders(listed, progress)
        finally:
            try:
                connection.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    def _vanished_folders(self, listed: list[ImapFolder], progress: dict[str, Any]) -> Iterator[Removed | Checkpoint]:
        """Every message of a folder that is gone from the server (deleted or renamed) is removed."""
        present = {folder.encoded for folder in listed if folder.selectable}
        for encoded in sorted(set(progress["folders"]) - present):
            known = progress["folders"][encoded]
            path = known.get("path") or decode_folder_name(encoded)
            if self.folders and path not in self.folders and encoded not in self.folders:
                continue  # outside this crawl's selection, not gone
            folder = ImapFolder(encoded=encoded, path=path, selectable=True)
            for uid in sorted(parse_uid_set(known.get("uids", ""))):
                yield Removed(self.message_uri(folder, int(known.get("uidvalidity", 0)), uid))
            del progress["folders"][encoded]
            yield Checkpoint(copy.deepcopy(progress))

    def _removed_messages(
        self, connection: imaplib.IMAP4, folder: ImapFolder, uidvalidity: int, progress: dict[str, Any]
    ) -> Iterator[Removed | Checkpoint | CollectionProblem]:
        """Messages collected before that the folder no longer holds: expunged, or all of them when
        UIDVALIDITY changed (the server renumbered the folder, so the old UIDs name nothing)."""
        known = progress["folders"].get(folder.encoded)
        if not known:
            return
        collected = parse_uid_set(known.get("uids", "")) if "uids" in known else None
        old_validity = int(known.get("uidvalidity", 0))
        if old_validity == uidvalidity:
            last_uid = int(known.get("last_uid", 0))
            on_server = self._uids(connection, f"1:{last_uid}", last_uid) if last_uid else set()
            if on_server is None:
                yield CollectionProblem(source=self.folder_uri(folder), reason="the server would not list this folder's messages")
                return
            if collected is None:  # state from before UIDs were kept: what is there now is what was collected
                known["uids"] = uid_set_text(on_server)
                yield Checkpoint(copy.deepcopy(progress))
                return
            gone = collected - on_server
            kept = collected & on_server
        else:
            gone, kept = collected or set(), set()
        if not gone and old_validity == uidvalidity:
            return
        for uid in sorted(gone):
            yield Removed(self.message_uri(folder, old_validity, uid))
        if old_validity == uidvalidity:
            known["uids"] = uid_set_text(kept)
        else:
            progress["folders"][folder.encoded] = {"uidvalidity": uidvalidity, "last_uid": 0, "path": folder.path, "uids": ""}
        yield Checkpoint(copy.deepcopy(progress))

    def _uids(self, connection: imaplib.IMAP4, criteria: str, highest: int) -> set[int] | None:
        status, data = connection.uid("SEARCH", f"UID {criteria}")
        if status != "OK":
            return None
        # "n:*" always matches the newest message even when its UID is below n, so filter again.
        return {uid for uid in (int(token) for token in (data[0] or b"").split()) if uid <= highest}

    def _crawl_folder(
        self, connection: imaplib.IMAP4, folder: ImapFolder, progress: dict[str, Any]
    ) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        folder_uri = self.folder_uri(folder)
        # EXAMINE opens the folder read-only, so nothing we do can change flags; BODY.PEEK is belt and braces.
        status, _ = connection.select(_quoted(folder.encoded), readonly=True)
        if status != "OK":
            yield CollectionProblem(source=folder_uri, reason="the server would not open this folder")
            return
        uidvalidity = int((connection.response("UIDVALIDITY")[1] or [b"0"])[0])
        yield from self._removed_messages(connection, folder, uidvalidity, progress)
        known = progress["folders"].get(folder.encoded, {})
        last_uid = known.get("last_uid", 0) if known.get("uidvalidity") == uidvalidity else 0
        collected = parse_uid_set(known.get("uids", "")) if known.get("uidvalidity") == uidvalidity else set()
        status, data = connection.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            yield CollectionProblem(source=folder_uri, reason="the server would not list this folder's messages")
            return
        # "n:*" always matches the newest message even when its UID is below n, so filter again.
        uids = sorted(uid for uid in (int(token) for token in (data[0] or b"").split()) if uid > last_uid)
        for start in range(0, len(uids), self.batch_size):
            batch = uids[start : start + self.batch_size]
            for event in self._fetch_batch(connection, folder, uidvalidity, batch):
                if isinstance(event, Collected):
                    collected.add(int(event.metadata["uid"]))
                yield event
            last_uid = batch[-1]
            progress["folders"][folder.encoded] = self._folder_state(folder, uidvalidity, last_uid, collected)
            yield Checkpoint(copy.deepcopy(progress))
        if progress["folders"].get(folder.encoded, {}).get("uidvalidity") != uidvalidity:
            progress["folders"][folder.encoded] = self._folder_state(folder, uidvalidity, last_uid, collected)
            yield Checkpoint(copy.deepcopy(progress))

    @staticmethod
    def _folder_state(folder: ImapFolder, uidvalidity: int, last_uid: int, collected: set[int]) -> dict[str, Any]:
        return {"uidvalidity": uidvalidity, "last_uid": last_uid, "path": folder.path, "uids": uid_set_text(collected)}

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
