"""Stemming for search: one stemmer per article language, the same rules for texts and queries.

Articles are indexed by one key per word (its *stem*), chosen by the article's detected language
(its *stemmer group*). Words in another script than the group's language are stemmed by the
script's main language (Cyrillic: Russian, Latin: English), so "NATO's" in a Russian article
and "Путина" in an English one are still found by their stems.

Texts are stemmed by stemmers alone, cheap enough for every word of every article and small
enough for the extraction workers; the word forms that stemmers cannot fold are brought in on
the query side, where a query word is looked up by the stems of all its forms
(``query_stems``). Whatever key an inflected form got in the index, the query holds it.

- **Russian**: the Snowball Russian stemmer (PyStemmer) in the index. A query word's forms are
  those of its lexemes in pymorphy3 (OpenCorpora's dictionary; guessed for words it does not
  know), so "Казахстан" also looks for "казахстан", the stem Snowball gives "Казахстане", and
  "человек" for "люд" ("люди"). pymorphy3 does not know that a lower-cased word it has not
  seen is a surname: a query word that ends like one also gets the case endings of pymorphy3's
  model surname (Токаев: Токаева, Токаевым).
- **Ukrainian**: ``stem_ukrainian``, a light suffix stripper, in the index (Snowball has no
  Ukrainian); a query word's forms are those of its lexemes in pymorphy3's Ukrainian dictionary.
- **English**: the full Snowball English (Porter2) stemmer, after British spellings are written
  the American way (``american_spelling``: -ise/-isation/-yse as -ize/-ization/-yze, -our as
  -or), so "mobilised", "mobilisation" and "mobilize" meet, as do "decide" and "deciding".
- **Kazakh and Kyrgyz**: no maintained stemmer exists for them; ``stem_turkic`` strips the case
  endings of nouns and names (Қазақстанның, Тоқаевқа, Бишкекте) and nothing else; a query word
  also looks for itself unstripped (Астана, whose -на looks like an ending).
- Other Snowball languages are stemmed by Snowball; the rest (group ``other``) only by script.

A query word in another script than the group's also looks for its spellings in the group's
script (``pipeline.text.transliteration``), with their forms: "Tokayev" for "Токаев" and
"Токаєв", "Казахстан" for "kazakhstan".
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import Stemmer

from pipeline.text.tokens import search_tokens

if TYPE_CHECKING:
    import pymorphy3

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
KAZAKH = "kazakh"
KYRGYZ = "kyrgyz"
OTHER = "other"
GROUPS: tuple[str, ...] = (*sorted({*SNOWBALL.values(), KAZAKH, KYRGYZ}), UKRAINIAN, OTHER)
LANGUAGE_GROUPS = {"uk": UKRAINIAN, "kk": KAZAKH, "ky": KYRGYZ}

CYRILLIC_GROUPS = frozenset({"russian", UKRAINIAN, "serbian", KAZAKH, KYRGYZ})
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
# pymorphy3's dictionaries, by stemmer group.
MORPHOLOGY = {"russian": "ru", UKRAINIAN: "uk"}
# A query word is looked up by at most this many stems per group.
MAX_QUERY_STEMS = 40
# Shorter query words are not looked for in the other script ("on" is not "он").
MIN_TRANSLITERATED = 3
# Lexemes of a query word taken from pymorphy3 (its parses, most likely first).
MAX_LEXEMES = 4
# pymorphy3 does not know that a lower-cased word it has not seen is a surname: a query word
# ending like a Russian surname also gets the case endings of the model surname.
SURNAME_SUFFIXES = ("ов", "ев", "ин", "ын")
SURNAME_MODEL = "иванов"


def group_for(language: str | None) -> str:
    """The stemmer group of an ISO 639-1 language code."""
    if not language:
        return OTHER
    language = language.lower()
    return LANGUAGE_GROUPS.get(language) or SNOWBALL.get(language, OTHER)


def stem_words(tokens: list[str], group: str) -> list[str]:
    """The stems of words (from ``search_tokens``) in an article of ``group``."""
    return [stem(token, group) for token in tokens]


def stem_text(text: str, group: str) -> str:
    """The text as space-separated stems, for the search index."""
    return " ".join(stem_words(search_tokens(text), group))


def word_group(word: str, group: str) -> str:
    """The group whose rules stem ``word`` in an article of ``group``: a word in another script
    than the group's is stemmed by its script's main language; ``other`` means left as it is."""
    script = _script(word)
    if script == "cyrillic" and group not in CYRILLIC_GROUPS:
        return "russian"
    if script == "latin" and group not in LATIN_GROUPS:
        return "english"
    if script == "other" and group in LATIN_OR_CYRILLIC_GROUPS:
        return OTHER
    return group


@lru_cache(maxsize=1 << 15)  # the words of a few hundred articles: bounded memory
def stem(word: str, group: str) -> str:
    """The index key of one word (from ``search_tokens``) in an article of ``group``."""
    group = word_group(word, group)
    if group == UKRAINIAN:
        return stem_ukrainian(word)
    if group == "english":
        return str(_snowball("english").stemWord(american_spelling(word)))
    if group in (KAZAKH, KYRGYZ):
        return stem_turkic(word, group)
    if group == OTHER:
        return word
    return str(_snowball(group).stemWord(word))


@lru_cache(maxsize=4096)
def query_stems(word: str, group: str) -> tuple[str, ...]:
    """The stems a query word is looked up by in articles of ``group``: its own first, then
    those of its other forms and of its spellings in the group's script."""
    found = [stem(word, group)]
    target = word_group(word, group)
    script = _script(word)
    spellings: list[str] = [word]
    if target in (KAZAKH, KYRGYZ) and word not in found:
        found.append(word)  # a name whose last syllable looks like a case ending
    if len(word) < MIN_TRANSLITERATED:
        pass
    elif script == "latin" and group in CYRILLIC_GROUPS:
        from pipeline.text.transliteration import cyrillic_spellings

        target = group
        spellings += cyrillic_spellings(word, ukrainian=group == UKRAINIAN)
    elif script == "cyrillic" and group in LATIN_GROUPS:
        from pipeline.text.transliteration import latin_spellings

        target = group
        spellings += latin_spellings(word)
    for position, spelling in enumerate(spellings):
        # The forms of the word itself, and of its two likeliest spellings in the other script.
        forms = _forms(spelling, target) if position < 3 else []
        for form in (spelling, *forms):
            key = stem(form, target)
            if key not in found:
                found.append(key)
            if len(found) >= MAX_QUERY_STEMS:
                return tuple(found)
    return tuple(found)


