"""The names and numbers of a headline and lead, written so that scripts and languages meet.

Two write-ups of one event, in Russian and in English, share few words but the same names
(Токаев, Тоқаев, Токаєв, Tokayev) and the same figures (5,8 and 5.8; 80,000 and 80 тысяч). A
name is a capitalised word (or an upper-case acronym) that is not a stop word; Cyrillic
names are written in Latin letters (``transliteration.latin_spellings``, Kazakh letters first read
as their Russian neighbours) and reduced to a skeleton: digraphs as one letter, vowels after
the first letter dropped, doubled letters once, at most ``NAME_KEY_LETTERS`` letters. So
"Кличко" and "Klitschko" are both ``n:klck``, "Набиуллина" and "Nabiullina" ``n:nbln``.

A number keeps its significant part: decimal commas read as points ("5,8" is ``#5.8``),
thousands separators and trailing groups of zeros dropped ("80,000", "80 000" and "80" are all
``#80``), so figures meet whether written in full or with a word for thousands. Single digits
and years (1900-2099) say little about an event and are left out. The headline's numbers are
also kept apart (``h#``): two headlines with different figures (magnitude 5,8 and 4,2; a rate
of 21% and inflation of 8,4%) are more likely two events.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.text.fingerprints import STOPWORDS
from pipeline.text.transliteration import latin_spellings

NAME_KEY_LETTERS = 4
LEAD_WORDS = 60  # words of the text read after the headline
# Kazakh letters read as the Russian letters of the nearest sound, before transliterating.
KAZAKH_AS_RUSSIAN = str.maketrans(
    {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и"}
)
# Digraphs of the transliteration schemes and of English spellings, as one letter each.
DIGRAPHS = (
    ("shch", "s"),
    ("tsch", "c"),
    ("sch", "s"),
    ("tch", "c"),
    ("ch", "c"),
    ("sh", "s"),
    ("zh", "j"),
    ("kh", "h"),
    ("ts", "c"),
    ("tz", "c"),
    ("ph", "f"),
    ("w", "v"),
    ("x", "ks"),
    ("q", "k"),
)
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# Where a capital says nothing: at the start, and after a full stop, colon or quote.
SENTENCE_START = re.compile(r"(?:^|[.!?:«»\"“”]\s*)\s*$")
NUMBER = re.compile(
    r"(?<![\w.,])\d{1,3}(?:(?:[ \u00a0\u202f]|,(?=\d{3}\b))\d{3})+(?![\d])|\d+(?:[.,]\d+)?"
)


def story_keys(title: str | None, text: str | None, lead_words: int = LEAD_WORDS) -> list[str]:
    """The name keys (``n:...``) and number keys (``#...``) of a headline and its lead; the
    headline's numbers once more as ``h#...``."""
    lead = " ".join((text or "").split()[:lead_words])
    keys: dict[str, None] = {}
    for prefix, part in (("h#", title or ""), ("", lead)):
        for match in WORD.finditer(part):
            word = match.group()
            if not word[0].isupper() or SENTENCE_START.search(part, 0, match.start()):
                continue
            for piece in re.split(r"[-'’]", word):
                key = name_key(piece)
                if key:
                    keys[f"n:{key}"] = None
        for match in NUMBER.finditer(part):
            key = number_key(match.group())
            if key:
                keys[f"#{key}"] = None
                if prefix:
                    keys[f"{prefix}{key}"] = None
    return list(keys)


@lru_cache(maxsize=8192)
def name_key(word: str) -> str | None:
    """A name's skeleton in Latin letters; None for stop words and short words."""
    folded = word.lower()
    if len(folded) < 3 or folded in STOPWORDS:
        return None
    if not folded.isascii():
        spellings = latin_spellings(folded.translate(KAZAKH_AS_RUSSIAN))
        if not spellings:
            return None
        folded = spellings[0]
    if not folded.isalpha():
        return None
    if folded.startswith("ye"):  # Е at the start of a word: Emirates, Эмираты (yemiraty)
        folded = folded[1:]
    for digraph, letter in DIGRAPHS:
        folded = folded.replace(digraph, letter)
    skeleton = folded[0]
    for letter in folded[1:]:
        if letter not in "aeiouy" and letter != skeleton[-1]:
            skeleton += letter
    return skeleton[:NAME_KEY_LETTERS] if len(skeleton) >= 2 else None


def number_key(number: str) -> str | None:
    """A figure's significant part; None for single digits and years."""
    compact = re.sub(r"[ \u00a0\u202f]", "", number)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", compact):
        compact = compact.replace(",", "")
    compact = compact.replace(",", ".")
    if "." in compact:
        whole, fraction = compact.split(".", 1)
        fraction = fraction.rstrip("0")
        compact = f"{int(whole)}.{fraction}" if fraction else str(int(whole))
    else:
        compact = str(int(compact))
        if len(compact) == 4 and 1900 <= int(compact) <= 2099:
            return None
        while compact.endswith("000"):
            compact = compact[:-3]
    return compact if len(compact) >= 2 else None
