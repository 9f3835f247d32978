"""Words, not substrings: jieba with the concepts' words added, over simplified characters.

jieba (maintained, pure Python, a dictionary that takes added words) cuts text into words;
OpenCC (maintained, phrase-aware traditional -> simplified) runs first. The base dictionary is
read once per process; each concepts file gets its own copy with its words added, so one
file's words never change how another's text is cut (reports stay byte-identical).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

import jieba
import opencc

if TYPE_CHECKING:
    from engine.text.concepts import Concepts

# jieba logs its dictionary loading to stderr at DEBUG/INFO: keep it quiet.
jieba.setLogLevel(logging.WARNING)
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _base() -> jieba.Tokenizer:
    """jieba's own dictionary, read once (its cache file goes to the system temp dir)."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=8)
def _tokenizer(words: tuple[str, ...]) -> jieba.Tokenizer:
    """A copy of the base dictionary with `words` added (in sorted order: deterministic)."""
    base = _base()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in sorted(words):
        tokenizer.add_word(word, freq=tokenizer.suggest_freq(word, False))
    return tokenizer


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def unsegmentable(words: Iterable[str]) -> list[str]:
    """The words that, with all of them added to the dictionary, still do not come out whole."""
    listed = tuple(sorted(set(words)))
    tokenizer = _tokenizer(listed)
    with _LOCK:
        return [w for w in listed if w not in set(tokenizer.cut_for_search(w, HMM=False))]


class Lexicon:
    """Simplifies, cuts into words and finds concepts for one concepts file."""

    def __init__(self, concepts: Concepts) -> None:
        self.concepts = concepts
        spec = concepts.spec
        self._tokenizer = _tokenizer(tuple(concepts.words()))
        self._convert = _converter(spec.convert)
        self._clauses = re.compile("[" + re.escape(spec.segmentation.clause_separators) + "]")
        self._patterns = {
            name: [re.compile(p) for p in c.patterns] for name, c in spec.concepts.items()
        }

    def simplify(self, text: str) -> str:
        """Traditional characters read as simplified ones (same length, so spans still hold)."""
        converted = self._convert.convert(text)
        return converted if len(converted) == len(text) else _per_char(self._convert, text)

    def words(self, text: str) -> frozenset[str]:
        """The words of `text`, with the dictionary words inside longer ones (search mode)."""
        with _LOCK:  # jieba's tokenizer is not documented as thread-safe
            return frozenset(self._tokenizer.cut_for_search(text, HMM=False))

    def clause_concepts(self, clause: str) -> frozenset[str]:
        """The concepts present in one clause."""
        words = self.words(clause)
        memo: dict[str, bool] = {}
        spec = self.concepts.spec.concepts

        def has(name: str) -> bool:
            if name not in memo:
                concept = spec[name]
                alternatives = bool(concept.words or concept.patterns or concept.any)
                base = (
                    any(w in words for w in concept.words)
                    or any(p.search(clause) for p in self._patterns[name])
                    or any(has(ref) for ref in concept.any)
                    if alternatives
                    else True
                )
                memo[name] = (
                    base
                    and all(has(ref) for ref in concept.all)
                    and not any(has(ref) for ref in concept.none)
                )
            return memo[name]

        return frozenset(name for name in spec if has(name))

    def concepts_in(self, text: str) -> frozenset[str]:
        """The concepts present in any clause of `text` (a combination holds inside one clause)."""
        found: set[str] = set()
        for clause in self._clauses.split(text):
            if clause.strip():
                found |= self.clause_concepts(clause)
        return frozenset(found)

    def content_words(self, text: str) -> frozenset[str]:
        """Words of two or more characters that are not stop words (for matching content)."""
        stop = set(self.concepts.spec.stop_words)
        return frozenset(
            w for w in self.words(text) if len(w) >= 2 and w not in stop and not w.isdigit()
        )


def _per_char(converter: opencc.OpenCC, text: str) -> str:
    """Character by character, when a phrase conversion would change the length."""
    return "".join(c if len(out := converter.convert(c)) != 1 else out for c in text)


@lru_cache(maxsize=8)
def lexicon(concepts: Concepts) -> Lexicon:
    """One lexicon per loaded concepts file."""
    return Lexicon(concepts)
