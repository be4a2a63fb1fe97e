"""The combined PDF written an object at a time reads as the documents it was made from, and a page range
copied out of it reads as those pages of it."""

from __future__ import annotations

import subprocess
import tempfile
from array import array
from pathlib import Path

import pymupdf

from search_api.bundle.pdfstream import MuPdfSource, Outline, PageTree, PdfWriter, write_page_range


def source_pdf(path: Path, name: str, pages: int) -> Path:
    """A document whose pages take their size from the page tree, with text that looks like PDF syntax."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page(width=300, height=400)
        page.insert_text((20, 40), f"{name} page {number + 1} (see 1 0 R) \\ end", fontname="helv", fontsize=9)
    tree = int(doc.xref_get_key(doc.pdf_catalog(), "Pages")[1].split()[0])
    doc.xref_set_key(tree, "MediaBox", "[0 0 300 400]")
    for number in range(pages):
        doc.xref_set_key(doc.page_xref(number), "MediaBox", "null")
    doc.save(path, garbage=1, deflate=True)
    return path


def read(path: Path) -> tuple[list[str], list[pymupdf.Rect], list[list]]:
    """Each page's text and size, and the bookmarks, read back by MuPDF from a file it did not need to repair."""
    with pymupdf.open(path) as doc:
        assert not doc.is_repaired
        return [page.get_text().strip() for page in doc], [page.rect for page in doc], doc.get_toc()


def test_pages_in_order_with_bookmarks_and_a_range_read_back_on_its_own(tmp_path: Path) -> None:
    parts = [source_pdf(tmp_path / f"{name}.pdf", name, pages) for name, pages in (("Alpha", 3), ("Beta", 1), ("Gamma", 2))]
    combined, index = tmp_path / "combined.pdf", tmp_path / "combined.index"
    with open(index, "w+b") as where, open(tmp_path / "pages", "wb") as listing:
        writer = PdfWriter(combined, where)
        catalog, root, bookmarks = writer.reserve(), writer.reserve(), writer.reserve()
        tree = PageTree(writer, root, listing, branch=2)  # nodes end inside documents too
        outline = Outline(writer, bookmarks, len(parts))
        for part in parts:
            with pymupdf.open(part) as doc:
                outline.add(f"{part.stem} (é, 中)", tree.add(MuPdfSource(doc)))
        tree.close()
        outline.close()
        writer.write(catalog, b"<</Type/Catalog/Pages %d 0 R/Outlines %d 0 R>>" % (root, bookmarks))
        writer.close(catalog)

    texts, sizes, toc = read(combined)
    expected = [f"{name} page {n} (see 1 0 R) \\ end" for name, pages in (("Alpha", 3), ("Beta", 1), ("Gamma", 2)) for n in range(1, pages + 1)]
    assert texts == expected
    assert sizes == [pymupdf.Rect(0, 0, 300, 400)] * 6
    assert toc == [[1, "Alpha (é, 中)", 1], [1, "Beta (é, 中)", 4], [1, "Gamma (é, 中)", 5]]
    poppler = subprocess.run(["pdftotext", str(combined), "-"], capture_output=True, text=True, check=True)
    assert poppler.stderr == "" and [" ".join(p.split()) for p in poppler.stdout.split("\f")[:6]] == expected

    pages = array("i")
    with open(tmp_path / "pages", "rb") as listing:
        pages.fromfile(listing, 6)
    view = tmp_path / "view.pdf"
    with tempfile.TemporaryFile() as scratch:
        write_page_range(combined, index, pages[2:5], view, scratch)
    texts, sizes, toc = read(view)
    assert texts == expected[2:5] and toc == []
    assert view.stat().st_size < combined.stat().st_size  # the other pages' objects are not in it
