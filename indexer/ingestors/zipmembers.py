"""Zip members read safely: names that cannot leave the archive, and only members zipfile can open."""

from __future__ import annotations

import posixpath
import zipfile

# What zipfile can decompress; others (Deflate64, PPMd, AES) are reported, not attempted.
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def safe_member_name(name: str) -> str | None:
    """A member's path inside the archive, or None if it tries to leave it (absolute, `..`, drive letters)."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return None
    normal = posixpath.normpath(cleaned)
    if normal == ".." or normal.startswith("../") or normal == ".":
        return None
    return normal


def why_unopenable(info: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot read this member, or None when it can."""
    if info.flag_bits & 0x1:
        return "encrypted member"
    if info.compress_type not in READABLE_METHODS:
        return f"compression method {info.compress_type} is not supported"
    return None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The member's bytes, or None when it is too big, unopenable or damaged."""
    if info.file_size > limit or why_unopenable(info) is not None:
        return None
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None
