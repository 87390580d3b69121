"""Stemming for search: one stemmer per article language, the same rules for texts and queries.

Articles are indexed by the stems of their words, chosen by the article's detected language
(its *stemmer group*). Words in another script than the group's language are stemmed by the
script's main language (Cyrillic: Russian, Latin: English), so "NATO's" in a Russian article
and "Путина" in an English one are still found by their stems. A query is stemmed once per
group, with exactly the same function, so a query word and the words of an article meet when
they have the same stem in that article's language.

Snowball stemmers (PyStemmer) cover the languages in ``SNOWBALL``, except English, which keeps
only the inflectional steps of Snowball's English stemmer (``stem_english``: "borders" and
"border" meet, "election" and "elect" do not); Ukrainian, which Snowball lacks, gets the light
suffix stripper ``stem_ukrainian``; other languages (Kazakh, Belarusian, Georgian, ...) are in
group ``other``, where only the script fallback applies.
"""

from __future__ import annotations

from functools import cache, lru_cache

import Stemmer

from pipeline.text.tokens import search_tokens

SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
UKRAINIAN = "ukrainian"
OTHER = "other"
GROUPS: tuple[str, ...] = (*sorted(set(SNOWBALL.values())), UKRAINIAN, OTHER)

CYRILLIC_GROUPS = frozenset({"russian", UKRAINIAN, "serbian"})
LATIN_GROUPS = (
    frozenset(GROUPS)
    - CYRILLIC_GROUPS
    - {
        "arabic",
        "armenian",
        "greek",
        "hindi",
        "nepali",
        "persian",
        "tamil",
        "yiddish",
        OTHER,
    }
)
LATIN_OR_CYRILLIC_GROUPS = LATIN_GROUPS | CYRILLIC_GROUPS


def group_for(language: str | None) -> str:
    """The stemmer group of an ISO 639-1 language code."""
    if not language:
        return OTHER
    language = language.lower()
    if language == "uk":
        return UKRAINIAN
    return SNOWBALL.get(language, OTHER)


def stem_words(tokens: list[str], group: str) -> list[str]:
    return [stem(token, group) for token in tokens]


def stem_text(text: str, group: str) -> str:
    """The text as space-separated stems, for the search index."""
    return " ".join(stem_words(search_tokens(text), group))


@lru_cache(maxsize=1 << 15)  # the words of a few hundred articles: bounded memory
def stem(word: str, group: str) -> str:
    """The stem of one lower-cased word in an article of ``group``."""
    script = _script(word)
    if script == "cyrillic" and group not in CYRILLIC_GROUPS:
        group = "russian"
    elif script == "latin" and group not in LATIN_GROUPS:
        group = "english"
    elif script == "other" and group in LATIN_OR_CYRILLIC_GROUPS:
        return word
    if group == UKRAINIAN:
        return stem_ukrainian(word)
    if group == "english":
        return stem_english(word)
    if group == OTHER:
        return word
    return str(_snowball(group).stemWord(word))


