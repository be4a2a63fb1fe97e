"""Recognise a file by its content, not its name: a MIME type from magic bytes."""

from __future__ import annotations

import zipfile
from io import BytesIO

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

MAGIC: list[tuple[bytes, int, str]] = [
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"BM", 0, "image/bmp"),
    (b"!BDN", 0, "application/vnd.ms-outlook-pst"),
    (b"\x78\x9f\x3e\x22", 0, "application/vnd.ms-tnef"),
    (b"{\\rtf", 0, "application/rtf"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
]

OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _zip_type(data: bytes) -> str:
    """Office and OpenDocument files are zips; tell them apart by their members."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        # Only the head was read; fall back to the local-header names it contains.
        names = []
        if b"mimetype" in data[:100]:
            start = data.find(b"mimetype") + len(b"mimetype")
            mimetype = data[start : start + 80].split(b"PK")[0].decode("ascii", "ignore").strip()
            if mimetype.startswith("application/vnd.oasis"):
                return mimetype
        for prefix, mime in OOXML.items():
            if prefix.encode() in data[:4096]:
                return mime
        return "application/zip"
    if "mimetype" in names:
        return "application/vnd.oasis.opendocument"
    for prefix, mime in OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return mime
    return "application/zip"


def _is_heic(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis")


def _looks_like_email(text: str) -> bool:
    lines = text.split("\n", 40)[:40]
    keys = {line.split(":", 1)[0].strip().lower() for line in lines if ":" in line and not line.startswith((" ", "\t"))}
    return len(keys & {"from", "to", "subject", "date", "message-id", "received", "mime-version", "return-path"}) >= 2


def sniff(head: bytes, *, whole: bytes | None = None) -> str:
    """The MIME type the first bytes (or the whole file, for zips) show."""
    for magic, offset, mime in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return mime
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_type(whole if whole is not None else head)
    if head.startswith(OLE2):
        return "application/x-ole-storage"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _is_heic(head):
        return "image/heic"
    if b"\x00" in head[:4096] and not (head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff")):
        return "application/octet-stream"
    text = head[:8192].decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.startswith("From ") and "\n" in text and _looks_like_email(text.split("\n", 1)[1]):
        return "application/mbox"
    if _looks_like_email(text):
        return "message/rfc822"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "application/json"
    if stripped.startswith("<?xml") or stripped.startswith("<smses") or stripped.startswith("<calls"):
        return "application/xml"
    if stripped.lower().startswith(("<!doctype html", "<html")):
        return "text/html"
    if stripped.startswith("BEGIN:VCALENDAR"):
        return "text/calendar"
    if stripped.startswith("BEGIN:VCARD"):
        return "text/vcard"
    return "text/plain"
