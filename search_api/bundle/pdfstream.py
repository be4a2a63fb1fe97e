"""PDF files written an object at a time: the combined PDF, and the page ranges the leak check reads.

A PDF library that opens or edits a file keeps an entry for every object of it (MuPDF and poppler
alike, ~40 bytes each), so appending to a combined PDF, or reading it back, costs memory that grows
with the bundle. Here pages are copied, with the objects they use, from small files (each
document's own PDF) to the end of the combined file, renumbered as they go; where each object went
is kept in an index file on disk, from which the cross-reference table is written at the end.
Memory stays at one document's objects, however long the bundle.

The index also lets a range of the combined file's pages be copied out as a small PDF of its own
(`write_page_range`): its objects are the combined file's, byte for byte but for their numbers, so
its readers see those pages as the combined file has them, with memory for its own objects only.

Object text is as MuPDF prints it (compact, ASCII, parentheses in strings escaped), so references
are found by one expression that steps over strings.
"""

from __future__ import annotations

import re
import struct
from array import array
from pathlib import Path
from typing import BinaryIO, Protocol, Sequence

import pymupdf

# where an object went: offset of its "N 0 obj" line, length of its text, length of its stream (-1: none)
_RECORD = struct.Struct("<Qii")
_NOT_DELIMITER = rb"[^\s()<>\[\]{}/%]"
_STRING = re.compile(rb"\((?:[^()\\]|\\.)*\)")  # MuPDF escapes the parentheses inside a string
_TOKEN = re.compile(
    rb"(?P<string>" + _STRING.pattern + rb"|<[0-9A-Fa-f\s]*>)"  # a string: left as it is
    rb"|(?P<parent>/Parent )?(?<!" + _NOT_DELIMITER + rb")(?P<number>\d+) \d+ R(?!" + _NOT_DELIMITER + rb")"
    rb"|(?P<unbalanced>\()",
    re.S,
)
_LENGTH = re.compile(rb"/Length (\d+)(?!\d)(?! \d+ R)")  # a direct /Length
_PAGE_OR_TREE = re.compile(rb"/Type ?/Pages?(?!" + _NOT_DELIMITER + rb")")
_INHERITED = ("Resources", "MediaBox", "CropBox", "Rotate")  # page attributes a page may take from its page tree


class Source(Protocol):
    def object(self, number: int) -> tuple[bytes, bytes | None]:
        """An object's text, and its stream's bytes as stored (None for an object without a stream)."""
        ...


