"""A FAKE Microsoft Graph v1.0 and identity platform over HTTPS on 127.0.0.1, for crawler tests.

Built from Microsoft's documentation of: the OpenID configuration and client-credentials token endpoint
(/{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/token), mailFolders and childFolders
(paged with @odata.nextLink), message delta (/mailFolders/{id}/messages/delta: pages ending in @odata.deltaLink;
deletions as {"id", "@removed": {"reason": "deleted"}}), /messages/{id}/$value (MIME), /users/{id}/chats and
/chats/{id}/messages, and throttling (429 with Retry-After). It is not Microsoft's service.
"""

from __future__ import annotations

import json
import re
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest


@dataclass
class FakeFolder:
    id: str
    name: str
    parent: str | None
    # (sequence number, "add"/"remove", message id): a delta token is the last sequence number seen
    log: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class FakeGraphState:
    tenant: str = "contoso-council"
    client_id: str = "11111111-2222-3333-4444-555555555555"
    client_secret: str = "s3cret-value"
    mailbox: str = "clerk@council.example"
    page_size: int = 2
    folders: dict[str, FakeFolder] = field(default_factory=dict)
    mime: dict[str, bytes] = field(default_factory=dict)
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    chat_messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issued_tokens: set[str] = field(default_factory=set)
    throttle: list[tuple[str, int, str]] = field(default_factory=list)  # (path regex, status, Retry-After)
    requests: list[str] = field(default_factory=list)
    sequence: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_folder(self, folder_id: str, name: str, parent: str | None = None) -> None:
        self.folders[folder_id] = FakeFolder(folder_id, name, parent)

    def add_message(self, folder_id: str, message_id: str, mime: bytes) -> None:
        self.sequence += 1
        self.folders[folder_id].log.append((self.sequence, "add", message_id))
        self.mime[message_id] = mime

    def remove_message(self, folder_id: str, message_id: str) -> None:
        self.sequence += 1
        self.folders[folder_id].log.append((self.sequence, "remove", message_id))

    def changes_since(self, folder_id: str, token: int) -> list[tuple[str, str]]:
        """Net changes after `token`, in order: what a delta query reports."""
        state: dict[str, str] = {}
        present_before = {mid for seq, kind, mid in self.folders[folder_id].log if seq <= token and kind == "add"} - {
            mid for seq, kind, mid in self.folders[folder_id].log if seq <= token and kind == "remove"
        }
        for seq, kind, mid in self.folders[folder_id].log:
            if seq > token:
                state[mid] = kind
        result = []
        for mid, kind in state.items():
            if kind == "remove" and mid not in present_before and token > 0:
                continue
            if kind == "remove" and token == 0:
                continue
            result.append((mid, kind))
        return result