def _forms(word: str, group: str) -> list[str]:
    """The forms of the word's lexemes in pymorphy3 (none for other groups)."""
    language = MORPHOLOGY.get(group)
    if language is None or not word.isalpha() or _script(word) != "cyrillic":
        return []
    forms: list[str] = []
    morphology = _morphology(language)
    for parse in morphology.parse(word)[:MAX_LEXEMES]:
        forms.extend(form.word.replace("ё", "е") for form in parse.lexeme)
    if language == "ru" and word.endswith(SURNAME_SUFFIXES) and len(word) > 4:
        forms.extend(word + ending for ending in _surname_endings())
    return [form for form in dict.fromkeys(forms) if form.isalpha()]


@cache
def _surname_endings() -> tuple[str, ...]:
    """The case endings of pymorphy3's model surname (Иванов: -а, -у, -ым, -е, ...)."""
    model = SURNAME_MODEL
    for parse in _morphology("ru").parse(model):
        if "Surn" in parse.tag:
            return tuple(form.word[len(model) :] for form in parse.lexeme if form.word != model)
    return ()


@cache
def _morphology(language: str) -> pymorphy3.MorphAnalyzer:
    """pymorphy3's analyzer of ``ru`` or ``uk``, loaded on first use (by queries only)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


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


# British spellings written the American way before stemming (applied to texts and queries
# alike, so a word written either way meets the other).
BRITISH_ENDINGS = re.compile(r"(?<=\w\w)(is|ys)(e|es|ed|ing|ation|ations|er|ers)$")
BRITISH_OUR = re.compile(r"(?<=\w\w\w)our(s|ed|ing|er|ers|ite|ites|able|ably|al|ally)?$")


def american_spelling(word: str) -> str:
    """The American spelling of a British one: -ise, -isation and -yse as -ize, -ization and
    -yze (with their inflections), -our as -or (colour, labour, behaviour); other words as
    they are."""
    if not word.isascii() or len(word) < 5:
        return word
    word = BRITISH_ENDINGS.sub(lambda m: m[1][0] + "z" + m[2], word)
    if "our" in word:
        word = BRITISH_OUR.sub(lambda m: "or" + (m[1] or ""), word)
    return word


# Case endings of Kazakh and Kyrgyz nouns (genitive, dative, accusative, locative, ablative,
# instrumental), after vowel harmony and assimilation; TURKIC_ENDINGS has them longest first.
_TURKIC_ENDINGS = {
    KAZAKH: (
        "менен",
        "бенен",
        "пенен",
        "мен",
        "бен",
        "пен",
        "ның",
        "нің",
        "дың",
        "дің",
        "тың",
        "тің",
        "ға",
        "ге",
        "қа",
        "ке",
        "на",
        "не",
        "ны",
        "ні",
        "ды",
        "ді",
        "ты",
        "ті",
        "да",
        "де",
        "та",
        "те",
        "нан",
        "нен",
        "дан",
        "ден",
        "тан",
        "тен",
    ),
    KYRGYZ: (
        "менен",
        "нын",
        "нин",
        "нун",
        "нүн",
        "дын",
        "дин",
        "дун",
        "дүн",
        "тын",
        "тин",
        "тун",
        "түн",
        "га",
        "ге",
        "го",
        "гө",
        "ка",
        "ке",
        "ко",
        "кө",
        "ны",
        "ни",
        "ну",
        "нү",
        "ды",
        "ди",
        "ду",
        "дү",
        "ты",
        "ти",
        "ту",
        "тү",
        "до",
        "дө",
        "да",
        "де",
        "та",
        "те",
        "то",
        "тө",
        "нан",
        "нен",
        "нон",
        "нөн",
        "дан",
        "ден",
        "дон",
        "дөн",
        "тан",
        "тен",
        "тон",
        "төн",
    ),
}
TURKIC_ENDINGS = {
    group: tuple(sorted(endings, key=len, reverse=True))
    for group, endings in _TURKIC_ENDINGS.items()
}
TURKIC_MIN_STEM = 2


def stem_turkic(word: str, group: str) -> str:
    """A Kazakh or Kyrgyz word without its case ending (the longest that leaves at least two
    letters): Қазақстанның, Қазақстанға, Қазақстанда give қазақстан, Жапаровдун жапаров."""
    for ending in TURKIC_ENDINGS[group]:
        if word.endswith(ending) and len(word) - len(ending) >= TURKIC_MIN_STEM:
            return word[: -len(ending)]
    return word


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
