"""Thread ids already given to the emails of one original, by Message-ID, so that a reply guesses its final thread.

An email's thread is named after the first key of its thread's earliest email. A reply that names
only its parent (In-Reply-To, no References) cannot know that key on its own, and the thread pass
after the import then rewrites and re-indexes it. Within one mailbox the parent usually came
earlier, with a thread id of its own already guessed: the reply takes that one. The ids are kept
in a private temporary SQLite database (on disk past a small cache), so memory does not grow with
the mailbox. Only a guess: the thread pass still settles every thread.
"""

from __future__ import annotations

import sqlite3
from typing import Iterable

CACHE_KIB = 512
IN_MEMORY = 1000  # ids held in a dict before they move to the database: most originals hold one email, or a few


class ThreadHints:
    def __init__(self) -> None:
        self._recent: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None

    def thread_of(self, replied: Iterable[str]) -> str | None:
        """The thread id of the first of these (normalised) Message-IDs already seen, if any."""
        for message_id in replied:
            found = self._recent.get(message_id)
            if found is None and self._db is not None:
                row = self._db.execute("SELECT thread_id FROM seen WHERE message_id = ?", (message_id,)).fetchone()
                found = row[0] if row else None
            if found is not None:
                return found
        return None

    def remember(self, message_id: str, thread_id: str) -> None:
        if not message_id:
            return
        self._recent.setdefault(message_id, thread_id)
        if len(self._recent) >= IN_MEMORY:
            self._spill()

    def _spill(self) -> None:
        if self._db is None:
            self._db = sqlite3.connect("")  # "": a temporary database, deleted when closed
            self._db.executescript(
                f"PRAGMA cache_size=-{CACHE_KIB}; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE seen (message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL) WITHOUT ROWID;"
            )
        self._db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", self._recent.items())
        self._recent = {}

    def close(self) -> None:
        self._recent = {}
        if self._db is not None:
            self._db.close()
            self._db = None
