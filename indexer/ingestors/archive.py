"""Zip archives: each member becomes a child item in the archive's family."""

from __future__ import annotations

import posixpath
import zipfile
from typing import ClassVar

from disclose.items import Item, Kind
from indexer.context import IngestContext, Native
from indexer.ingestors.zipmembers import safe_member_name, why_unopenable
from indexer.registry import Probe, register

MAX_MEMBER_BYTES = 4 * 1024**3
MAX_RATIO = 200  # compression ratios above this are zip bombs
MAX_MEMBERS = 100_000


@register
class ZipIngestor:
    name: ClassVar[str] = "zip"

    def score(self, probe: Probe) -> int:
        return 5 if probe.mime == "application/zip" else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        try:
            archive = zipfile.ZipFile(native.path)
        except zipfile.BadZipFile as error:
            raise ValueError(f"damaged or truncated zip: {error}") from error
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            item.metadata["members"] = len(members)
            listing: list[str] = []
            for number, info in enumerate(members[:MAX_MEMBERS], start=1):
                listing.append(info.filename)
                self._member(item, archive, info, ctx)
            if len(members) > MAX_MEMBERS:
                ctx.problem(item, "extract", f"only the first {MAX_MEMBERS} of {len(members)} members were opened")
            item.text = "\n".join(listing)

    def _member(self, item: Item, archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: IngestContext) -> None:
        name = safe_member_name(info.filename)
        if name is None:
            ctx.problem(item, "extract", f"member name escapes the archive, not opened: {info.filename!r}")
            return
        unopenable = why_unopenable(info)
        if unopenable is not None:
            ctx.problem(item, "extract", f"{unopenable}, not opened: {name}")
            return
        if info.file_size > MAX_MEMBER_BYTES or (info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 100 * 1024**2):
            ctx.problem(item, "extract", f"member too large or compressed suspiciously (zip bomb?), not opened: {name}")
            return
        try:
            with archive.open(info) as stream:
                ctx.child(item, f"zip:{name}", filename=posixpath.basename(name), stream=stream, kind=Kind.FILE,
                          fields={"metadata": {"archive_path": name}})
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            ctx.problem(item, "extract", f"damaged member {name}: {error}")
