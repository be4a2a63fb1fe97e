"""The search term report: per query line, hits, unique hits, hits with families and custodians; the whole-set total.

This is what an FOI officer attaches to an s12 cost estimate and what lawyers negotiate search terms with.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from disclose.query import QuerySyntaxError
from indexer.services import Services
from search_api.search import parse_query


class TermLine(BaseModel):
    line: int = Field(description="1-based line number in the terms file")
    query: str
    hits: int = Field(description="items the query finds")
    unique_hits: int = Field(description="items this query finds that no other line in the set finds")
    hits_with_families: int = Field(description="items found plus every other member of their families")
    custodians: dict[str, int] = Field(default_factory=dict, description="hits per custodian")
    error: str | None = None
    position: int | None = None


class TermsReport(BaseModel):
    lines: list[TermLine]
    total: int = Field(description="items found by at least one line")
    total_with_families: int
    include_duplicates: bool


def queries_from_text(text: str) -> list[tuple[int, str]]:
    """Non-blank lines, numbered as in the file; lines starting with # are comments."""
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            found.append((number, line))
    return found


def terms_report(services: Services, queries: list[tuple[int, str]], *, include_duplicates: bool = False) -> TermsReport:
    """Lines that do not parse are reported with their error and count nothing."""
    parsed = []
    lines: list[TermLine] = []
    for number, text in queries:
        try:
            parsed.append((number, text, parse_query(services, text)))
        except QuerySyntaxError as error:
            lines.append(TermLine(line=number, query=text, hits=0, unique_hits=0, hits_with_families=0, error=error.message, position=error.position))
    index = services.index
    stats = index.query_stats([tree for _, _, tree in parsed], include_duplicates=include_duplicates)
    found_once, found = _found_once([one.keys for one in stats])
    all_families: set[Any] = set().union(*(one.family_ids for one in stats))
    sizes = _family_sizes(index, all_families)

    def in_families(family_ids: set[Any]) -> int:
        if sizes is None:
            return index.count_in_families(sorted(family_ids))
        return sum(map(sizes.__getitem__, family_ids))  # a Counter: 0 for a family it lacks

    for (number, text, _), one in zip(parsed, stats):
        lines.append(TermLine(
            line=number, query=text, hits=one.total,
            unique_hits=len(one.keys & found_once),
            hits_with_families=max(one.total, in_families(one.family_ids)),
            custodians=dict(sorted(one.custodians.items(), key=lambda kv: (-kv[1], kv[0]))),
        ))
    lines.sort(key=lambda line: line.line)
    total = found
    return TermsReport(
        lines=lines, total=total,
        total_with_families=max(total, in_families(all_families)),
        include_duplicates=include_duplicates,
    )


def _found_once(key_sets: list[set[Any]]) -> tuple[set[Any], int]:
    """The keys exactly one of the sets holds, and how many keys they hold in all. Set operations, not a
    Counter: a report over a million items handles millions of keys."""
    once: set[Any] = set()
    more: set[Any] = set()
    for keys in key_sets:
        again = keys & once if len(keys) < len(once) else once & keys
        once -= again
        more |= again
        once |= keys - more
    return once, len(once) + len(more)


def _family_sizes(index: object, family_ids: set[Any]) -> Counter[Any] | None:
    """Per-family item counts in one pass, where the backend offers it (tantivy); None: count per line."""
    family_sizes = getattr(index, "family_sizes", None)
    if family_sizes is None:
        return None
    sizes = family_sizes(list(family_ids))
    return sizes if isinstance(sizes, Counter) else Counter(sizes)


def report_csv(report: TermsReport) -> str:
    """One row per line plus a TOTAL row; custodians as `name=count; …`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "query", "hits", "unique_hits", "hits_with_families", "custodians", "error"])
    for line in report.lines:
        custodians = "; ".join(f"{name}={count}" for name, count in line.custodians.items())
        writer.writerow([line.line, _csv_safe(line.query), line.hits, line.unique_hits, line.hits_with_families, _csv_safe(custodians), line.error or ""])
    writer.writerow(["", "TOTAL (any line)", report.total, "", report.total_with_families, "", ""])
    return out.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula in spreadsheet programs: keep it text.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
