"""Exchange on-premises over EWS (exchangelib): every mail folder, SyncFolderItems state per folder, MIME content."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

from exchangelib import DELEGATE, IMPERSONATION, Account, Configuration, Credentials, Message
from exchangelib.errors import (
    EWSError,
    ErrorItemNotFound,
    ErrorSyncFolderNotFound,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import Folder, Messages
from exchangelib.properties import ItemId
from exchangelib.services import SyncFolderItems
from exchangelib.items.base import ID_ONLY

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable

AUTH_TYPES = {"ntlm": "NTLM", "basic": "basic", "digest": "digest", "auto": None}
SYNC_FIELDS = ("subject", "datetime_received", "is_read", "importance", "categories", "conversation_id", "message_id")


@dataclass
class EwsCrawler:
    """One mailbox over EWS. State: {"folders": {folder_id: {"path": str, "sync_state": str}}}."""

    server: str  # the EWS endpoint, e.g. https://mail.council.example/EWS/Exchange.asmx
    mailbox: str
    username: str
    password: Secret
    custodians: list[str]
    auth_type: str = "auto"
    impersonation: bool = False
    page_size: int = 100
    source_kind: str = "ews"
    _account: Account | None = field(default=None, init=False, repr=False)

    @property
    def source_uri(self) -> str:
        return f"ews://{urlsplit(self.server).netloc}/{quote(self.mailbox, safe='@')}"

    @property
    def source_id(self) -> str:
        return self.source_uri

    def item_uri(self, folder_id: str, item_id: str) -> str:
        return f"{self.source_uri}/folders/{quote(folder_id, safe='')}/items/{quote(item_id, safe='')}"

    def account(self) -> Account:
        if self._account is None:
            if self.auth_type not in AUTH_TYPES:
                raise ValueError(f"auth type must be one of {sorted(AUTH_TYPES)}")
            config = Configuration(
                service_endpoint=self.server,
                credentials=Credentials(self.username, self.password.reveal()),
                auth_type=AUTH_TYPES[self.auth_type],
            )
            self._account = Account(
                primary_smtp_address=self.mailbox,
                config=config,
                autodiscover=False,
                access_type=IMPERSONATION if self.impersonation else DELEGATE,
            )
        return self._account

    def mail_folders(self) -> list[tuple[Folder, str]]:
        """(folder, path under the message folder root) for every mail (IPF.Note) folder."""
        try:
            root = self.account().msg_folder_root
            found = []
            for folder in root.walk():
                if isinstance(folder, Messages) or (folder.folder_class or "").startswith("IPF.Note"):
                    found.append((folder, folder.absolute.removeprefix(root.absolute).lstrip("/")))
        except UnauthorizedError as error:
            raise SourceLoginFailed(f"Exchange at {self.server} refused the login for {self.username}") from error
        except TransportError as error:
            raise SourceUnreachable(f"cannot reach Exchange at {self.server}: {error}") from error
        return sorted(found, key=lambda pair: pair[1])

    def crawl(self, state: dict[str, Any]) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        progress = copy.deepcopy(state) if state else {}
        progress.setdefault("folders", {})
        try:
            for folder, path in self.mail_folders():
                yield from self._crawl_folder(folder, path, progress)
        finally:
            if self._account is not None:
                self._account.protocol.close()
                self._account = None

    def _crawl_folder(self, folder: Folder, path: str, progress: dict[str, Any]) -> Iterator[Any]:
        account = self.account()
        sync_state = progress["folders"].get(folder.id, {}).get("sync_state")
        additional_fields = {f for f in folder.normalize_fields(fields=SYNC_FIELDS) if not f.field.is_attribute}
        while True:
            service = SyncFolderItems(account=account)
            try:
                changes = list(
                    service.call(
                        folder=folder, shape=ID_ONLY, additional_fields=additional_fields, sync_state=sync_state,
                        ignore=None, max_changes_returned=self.page_size, sync_scope=None,
                    )
                )
            except ErrorSyncFolderNotFound:
                sync_state = None  # the folder was recreated: start it again, the pipeline de-duplicates
                continue
            except (EWSError, TransportError) as error:
                yield CollectionProblem(source=f"{self.source_uri}/folders/{quote(folder.id, safe='')}", reason=f"folder {path}: {error}")
                return
            created = [item for kind, item in changes if kind in ("create", "update") and isinstance(item, Message)]
            yield from self._fetch(created, folder, path)
            for kind, item in changes:
                if kind == "delete":
                    yield Removed(source=self.item_uri(folder.id, item.id))
            finished = service.includes_last_item_in_range or service.sync_state == sync_state
            sync_state = service.sync_state
            progress["folders"][folder.id] = {"path": path, "sync_state": sync_state}
            yield Checkpoint(copy.deepcopy(progress))
            if finished:
                return

    def _fetch(self, items: list[Message], folder: Folder, path: str) -> Iterator[Collected | CollectionProblem]:
        if not items:
            return
        summaries = {item.id: item for item in items}
        fetched = self.account().fetch(ids=[ItemId(item.id, item.changekey) for item in items], only_fields=["mime_content"])
        for summary, full in zip(items, fetched):
            uri = self.item_uri(folder.id, summary.id)
            if isinstance(full, Exception):
                reason = "deleted before it could be fetched" if isinstance(full, ErrorItemNotFound) else str(full)
                yield CollectionProblem(source=uri, reason=f"MIME content not available: {reason}")
                continue
            raw = full.mime_content or b""
            if isinstance(raw, str):
                raw = raw.encode("utf-8")
            item = summaries[summary.id]
            received = item.datetime_received
            yield Collected(
                source=uri,
                source_kind=self.source_kind,
                filename=f"{hashlib.sha1(item.id.encode()).hexdigest()[:16]}.eml",  # EWS ids are long; stable name
                custodians=list(self.custodians),
                opener=lambda raw=raw: BytesIO(raw),
                display_path=f"{self.mailbox}/{path}",
                size=len(raw),
                created=received,
                format_hint="message/rfc822",
                custodian_rule="explicit",
                metadata={
                    "folder": path,
                    "mailbox": self.mailbox,
                    "ews_item_id": item.id,
                    "flags": {"is_read": item.is_read},
                    "importance": item.importance,
                    "categories": list(item.categories or []),
                    "internet_message_id": item.message_id,
                    "received": received.isoformat() if received else None,
                },
            )
