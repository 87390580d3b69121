"""Stemming for search: one stemmer per article language, the same rules for texts and queries.

Articles are indexed by the stems of their words, chosen by the article's detected language
(its *stemmer group*). Words in another script than the group's language are stemmed by the
script's main language (Cyrillic: Russian, Latin: English), so "NATO's" in a Russian article
and "Путина" in an English one are still found by their stems. A query is stemmed once per
group, with exactly the same function, so a query word and the words of an article meet when
they have the same stem in that article's language.

Snowball stemmers (PyStemmer) cover the languages in ``SNOWBALL``; Ukrainian, which Snowball
lacks, gets the light suffix stripper ``stem_ukrainian``; other languages (Kazakh, Belarusian,
Georgian, ...) are in group ``other``, where only the script fallback applies.
"""

from __future__ import annotations

import re
from functools import cache

import Stemmer

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
WORD = re.compile(r"\w+")


def group_for(language: str | None) -> str:
    """The stemmer group of an ISO 639-1 language code."""
    if not language:
        return OTHER
    language = language.lower()
    if language == "uk":
        return UKRAINIAN
    return SNOWBALL.get(language, OTHER)


def words(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words, with ё written as е (as most Russian texts do)."""
    return WORD.findall(text.casefold().replace("ё", "е"))


def stem_words(tokens: list[str], group: str) -> list[str]:
    return [stem(token, group) for token in tokens]


def stem_text(text: str, group: str) -> str:
    """The text as space-separated stems, for the search index."""
    return " ".join(stem_words(words(text), group))


def stem(word: str, group: str) -> str:
    """The stem of one lower-cased word in an article of ``group``."""
    script = _script(word)
    if script == "cyrillic" and group not in CYRILLIC_GROUPS:
        group = "russian"
    elif script == "latin" and group not in LATIN_GROUPS:
        group = "english"
    elif script == "other" and group in LATIN_GROUPS | CYRILLIC_GROUPS:
        return word
    if group == UKRAINIAN:
        return stem_ukrainian(word)
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
