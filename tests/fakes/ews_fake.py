"""A FAKE Exchange Web Services endpoint on 127.0.0.1, for driving the real exchangelib client in tests.

Speaks the SOAP operations the EWS crawler needs, shaped after Microsoft's EWS reference (messages.xsd /
types.xsd): ConvertId (answered with an error, which is how exchangelib learns the server version from the
ServerVersionInfo header), GetFolder (distinguished folders), FindFolder (Shallow/Deep, indexed paging),
SyncFolderItems (opaque SyncState, MaxChangesReturned, IncludesLastItemInRange, Create/Update/Delete changes) and
GetItem (MimeContent base64). HTTP Basic authentication. It is not Exchange.
"""

from __future__ import annotations

import base64
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from xml.sax.saxutils import escape, quoteattr

import pytest

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"


@dataclass
class FakeEwsFolder:
    id: str
    name: str
    parent: str | None
    folder_class: str = "IPF.Note"
    distinguished: str | None = None


@dataclass
class FakeEwsItem:
    id: str
    folder: str
    mime: bytes
    subject: str
    changekey: int = 1


@dataclass
class FakeEwsState:
    username: str = "COUNCIL\\clerk"
    password: str = "correct horse battery"
    mailbox: str = "clerk@council.example"
    folders: dict[str, FakeEwsFolder] = field(default_factory=dict)
    items: dict[str, FakeEwsItem] = field(default_factory=dict)
    log: list[tuple[int, str, str, str]] = field(default_factory=list)  # (seq, folder, kind, item id)
    sequence: int = 0
    operations: list[str] = field(default_factory=list)
    vanish_before_fetch: set[str] = field(default_factory=set)  # GetItem says ErrorItemNotFound: a delete racing the fetch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.add_folder("root-id", "root", None, folder_class="", distinguished="root")
        self.add_folder("msgroot-id", "Top of Information Store", "root-id", folder_class="IPF.Note", distinguished="msgfolderroot")
        self.add_folder("inbox-id", "Inbox", "msgroot-id", distinguished="inbox")
        self.add_folder("calendar-id", "Calendar", "msgroot-id", folder_class="IPF.Appointment", distinguished="calendar")

    def add_folder(self, folder_id: str, name: str, parent: str | None, folder_class: str = "IPF.Note",
                   distinguished: str | None = None) -> None:
        self.folders[folder_id] = FakeEwsFolder(folder_id, name, parent, folder_class, distinguished)

    def add_item(self, folder_id: str, item_id: str, mime: bytes, subject: str) -> None:
        with self.lock:
            self.items[item_id] = FakeEwsItem(item_id, folder_id, mime, subject)
            self.sequence += 1
            self.log.append((self.sequence, folder_id, "create", item_id))

    def delete_item(self, item_id: str) -> None:
        with self.lock:
            item = self.items.pop(item_id)
            self.sequence += 1
            self.log.append((self.sequence, item.folder, "delete", item_id))

    def changes_since(self, folder_id: str, token: int) -> list[tuple[str, str]]:
        present_before = set()
        for seq, folder, kind, item_id in self.log:
            if folder == folder_id and seq <= token:
                present_before.add(item_id) if kind == "create" else present_before.discard(item_id)
        net: dict[str, str] = {}
        for seq, folder, kind, item_id in self.log:
            if folder == folder_id and seq > token:
                net[item_id] = kind
        return [(i, k) for i, k in net.items() if not (k == "delete" and i not in present_before)]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Handler(BaseHTTPRequestHandler):
    server: "_FakeEwsServer"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        fake = self.server.fake
        expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def do_GET(self) -> None:
        self._reply(401 if not self._authorised() else 405, b"", {"WWW-Authenticate": 'Basic realm="fake-ews"'})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if not self._authorised():
            return self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="fake-ews"'})
        request = ET.fromstring(body).find(f"{{{S}}}Body")[0]  # type: ignore[index]
        operation = _local(request.tag)
        self.server.fake.operations.append(operation)
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            return self._reply(500, _fault(f"operation {operation} is not supported by this fake"))
        with self.server.fake.lock:
            inner = handler(request)
        self._reply(200, _envelope(inner))

    # -- operations -------------------------------------------------------------------------------

    def _op_ConvertId(self, request: ET.Element) -> str:
        return _messages("ConvertId", [_error("ErrorInvalidIdMalformed", "Id is malformed.")])

    def _find_folder(self, element: ET.Element) -> FakeEwsFolder | None:
        fake = self.server.fake
        if _local(element.tag) == "DistinguishedFolderId":
            return next((f for f in fake.folders.values() if f.distinguished == element.get("Id")), None)
        return fake.folders.get(element.get("Id", ""))

    def _op_GetFolder(self, request: ET.Element) -> str:
        results = []
        for element in request.find(f"{{{M}}}FolderIds"):  # type: ignore[union-attr]
            folder = self._find_folder(element)
            if folder is None:
                results.append(_error("ErrorFolderNotFound", "The specified folder could not be found in the store."))
            else:
                results.append(_success(f"<m:Folders>{self._folder_xml(folder)}</m:Folders>"))
        return _messages("GetFolder", results)

    def _op_FindFolder(self, request: ET.Element) -> str:
        fake = self.server.fake
        deep = request.get("Traversal") == "Deep"
        view = request.find(f"{{{M}}}IndexedPageFolderView")
        offset = int(view.get("Offset", "0")) if view is not None else 0
        limit = int(view.get("MaxEntriesReturned", "1000")) if view is not None else 1000
        results = []
        for element in request.find(f"{{{M}}}ParentFolderIds"):  # type: ignore[union-attr]
            parent = self._find_folder(element)
            if parent is None:
                results.append(_error("ErrorFolderNotFound", "The specified folder could not be found in the store."))
                continue
            found: list[FakeEwsFolder] = []

            def children(of: str) -> None:
                for folder in fake.folders.values():
                    if folder.parent == of:
                        found.append(folder)
                        if deep:
                            children(folder.id)

            children(parent.id)
            page = found[offset : offset + limit]
            last = offset + len(page) >= len(found)
            results.append(_success(
                f'<m:RootFolder IndexedPagingOffset="{offset + len(page)}" TotalItemsInView="{len(found)}" '
                f'IncludesLastItemInRange="{str(last).lower()}"><t:Folders>'
                + "".join(self._folder_xml(f) for f in page) + "</t:Folders></m:RootFolder>"
            ))
        return _messages("FindFolder", results)

    def _folder_xml(self, folder: FakeEwsFolder) -> str:
        fake = self.server.fake
        parent = f'<t:ParentFolderId Id={quoteattr(folder.parent)} ChangeKey="AQAAAA=="/>' if folder.parent else ""
        kind = "CalendarFolder" if folder.folder_class == "IPF.Appointment" else "Folder"
        count = sum(1 for item in fake.items.values() if item.folder == folder.id)
        child_count = sum(1 for f in fake.folders.values() if f.parent == folder.id)
        folder_class = f"<t:FolderClass>{escape(folder.folder_class)}</t:FolderClass>" if folder.folder_class else ""
        return (
            f'<t:{kind}><t:FolderId Id={quoteattr(folder.id)} ChangeKey="AQAAAA=="/>{parent}{folder_class}'
            f"<t:DisplayName>{escape(folder.name)}</t:DisplayName><t:TotalCount>{count}</t:TotalCount>"
            f"<t:ChildFolderCount>{child_count}</t:ChildFolderCount><t:UnreadCount>{count}</t:UnreadCount></t:{kind}>"
        )

    def _op_SyncFolderItems(self, request: ET.Element) -> str:
        fake = self.server.fake
        folder = self._find_folder(request.find(f"{{{M}}}SyncFolderId")[0])  # type: ignore[index]
        if folder is None:
            return _messages("SyncFolderItems", [_error("ErrorSyncFolderNotFound", "The folder could not be found.")])
        state_element = request.find(f"{{{M}}}SyncState")
        # Our SyncState: base64 "<seq>:<already sent>" — opaque to the client, as Exchange's is
        since, sent = 0, 0
        if state_element is not None and state_element.text:
            try:
                since, sent = (int(x) for x in base64.b64decode(state_element.text).decode().split(":"))
            except ValueError:
                return _messages("SyncFolderItems", [_error("ErrorInvalidSyncStateData", "Invalid sync state data.")])
        limit = int(request.findtext(f"{{{M}}}MaxChangesReturned", "100"))
        changes = fake.changes_since(folder.id, since)[sent:]
        page, rest = changes[:limit], changes[limit:]
        if rest:
            new_state = f"{since}:{sent + len(page)}"
        else:
            new_state = f"{fake.sequence}:0"
        parts = []
        for item_id, kind in page:
            if kind == "delete":
                parts.append(f'<t:Delete><t:ItemId Id={quoteattr(item_id)} ChangeKey="CQAAAA=="/></t:Delete>')
            else:
                item = fake.items[item_id]
                parts.append(
                    f"<t:Create><t:Message><t:ItemId Id={quoteattr(item.id)} ChangeKey=\"CQAAAB{item.changekey}\"/>"
                    f"<t:Subject>{escape(item.subject)}</t:Subject><t:Importance>Normal</t:Importance>"
                    f"<t:DateTimeReceived>2024-03-01T09:30:00Z</t:DateTimeReceived>"
                    f"<t:IsRead>false</t:IsRead></t:Message></t:Create>"
                )
        return _messages("SyncFolderItems", [_success(
            f"<m:SyncState>{base64.b64encode(new_state.encode()).decode()}</m:SyncState>"
            f"<m:IncludesLastItemInRange>{str(not rest).lower()}</m:IncludesLastItemInRange>"
            f"<m:Changes>{''.join(parts)}</m:Changes>"
        )])

    def _op_GetItem(self, request: ET.Element) -> str:
        fake = self.server.fake
        wants_mime = any(
            element.get("FieldURI") == "item:MimeContent" for element in request.iter(f"{{{T}}}FieldURI")
        )
        results = []
        for element in request.find(f"{{{M}}}ItemIds"):  # type: ignore[union-attr]
            item = fake.items.get(element.get("Id", ""))
            if item is None or item.id in fake.vanish_before_fetch:
                results.append(_error("ErrorItemNotFound", "The specified object was not found in the store."))
                continue
            mime = f'<t:MimeContent CharacterSet="UTF-8">{base64.b64encode(item.mime).decode()}</t:MimeContent>' if wants_mime else ""
            results.append(_success(
                f"<m:Items><t:Message>{mime}<t:ItemId Id={quoteattr(item.id)} ChangeKey=\"CQAAAB{item.changekey}\"/>"
                f"</t:Message></m:Items>"
            ))
        return _messages("GetItem", results)


