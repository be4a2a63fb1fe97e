"""A FAKE Elasticsearch for tests: no Elasticsearch server can run on our machines.

Built from the documented REST API, it implements just enough for the official client's code paths:
index templates, index create/exists/delete, aliases (_aliases, _alias), _bulk (with deliberate 429
rejections so the client's retry-with-back-off runs), _refresh, _count, point in time (_pit open/close),
_search with `pit` + `search_after` sorted by `_shard_doc`, and _reindex. Queries are evaluated only
for match_all, bool, term and terms (exact folded words) — real query semantics are checked by the
golden DSL files and by the conformance suite against a real server (DISCLOSE_ES_URL).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from disclose.query.folding import words


class FakeElasticsearch:
    def __init__(self, reject_first_bulk_items: int = 0) -> None:
        self.templates: dict[str, dict[str, Any]] = {}
        self.indices: dict[str, dict[str, dict[str, Any]]] = {}  # index -> id -> source
        self.order: dict[str, list[str]] = {}
        self.aliases: dict[str, str] = {}
        self.pits: dict[str, str] = {}
        self.pits_opened = 0
        self.bulk_rejections = 0
        self._reject_left = reject_first_bulk_items
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def open_pits(self) -> int:
        return len(self.pits)

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- model ------------------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        return self.aliases.get(name, name)

    def put(self, index: str, doc_id: str, source: dict[str, Any]) -> None:
        docs = self.indices.setdefault(index, {})
        if doc_id not in docs:
            self.order.setdefault(index, []).append(doc_id)
        docs[doc_id] = source

    def matches(self, query: dict[str, Any] | None, source: dict[str, Any]) -> bool:
        if not query or "match_all" in query:
            return True
        if "bool" in query:
            spec = query["bool"]
            if not all(self.matches(q, source) for q in spec.get("must", []) + spec.get("filter", [])):
                return False
            if any(self.matches(q, source) for q in spec.get("must_not", [])):
                return False
            should = spec.get("should", [])
            return not should or sum(self.matches(q, source) for q in should) >= spec.get("minimum_should_match", 1)
        if "term" in query or "terms" in query:
            name, wanted = next(iter((query.get("term") or query["terms"]).items()))
            wanted_values = wanted if isinstance(wanted, list) else [wanted.get("value") if isinstance(wanted, dict) else wanted]
            values = source.get(name)
            values = values if isinstance(values, list) else [values]
            present = {str(v).lower() for v in values if v is not None and not isinstance(v, bool)} | {v for v in values if isinstance(v, bool)}
            present |= {w for v in values if isinstance(v, str) for w in words(v)}
            return any((w if isinstance(w, bool) else str(w).lower()) in present for w in wanted_values)
        raise ValueError(f"the fake does not evaluate {sorted(query)}")

    # --- HTTP -------------------------------------------------------------------------------

    def _handler(self):  # type: ignore[no-untyped-def]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _json(self) -> dict[str, Any]:
                raw = self._body()
                return json.loads(raw) if raw else {}

            def do_HEAD(self) -> None:
                path = urlparse(self.path).path
                with fake._lock:
                    if path.startswith("/_alias/"):
                        self._send(200 if path.split("/")[2] in fake.aliases else 404)
                    else:
                        self._send(200 if path.strip("/") in fake.indices else 404)

            def do_GET(self) -> None:
                self.do_POST()

            def do_PUT(self) -> None:
                path = urlparse(self.path).path.strip("/")
                if path.endswith("_bulk"):  # the client sends bulk as PUT
                    return self.do_POST()
                with fake._lock:
                    if path.startswith("_index_template/"):
                        fake.templates[path.split("/", 1)[1]] = self._json()
                        return self._send(200, {"acknowledged": True})
                    fake.indices.setdefault(path, {})
                    fake.order.setdefault(path, [])
                    self._send(200, {"acknowledged": True, "index": path})

            def do_DELETE(self) -> None:
                url = urlparse(self.path)
                path = url.path.strip("/")
                with fake._lock:
                    if path == "_pit":
                        fake.pits.pop(self._json().get("id", ""), None)
                        return self._send(200, {"succeeded": True, "num_freed": 1})
                    if path.startswith("_index_template/"):
                        fake.templates.pop(path.split("/", 1)[1], None)
                        return self._send(200, {"acknowledged": True})
                    pattern = re.compile("^" + re.escape(path).replace("\\*", ".*") + "$")
                    for name in [n for n in fake.indices if pattern.match(n)]:
                        del fake.indices[name]
                        fake.order.pop(name, None)
                    self._send(200, {"acknowledged": True})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                path = url.path.strip("/")
                params = parse_qs(url.query)
                with fake._lock:
                    if path == "_bulk" or path.endswith("/_bulk"):
                        return self._bulk()
                    if path == "_aliases":
                        for action in self._json()["actions"]:
                            for verb, spec in action.items():
                                if verb == "add":
                                    fake.aliases[spec["alias"]] = spec["index"]
                                elif verb == "remove" and fake.aliases.get(spec["alias"]) == spec["index"]:
                                    del fake.aliases[spec["alias"]]
                        return self._send(200, {"acknowledged": True})
                    if path.startswith("_alias/"):
                        name = path.split("/")[1]
                        if name not in fake.aliases:
                            return self._send(404, {"error": "alias missing", "status": 404})
                        return self._send(200, {fake.aliases[name]: {"aliases": {name: {}}}})
                    if path.endswith("/_refresh"):
                        return self._send(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
                    if path.endswith("/_count"):
                        index = fake.resolve(path.split("/")[0])
                        query = self._json().get("query")
                        count = sum(1 for s in fake.indices.get(index, {}).values() if fake.matches(query, s))
                        return self._send(200, {"count": count})
                    if path.endswith("/_pit"):
                        pit_id = uuid.uuid4().hex
                        fake.pits[pit_id] = fake.resolve(path.split("/")[0])
                        fake.pits_opened += 1
                        assert params.get("keep_alive")
                        return self._send(200, {"id": pit_id})
                    if path == "_search":
                        return self._search(self._json(), params)
                    if path == "_reindex":
                        body = self._json()
                        source, dest = fake.resolve(body["source"]["index"]), body["dest"]["index"]
                        for doc_id in fake.order.get(source, []):
                            fake.put(dest, doc_id, dict(fake.indices[source][doc_id]))
                        return self._send(200, {"total": len(fake.order.get(source, [])), "failures": []})
                    self._send(404, {"error": f"the fake does not implement {self.command} /{path}", "status": 404})

            def _bulk(self) -> None:
                lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
                items, errors, i = [], False, 0
                while i < len(lines):
                    (op, meta), i = next(iter(lines[i].items())), i + 1
                    index = fake.resolve(meta["_index"])
                    if fake._reject_left > 0:
                        fake._reject_left -= 1
                        fake.bulk_rejections += 1
                        errors = True
                        if op != "delete":
                            i += 1
                        items.append({op: {"_index": index, "_id": meta["_id"], "status": 429,
                                           "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                        continue
                    if op == "delete":
                        fake.indices.get(index, {}).pop(meta["_id"], None)
                        items.append({op: {"_index": index, "_id": meta["_id"], "status": 200, "result": "deleted"}})
                    else:
                        fake.put(index, meta["_id"], lines[i])
                        i += 1
                        items.append({op: {"_index": index, "_id": meta["_id"], "status": 201, "result": "created"}})
                self._send(200, {"took": 1, "errors": errors, "items": items})

            def _search(self, body: dict[str, Any], params: dict[str, list[str]]) -> None:
                pit = body.get("pit") or {}
                if pit.get("id") not in fake.pits:
                    return self._send(404, {"error": {"type": "search_context_missing_exception"}, "status": 404})
                index = fake.pits[pit["id"]]
                after = (body.get("search_after") or [-1])[0]
                rows = [(n, doc_id) for n, doc_id in enumerate(fake.order.get(index, []))
                        if doc_id in fake.indices[index] and fake.matches(body.get("query"), fake.indices[index][doc_id])]
                page = [(n, d) for n, d in rows if n > after][: int(body.get("size", 10))]
                includes = ",".join(params.get("_source_includes", [])).split(",") if params.get("_source_includes") else None
                hits = []
                for n, doc_id in page:
                    source = fake.indices[index][doc_id]
                    if includes:
                        source = {k: v for k, v in source.items() if k in includes}
                    hits.append({"_index": index, "_id": doc_id, "_score": 1.0, "_source": source, "sort": [n]})
                self._send(200, {"pit_id": pit["id"], "took": 1, "timed_out": False,
                                 "hits": {"total": {"value": len(rows), "relation": "eq"}, "hits": hits}})

        return Handler
