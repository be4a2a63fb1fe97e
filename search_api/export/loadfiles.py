"""Load files other review tools read: Concordance DAT, Opticon OPT and a plain CSV of the same fields.

DAT: UTF-8 with a byte-order mark; every value is wrapped in þ (U+00FE); values are separated by
DC4 (U+0014, the character Concordance shows as ¶); a newline inside a value is written as ®
(U+00AE); records end with CRLF. The first record holds the field names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

QUOTE = "\u00fe"
SEPARATOR = "\u0014"
NEWLINE = "\u00ae"

# The documented field list, in order.
FIELDS = [
    "BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "CUSTODIANS", "DATESENT", "FROM", "TO", "CC", "BCC",
    "SUBJECT", "TITLE", "FILENAME", "KIND", "MD5", "SHA256", "FAMILY_ID", "THREAD_ID", "PAGES", "REDACTED",
    "NATIVE", "TEXT", "IMAGE",
]


@dataclass(frozen=True)
class OpticonPage:
    image_key: str  # the page's Bates number
    volume: str
    path: str
    document_break: bool
    page_count: int  # on the first page of a document only


def dat_value(value: str) -> str:
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return text.replace(QUOTE, "").replace(SEPARATOR, " ").replace("\n", NEWLINE)


def write_dat(path: Path, records: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        for row in [dict(zip(FIELDS, FIELDS)), *records]:
            handle.write(SEPARATOR.join(f"{QUOTE}{dat_value(row.get(f, ''))}{QUOTE}" for f in FIELDS) + "\r\n")


def read_dat(path: Path) -> list[dict[str, str]]:
    """Parse a DAT written with the delimiters above (used by tests and by `export` users checking a volume)."""
    text = path.read_bytes().decode("utf-8-sig")  # not read_text: that would turn the CRLF record ends into LF
    records = [line for line in text.split("\r\n") if line]
    rows = [[v[1:-1].replace(NEWLINE, "\n") for v in line.split(SEPARATOR)] for line in records]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row)) for row in body]


def write_csv(path: Path, records: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for record in records:
            writer.writerow({k: _safe_cell(record.get(k, "")) for k in FIELDS})


def _safe_cell(value: str) -> str:
    # a leading = + - @ would make a spreadsheet run the cell as a formula
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def write_opt(path: Path, pages: list[OpticonPage]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for page in pages:
            count = str(page.page_count) if page.document_break else ""
            handle.write(f"{page.image_key},{page.volume},{page.path},{'Y' if page.document_break else ''},,,{count}\r\n")