class _Handler(BaseHTTPRequestHandler):
    server: "_FakeGraphServer"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json", headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def do_POST(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        fake.requests.append(f"POST {path}")
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != f"/{fake.tenant}/oauth2/v2.0/token":
            return self._send(404, {"error": "not_found"})
        if form.get("grant_type") != "client_credentials":
            return self._send(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
            return self._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
        token = secrets.token_urlsafe(24)
        fake.issued_tokens.add(token)
        self._send(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def do_GET(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), {k: v[0] for k, v in parse_qs(parts.query).items()}
        fake.requests.append(f"GET {parts.path}?{parts.query}")
        if path == f"/{fake.tenant}/v2.0/.well-known/openid-configuration":
            return self._send(200, {
                "token_endpoint": f"{self.base}/{fake.tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{self.base}/{fake.tenant}/oauth2/v2.0/authorize",
                "issuer": f"{self.base}/{fake.tenant}/v2.0",
            })
        if not path.startswith("/v1.0/"):
            return self._send(404, {"error": {"code": "NotFound"}})
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in fake.issued_tokens:
            return self._send(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty."}})
        with fake.lock:
            for index, (pattern, status, retry_after) in enumerate(fake.throttle):
                if re.search(pattern, path):
                    del fake.throttle[index]
                    return self._send(status, {"error": {"code": "TooManyRequests"}}, headers={"Retry-After": retry_after})
        route = path.removeprefix("/v1.0")
        user = f"/users/{fake.mailbox}"
        if route == f"{user}/mailFolders":
            return self._paged([self._folder(f) for f in fake.folders.values() if f.parent is None], query, route)
        match = re.fullmatch(rf"{re.escape(user)}/mailFolders/([^/]+)/childFolders", route)
        if match:
            children = [self._folder(f) for f in fake.folders.values() if f.parent == match.group(1)]
            return self._paged(children, query, route)
        match = re.fullmatch(rf"{re.escape(user)}/mailFolders/([^/]+)/messages/delta", route)
        if match and match.group(1) in fake.folders:
            return self._delta(match.group(1), query, route)
        match = re.fullmatch(rf"{re.escape(user)}/messages/([^/]+)/\$value", route)
        if match and match.group(1) in fake.mime:
            return self._send(200, fake.mime[match.group(1)], content_type="text/plain")
        if route == f"{user}/chats":
            return self._paged(list(fake.chats.values()), query, route)
        match = re.fullmatch(r"/chats/([^/]+)/messages", route)
        if match and match.group(1) in fake.chats:
            return self._paged(fake.chat_messages.get(match.group(1), []), query, route)
        self._send(404, {"error": {"code": "ErrorItemNotFound", "message": route}})

    def _folder(self, folder: FakeFolder) -> dict[str, Any]:
        fake = self.server.fake
        return {
            "id": folder.id,
            "displayName": folder.name,
            "parentFolderId": folder.parent or "root",
            "childFolderCount": sum(1 for f in fake.folders.values() if f.parent == folder.id),
            "totalItemCount": len(fake.changes_since(folder.id, 0)),
        }

    def _paged(self, values: list[Any], query: dict[str, str], route: str) -> None:
        size = min(int(query.get("$top", self.server.fake.page_size)), self.server.fake.page_size)
        skip = int(query.get("$skiptoken", "0"))
        body: dict[str, Any] = {"value": values[skip : skip + size]}
        if skip + size < len(values):
            body["@odata.nextLink"] = f"{self.base}/v1.0{route}?$top={size}&$skiptoken={skip + size}"
        self._send(200, body)

    def _delta(self, folder_id: str, query: dict[str, str], route: str) -> None:
        fake = self.server.fake
        if "$skiptoken" in query:  # "<since>.<offset>.<until>": a page walk pinned to one snapshot
            since, offset, until = (int(x) for x in query["$skiptoken"].split("."))
        else:
            since, offset, until = int(query.get("$deltatoken", "0")), 0, fake.sequence
        changes = [c for c in fake.changes_since(folder_id, since) if self._before(folder_id, c[0], until)]
        page = changes[offset : offset + fake.page_size]
        values = []
        for message_id, kind in page:
            if kind == "remove":
                values.append({"id": message_id, "@removed": {"reason": "deleted"}})
            else:
                values.append({"id": message_id, "subject": f"Subject of {message_id}", "isRead": False,
                               "receivedDateTime": "2024-03-01T09:30:00Z", "importance": "normal",
                               "flag": {"flagStatus": "notFlagged"}, "parentFolderId": folder_id})
        body: dict[str, Any] = {"value": values}
        if offset + fake.page_size < len(changes):
            body["@odata.nextLink"] = f"{self.base}/v1.0{route}?$skiptoken={since}.{offset + fake.page_size}.{until}"
        else:
            body["@odata.deltaLink"] = f"{self.base}/v1.0{route}?$deltatoken={until}"
        self._send(200, body)

    def _before(self, folder_id: str, message_id: str, until: int) -> bool:
        return any(seq <= until for seq, _, mid in self.server.fake.folders[folder_id].log if mid == message_id)


class _FakeGraphServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGraphState


@dataclass
class FakeGraph:
    state: FakeGraphState
    authority_url: str
    graph_url: str
    ca_file: str


@pytest.fixture
def graph_fake(tmp_path) -> Iterator[FakeGraph]:
    from servers.tls import local_certificate

    certificate = local_certificate(tmp_path / "graph-tls")
    server = _FakeGraphServer(("127.0.0.1", 0), _Handler)
    server.fake = FakeGraphState()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate.cert_file), str(certificate.key_file))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield FakeGraph(server.fake, f"https://127.0.0.1:{port}", f"https://127.0.0.1:{port}/v1.0", str(certificate.ca_file))
    finally:
        server.shutdown()
        server.server_close()
