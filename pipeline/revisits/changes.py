"""What counts as an edit of an article, and the word-level difference of two versions.

An article is edited when its normalised headline or its normalised text changed. Normalising
(the rule documented in docs/revisions.md):

- the headline is compared as ``pipeline.parsing.headlines.key`` does: case-folded, quotes and
  white space unified, end punctuation dropped;
- the text is compared line by line, each line in Unicode NFKC with its white space collapsed,
  and without lines that only say when the page was published or updated ("Updated at 12:30",
  "Обновлено 25.09.2022"), lines that are only a counter ("1 234 views", "Просмотров: 56",
  "12 comments") or only a date or a time. A counter or a date inside a sentence counts.

So a page re-rendered with other spacing, a view counter ticking or an "updated" stamp is not
a new version; a changed word, figure or sentence is. ``word_diff`` shows two versions word by
word, for the article's page in datasette.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass

from pipeline.parsing.headlines import key as headline_key

# Words that say when a page was changed or published, in English, Russian, Ukrainian, Kazakh.
_STAMP_WORDS = (
    r"updated|last updated|last modified|modified|published|posted|edited"
    r"|обновлено|обновлён|обновлен|изменено|опубликовано|дата публикации|последнее обновление"
    r"|оновлено|змінено|опубліковано|дата публікації"
    r"|жаңартылды|жарияланды|өзгертілді|жарияланған"
)
_COUNTER_WORDS = (
    r"views?|reads?|comments?|shares?|likes?"
    r"|просмотр\w*|прочтени\w*|комментари\w*|перегляд\w*|коментар\w*|поширен\w*"
    r"|қаралым\w*|қарал\w*|пікір\w*"
)
_NUMBER = r"\d[\d\s.,  ]*[kкмm]?"
_STAMP_LINE = re.compile(
    rf"^\W*(?:{_STAMP_WORDS})\b[\s:,\-–—]*[\w\s.,:/+\-–—]{{0,60}}$", re.IGNORECASE
)
_COUNTER_LINE = re.compile(
    rf"^\W*(?:(?:{_COUNTER_WORDS})\W*{_NUMBER}|{_NUMBER}\W*(?:{_COUNTER_WORDS}))\W*$", re.IGNORECASE
)
# A date and/or a time alone on a line: 25.09.2022, 2022-09-25 12:30, 12:30, 25 September 2022.
_DATE_LINE = re.compile(
    r"^\W*(?:\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}|\d{1,2}\s+\w+\s+\d{4}|\d{1,2}:\d{2})"
    r"(?:[\sT,]+(?:\d{1,2}:\d{2}(?::\d{2})?|\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}))*\W*$"
)
_SPACE = re.compile(r"\s+")
_WORDS = re.compile(r"\S+|\s+")


def normalised_text(text: str | None) -> str:
    """The text as it is compared between versions (see the module's docstring)."""
    lines = []
    for line in unicodedata.normalize("NFKC", text or "").splitlines():
        line = _SPACE.sub(" ", line).strip()
        if not line or _is_noise(line):
            continue
        lines.append(line)
    return "\n".join(lines)


def _is_noise(line: str) -> bool:
    if len(line) > 80:
        return False
    return bool(_STAMP_LINE.match(line) or _COUNTER_LINE.match(line) or _DATE_LINE.match(line))


def normalised_headline(title: str | None) -> str:
    return headline_key(unicodedata.normalize("NFKC", title or ""))


@dataclass(frozen=True)
class Change:
    """How a new version differs from the stored one."""

    headline: bool
    text: bool

    @property
    def edited(self) -> bool:
        return self.headline or self.text


def compare(
    old_title: str | None, old_text: str | None, new_title: str | None, new_text: str | None
) -> Change:
    """Whether the headline and the text changed in substance."""
    return Change(
        headline=normalised_headline(old_title) != normalised_headline(new_title),
        text=normalised_text(old_text) != normalised_text(new_text),
    )


def word_diff(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """The difference of two texts word by word: ``(op, words)`` pieces in order, ``op`` being
    ``"same"``, ``"removed"`` or ``"added"``; line breaks are kept as words."""
    before = _WORDS.findall(old or "")
    after = _WORDS.findall(new or "")
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    pieces: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(before[a1:a2])))
            continue
        if a2 > a1:
            pieces.append(("removed", "".join(before[a1:a2])))
        if b2 > b1:
            pieces.append(("added", "".join(after[b1:b2])))
    return pieces


def diff_html(old: str | None, new: str | None) -> str:
    """``word_diff`` as HTML: removed words in ``<del>``, added ones in ``<ins>``, every word
    escaped, line breaks as ``<br>``."""
    out = []
    for op, words in word_diff(old, new):
        escaped = html.escape(words).replace("\n", "<br>\n")
        if op == "same":
            out.append(escaped)
        elif op == "removed":
            out.append(f"<del>{escaped}</del>")
        else:
            out.append(f"<ins>{escaped}</ins>")
    return "".join(out)
