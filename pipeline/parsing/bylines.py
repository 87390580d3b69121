"""Bylines split into people's names and credits (news agencies, desks, the publication).

``split_byline("Anna Petrova, dpa")`` gives ``(["Anna Petrova"], ["dpa"])``: an article's
``author`` holds people only, its ``credits`` the organisations. Runs in the worker processes.
"""

from __future__ import annotations

import re

# News agencies and other credits that are not people, compared case-folded, without dots.
AGENCIES = frozenset(
    {
        "dpa",
        "afp",
        "ap",
        "associated press",
        "the associated press",
        "agence france-presse",
        "agence france presse",
        "reuters",
        "thomson reuters",
        "bloomberg",
        "bloomberg news",
        "xinhua",
        "efe",
        "ansa",
        "apa",
        "kna",
        "epd",
        "sid",
        "upi",
        "pa",
        "pa media",
        "press association",
        "kyodo",
        "yonhap",
        "anadolu",
        "anadolu agency",
        "tass",
        "ria novosti",
        "interfax",
        "sputnik",
        "ukrinform",
        "unian",
        "kazinform",
        "kaztag",
        "тасс",
        "итар-тасс",
        "риа новости",
        "риа",
        "интерфакс",
        "прайм",
        "спутник",
        "укрінформ",
        "укринформ",
        "уніан",
        "униан",
        "інтерфакс-україна",
        "интерфакс-украина",
        "казинформ",
        "казтаг",
        "қазақпарат",
        "kazakparat",
    }
)
# Words that make a name an organisation's (a desk, an editorial team, a service).
ORGANISATION_WORDS = frozenset(
    {
        "agency",
        "news",
        "newsroom",
        "staff",
        "desk",
        "team",
        "editors",
        "editorial",
        "redaktion",
        "service",
        "press",
        "media",
        "online",
        "wire",
        "wires",
        "reports",
        "report",
        "редакция",
        "редакція",
        "служба",
        "пресс-служба",
        "прес-служба",
        "новости",
        "новини",
        "агентство",
        "агентства",
        "редакциясы",
        "агенттігі",
    }
)
# Words of a job title ("Staff writer", "AP National Political Writer"): neither a name nor a
# credit, dropped.
ROLE_WORDS = frozenset(
    {
        "writer",
        "correspondent",
        "reporter",
        "editor",
        "contributor",
        "columnist",
        "photographer",
        "journalist",
        "корреспондент",
        "журналист",
        "обозреватель",
        "кореспондент",
        "журналіст",
        "оглядач",
        "тілші",
    }
)
# Lower-case words inside people's names.
PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "da", "di", "dos", "du", "la", "le", "bin"}
    | {"ibn", "al", "el", "y", "zu", "ter", "ten", "st"}
)
_SEPARATORS = re.compile(
    r"\s*(?:[,;|/&+]|\s(?:and|und|et|y|e|и|та|і|й|және|with)\s)\s*", re.IGNORECASE
)
_PREFIX = re.compile(
    r"^(?:by|von|par|por|from|text|автор(?:ы)?|текст|от|від|авторы|фото|photo)\b[:\s]*",
    re.IGNORECASE,
)
_CONTACT = re.compile(r"\([^)]*[@:][^)]*\)|\S+@\S+\.\S+")  # "(ann@example.com)", addresses
_NOT_A_NAME = re.compile(r"\d|@|https?:|www\.|\.(?:com|ru|ua|kz|org|net)\b", re.IGNORECASE)


def split_byline(
    raw: str | None, site_names: tuple[str, ...] = (), organisations: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """People's names and credits in a byline, each in page order without repeats.

    ``site_names`` (the publication's names) and ``organisations`` (names the page's JSON-LD
    marks as organisations) are credits; so are agencies and names with words like "staff" or
    "редакция". A single word that is neither is dropped: a user name, not a person's name.
    """
    people: list[str] = []
    credits: list[str] = []
    if not raw:
        return people, credits
    orgs = {_key(name) for name in (*site_names, *organisations) if name}
    raw = re.sub(r"\s+", " ", _CONTACT.sub(" ", raw)).strip()
    pieces: list[str] = []
    for piece in _SEPARATORS.split(raw):
        name = _PREFIX.sub("", piece.strip(_PUNCTUATION)).strip(_PUNCTUATION)
        pieces.extend(_split_agency_suffix(name))
    for name in pieces:
        if not name or len(name) > 60:
            continue
        key = _key(name)
        words = set(key.split())
        if words & ROLE_WORDS:
            continue
        if key in AGENCIES or _is_org(key, orgs) or words & ORGANISATION_WORDS:
            _add(credits, name)
        elif _NOT_A_NAME.search(name):
            continue
        elif name.isupper() and " " not in name and len(name) > 1:
            _add(credits, name)  # REUTERS, RBC: an acronym or a wire's signature
        elif _is_persons_name(name):
            _add(people, name.title() if name.isupper() else name)
    return people, credits


_PUNCTUATION = " .,:-–—·•()[]\"'«»"


def _split_agency_suffix(name: str) -> list[str]:
    """ "ERIC TUCKER Associated Press" as the name and the agency."""
    key = _key(name)
    words = name.split()
    for size in (3, 2, 1):
        if len(words) > size and " ".join(key.split()[-size:]) in AGENCIES:
            return [" ".join(words[:-size]), " ".join(words[-size:])]
    return [name]


def _is_org(key: str, orgs: set[str]) -> bool:
    """The name of the site or of an organisation the page names, or one containing it."""
    squeezed = key.replace(" ", "")
    for org in orgs:
        if key == org or squeezed == org.replace(" ", ""):
            return True
        if " " not in org and len(org) > 2 and org in key.split():
            return True  # "CNN Business" on cnn.com
    return False


def _is_persons_name(name: str) -> bool:
    """Two to five words, each capitalised but for particles (van, de, bin...)."""
    words = name.split()
    if not 2 <= len(words) <= 5 or not words[0][0].isupper():
        return False
    if words[0].casefold() in ("the", "a", "an", "our", "die", "der", "das", "le", "la"):
        return False  # "The Russian and Syrian defense ministries"
    return all(w[0].isupper() or w.casefold() in PARTICLES for w in words)


def _key(name: str) -> str:
    return " ".join(name.casefold().replace(".", "").split())


def _add(names: list[str], name: str) -> None:
    if _key(name) not in {_key(known) for known in names}:
        names.append(name)


def people_and_credits(
    author: str | None, credits: str | None, feed_author: str | None
) -> tuple[str | None, str | None]:
    """The ``author`` (people) and ``credits`` (organisations) to store: the page's, else the
    feed entry's author split the same way."""
    if author or credits:
        return author, credits
    people, organisations = split_byline(feed_author)
    return join_names(people), join_names(organisations)


def join_names(names: list[str]) -> str | None:
    """Names as stored: separated by "; ", None when there are none."""
    return "; ".join(names) if names else None
