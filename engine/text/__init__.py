"""Report text as departments write it: concepts, words and points (no rubric words in Python).

`load_concepts` reads a concepts file (rules/concepts/<version>.toml); `read_points` cuts a
report section into points; `Lexicon` matches a concept's words by words, not substrings.
"""

from engine.text.concepts import Concepts, load_concepts
from engine.text.points import Point, read_points
from engine.text.words import Lexicon, lexicon

__all__ = [
    "Concepts",
    "Lexicon",
    "Point",
    "lexicon",
    "load_concepts",
    "read_points",
]
