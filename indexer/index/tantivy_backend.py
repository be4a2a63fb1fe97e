"""The embedded search index: tantivy in the workspace folder."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import tantivy

from disclose.items import Item
from indexer.index.documents import IndexDocument, document_for

FOLDED = "folded"  # lower-case and accent-free, no stemming: what users expect of e-discovery search
STEMMED = "stemmed"


def _analyzers() -> dict[str, tantivy.TextAnalyzer]:
    folded = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(100))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    stemmed = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(100))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )
    return {FOLDED: folded, STEMMED: stemmed}


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in ("kind", "family_id", "parent_id", "thread_id", "content_hash", "source_kind", "lang"):
        builder.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    builder.add_text_field("custodian", stored=False, tokenizer_name="raw", fast=True)
    builder.add_text_field("sender_facet", stored=False, tokenizer_name="raw", fast=True)
    for name in ("title", "subject", "filename", "from", "to", "cc", "bcc", "participant", "source", "custodian_text"):
        builder.add_text_field(name, stored=False, tokenizer_name=FOLDED)
    builder.add_text_field("text", stored=True, tokenizer_name=FOLDED)
    builder.add_text_field("text_stem", stored=False, tokenizer_name=STEMMED)
    builder.add_date_field("date", stored=False, indexed=True, fast=True)
    builder.add_unsigned_field("is_duplicate", stored=False, indexed=True, fast=True)
    builder.add_unsigned_field("has_attachment", stored=False, indexed=True, fast=True)
    return builder.build()


def to_tantivy(doc: IndexDocument) -> tantivy.Document:
    fields: dict[str, object] = {
        "id": doc.id,
        "kind": doc.kind,
        "family_id": doc.family_id,
        "parent_id": doc.parent_id,
        "thread_id": doc.thread_id,
        "content_hash": doc.content_hash,
        "source_kind": doc.source_kind,
        "lang": doc.lang,
        "custodian": doc.custodians,
        "custodian_text": doc.custodians,
        "sender_facet": [s.lower() for s in doc.sender],
        "title": doc.title,
        "subject": doc.subject,
        "filename": doc.filename,
        "from": doc.sender,
        "to": doc.to,
        "cc": doc.cc,
        "bcc": doc.bcc,
        "participant": doc.participants,
        "source": doc.source,
        "text": doc.text,
        "text_stem": doc.text,
        "is_duplicate": int(doc.is_duplicate),
        "has_attachment": int(doc.has_attachment),
    }
    document = tantivy.Document()
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for one in values:
            if isinstance(one, int):
                document.add_unsigned(name, one)
            elif one:
                document.add_text(name, str(one))
    if doc.date is not None:
        document.add_date("date", doc.date.astimezone(timezone.utc).replace(tzinfo=None))
    return document


class TantivyIndex:
    def __init__(self, folder: Path, *, heap_bytes: int = 128_000_000) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.schema = build_schema()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        for name, analyzer in _analyzers().items():
            self.index.register_tokenizer(name, analyzer)
        self._heap = heap_bytes
        self._writer: tantivy.IndexWriter | None = None
        self._lock = threading.Lock()

    def _writer_now(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.index.writer(self._heap, 1)
        return self._writer

    def upsert(self, items: Sequence[Item]) -> None:
        with self._lock:
            writer = self._writer_now()
            for item in items:
                writer.delete_documents_by_term("id", item.id)
                writer.add_document(to_tantivy(document_for(item)))

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
        self.index.reload()
        return self.index.searcher()

    def close(self) -> None:
        if self._writer is not None:
            self.commit()


def epoch(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
