"""Giving freed memory back to the operating system."""

from __future__ import annotations

import ctypes


def return_freed_memory() -> None:
    """Hand freed heap memory back to the system (glibc's malloc_trim).

    Python's objects, SQLite's pages and tantivy's buffers and merges are allocated and freed by the
    million on several threads; glibc keeps what they free in per-thread arenas, fragmented, so
    without this a long run's resident memory keeps what its busiest moment took, in every arena.
    Elsewhere (no glibc) it does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
