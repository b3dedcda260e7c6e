"""Find many values in a text in one pass (Aho-Corasick), as whole words only.

`ann@x.com` is found in `mail ann@x.com.` and `"ann@x.com"`, but not inside `joann@x.com`,
`ann@x.com.au` or `x.ann@x.com`; `123` is not found inside `1234` or `order-123`.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

_JOINERS_BEFORE = frozenset("_.+-@")  # a value preceded by these is the tail of a longer token
_JOINERS_AFTER = frozenset("_-@")


def _word(ch: str) -> bool:
    return ch.isalnum()


def bounded(text: str, start: int, end: int) -> bool:
    """Is text[start:end] a whole token, not part of a longer word, address or number?"""
    if start > 0:
        before = text[start - 1]
        if _word(before) or before in _JOINERS_BEFORE:
            return False
    if end < len(text):
        after = text[end]
        if _word(after) or after in _JOINERS_AFTER:
            return False
        if after == "." and end + 1 < len(text) and _word(text[end + 1]):
            return False  # ann@x.com inside ann@x.com.au
    return True


class TextSearch:
    """A set of values to look for; `ignore_case` compares lower-cased text."""

    def __init__(self, values: Iterable[str], ignore_case: bool = False):
        self.ignore_case = ignore_case
        self._automaton = ahocorasick.Automaton()
        self.size = 0
        for value in values:
            word = value.lower() if ignore_case else value
            if word and word not in self._automaton:
                self._automaton.add_word(word, word)
                self.size += 1
        if self.size:
            self._automaton.make_automaton()

    def __bool__(self) -> bool:
        return self.size > 0

    def prepare(self, text: str) -> str:
        return text.lower() if self.ignore_case else text

    def hits(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, value) of every whole-word occurrence in an already `prepare`d text."""
        if not self.size:
            return []
        out = []
        for last, word in self._automaton.iter(text):
            start = last - len(word) + 1
            if bounded(text, start, last + 1):
                out.append((start, last + 1, word))
        return out

    def values_in(self, text: str) -> set[str]:
        return {word for _, _, word in self.hits(self.prepare(text))}
