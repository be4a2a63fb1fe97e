"""Windows file shares over SMB 2/3 (smbprotocol), read in place: no mount, nothing on the share changed."""

from __future__ import annotations

import fnmatch
import io
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Iterator
from urllib.parse import quote

from smbprotocol.exceptions import SMBAuthenticationError, SMBException, SMBOSError, SMBResponseException
from smbprotocol.header import NtStatus

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable
from crawler.custodians import CustodianRules
from crawler.smb_wire import STATUS_PATH_NOT_COVERED, DirEntry, PendingFetch, SmbChannel, SmbConnectionLost, SmbStatusError
from disclose.items import stable_id

SKIP_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", "~$lock"}
CHECKPOINT_EVERY = 250  # files between saved positions: small enough that little is repeated after a stop
# A checkpoint carries the whole map of known files, so on a big share one is written only every 1/20th of it:
# the state written over a crawl stays proportional to the share (not its square), and a resumed crawl reads
# again at most that share of files (the pipeline still stores none of them twice).
CHECKPOINT_FRACTION = 20
PREFETCH_BYTES = 64 * 1024  # files smaller than this are read in the same round trip as their owner
_DIRECTORY = 0x00000010  # FILE_ATTRIBUTE_DIRECTORY
_REPARSE_POINT = 0x00000400  # FILE_ATTRIBUTE_REPARSE_POINT


@dataclass(frozen=True)
class SmbTarget:
    """Where to crawl: a server, a share and an optional folder inside it."""

    server: str
    share: str
    folder: str = ""  # inside the share, "/"-separated, no leading or trailing slash

    @classmethod
    def parse(cls, text: str) -> "SmbTarget":
        """`//server/share/path`, `\\\\server\\share\\path` or `smb://server/share/path`."""
        raw = text.strip()
        if raw.lower().startswith("smb://"):
            raw = "//" + raw[6:]
        raw = raw.replace("\\", "/")
        if not raw.startswith("//"):
            raise ValueError(f"not a share path (expected //server/share[/folder]): {text!r}")
        parts = [part for part in raw[2:].split("/") if part]
        if len(parts) < 2:
            raise ValueError(f"name a server and a share: //server/share[/folder], got {text!r}")
        if any(part in {".", ".."} for part in parts):
            raise ValueError(f"share paths may not contain '.' or '..': {text!r}")
        return cls(server=parts[0], share=parts[1], folder="/".join(parts[2:]))

    def unc(self, relative: str = "") -> str:
        """`\\\\server\\share\\relative` where `relative` is inside the share."""
        tail = relative.strip("/").replace("/", "\\")
        return f"\\\\{self.server}\\{self.share}" + (f"\\{tail}" if tail else "")

    def uri(self, relative: str = "") -> str:
        tail = relative.strip("/")
        path = f"{self.share}/{tail}" if tail else self.share
        return f"smb://{self.server.lower()}/{quote(path, safe='/$')}"


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _fingerprint(file_id: int, size: int, modified: datetime) -> str:
    return f"{file_id}:{size}:{_micros(modified)}"


_PLAIN_STATUS = {
    0xC0000022: "permission denied",
    0xC0000043: "locked by another user (sharing violation)",
    0xC0000054: "locked by another user (file lock conflict)",
    0xC0000034: "no longer there",
    0xC000003A: "folder no longer there",
    0xC0000056: "being deleted",
    0xC00000BA: "is a folder",
    0xC000000D: "the server rejected the path",
    0xC0000257: "behind a DFS link",
}


def _reason(error: BaseException) -> str:
    """A line a reviewer can act on: what went wrong in words, with the NTSTATUS code for the administrator."""
    status = getattr(error, "ntstatus", None) if isinstance(error, SMBOSError) else getattr(error, "status", None)
    if isinstance(status, int):
        name = next((n for n, v in vars(NtStatus).items() if n.startswith("STATUS_") and v == status), "")
        plain = _PLAIN_STATUS.get(status, name or "SMB error")
        return f"{plain} ({name or 'NTSTATUS'} 0x{status:08x})"
    return str(error) or type(error).__name__


