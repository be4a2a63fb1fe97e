"""Exchange Online and Teams over Microsoft Graph: mail folders by delta query, MIME per message, chats as JSON."""

from __future__ import annotations

import copy
import email.utils
import functools
import json
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from io import BytesIO
from typing import Any, Callable, Iterator
from urllib.parse import quote

import httpx
import msal
import requests

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.credentials import Secret, SourceLoginFailed, SourceUnreachable

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY_URL = "https://login.microsoftonline.com"
TEAMS_FORMAT_HINT = "application/vnd.microsoft.graph.chatmessages+json"
RETRY_STATUSES = {429, 503, 504}
MESSAGE_FIELDS = (
    "id,subject,receivedDateTime,sentDateTime,internetMessageId,conversationId,isRead,isDraft,importance,flag,"
    "categories,parentFolderId,hasAttachments"
)


class GraphError(SourceUnreachable):
    """Graph answered with an error we cannot work around (after retries)."""


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


@dataclass
class GraphCrawler:
    """One mailbox (and optionally its Teams chats) through Graph with application permissions.

    State: {"folders": {folder_id: {"path", "delta_link", "next_link"}}, "chats": {chat_id: lastUpdatedDateTime}}.
    A next_link is where an interrupted page walk resumes; a delta_link is where the next crawl starts.
    """

    tenant: str
    client_id: str
    client_secret: Secret
    mailbox: str
    custodians: list[str]
    teams: bool = False
    mail: bool = True
    authority_url: str = AUTHORITY_URL
    graph_url: str = GRAPH_URL
    ca_file: str | None = None  # extra trust for a private endpoint (tests, proxies)
    max_attempts: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    page_size: int = 50
    sleep: Callable[[float], None] = time.sleep
    source_kind: str = "graph"
    _token: str | None = field(default=None, init=False, repr=False)
    _app: Any = field(default=None, init=False, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def source_uri(self) -> str:
        return f"graph://{self.tenant}/users/{quote(self.mailbox, safe='@')}"

    @property
    def source_id(self) -> str:
        return self.source_uri + ("?teams" if self.teams else "")

    # -- authentication -------------------------------------------------------------------------

    def _acquire_token(self) -> str:
        if self._app is None:
            session = requests.Session()
            if self.ca_file:
                # per request, because requests lets REQUESTS_CA_BUNDLE override a session's verify
                session.request = functools.partial(session.request, verify=self.ca_file)  # type: ignore[method-assign]
            self._app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self.client_secret.reveal(),
                authority=f"{self.authority_url.rstrip('/')}/{self.tenant}",
                http_client=session,
                validate_authority=self.authority_url.rstrip("/") == AUTHORITY_URL,
                instance_discovery=self.authority_url.rstrip("/") == AUTHORITY_URL,
            )
        scope = self.graph_url.split("/v1.0")[0].rstrip("/") + "/.default"
        try:
            result = self._app.acquire_token_for_client(scopes=[scope])
        except (requests.RequestException, ValueError) as error:
            raise SourceUnreachable(f"cannot reach the Microsoft identity platform: {error}") from error
        if "access_token" not in result:
            # error_description is Microsoft's text about the app, never the secret itself
            raise SourceLoginFailed(f"token request refused: {result.get('error')}: {result.get('error_description', '')}")
        return result["access_token"]

    # -- HTTP with throttling ---------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self._client is None:
            verify: Any = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
            self._client = httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), verify=verify, follow_redirects=True)
        return self._client

    def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET with 429/503/504 retried after Retry-After (else exponential backoff) and one token refresh on 401."""
        if not url.startswith("http"):
            url = self.graph_url.rstrip("/") + url
        refreshed = False
        for attempt in range(self.max_attempts):
            if self._token is None:
                self._token = self._acquire_token()
            headers = {"Authorization": f"Bearer {self._token}", "Prefer": 'IdType="ImmutableId"'}
            try:
                response = self._http().get(url, params=params, headers=headers)
            except httpx.TransportError as error:
                if attempt + 1 == self.max_attempts:
                    raise SourceUnreachable(f"Graph unreachable: {error}") from error
                self.sleep(min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt))
                continue
            if response.status_code == 401 and not refreshed:
                self._token, refreshed = None, True
                continue
            if response.status_code in RETRY_STATUSES:
                if attempt + 1 == self.max_attempts:
                    break
                wait = _retry_after_seconds(response)
                self.sleep(wait if wait is not None else min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt))
                continue
            if response.status_code in (401, 403):
                raise SourceLoginFailed(f"Graph refused access to {url.split('?')[0]}: {response.status_code}")
            return response
        raise GraphError(f"Graph kept refusing {url.split('?')[0]} after {self.max_attempts} attempts")

    def _json(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._get(url, params)
        if response.status_code >= 400:
            raise GraphError(f"Graph answered {response.status_code} for {url.split('?')[0]}: {response.text[:200]}")
        return response.json()

    def _pages(self, url: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every value across @odata.nextLink pages (nextLink already carries the query)."""
        page = self._json(url, params)
        yield from page.get("value", [])
        while page.get("@odata.nextLink"):
            page = self._json(page["@odata.nextLink"])
            yield from page.get("value", [])

    # -- crawl ------------------------------------------------------------------------------------

    def crawl(self, state: dict[str, Any]) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        progress = copy.deepcopy(state) if state else {}
        progress.setdefault("folders", {})
        progress.setdefault("chats", {})
        try:
            if self.mail:
                for folder_id, path in self.mail_folders():
                    yield from self._crawl_folder(folder_id, path, progress)
            if self.teams:
                yield from self._crawl_chats(progress)
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _user_path(self) -> str:
        return f"/users/{quote(self.mailbox, safe='@')}"

    def mail_folders(self) -> list[tuple[str, str]]:
        """(id, path) of every mail folder, children after their parent, hidden folders included."""
        found: list[tuple[str, str]] = []

        def walk(url: str, parent_path: str) -> None:
            for folder in self._pages(url, {"includeHiddenFolders": "true", "$top": "100"}):
                path = f"{parent_path}/{folder.get('displayName', folder['id'])}".lstrip("/")
                found.append((folder["id"], path))
                if folder.get("childFolderCount", 1):
                    walk(f"{self._user_path()}/mailFolders/{folder['id']}/childFolders", path)

        walk(f"{self._user_path()}/mailFolders", "")
        return found

    def message_uri(self, folder_id: str, message_id: str) -> str:
        return f"{self.source_uri}/mailFolders/{quote(folder_id, safe='')}/messages/{quote(message_id, safe='')}"

    def _crawl_folder(self, folder_id: str, path: str, progress: dict[str, Any]) -> Iterator[Any]:
        known = progress["folders"].get(folder_id, {})
        url = known.get("next_link") or known.get("delta_link")
        params = None
        if not url:
            url = f"{self._user_path()}/mailFolders/{folder_id}/messages/delta"
            params = {"$select": MESSAGE_FIELDS}
        while True:
            response = self._get(url, params)
            if response.status_code == 410 or (response.status_code == 400 and "syncStateNotFound" in response.text):
                # Microsoft: an expired delta token means start the folder again; the pipeline de-duplicates
                url, params = f"{self._user_path()}/mailFolders/{folder_id}/messages/delta", {"$select": MESSAGE_FIELDS}
                progress["folders"][folder_id] = {"path": path}
                continue
            if response.status_code >= 400:
                yield CollectionProblem(source=f"{self.source_uri}/mailFolders/{folder_id}", reason=f"folder {path}: Graph answered {response.status_code}")
                return
            page = response.json()
            params = None
            for message in page.get("value", []):
                if "@removed" in message:
                    yield Removed(source=self.message_uri(folder_id, message["id"]))
                else:
                    yield self._message(folder_id, path, message)
            if page.get("@odata.nextLink"):
                url = page["@odata.nextLink"]
                progress["folders"][folder_id] = {"path": path, "next_link": url, "delta_link": known.get("delta_link")}
                yield Checkpoint(copy.deepcopy(progress))
                continue
            progress["folders"][folder_id] = {"path": path, "delta_link": page.get("@odata.deltaLink")}
            yield Checkpoint(copy.deepcopy(progress))
            return

    def _message(self, folder_id: str, path: str, message: dict[str, Any]) -> Collected | CollectionProblem:
        uri = self.message_uri(folder_id, message["id"])
        response = self._get(f"{self._user_path()}/messages/{quote(message['id'], safe='')}/$value")
        if response.status_code >= 400:
            return CollectionProblem(source=uri, reason=f"MIME content not available: Graph answered {response.status_code}")
        raw = response.content
        received = message.get("receivedDateTime")
        return Collected(
            source=uri,
            source_kind=self.source_kind,
            filename=f"{message['id'][-24:]}.eml",
            custodians=list(self.custodians),
            opener=lambda raw=raw: BytesIO(raw),
            display_path=f"{self.mailbox}/{path}",
            size=len(raw),
            created=datetime.fromisoformat(received.replace("Z", "+00:00")) if received else None,
            format_hint="message/rfc822",
            custodian_rule="explicit",
            metadata={
                "folder": path,
                "mailbox": self.mailbox,
                "graph_id": message["id"],
                "flags": {
                    "is_read": message.get("isRead"),
                    "is_draft": message.get("isDraft"),
                    "flag": (message.get("flag") or {}).get("flagStatus"),
                },
                "importance": message.get("importance"),
                "categories": message.get("categories", []),
                "conversation_id": message.get("conversationId"),
                "internet_message_id": message.get("internetMessageId"),
                "received": received,
            },
        )

    # -- Teams ------------------------------------------------------------------------------------

    def chat_uri(self, chat_id: str) -> str:
        return f"{self.source_uri}/chats/{quote(chat_id, safe='')}"

    def _crawl_chats(self, progress: dict[str, Any]) -> Iterator[Any]:
        """One JSON document per chat. Graph documents no delta for 1:1 and group chats, so a chat whose
        lastUpdatedDateTime is unchanged since the last crawl is skipped and a changed one is collected again."""
        for chat in self._pages(f"{self._user_path()}/chats", {"$expand": "members", "$top": "50"}):
            chat_id = chat["id"]
            stamp = chat.get("lastUpdatedDateTime") or ""
            if stamp and progress["chats"].get(chat_id) == stamp:
                continue
            try:
                messages = list(self._pages(f"/chats/{quote(chat_id, safe='')}/messages", {"$top": str(self.page_size)}))
            except GraphError as error:
                yield CollectionProblem(source=self.chat_uri(chat_id), reason=f"chat messages not available: {error}")
                continue
            document = json.dumps({"chat": chat, "messages": messages}, ensure_ascii=False, sort_keys=True).encode("utf-8")
            title = chat.get("topic") or chat_id
            yield Collected(
                source=self.chat_uri(chat_id),
                source_kind=self.source_kind,
                filename=f"teams-chat-{chat_id[-24:]}.json",
                custodians=list(self.custodians),
                opener=lambda document=document: BytesIO(document),
                display_path=f"{self.mailbox}/Teams/{title}",
                size=len(document),
                format_hint=TEAMS_FORMAT_HINT,
                custodian_rule="explicit",
                metadata={"chat_id": chat_id, "chat_type": chat.get("chatType"), "topic": chat.get("topic"),
                          "message_count": len(messages), "mailbox": self.mailbox},
            )
            progress["chats"][chat_id] = stamp
            yield Checkpoint(copy.deepcopy(progress))