class PdfWriter:
    """A PDF written object by object; where each one went is kept in `index` (a file), not in memory."""

    def __init__(self, path: Path, index: BinaryIO) -> None:
        self.out = open(path, "wb")
        self.index = index
        self.out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.count = 1  # object numbers handed out, the free object 0 included
        self.written = 0

    def reserve(self) -> int:
        """A number for an object written later (objects may be written in any order)."""
        self.count += 1
        return self.count - 1

    def write(self, number: int, text: bytes, stream: bytes | None = None) -> None:
        offset = self.out.tell()
        self.out.write(b"%d 0 obj\n%s\n" % (number, text))
        if stream is not None:
            self.out.write(b"stream\n%s\nendstream\n" % stream)
        self.out.write(b"endobj\n")
        self.index.seek(number * _RECORD.size)
        self.index.write(_RECORD.pack(offset, len(text), -1 if stream is None else len(stream)))
        self.written += 1

    def close(self, catalog: int) -> None:
        """The cross-reference table (read back from the index), the trailer, and the file closed."""
        if self.written != self.count - 1:
            raise RuntimeError(f"{self.count - 1 - self.written} PDF objects were numbered but never written")
        start = self.out.tell()
        self.out.write(b"xref\n0 %d\n0000000000 65535 f \n" % self.count)
        self.index.flush()
        self.index.seek(_RECORD.size)
        for _ in range(1, self.count):
            offset = _RECORD.unpack(self.index.read(_RECORD.size))[0]
            self.out.write(b"%010d 00000 n \n" % offset)
        self.out.write(b"trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (self.count, catalog, start))
        self.out.close()

    def page_tree(self, number: int, kids: Sequence[int], count: int, parent: int | None = None) -> None:
        up = b"/Parent %d 0 R" % parent if parent else b""
        self.write(number, b"<</Type/Pages%s/Kids[%s]/Count %d>>" % (up, _references(kids), count))


class MuPdfSource:
    """Objects of a (small) file opened with PyMuPDF, printed as MuPDF prints them."""

    def __init__(self, doc: pymupdf.Document) -> None:
        self.doc = doc

    def object(self, number: int) -> tuple[bytes, bytes | None]:
        text = self.doc.xref_object(number, compressed=True, ascii=True).encode("ascii")
        stream = self.doc.xref_stream_raw(number) if self.doc.xref_is_stream(number) else None
        if stream is not None and _stated_length(text) != len(stream):
            self.doc.xref_set_key(number, "Length", str(len(stream)))  # the length of the bytes written here
            text = self.doc.xref_object(number, compressed=True, ascii=True).encode("ascii")
        return text, stream

    def pages(self) -> list[int]:
        """The document's page objects, each given the attributes it inherits from its page tree."""
        doc = self.doc
        pages = [doc.page_xref(number) for number in range(doc.page_count)]
        inherited: dict[int, dict[str, str]] = {}  # for each page tree node, what its pages inherit
        for page in pages:
            parent = self._parent(page)
            if parent is None:
                continue
            if parent not in inherited:
                inherited[parent] = self._inheritable(parent)
            for key, value in inherited[parent].items():
                if doc.xref_get_key(page, key)[0] == "null":
                    doc.xref_set_key(page, key, value)
        return pages

    def _parent(self, number: int) -> int | None:
        kind, value = self.doc.xref_get_key(number, "Parent")
        return int(value.split()[0]) if kind == "xref" else None

    def _inheritable(self, node: int | None) -> dict[str, str]:
        """Each inheritable attribute as the nearest of `node` and its ancestors holds it."""
        found: dict[str, str] = {}
        seen: set[int] = set()
        while node is not None and node not in seen:  # a page tree that loops back is read once round
            seen.add(node)
            for key in _INHERITED:
                kind, value = self.doc.xref_get_key(node, key)
                if key not in found and kind != "null":
                    found[key] = value
            node = self._parent(node)
        return found


class WrittenSource:
    """Objects of a file written by PdfWriter, found through its index."""

    def __init__(self, pdf: BinaryIO, index: BinaryIO) -> None:
        self.pdf = pdf
        self.index = index

    def object(self, number: int) -> tuple[bytes, bytes | None]:
        self.index.seek(number * _RECORD.size)
        offset, length, stream = _RECORD.unpack(self.index.read(_RECORD.size))
        self.pdf.seek(offset)
        if self.pdf.readline() != b"%d 0 obj\n" % number:
            raise ValueError(f"object {number} is not where the index says")
        text = self.pdf.read(length)
        if stream < 0:
            return text, None
        self.pdf.seek(len(b"\nstream\n"), 1)
        return text, self.pdf.read(stream)


class PageCopier:
    """Copies pages of one source, with every object they use, to a writer under new numbers.

    An object used by several pages is copied once. Other pages and page tree nodes are not copied
    (a reference to one becomes null): only the pages asked for go across."""

    def __init__(self, source: Source, writer: PdfWriter) -> None:
        self.source = source
        self.writer = writer
        self.numbers: dict[int, int | None] = {}  # source object -> its number in the writer (None: left out)
        self.pending: list[tuple[int, bytes, bytes | None]] = []

    def page(self, page: int, parent: int) -> int:
        """Copy a page object under `parent`; its number in the writer."""
        number = self.numbers[page] = self.writer.reserve()
        text, stream = self.source.object(page)
        self.writer.write(number, self._renumbered(text, parent), stream)
        while self.pending:
            copied, text, stream = self.pending.pop()
            self.writer.write(copied, self._renumbered(text, None), stream)
        return number

    def _number(self, old: int) -> int | None:
        if old not in self.numbers:
            text, stream = self.source.object(old)
            if _PAGE_OR_TREE.search(_STRING.sub(b"()", text)):
                self.numbers[old] = None
            else:
                self.numbers[old] = self.writer.reserve()
                self.pending.append((self.numbers[old], text, stream))  # type: ignore[arg-type]
        return self.numbers[old]

    def _renumbered(self, text: bytes, parent: int | None) -> bytes:
        def swap(match: re.Match[bytes]) -> bytes:
            if match["unbalanced"]:
                raise ValueError("a PDF string with unescaped parentheses: not as MuPDF prints objects")
            if match["number"] is None:
                return match[0]
            key = b"/Parent " if match["parent"] else b""
            if key and parent is not None:
                return key + b"%d 0 R" % parent
            number = self._number(int(match["number"]))
            return key + (b"null" if number is None else b"%d 0 R" % number)

        return _TOKEN.sub(swap, text)


def _stated_length(text: bytes) -> int | None:
    found = _LENGTH.search(_STRING.sub(b"()", text))
    return int(found[1]) if found else None


def _references(numbers: Sequence[int]) -> bytes:
    return b" ".join(b"%d 0 R" % number for number in numbers)


def write_page_range(pdf: Path, index: Path, pages: Sequence[int], target: Path, scratch: BinaryIO) -> None:
    """`pages` of `pdf` (a file written by PdfWriter, whose index is `index`) as a PDF of their own."""
    with open(pdf, "rb") as file, open(index, "rb") as where:
        writer = PdfWriter(target, scratch)
        catalog, tree = writer.reserve(), writer.reserve()
        copier = PageCopier(WrittenSource(file, where), writer)
        kids = array("i", (copier.page(page, tree) for page in pages))
        writer.page_tree(tree, kids, len(kids))
        writer.write(catalog, b"<</Type/Catalog/Pages %d 0 R>>" % tree)
        writer.close(catalog)


class PageTree:
    """Pages written under nodes of at most `branch` pages each, the nodes under one root, so that no
    node's list of kids grows with the file. Each page's number also goes to `listing` (4 bytes a page),
    for reading the file back a range of pages at a time."""

    def __init__(self, writer: PdfWriter, root: int, listing: BinaryIO, branch: int = 500) -> None:
        self.writer = writer
        self.root = root
        self.listing = listing
        self.branch = branch
        self.node: int | None = None
        self.kids = array("i")
        self.nodes = array("i")
        self.count = 0

    def add(self, source: MuPdfSource) -> int:
        """Every page of `source`, in order; the number of its first page."""
        copier = PageCopier(source, self.writer)
        numbers = array("i")
        for page in source.pages():
            if self.node is None:
                self.node = self.writer.reserve()
            numbers.append(copier.page(page, self.node))
            self.kids.append(numbers[-1])
            if len(self.kids) == self.branch:
                self._close_node()
        if not numbers:
            raise ValueError("a document without pages")
        numbers.tofile(self.listing)
        self.count += len(numbers)
        return numbers[0]

    def _close_node(self) -> None:
        assert self.node is not None
        self.writer.page_tree(self.node, self.kids, len(self.kids), parent=self.root)
        self.nodes.append(self.node)
        self.node, self.kids = None, array("i")

    def close(self) -> None:
        if self.kids:
            self._close_node()
        self.writer.page_tree(self.root, self.nodes, self.count)


class Outline:
    """Top-level bookmarks, each written as it comes: the one before it reserved its number."""

    def __init__(self, writer: PdfWriter, root: int, entries: int) -> None:
        self.writer = writer
        self.root = root
        self.entries = self.left = entries
        self.first = self.next = writer.reserve() if entries else None
        self.previous: int | None = None

    def add(self, title: str, page: int) -> None:
        number = self.next
        if number is None:
            raise ValueError("more bookmarks than were announced")
        self.left -= 1
        self.next = self.writer.reserve() if self.left else None
        fields = [b"/Title " + pymupdf.get_pdf_str(title).encode("ascii"), b"/Parent %d 0 R" % self.root, b"/Dest[%d 0 R/Fit]" % page]
        if self.previous:
            fields.append(b"/Prev %d 0 R" % self.previous)
        if self.next:
            fields.append(b"/Next %d 0 R" % self.next)
        self.writer.write(number, b"<<%s>>" % b"".join(fields))
        self.previous = number

    def close(self) -> None:
        if self.left:
            raise ValueError(f"{self.left} announced bookmarks were not added")
        if self.first is None:
            self.writer.write(self.root, b"<</Type/Outlines/Count 0>>")
        else:
            self.writer.write(self.root, b"<</Type/Outlines/First %d 0 R/Last %d 0 R/Count %d>>" % (self.first, self.previous, self.entries))
