"""manifest.json: the SHA-256 of every file in a bundle or export, and where each document came from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
    documents: list[DocumentSources] = field(default_factory=list)


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


def write_manifest(root: Path, manifest: Manifest) -> Path:
    manifest.files = {
        str(path.relative_to(root)): file_sha256(path)
        for path in sorted(root.rglob("*")) if path.is_file() and path.name != MANIFEST
    }
    target = root / MANIFEST
    target.write_text(json.dumps(asdict(manifest), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


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
