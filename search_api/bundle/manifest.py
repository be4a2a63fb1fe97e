"""manifest.json: the SHA-256 of every file in a bundle or export, and where each document came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, TextIO

MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


@dataclass
class DocumentSources:
    number: int
    file: str | None
    item_ids: list[str]
    native_sha256: list[str]
    pages: str


@dataclass
class Manifest:
    ref: str
    kind: str  # bundle, legal-export, rsmf-export
    generated_at: str
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    documents: Iterable[DocumentSources] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    changed: list[str]
    missing: list[str]
    unexpected: list[str]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(root: Path, manifest: Manifest, files: Iterable[Path] | None = None) -> Path:
    """manifest.json, written a file and a document at a time: the same text as json.dumps of the
    whole manifest (indent 2), without holding that text, or a dict copy of the manifest, at once.
    `manifest.documents` may be any iterable of documents (it is read once); `manifest.files` is
    not filled in. `files` are the files to hash, in path order: by default every file under `root`
    (a caller that knows them can stream them instead of this listing holding every path)."""
    target = root / MANIFEST
    if files is None:
        files = (path for path in sorted(root.rglob("*")) if path.is_file() and path.name != MANIFEST)
    with open(target, "w", encoding="utf-8") as out:
        head = {"ref": manifest.ref, "kind": manifest.kind, "generated_at": manifest.generated_at}
        out.write(_dumps(head)[:-2] + ',\n  "files": ')
        _write_entries(out, (f"{_dumps(str(path.relative_to(root)))}: {_dumps(file_sha256(path))}" for path in files), "{}")
        out.write(',\n  "documents": ')
        _write_entries(out, (_dumps(asdict(document)).replace("\n", "\n    ") for document in manifest.documents), "[]")
        out.write("\n}\n")
    return target


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _write_entries(out: TextIO, entries: Iterator[str], brackets: str) -> None:
    """Entries of a JSON object or list one level down, laid out as json.dumps(indent=2) lays them out."""
    first = True
    for entry in entries:
        out.write(("" if first else ",") + ("" if not first else brackets[0]) + "\n    " + entry)
        first = False
    out.write(brackets if first else "\n  " + brackets[1])


def verify_manifest(root: Path) -> VerifyResult:
    """Raises FileNotFoundError/ValueError when there is no readable manifest."""
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    files: dict[str, str] = data.get("files") or {}
    if not isinstance(files, dict):
        raise ValueError("manifest.json has no files table")
    changed, missing = [], []
    for name, expected in sorted(files.items()):
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            changed.append(name)
        elif not path.is_file():
            missing.append(name)
        elif file_sha256(path) != expected:
            changed.append(name)
    present = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != MANIFEST}
    unexpected = sorted(present - set(files))
    return VerifyResult(ok=not (changed or missing or unexpected), checked=len(files), changed=changed, missing=missing, unexpected=unexpected)
