"""A project name in any language as a default slug, in Jinja that both engines evaluate.

copier runs without `_jinja_extensions` (they need --trust) and cookiecutter has no regex filter,
so the slug is made with str methods alone: lowercase; Latin letters transliterated through a
table generated here from Unicode's decompositions (é -> e, ß -> ss, ł -> l); every other character
(punctuation, letters of other scripts) a word break; words joined by single hyphens. A name with
no Latin letter or digit gives `-`, which questions.yml's rule refuses, asking for a slug (not an
empty slug: cookiecutter names the project's folder after it before its hook can say so).
"""

from __future__ import annotations

import string
import unicodedata

# Latin letters that decompose to no ASCII letter, or that are written as two.
SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ħ": "h",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "ŀ": "l",
    "ł": "l",
    "ŋ": "n",
    "ĸ": "k",
    "ŧ": "t",
    "ƀ": "b",
    "ƒ": "f",
    "ǥ": "g",
    "ɨ": "i",
    "ʉ": "u",
}
# Latin-1 Supplement, Latin Extended-A and -B, Latin Extended Additional (Vietnamese and more),
# the Latin ligatures (ﬁ, ﬂ).
LATIN = [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00), *range(0xFB00, 0xFB07)]
# Combining accents: a name typed in decomposed form (e + U+0301) keeps its base letter.
COMBINING = [chr(code) for code in range(0x0300, 0x0370)]


def letters() -> dict[str, str]:
    """Each lowercase Latin letter and its ASCII spelling: its decomposition without accents."""
    found = {}
    for code in LATIN:
        char = chr(code)
        if char != char.lower():
            continue  # names are lowercased first
        parts = unicodedata.normalize("NFKD", char)
        base = "".join(part for part in parts if not unicodedata.combining(part))
        if base.isascii() and base.isalpha():
            found[char] = base.lower()
    return found | SPECIAL


def _jinja_literal(text: str, escape: bool = False) -> str:
    """A single-quoted Jinja string literal; `escape` writes every character as \\uXXXX."""
    if escape:
        return "'" + "".join(f"\\u{ord(char):04x}" for char in text) + "'"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def jinja(name: str) -> str:
    """The Jinja default that turns the answer `name` into a slug (both engines evaluate it)."""
    table = letters()
    single = {char: ascii for char, ascii in table.items() if len(ascii) == 1}
    single |= dict.fromkeys(string.punctuation, " ")
    one_to_one = (
        f"''.maketrans({_jinja_literal(''.join(single))}, "
        f"{_jinja_literal(''.join(single.values()))}, "
        f"{_jinja_literal(''.join(COMBINING), escape=True)})"
    )
    pairs = ", ".join(
        f"{_jinja_literal(char)}: {_jinja_literal(ascii)}"
        for char, ascii in table.items()
        if len(ascii) > 1
    )
    return (
        f"{{{{ {name}.lower().translate({one_to_one}).translate(''.maketrans({{{pairs}}}))"
        ".encode('ascii', 'replace').decode().replace('?', ' ').split() | join('-') or '-' }}"
    )