def _success(inner: str) -> tuple[str, str]:
    return "Success", f"<m:ResponseCode>NoError</m:ResponseCode>{inner}"


def _error(code: str, text: str) -> tuple[str, str]:
    return "Error", f"<m:MessageText>{escape(text)}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"


def _messages(operation: str, results: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<m:{operation}ResponseMessage ResponseClass="{klass}">{inner}</m:{operation}ResponseMessage>'
        for klass, inner in results
    )
    return f"<m:{operation}Response><m:ResponseMessages>{body}</m:ResponseMessages></m:{operation}Response>"


def _envelope(inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}"><s:Header>'
        f'<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" '
        f'Version="V2017_07_11" xmlns:h="{T}" xmlns="{T}"/></s:Header>'
        f'<s:Body xmlns:m="{M}" xmlns:t="{T}">{inner}</s:Body></s:Envelope>'
    ).encode("utf-8")


def _fault(text: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}"><s:Body><s:Fault>'
        f"<faultcode>s:Client</faultcode><faultstring>{escape(text)}</faultstring></s:Fault></s:Body></s:Envelope>"
    ).encode("utf-8")


class _FakeEwsServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeEwsState


@dataclass
class FakeEws:
    state: FakeEwsState
    url: str


@pytest.fixture
def ews_fake() -> Iterator[FakeEws]:
    server = _FakeEwsServer(("127.0.0.1", 0), _Handler)
    server.fake = FakeEwsState()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeEws(server.fake, f"http://127.0.0.1:{server.server_address[1]}/EWS/Exchange.asmx")
    finally:
        server.shutdown()
        server.server_close()
