"""TNEF (`winmail.dat`): Outlook's rich-text wrapper; its body becomes text and its files become children."""

from __future__ import annotations

from typing import Any, ClassVar

from disclose.items import Item, Status
from indexer.context import IngestContext, Native
from indexer.ingestors.email.bodytext import html_to_text, rtf_to_text, tidy_text
from indexer.ingestors.email.model import Attachment, emit_attachments
from indexer.registry import Probe, register

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


def _string(value: Any) -> str:
    if isinstance(value, bytes):
        for encoding in ("utf-8", "cp1252"):
            try:
                return value.decode(encoding).rstrip("\x00")
            except UnicodeDecodeError:
                continue
    return str(value or "")


def tnef_body(tnef: Any) -> tuple[str, str]:
    """(text, format) of the wrapped body: plain preferred, then HTML, then RTF."""
    if getattr(tnef, "body", None):
        return tidy_text(_string(tnef.body)), "plain"
    if getattr(tnef, "htmlbody", None):
        return html_to_text(_string(tnef.htmlbody)), "html"
    if getattr(tnef, "rtfbody", None):
        return rtf_to_text(tnef.rtfbody if isinstance(tnef.rtfbody, bytes) else _string(tnef.rtfbody)), "rtf"
    return "", ""


@register
class TnefIngestor:
    name: ClassVar[str] = "email.tnef"

    def score(self, probe: Probe) -> int:
        return 80 if probe.head.startswith(TNEF_SIGNATURE) or probe.mime == "application/vnd.ms-tnef" else 0

    def ingest(self, item: Item, native: Native, ctx: IngestContext) -> None:
        import tnefparse

        try:
            tnef = tnefparse.TNEF(native.read())
        except Exception as error:
            item.status = Status.FAILED
            item.error = f"not a readable TNEF file: {type(error).__name__}: {error}"[:500]
            ctx.problem(item, "parse", item.error)
            return
        try:
            text, body_format = tnef_body(tnef)
        except Exception as error:
            text, body_format = "", ""
            item.status = Status.PARTIAL
            ctx.problem(item, "parse", f"TNEF body could not be decoded: {type(error).__name__}")
        item.text = text
        attachments = []
        for number, attachment in enumerate(tnef.attachments, start=1):
            try:
                name = _string(attachment.long_filename() or attachment.name) or f"attachment-{number}"
                attachments.append(Attachment(filename=name, data=bytes(attachment.data or b"")))
            except Exception as error:
                item.status = Status.PARTIAL
                ctx.problem(item, "parse", f"TNEF attachment {number} could not be read: {type(error).__name__}")
        item.metadata.update({"container_format": "tnef", "body_format": body_format, "has_attachment": bool(attachments),
                              "attachment_count": len(attachments)})
        emit_attachments(item, attachments, ctx)