@dataclass
class _Walk:
    """What one pass over the share has seen so far (locations relative to the share root)."""

    previous: dict[str, list[str]] = field(default_factory=dict)  # location -> [fingerprint, owner] from the last crawl
    seen: dict[str, list[str]] = field(default_factory=dict)  # the same, this crawl
    unreadable_folders: list[str] = field(default_factory=list)
    unreadable_files: set[str] = field(default_factory=set)


@dataclass
class SmbCrawler:
    """Walks one share (or a folder in it) and yields every wanted file with its place, times, owner and file id.

    State kept between runs: `files`, the fingerprint (file id, size, modified time) and owner of every
    location seen last time. A location whose fingerprint is unchanged is not opened again (its owner is
    taken from the state; the pipeline skips it by the same fingerprint), and the map shows which locations
    have gone (`Removed`). Credentials are never part of the state.
    """

    target: SmbTarget
    username: str
    password: Secret
    rules: CustodianRules
    domain: str = ""
    port: int = 445
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    read_owner: bool = True
    encrypt: bool | None = None  # None: encrypt when the share requires it
    connection_timeout: int = 30
    checkpoint_every: int = CHECKPOINT_EVERY
    fetch_ahead: int = 32  # files asked for ahead of the one being yielded (bounded: at most this many in memory)
    source_kind: str = "smb"
    _channel: SmbChannel | None = field(default=None, init=False, repr=False)

    @property
    def source_uri(self) -> str:
        return self.target.uri(self.target.folder)

    @property
    def source_id(self) -> str:
        return stable_id("smb", self.source_uri.lower())

    # -- session -------------------------------------------------------------------------------
    @property
    def _account(self) -> str:
        return f"{self.domain}\\{self.username}" if self.domain else self.username

    def connect(self) -> None:
        """Log in to the server; a refused login or an unreachable server stops the crawl with a clear reason.

        Signing is always on (servers that do not require it still accept it, and it stops tampering);
        encryption when asked for or when the share requires it.
        """
        try:
            self._channel = SmbChannel.open(
                self.target.server, self.port, self.target.share, self._account, self.password.reveal(),
                encrypt=self.encrypt, timeout=self.connection_timeout,
            )
        except SMBAuthenticationError as error:
            raise SourceLoginFailed(f"{self.target.server} refused the login for {self._account}: {error}") from None
        except SMBResponseException as error:
            if error.status in (0xC000006D, 0xC000006E, 0xC0000072, 0xC0000193, 0xC0000071, 0xC0000224):
                raise SourceLoginFailed(f"{self.target.server} refused the login for {self._account}") from None
            raise SourceUnreachable(f"{self.target.unc()}: {_reason(error)}") from None
        except (OSError, SMBException, ValueError) as error:
            raise SourceUnreachable(f"cannot reach {self.target.server}:{self.port}: {_reason(error)}") from None
        try:
            self._channel.check_folder(self.target.folder)
        except SmbStatusError as error:
            if error.status == STATUS_PATH_NOT_COVERED and self._channel.tree.is_dfs_share:
                self._channel = self._linked_channel(self._channel)
            else:
                self.close()
                raise SourceUnreachable(f"cannot open {self.target.unc(self.target.folder)}: {_reason(error)}") from None
        except SMBException as error:
            self.close()
            raise SourceUnreachable(f"cannot open {self.target.unc(self.target.folder)}: {_reason(error)}") from None

    def _linked_channel(self, namespace: SmbChannel) -> SmbChannel:
        """The folder is behind a DFS link: a channel to the first of the link's targets that opens it.

        Everything is still recorded under the name the crawl was given (the DFS path).
        """
        unc = self.target.unc(self.target.folder)
        tried: list[str] = []
        try:
            link, targets = namespace.dfs_link(self.target.folder)
        except (SmbStatusError, SMBException) as error:
            namespace.close()
            raise SourceUnreachable(f"cannot open {unc}: {_reason(error)}") from None
        namespace.close()
        for server, share, folder in targets:
            try:
                channel = SmbChannel.open(server, self.port, share, self._account, self.password.reveal(), encrypt=self.encrypt, timeout=self.connection_timeout)
            except (SMBException, OSError, ValueError) as error:
                tried.append(f"\\\\{server}\\{share}: {_reason(error)}")
                continue
            channel.link, channel.link_target = link, folder
            try:
                channel.check_folder(self.target.folder)
                return channel
            except (SmbStatusError, SMBException) as error:
                tried.append(f"\\\\{server}\\{share}\\{folder}: {_reason(error)}")
                channel.close()
        raise SourceUnreachable(f"cannot open {unc}: a DFS link whose targets could not be opened ({'; '.join(tried) or 'none given'})")

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    @property
    def channel(self) -> SmbChannel:
        if self._channel is None:
            raise SourceUnreachable(f"not connected to {self.target.server}")
        return self._channel

    # -- crawl --------------------------------------------------------------------------------
    def crawl(self, state: dict[str, Any] | None = None) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        previous = {location: list(known) for location, known in dict((state or {}).get("files", {})).items() if isinstance(known, list)}
        self.connect()
        walk = _Walk(previous=previous)
        try:
            since_checkpoint = 0
            for found in self._walk(self.target.folder, walk):
                yield found
                if isinstance(found, Collected):
                    since_checkpoint += 1
                    if since_checkpoint >= max(self.checkpoint_every, (len(previous) + len(walk.seen)) // CHECKPOINT_FRACTION):
                        since_checkpoint = 0
                        # Mid-walk, everything known before stays known: only a finished walk can say what went.
                        yield Checkpoint({"files": {**previous, **walk.seen}, "complete": False})
            kept: dict[str, list[str]] = {}
            for location in sorted(set(previous) - set(walk.seen)):
                if self._still_there_unread(location, walk):
                    kept[location] = previous[location]
                elif self._wanted(self._relative(location)):
                    yield Removed(self.target.uri(location))
            yield Checkpoint({"files": {**kept, **walk.seen}, "complete": True})
        except SmbConnectionLost as error:
            # Not a problem with one file: stop, and let the next run resume from the last checkpoint.
            raise SourceUnreachable(f"{error} (run the crawl again to carry on from where it stopped)") from None
        finally:
            self.close()

    def _still_there_unread(self, location: str, walk: _Walk) -> bool:
        """A file we could not look at this time (its folder or itself unreadable) has not gone."""
        if location in walk.unreadable_files:
            return True
        return any(location == folder or location.startswith(folder + "/") for folder in walk.unreadable_folders)

    def _relative(self, location: str) -> str:
        """The location relative to the crawled folder: what --include/--exclude patterns match."""
        folder = self.target.folder
        return location[len(folder) + 1 :] if folder and location.startswith(folder + "/") else location

    def _wanted(self, relative: str) -> bool:
        if self.include and not any(fnmatch.fnmatch(relative, pattern) for pattern in self.include):
            return False
        return not any(fnmatch.fnmatch(relative, pattern) for pattern in self.exclude)

    def _walk(self, top: str, walk: _Walk) -> Iterator[Collected | CollectionProblem]:
        """Depth first, in name order; each folder listed once with every entry's size, times and file id."""
        pending = [top]
        while pending:
            folder = pending.pop()
            try:
                entries = sorted(self.channel.list_folder(folder), key=lambda entry: entry.name)
            except SmbConnectionLost:
                raise
            except (SmbStatusError, SMBException) as error:
                walk.unreadable_folders.append(folder)
                yield CollectionProblem(source=self.target.unc(folder), reason=f"cannot list folder: {_reason(error)}")
                continue
            subfolders = []
            files: list[tuple[str, DirEntry]] = []
            for entry in entries:
                location = f"{folder}/{entry.name}" if folder else entry.name
                if entry.attributes & _REPARSE_POINT:
                    walk.unreadable_files.add(location)
                    yield CollectionProblem(source=self.target.unc(location), reason="link or reparse point not followed")
                elif entry.attributes & _DIRECTORY:
                    subfolders.append(location)
                elif entry.name not in SKIP_NAMES and self._wanted(self._relative(location)):
                    files.append((location, entry))
            yield from self._files(files, walk)
            pending.extend(reversed(subfolders))

    def _files(self, files: list[tuple[str, DirEntry]], walk: _Walk) -> Iterator[Collected | CollectionProblem]:
        """Each file in order, with requests for the next ones already sent so their round trips overlap.

        Requests go out in batches (when half the window has been used) so one write carries many of them.
        """
        window: deque[tuple[str, DirEntry, str, PendingFetch | None]] = deque()
        upcoming = iter(files)

        def fill() -> None:
            batch: list[tuple[str, DirEntry, str]] = []
            while len(window) + len(batch) < self.fetch_ahead:
                following = next(upcoming, None)
                if following is None:
                    break
                location, entry = following
                batch.append((location, entry, _fingerprint(entry.file_id, entry.end_of_file, entry.last_write_time)))
            wanted = {location: self._wants(location, entry, fingerprint, walk) for location, entry, fingerprint in batch}
            asked = [(location, self.read_owner, prefetch) for location, prefetch in wanted.items() if prefetch is not None]
            fetches = {fetch.path: fetch for fetch in self.channel.fetch_many(asked)}
            window.extend((location, entry, fingerprint, fetches.get(location)) for location, entry, fingerprint in batch)

        fill()
        while window:
            location, entry, fingerprint, fetch = window.popleft()
            if len(window) < self.fetch_ahead // 2:
                fill()
            yield from self._file(location, entry, fingerprint, fetch, walk)

    def _wants(self, location: str, entry: DirEntry, fingerprint: str, walk: _Walk) -> int | None:
        """How many bytes to prefetch with the owner (0: the owner only), or None when nothing is to be asked.

        Unchanged since the last crawl: nothing. Otherwise the owner (when wanted) and, for a small file, its
        content, in one compound round trip; a file of PREFETCH_BYTES or more, or one that grew past it since it
        was listed, is left for the opener to stream. Everything is opened for reading only.
        """
        known = walk.previous.get(location)
        if known is not None and known[0] == fingerprint:
            return None
        prefetch = min(PREFETCH_BYTES, self.channel.max_read) if 0 < entry.end_of_file < PREFETCH_BYTES else 0
        return prefetch if (self.read_owner or prefetch) else None

    def _file(
        self, location: str, entry: DirEntry, fingerprint: str, fetch: PendingFetch | None, walk: _Walk
    ) -> Iterator[Collected | CollectionProblem]:
        unc = self.target.unc(location)
        content: bytes | None = None
        owner: str | None = None
        known = walk.previous.get(location)
        if known is not None and known[0] == fingerprint:
            owner = known[1] or None  # unchanged since the last crawl: nothing asked of the server
        elif fetch is not None:
            try:
                owner, content = fetch.result()
                if content is None and entry.end_of_file == 0:
                    content = b""  # only the owner was asked for: there was nothing to read
            except SmbConnectionLost:
                raise
            except (SmbStatusError, SMBException) as error:
                walk.unreadable_files.add(location)
                status = getattr(error, "status", 0)
                gone = status in (0xC0000034, 0xC000003A)
                yield CollectionProblem(source=unc, reason=("vanished while crawling: " if gone else "cannot read file: ") + _reason(error))
                return
        elif entry.end_of_file == 0:
            content = b""
        attribution = self.rules.attribute(unc, owner)
        walk.seen[location] = [fingerprint, owner or ""]
        metadata: dict[str, Any] = {
            "unc_path": unc,
            "relative_path": self._relative(location),
            "smb_file_id": entry.file_id,
            "fingerprint": fingerprint,
            "custodian_detail": attribution.detail,
        }
        if owner:
            metadata["owner_sid"] = owner
        yield Collected(
            source=self.target.uri(location),
            source_kind="smb",
            filename=location.rsplit("/", 1)[-1],
            custodians=attribution.custodians,
            opener=(lambda data=content: io.BytesIO(data)) if content is not None else (lambda: self._open(location)),
            display_path=unc,
            size=entry.end_of_file,
            created=entry.creation_time,
            modified=entry.last_write_time,
            accessed=entry.last_access_time,
            custodian_rule=attribution.rule,
            metadata=metadata,
        )

    # -- reading ------------------------------------------------------------------------------
    def _open(self, location: str) -> BinaryIO:
        """The file opened for reading only, sharing read/write/delete so the owner's own work is not blocked."""
        try:
            return self.channel.open_stream(location)
        except (SmbStatusError, SMBException) as error:
            raise OSError(_reason(error)) from None
