"""Files and folders on a local disk or a mounted share."""

from __future__ import annotations

import fnmatch
import os
import pwd
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from crawler.base import Checkpoint, Collected, CollectionProblem, Removed
from crawler.custodians import CustodianRules
from disclose.items import stable_id

SKIP_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _stamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@dataclass
class FilesystemCrawler:
    paths: list[Path]
    custodians: list[str]
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    custodian_rule: str = "explicit"
    source_kind: str = "filesystem"
    attribution: CustodianRules | None = None  # a custodian map (and owner lookup) instead of one custodian

    @property
    def source_uri(self) -> str:
        return " ".join(path.expanduser().absolute().as_uri() for path in self.paths)

    @property
    def source_id(self) -> str:
        return stable_id("filesystem", self.source_uri)

    def crawl(self, state: dict | None = None) -> Iterator[Collected | CollectionProblem | Checkpoint | Removed]:
        for path in self.paths:
            path = path.expanduser().absolute()
            if not path.exists():
                yield CollectionProblem(source=path.as_uri(), reason=f"path does not exist: {path}")
            elif path.is_dir():
                yield from self._walk(path)
            else:
                yield from self._one(path, path.name)

    def _wanted(self, relative: str) -> bool:
        if self.include and not any(fnmatch.fnmatch(relative, pattern) for pattern in self.include):
            return False
        return not any(fnmatch.fnmatch(relative, pattern) for pattern in self.exclude)

    def _walk(self, top: Path) -> Iterator[Collected | CollectionProblem]:
        problems: list[OSError] = []
        for folder, dirs, files in os.walk(top, onerror=problems.append, followlinks=False):
            while problems:
                error = problems.pop()
                yield CollectionProblem(source=Path(error.filename or folder).as_uri(), reason=f"cannot read folder: {error.strerror}")
            dirs.sort()
            for name in sorted(files):
                if name in SKIP_NAMES:
                    continue
                path = Path(folder) / name
                relative = path.relative_to(top).as_posix()
                if self._wanted(relative):
                    yield from self._one(path, relative)
        while problems:
            error = problems.pop()
            yield CollectionProblem(source=Path(error.filename or top).as_uri(), reason=f"cannot read folder: {error.strerror}")

    def _one(self, path: Path, relative: str) -> Iterator[Collected | CollectionProblem]:
        try:
            info = path.lstat()
        except OSError as error:
            yield CollectionProblem(source=path.as_uri(), reason=f"cannot read file: {error.strerror}")
            return
        if path.is_symlink():
            yield CollectionProblem(source=path.as_uri(), reason="symbolic link not followed")
            return
        if not os.access(path, os.R_OK):
            yield CollectionProblem(source=path.as_uri(), reason="permission denied")
            return
        custodians, rule, detail = list(self.custodians), self.custodian_rule, ""
        if self.attribution is not None:
            chosen = self.attribution.attribute(str(path), _owner_name(info.st_uid))
            custodians, rule, detail = chosen.custodians, chosen.rule, chosen.detail
        yield Collected(
            source=path.as_uri(),
            source_kind="filesystem",
            filename=path.name,
            custodians=custodians,
            opener=lambda p=path: open(p, "rb"),
            display_path=str(path),
            size=info.st_size,
            modified=_stamp(info.st_mtime),
            accessed=_stamp(info.st_atime),
            created=_stamp(getattr(info, "st_birthtime", info.st_ctime)),
            custodian_rule=rule,
            local_path=path,
            metadata={
                "custodian_detail": detail,
                "owner": _owner_name(info.st_uid),
                "relative_path": relative,
                "fingerprint": f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}",
            },
        )


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
