"""The embedded search index: tantivy in the workspace folder."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import orjson
import tantivy

from disclose.items import Item
from disclose.query.matcher import DocumentView, Matcher
from disclose.query.nodes import Node
from indexer.index.base import (
    FACET_SIZE,
    FacetBucket,
    Facets,
    IndexHit,
    IndexPage,
    QueryStats,
    SearchRequest,
    decode_cursor,
    encode_cursor,
    query_fingerprint,
)
from indexer.index.documents import IndexDocument, document_for
from indexer.index import tantivy_search
from indexer.index.tantivy_query import Compiled, TantivyCompiler
from indexer.index.tantivy_search import FAMILY_SAMPLE_RATE

FOLDED = "folded"  # lower-case and accent-free, no stemming: what users expect of e-discovery search
STEMMED = "stemmed"
SCHEMA_VERSION = "3"
TEXT_FIELDS = ("subject", "filename", "from", "to", "cc", "bcc", "participant", "custodian", "title")
# content_hash stays in the schema so that existing indexes open unchanged, but nothing writes it: no
# query reads it, and a unique term per item cost a fifth of indexing time.
KEYWORD_FIELDS = ("kind", "family_id", "parent_id", "thread_id", "content_hash", "source_kind", "lang", "month")


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def chain(*extra: tantivy.Filter) -> tantivy.TextAnalyzer:
        builder = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(100))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
        )
        for one in extra:
            builder = builder.filter(one)
        return builder.build()

    return {FOLDED: chain(), STEMMED: chain(tantivy.Filter.stemmer("english"))}


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("custodian_facet", stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("sender_facet", stored=True, tokenizer_name="raw", fast=True)
    for name in TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name=FOLDED)
    # title + item text: where bare words search; stored so snippets and checks need no case-store read
    builder.add_text_field("text", stored=True, tokenizer_name=FOLDED)
    builder.add_text_field("text_stem", stored=False, tokenizer_name=STEMMED)
    builder.add_date_field("date", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("is_duplicate", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("has_attachment", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("family_key", stored=False, indexed=True, fast=True)
    # 1 on every member of one family in FAMILY_SAMPLE_RATE: a broad search estimates its families from
    # the families it finds in this sample (see tantivy_search.estimated_families).
    builder.add_unsigned_field("family_sample", stored=False, indexed=True, fast=False)
    return builder.build()


def family_key(family_id: str) -> int:
    """A family id as a number (family counts compare numbers): its first 64 bits when it is hex, as item
    ids are, else a stable digest of it (not hash(), which differs from one process to the next)."""
    if len(family_id) >= 16 and all(c in "0123456789abcdef" for c in family_id[:16]):
        return int(family_id[:16], 16)
    return int.from_bytes(hashlib.blake2b(family_id.encode(), digest_size=8).digest(), "big")


_U64 = 2**64 - 1


def in_family_sample(key: int) -> bool:
    """Whether a family is in the sample: chosen by a mix of its key (splitmix64's finaliser), so the
    sample is an even spread of families even when their ids are sequential."""
    mixed = key & _U64
    mixed = ((mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _U64
    return (mixed ^ (mixed >> 31)) % FAMILY_SAMPLE_RATE == 0


def to_tantivy_json(doc: IndexDocument) -> str:
    """The document as the JSON `IndexWriter.add_json` takes: one orjson call and one crossing into
    tantivy, where a `tantivy.Document` built field by field costs about three times as much (this
    runs once per item, and a million-message chat export makes every microsecond count)."""
    fields: dict[str, Any] = {}
    for name, value in (
        ("id", doc.id),
        ("kind", doc.kind),
        ("family_id", doc.family_id),
        ("parent_id", doc.parent_id),
        ("thread_id", doc.thread_id.lower()),
        ("source_kind", doc.source_kind.lower()),
        ("lang", doc.lang.lower()),
        ("sender_facet", doc.sender_label),
        ("title", doc.title),
        ("subject", doc.subject),
        ("filename", doc.filename),
    ):
        if value:
            fields[name] = value
    custodians = [c for c in doc.custodians if c]
    if custodians:
        fields["custodian"] = fields["custodian_facet"] = custodians
    participants: list[str] = []
    for name, values in (("from", doc.sender), ("to", doc.to), ("cc", doc.cc), ("bcc", doc.bcc)):
        present = [v for v in values if v]
        if present:
            fields[name] = present
            participants.extend(present)
    if participants:
        fields["participant"] = participants
    texts = [value for value in (doc.title, doc.text) if value]
    if texts:
        fields["text"] = fields["text_stem"] = texts
    fields["is_duplicate"] = int(doc.is_duplicate)
    fields["has_attachment"] = int(doc.has_attachment)
    fields["family_key"] = key = family_key(doc.family_id)
    if in_family_sample(key):
        fields["family_sample"] = 1
    if doc.date is not None:
        moment = doc.date.astimezone(timezone.utc)
        fields["date"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        fields["month"] = f"{moment.year:04d}-{moment.month:02d}"
    return orjson.dumps(fields).decode()


def _first(stored: dict[str, list[Any]], name: str, default: Any = "") -> Any:
    values = stored.get(name) or []
    return values[0] if values else default


def _body(stored: dict[str, list[Any]]) -> str:
    """The item text: the stored `text` values are the title (when there is one) then the text."""
    values = [str(v) for v in stored.get("text", [])]
    if _first(stored, "title") and values and values[0] == _first(stored, "title"):
        values = values[1:]
    return values[0] if values else ""


def _hit(stored: dict[str, list[Any]], score: float | None) -> IndexHit:
    date = _first(stored, "date", None)
    return IndexHit(
        id=_first(stored, "id"),
        kind=_first(stored, "kind"),
        title=_first(stored, "title"),
        custodians=list(stored.get("custodian_facet", [])),
        date=date.replace(tzinfo=timezone.utc) if isinstance(date, datetime) and date.tzinfo is None else date,
        family_id=_first(stored, "family_id"),
        text=_body(stored),
        score=score,
        is_duplicate=bool(_first(stored, "is_duplicate", 0)),
        filename=_first(stored, "filename"),
        sender=list(stored.get("from", [])),
    )


def _page_hit(doc: tantivy.Document, score: float | None) -> IndexHit:
    """As `_hit`, reading only the fields a hit shows: to_dict() would convert every stored value and
    costs ten times as much."""
    get = doc.get_first
    title = get("title") or ""
    texts = doc.get_all("text")
    if title and texts and texts[0] == title:
        texts = texts[1:]
    date = get("date")
    return IndexHit(
        id=get("id") or "",
        kind=get("kind") or "",
        title=title,
        custodians=doc.get_all("custodian_facet"),
        date=date.replace(tzinfo=timezone.utc) if isinstance(date, datetime) and date.tzinfo is None else date,
        family_id=get("family_id") or "",
        text=str(texts[0]) if texts else "",
        score=score,
        is_duplicate=bool(get("is_duplicate") or 0),
        filename=get("filename") or "",
        sender=doc.get_all("from"),
    )


def _view(stored: dict[str, list[Any]]) -> DocumentView:
    """The stored values of one document, as the matcher evaluates them."""
    texts = {name: [str(v) for v in stored.get(name, [])] for name in TEXT_FIELDS}
    texts["text"] = [str(v) for v in stored.get("text", [])]
    keywords = {
        "kind": list(stored.get("kind", [])),
        "source": list(stored.get("source_kind", [])),
        "thread": list(stored.get("thread_id", [])),
        "lang": list(stored.get("lang", [])),
        "has": ["attachment"] if _first(stored, "has_attachment", 0) else [],
    }
    date = _first(stored, "date", None)
    if isinstance(date, datetime) and date.tzinfo is None:
        date = date.replace(tzinfo=timezone.utc)
    return DocumentView(text_fields=texts, keywords=keywords, date=date)


# The writer's indexing buffer: documents are held in it until it is full, then written out as a
# segment. 32 MB fills within some 12,000 emails and then stays full, so an import's memory stops
# growing there; at 128 MB it grew for the first 50,000 emails and more (about 2.5 KB an email).
# Smaller segments cost some merging later, done in tantivy's background thread.
WRITER_HEAP_BYTES = 32_000_000


class TantivyIndex:
    def __init__(self, folder: Path, *, heap_bytes: int = WRITER_HEAP_BYTES) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.schema = build_schema()
        self.was_reset = self._check_version(folder)
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        for name, analyzer in _analyzers().items():
            self.index.register_tokenizer(name, analyzer)
        self.compiler = TantivyCompiler(self.schema)
        self._heap = heap_bytes
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.Lock()
        self._meta_seen: tuple[int, int, int] | None = None

    @staticmethod
    def _check_version(folder: Path) -> bool:
        """An index written with an older schema is emptied, not misread; returns True when it was,
        so that the caller rebuilds it from the case store."""
        marker = folder / "disclose-schema"
        if marker.exists() and marker.read_text().strip() == SCHEMA_VERSION:
            return False
        reset = any(folder.glob("meta.json"))
        if reset:
            for entry in folder.iterdir():
                if entry.is_file():
                    entry.unlink()
        marker.write_text(SCHEMA_VERSION)
        return reset

    # --- writing -------------------------------------------------------------------------

    def _writer_now(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(self._heap, 1)
        return self._writer

    def upsert(self, items: Sequence[Item]) -> None:
        self.upsert_documents([document_for(item) for item in items])

    def upsert_documents(self, documents: Sequence[IndexDocument]) -> None:
        self._add(documents, replace=True)

    def add_new(self, items: Sequence[Item]) -> None:
        self._add([document_for(item) for item in items], replace=False)

    def _add(self, documents: Sequence[IndexDocument], *, replace: bool) -> None:
        encoded = [(doc.id, to_tantivy_json(doc)) for doc in documents]  # built before taking the lock
        with self._lock:
            writer = self._writer_now()
            for item_id, document in encoded:
                if replace:
                    writer.delete_documents_by_term("id", item_id)
                writer.add_json(document)

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            writer = self._writer_now()
            for item_id in ids:
                writer.delete_documents_by_term("id", item_id)

    def commit(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
                self._writer.wait_merging_threads()
                self._writer = None
        self.index.reload()

    def count(self) -> int:
        self.index.reload()
        return self.index.searcher().num_docs

    def searcher(self) -> tantivy.Searcher:
        # Reload only when a commit (here or in another process) has replaced meta.json: a stat is
        # a few microseconds, a reload a fifth of a millisecond of every search.
        try:
            meta = os.stat(self.folder / "meta.json")
            seen = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
        except FileNotFoundError:
            seen = None
        if seen is None or seen != self._meta_seen:
            self.index.reload()
            self._meta_seen = seen
        return self.index.searcher()

    def close(self) -> None:
        if self._writer is not None:
            self.commit()

    # --- searching -----------------------------------------------------------------------

    def _filtered(self, compiled: Compiled, include_duplicates: bool) -> tantivy.Query:
        if include_duplicates:
            return compiled.query
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, compiled.query), (tantivy.Occur.MustNot, tantivy.Query.term_query(self.schema, "is_duplicate", 1))]
        )

    def _verified(self, searcher: tantivy.Searcher, tree: Node, query: tantivy.Query) -> list[tuple[float, Any, dict[str, list[Any]]]]:
        """Candidates of a wider query, kept only when the matcher agrees: the exact hit set."""
        matcher = Matcher(tree)
        kept = []
        for score, address in tantivy_search.every_hit(searcher, query):
            stored = searcher.doc(address).to_dict()
            if matcher.matches(_view(stored)):
                kept.append((score, address, stored))
        return kept

    def search(self, request: SearchRequest) -> IndexPage:
        searcher = self.searcher()
        compiled = self.compiler.compile(request.tree)
        fingerprint = query_fingerprint(request.tree, request.sort, request.include_duplicates)
        offset = int(decode_cursor(request.cursor, fingerprint).get("o", 0)) if request.cursor else 0
        if not compiled.exact:
            return self._search_verified(searcher, request, compiled, offset, fingerprint)
        outcome = tantivy_search.run(
            searcher, self.schema, compiled.query, request.tree, offset=offset, limit=request.limit, sort=request.sort,
            include_duplicates=request.include_duplicates, facets=request.facets, counts=request.counts,
        )
        hits = [_page_hit(searcher.doc(address), None if request.sort == "date" else float(key)) for key, address in outcome.page]
        next_offset = offset + len(hits)
        return IndexPage(
            total=outcome.total,
            unique=outcome.unique,
            families=outcome.families,
            duplicates_hidden=outcome.duplicates_hidden,
            hits=hits,
            facets=outcome.facets,
            next_cursor=encode_cursor({"o": next_offset, "q": fingerprint}) if next_offset < outcome.total else None,
            families_exact=outcome.families_exact,
        )

    def _search_verified(self, searcher: tantivy.Searcher, request: SearchRequest, compiled: Compiled, offset: int, fingerprint: str) -> IndexPage:
        everything = self._verified(searcher, request.tree, compiled.query)
        shown = [h for h in everything if request.include_duplicates or not _first(h[2], "is_duplicate", 0)]
        if request.sort == "date":
            shown.sort(key=lambda h: _first(h[2], "date", datetime.min) or datetime.min, reverse=True)
        else:
            shown.sort(key=lambda h: -h[0])
        page = shown[offset : offset + request.limit]
        facets = _facets_of([h[2] for h in shown]) if request.facets else None
        next_offset = offset + len(page)
        return IndexPage(
            total=len(shown),
            unique=sum(1 for h in everything if not _first(h[2], "is_duplicate", 0)),
            families=len({_first(h[2], "family_id") for h in shown}),
            duplicates_hidden=0 if request.include_duplicates else len(everything) - len(shown),
            hits=[_hit(h[2], None if request.sort == "date" else h[0]) for h in page],
            facets=facets,
            next_cursor=encode_cursor({"o": next_offset, "q": fingerprint}) if next_offset < len(shown) else None,
        )

    def matching_ids(self, tree: Node, *, include_duplicates: bool = True) -> list[str]:
        searcher = self.searcher()
        compiled = self.compiler.compile(tree)
        if not compiled.exact:
            hits = self._verified(searcher, tree, compiled.query)
            return [_first(s, "id") for _, _, s in hits if include_duplicates or not _first(s, "is_duplicate", 0)]
        query = self._filtered(compiled, include_duplicates)
        return [_first(searcher.doc(address).to_dict(), "id") for _, address in tantivy_search.every_hit(searcher, query)]

    def query_stats(self, trees: Sequence[Node], *, include_duplicates: bool = True) -> list[QueryStats]:
        searcher = self.searcher()
        stats = []
        for tree in trees:
            compiled = self.compiler.compile(tree)
            if compiled.exact:
                query = self._filtered(compiled, include_duplicates)
                addresses = [address for _, address in tantivy_search.every_hit(searcher, query)]
                keys = {a.segment_ord << 32 | a.doc for a in addresses}  # ints hash and compare fastest
                families = set(searcher.fast_field_values("family_key", addresses))
                custodians = {f.value: f.count for f in self._custodian_counts(searcher, query)}
            else:
                hits = [h for h in self._verified(searcher, tree, compiled.query) if include_duplicates or not _first(h[2], "is_duplicate", 0)]
                keys = {h[1].segment_ord << 32 | h[1].doc for h in hits}
                families = {family_key(_first(h[2], "family_id")) for h in hits}
                counter: Counter[str] = Counter(c for h in hits for c in h[2].get("custodian_facet", []))
                custodians = dict(counter)
            stats.append(QueryStats(total=len(keys), keys=keys, family_ids=families, custodians=custodians))
        return stats

    def _custodian_counts(self, searcher: tantivy.Searcher, query: tantivy.Query) -> list[FacetBucket]:
        result = searcher.aggregate(query, {"c": {"terms": {"field": "custodian_facet", "size": 10_000}}})
        return [FacetBucket(str(b["key"]), int(b["doc_count"])) for b in result.get("c", {}).get("buckets", [])]

    def family_members(self, family_ids: Sequence[str]) -> list[IndexHit]:
        if not family_ids:
            return []
        searcher = self.searcher()
        query = tantivy.Query.term_set_query(self.schema, "family_id", list(family_ids))
        return [_hit(searcher.doc(address).to_dict(), None) for _, address in tantivy_search.every_hit(searcher, query)]

    def family_sizes(self, family_keys: Sequence[int]) -> Counter[int]:
        """Items (duplicates excluded) per family, for many families in one pass: a term report sums these
        per line instead of running one count per line. Keys as `query_stats` gives them; absent means 0
        (a Counter, so indexing it needs no default); it may hold other families too."""
        if not family_keys:
            return Counter()
        searcher = self.searcher()
        duplicates = tantivy.Query.term_query(self.schema, "is_duplicate", 1)
        if len(family_keys) * 8 >= searcher.num_docs:
            # Families of a good share of the index: reading every item's family is cheaper than
            # looking up each family (a term per family, then their members).
            members = tantivy.Query.all_query()
        else:
            members = tantivy.Query.term_set_query(self.schema, "family_key", [int(k) for k in family_keys])
        query = tantivy.Query.boolean_query([(tantivy.Occur.Must, members), (tantivy.Occur.MustNot, duplicates)])
        addresses = [address for _, address in tantivy_search.every_hit(searcher, query)]
        return Counter(searcher.fast_field_values("family_key", addresses))

    def count_in_families(self, family_keys: Sequence[str]) -> int:
        """`family_keys` as `query_stats` gives them (family_key values)."""
        if not family_keys:
            return 0
        query = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "family_key", [int(k) for k in family_keys])),
            (tantivy.Occur.MustNot, tantivy.Query.term_query(self.schema, "is_duplicate", 1)),
        ])
        return self.searcher().search(query, limit=1, count=True).count


def _facets_of(stored_docs: list[dict[str, list[Any]]]) -> Facets:
    def top(values: list[str]) -> list[FacetBucket]:
        return [FacetBucket(v, c) for v, c in Counter(values).most_common(FACET_SIZE)]

    months = Counter(_first(d, "month") for d in stored_docs if _first(d, "month"))
    years: Counter[str] = Counter()
    for month, count in months.items():
        years[month[:4]] += count
    return Facets(
        custodian=top([c for d in stored_docs for c in d.get("custodian_facet", [])]),
        kind=top([_first(d, "kind") for d in stored_docs if _first(d, "kind")]),
        source=top([_first(d, "source_kind") for d in stored_docs if _first(d, "source_kind")]),
        sender=top([s for d in stored_docs for s in d.get("sender_facet", [])]),
        year=[FacetBucket(y, c) for y, c in sorted(years.items())],
        month=[FacetBucket(m, c) for m, c in sorted(months.items())],
    )


def epoch(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
