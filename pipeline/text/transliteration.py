"""Spellings of a word in the other script, for cross-script search.

``latin_spellings`` writes a Cyrillic word in Latin letters by the schemes English texts use
(iuliia's Wikipedia, BGN/PCGN, ICAO Doc 9303, Moscow Metro and Yandex Maps schemes):
"Токаев" gives "tokayev" and "tokaev". Ukrainian letters are first written as the Russian
letters of the same sound, so "Харків" gives "kharkiv" and "Зеленський" "zelensky".

``cyrillic_spellings`` goes the other way, by the same schemes read backwards: every way of
cutting the Latin word into pieces that some scheme writes for a Cyrillic letter, the pieces
most schemes agree on first ("tokayev" and "tokaev" both give "токаев"). For Ukrainian, the
Russian spellings are rewritten with the Ukrainian letters of the same sound ("токаєв",
"харків", "київ"). Two documented exceptions are glued on here:

- ``CENTRAL_ASIAN``: "j" is also ж and дж, as Kazakh and Kyrgyz names are written in English
  (Japarov: Жапаров, Tajikistan: Таджикистан);
- ``EXONYMS``: names whose English, Russian and Ukrainian forms are not transliterations of one
  another (Kharkiv and Харьков, Kyiv and Киев, Russia and Россия, Ashgabat and Ашхабад).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache

import iuliia

# iuliia's schemes that give the spellings used in English texts.
SCHEMES = ("wikipedia", "bgn_pcgn", "icao_doc_9303", "mosmetro", "yandex_maps")
# Cyrillic spellings kept per Latin word (per language), the most agreed on first.
MAX_SPELLINGS = 4
BEAM = 64
CENTRAL_ASIAN = {"j": ("ж", "дж")}
# Latin name: (Russian forms, Ukrainian forms).
EXONYMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kharkiv": (("харьков",), ()),
    "kharkov": (("харьков",), ("харків",)),
    "kyiv": (("киев",), ()),
    "kiev": (("киев",), ("київ",)),
    "russia": (("россия",), ("росія",)),
    "ashgabat": (("ашхабад",), ()),
    "zelenskyy": (("зеленский",), ("зеленський",)),
    "ukraine": (("украина",), ("україна",)),
}
# Ukrainian letters written as the Russian letters of the same sound, before a Russian scheme.
UKRAINIAN_AS_RUSSIAN = str.maketrans({"и": "ы", "і": "и", "ї": "и", "є": "е", "ґ": "г"})
UKRAINIAN_LETTERS = frozenset("іїєґ")
VOWELS = frozenset("аеёиоуыэюяіїє")
CONSONANTS = frozenset("бвгджзклмнпрстфхцчшщ")


@lru_cache(maxsize=4096)
def latin_spellings(word: str) -> tuple[str, ...]:
    """A case-folded Cyrillic word in Latin letters, by each scheme (distinct spellings)."""
    source = word.translate(UKRAINIAN_AS_RUSSIAN) if UKRAINIAN_LETTERS & set(word) else word
    # BGN/PCGN keeps ё (yё after a vowel), which English texts write yo.
    spellings = [
        _scheme(name).translate(variant).lower().replace("yё", "yo").replace("ё", "yo")
        for variant in _with_yo(source)
        for name in SCHEMES
    ]
    spellings += [latin for latin, forms in EXONYMS.items() if word in forms[0] + forms[1]]
    return tuple(s for s in dict.fromkeys(spellings) if s.isascii() and s.isalpha())


def _with_yo(word: str) -> list[str]:
    """The word, and with an е after a vowel or at the start read as ё: ``search_tokens`` writes
    ё as е, and schemes write ё as yo ("мирзиеев" was "Мирзиёев")."""
    variants = [word]
    for i, char in enumerate(word):
        if char == "е" and i and word[i - 1] in VOWELS and len(variants) < 4:
            variants += [variant[:i] + "ё" + variant[i + 1 :] for variant in variants]
    return variants


@lru_cache(maxsize=4096)
def cyrillic_spellings(word: str, ukrainian: bool = False) -> tuple[str, ...]:
    """A case-folded Latin word in Cyrillic letters: Russian spellings, or with ``ukrainian``
    Ukrainian ones; the most likely first (a name of ``EXONYMS`` before its transliterations)."""
    if not word.isascii() or not word.isalpha():
        return ()
    russian = _backwards(word)
    exonyms = list(EXONYMS.get(word, ((), ()))[ukrainian])
    if ukrainian:
        spellings = exonyms + [_as_ukrainian(spelling) for spelling in russian] + russian[:2]
    else:
        spellings = exonyms + russian
    return tuple(dict.fromkeys(spellings))


def _backwards(word: str) -> list[str]:
    pieces, endings = _inverse()
    longest = max(len(latin) for latin in pieces)
    # (cost, cyrillic) per position: a piece costs what the schemes disagree on it, plus one.
    beams: list[list[tuple[int, str]]] = [[] for _ in range(len(word) + 1)]
    beams[0] = [(0, "")]
    for start in range(len(word)):
        beams[start] = sorted(set(beams[start]))[:BEAM]
        for cost, cyrillic in beams[start]:
            for size in range(1, min(longest, len(word) - start) + 1):
                latin = word[start : start + size]
                options = pieces.get(latin, {})
                if start + size == len(word):
                    options = dict(options)  # the piece's own options are shared: not changed
                    for letters, votes in endings.get(latin, {}).items():
                        options[letters] = max(options.get(letters, 0), votes)
                for letters, votes in options.items():
                    step = len(SCHEMES) - votes + 1 + _unlikely(cyrillic, letters)
                    beams[start + size].append((cost + step, cyrillic + letters))
    ranked = sorted(set(beams[len(word)]))
    return [cyrillic for _, cyrillic in ranked[:MAX_SPELLINGS]]


def _unlikely(before: str, letters: str) -> int:
    """How unlikely Russian spelling makes ``letters`` after ``before``: ы at the start or after
    a vowel, й after a consonant or before a vowel, ё and э inside a word, a soft sign after a
    vowel."""
    last = before[-1:] if before else ""
    first = letters[0]
    cost = 0
    if first == "ы" and (not last or last in VOWELS):
        cost += 5
    if first == "й" and (not last or last in CONSONANTS):
        cost += 3
    if last == "й" and first in VOWELS:
        cost += 2
    if first in "ёэ" and last:
        cost += 1 if first == "ё" else 2
    if first in "ьъ" and last in VOWELS:
        cost += 5
    return cost


def _as_ukrainian(russian: str) -> str:
    """Russian letters rewritten as Ukrainian spelling writes the same sounds."""
    word = russian.replace("ский", "ський").replace("цкий", "цький")
    out: list[str] = []
    for i, char in enumerate(word):
        before = out[-1] if out else ""
        if char == "и":
            char = "ї" if before in VOWELS and i else "і"
            if word.endswith("ий") and i == len(word) - 2:
                char = "и"
        elif char == "ы":
            char = "и"
        elif char == "э":
            char = "е"
        elif char == "ё":
            char = "йо" if not before or before in VOWELS else "ьо"
        elif char == "е" and before in VOWELS:
            char = "є"
        out.append(char)
    return "".join(out)


@cache
def _inverse() -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Latin piece to Cyrillic letters, with how many schemes write them so; and the same for
    word endings."""
    pieces: dict[str, dict[str, int]] = {}
    endings: dict[str, dict[str, int]] = {}
    for name in SCHEMES:
        data = json.loads(_scheme(name).path.read_text(encoding="utf-8"))
        seen: set[tuple[str, str]] = set()
        for letter, latin in data["mapping"].items():
            seen.add((latin, letter))
        for letters, latin in (data.get("prev_mapping") or {}).items():
            if latin.startswith("y"):  # е and ё after a vowel: ye, yo
                seen.add((latin, letters[-1]))
        for latin, letter in seen:
            if latin and latin.isascii() and latin.isalpha():
                table = pieces.setdefault(latin, {})
                table[letter] = table.get(letter, 0) + 1
        for letters, latin in (data.get("ending_mapping") or {}).items():
            if latin and latin.isascii():
                table = endings.setdefault(latin, {})
                table[letters] = table.get(letters, 0) + 1
    for latin, letters in CENTRAL_ASIAN.items():
        for cyrillic in letters:
            pieces.setdefault(latin, {})[cyrillic] = 1
    return pieces, endings


@cache
def _scheme(name: str) -> iuliia.Schema:
    schema: iuliia.Schema = getattr(iuliia, name.upper())
    return schema
