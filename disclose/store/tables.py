"""Tables for what was collected: items, chain of custody, exceptions, crawl state, identities, runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from disclose.store.base import Base, UTCDateTime, now


class ItemRow(Base):
    __tablename__ = "items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(32), index=True)
    root_id: Mapped[str | None] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    locator: Mapped[str] = mapped_column(Text, default="")
    custodians: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(Text, default="")
    mime_type: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    date: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    date_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    date_source: Mapped[str] = mapped_column(String(64), default="")
    participants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    text_version: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str] = mapped_column(Text, default="")
    duplicate_of: Mapped[str | None] = mapped_column(String(32), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class CustodyEvent(Base):
    """Chain of custody: who collected which original, from where, when, with what."""

    __tablename__ = "custody_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(32), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text)
    custodian: Mapped[str] = mapped_column(Text, default="")
    collector: Mapped[str] = mapped_column(Text, default="")  # tool and operator
    action: Mapped[str] = mapped_column(String(32), default="collected")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ExceptionRow(Base):
    """A file or item that could not be (fully) read; the run went on."""

    __tablename__ = "exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str | None] = mapped_column(String(32), index=True)
    path: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(32))  # collect, detect, extract, ocr, parse, index
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("item_id", "path", "stage", "reason", name="uq_exception"),)


class SourceRow(Base):
    """A crawled source and its resumable sync state (never credentials)."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # filesystem, imap, ews, graph, smb
    uri: Mapped[str] = mapped_column(Text)
    custodian: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SourceEntry(Base):
    """What a crawl saw at one location in a source, for incremental recrawls and deletion tracking."""

    __tablename__ = "source_entries"

    source_id: Mapped[str] = mapped_column(String(32), ForeignKey("sources.id"), primary_key=True)
    locator: Mapped[str] = mapped_column(Text, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(Text, default="")  # e.g. file id + size + mtime
    sha256: Mapped[str] = mapped_column(String(64), default="")
    present: Mapped[bool] = mapped_column(default=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Person(Base):
    """The workspace identity table: one person, many identifiers."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    display_name: Mapped[str] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")


class Identifier(Base):
    __tablename__ = "identifiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # name, email, phone, handle, ni, nhs, sid, owner
    value: Mapped[str] = mapped_column(Text)  # normalised (lower-case email, E.164 phone)

    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identifier"),)


class RunRow(Base):
    """A long piece of work (ingest, crawl, bundle) with progress the UI can poll."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_items_family_kind", ItemRow.family_id, ItemRow.kind)
