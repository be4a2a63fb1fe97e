"""How text becomes searchable tokens: split on anything not a letter or digit, lower-case, fold accents.

These rules mirror the index analyzers (tantivy: simple tokenizer + lowercase + ascii_fold;
Elasticsearch: standard-ish tokenizer + lowercase + asciifolding) so the highlighter and the
proximity verifier see the same words the index does.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import snowballstemmer

_WORD = re.compile(r"[^\W_]+")
# Letters NFKD does not decompose but ascii_fold/asciifolding map to ASCII.
_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                          "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ð": "d", "ı": "i"})
_STEMMER = snowballstemmer.stemmer("english")


class Token(NamedTuple):
    text: str  # folded
    start: int  # character offsets into the original string
    end: int
    position: int


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case and accent-free: 'Café' -> 'cafe', 'STRASSE' and 'Straße' -> 'strasse'."""
    if text.isascii():
        return text.lower()
    lowered = text.lower().translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[Token]:
    if text.isascii():  # the common case: folding is lower-casing and keeps offsets
        return [Token(m.group(), m.start(), m.end(), i) for i, m in enumerate(_WORD.finditer(text.lower()))]
    return [Token(fold(m.group()), m.start(), m.end(), i) for i, m in enumerate(_WORD.finditer(text))]


def words(text: str) -> list[str]:
    """The folded words of a piece of user text, in order."""
    return [fold(m.group()) for m in _WORD.finditer(text)]


def is_word_char(char: str) -> bool:
    return char.isalnum()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English (Porter2/Snowball) stem of a folded word, as the stemmed index field holds it."""
    return _STEMMER.stemWord(word)