@cache
def _snowball(algorithm: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(algorithm, 10_000)


def _script(word: str) -> str:
    for char in word:
        if char.isdigit() or char == "_":
            continue
        if "\u0400" <= char <= "\u052f":
            return "cyrillic"
        if char.isascii() or "\u00c0" <= char <= "\u024f":
            return "latin"
        return "other"
    return "latin"


UKRAINIAN_VOWELS = frozenset("аеиоуюяіїє")
# Inflectional endings of nouns, adjectives and verbs, longest first.
UKRAINIAN_ENDINGS = sorted(
    [
        "ування",
        "ують",
        "ють",
        "ять",
        "ать",
        "ить",
        "ати",
        "яти",
        "ити",
        "ями",
        "ами",
        "ові",
        "еві",
        "єві",
        "ого",
        "ому",
        "ими",
        "іми",
        "ією",
        "єю",
        "ею",
        "ою",
        "ій",
        "ий",
        "ої",
        "ах",
        "ях",
        "ів",
        "їв",
        "ом",
        "ем",
        "єм",
        "им",
        "ім",
        "их",
        "іх",
        "ам",
        "ям",
        "или",
        "али",
        "ила",
        "ала",
        "ла",
        "ло",
        "ли",
        "ую",
        "ює",
        "ує",
        "ає",
        "а",
        "я",
        "у",
        "ю",
        "і",
        "ї",
        "и",
        "е",
        "є",
        "о",
        "й",
        "ь",
    ],
    key=len,
    reverse=True,
)


def stem_ukrainian(word: str) -> str:
    """A light Ukrainian stemmer: the reflexive suffix, then the longest inflectional ending,
    then a final soft sign or і/ї, removed after the first vowel, keeping at least two letters.

    мобілізація, мобілізації, мобілізацію and мобілізацією all give мобілізац.
    """
    first_vowel = next((i for i, c in enumerate(word) if c in UKRAINIAN_VOWELS), None)
    if first_vowel is None:
        return word
    keep = max(first_vowel + 1, 2)
    for suffix in ("ся", "сь"):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep + 2:
            word = word[: -len(suffix)]
            break
    for ending in UKRAINIAN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= keep:
            word = word[: -len(ending)]
            break
    if word[-1:] in ("ь", "і", "ї", "й") and len(word) - 1 >= keep + 1:
        word = word[:-1]
    return word


ENGLISH_VOWELS = frozenset("aeiouy")
ENGLISH_DOUBLES = ("bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt")
ENGLISH_R1_PREFIXES = ("gener", "commun", "arsen")


def stem_english(word: str) -> str:
    """Steps 1a, 1b and 1c of the Porter2 (Snowball English) stemmer: plurals, -ed, -ing and a
    final y, but none of the derivational steps that make "election" and "elect", or
    "government" and "governing", one word.
    """
    if len(word) <= 2 or not word.isascii() or not word.isalpha():
        return word
    # y at the start or after a vowel is a consonant: written Y while stemming.
    chars = list(word)
    for i, char in enumerate(chars):
        if char == "y" and (i == 0 or chars[i - 1] in ENGLISH_VOWELS):
            chars[i] = "Y"
    word = "".join(chars)
    r1 = _english_r1(word)
    # Step 1a
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith(("ied", "ies")):
        word = word[:-2] if len(word) > 4 else word[:-1]
    elif word.endswith(("us", "ss")):
        pass
    elif word.endswith("s") and any(c in ENGLISH_VOWELS for c in word[:-2]):
        word = word[:-1]
    # Step 1b
    for suffix in ("eedly", "eed"):
        if word.endswith(suffix):
            if len(word) - len(suffix) >= r1:
                word = word[: -len(suffix)] + "ee"
            break
    else:
        for suffix in ("ingly", "edly", "ing", "ed"):
            if word.endswith(suffix):
                base = word[: -len(suffix)]
                if any(c in ENGLISH_VOWELS for c in base):
                    word = base
                    if word.endswith(("at", "bl", "iz")):
                        word += "e"
                    elif word.endswith(ENGLISH_DOUBLES):
                        word = word[:-1]
                    elif _english_short(word, r1):
                        word += "e"
                break
    # Step 1c
    if len(word) > 2 and word[-1] in "yY" and word[-2] not in ENGLISH_VOWELS:
        word = word[:-1] + "i"
    return word.replace("Y", "y")


def _english_r1(word: str) -> int:
    for prefix in ENGLISH_R1_PREFIXES:
        if word.startswith(prefix):
            return len(prefix)
    for i in range(1, len(word)):
        if word[i] not in ENGLISH_VOWELS and word[i - 1] in ENGLISH_VOWELS:
            return i + 1
    return len(word)


def _english_short(word: str, r1: int) -> bool:
    """A short word: R1 is empty and it ends in a short syllable."""
    if r1 < len(word):
        return False
    if len(word) == 2:
        return word[0] in ENGLISH_VOWELS and word[1] not in ENGLISH_VOWELS
    return (
        len(word) >= 3
        and word[-3] not in ENGLISH_VOWELS
        and word[-2] in ENGLISH_VOWELS
        and word[-1] not in ENGLISH_VOWELS
        and word[-1] not in "wxY"
    )
