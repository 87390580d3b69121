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
from collections import Counter
from collections.abc import Sequence
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
_WORD_AND_SPACE = re.compile(r"(\S+)(\s*)")
_LINE_AND_BREAKS = re.compile(r"([^\n]+)(\n*)")
MAX_DIFF_PAIRS = 5_000_000  # pairs of equal words (or lines) difflib may have to look at


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
    ``"same"``, ``"removed"`` or ``"added"``; line breaks are kept, as the new text has them.

    Words are matched without the white space around them (a popular element such as a space
    makes ``difflib`` quadratic: 2 s for two versions of a 5,000-word text), each carrying the
    white space after it. Where the words would still have ``difflib`` look at more than
    ``MAX_DIFF_PAIRS`` pairs of equal words (a text of tens of thousands of words, or one word
    repeated), the texts are compared line by line (a changed word marks its line), and where
    the lines would too, as a whole: a hostile page's diff stays under a second or so."""
    if (old or "").split() == (new or "").split():
        return [("same", new)] if new else []
    for pattern in (_WORD_AND_SPACE, _LINE_AND_BREAKS):
        _, before = _units(old, pattern)
        lead, after = _units(new, pattern)
        keys_before = [unit.strip() for unit, _ in before]
        keys_after = [unit.strip() for unit, _ in after]
        if _equal_pairs(keys_before, keys_after) <= MAX_DIFF_PAIRS:
            matcher = difflib.SequenceMatcher(None, keys_before, keys_after, autojunk=False)
            return _pieces(matcher.get_opcodes(), before, lead, after)
    return [(op, text) for op, text in (("removed", old), ("added", new)) if text]


def _pieces(
    opcodes: Sequence[tuple[str, int, int, int, int]],
    before: list[tuple[str, str]],
    lead: str,
    after: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """``word_diff``'s pieces from difflib's opcodes over the units (each with its white
    space) of the two texts, the new text's leading white space first."""
    pieces: list[tuple[str, str]] = []

    def put(op: str, words: str) -> None:
        if not words:
            return
        if pieces and pieces[-1][0] == op:
            pieces[-1] = (op, pieces[-1][1] + words)
        else:
            pieces.append((op, words))

    put("same", lead)
    for op, a1, a2, b1, b2 in opcodes:
        removed = "".join(unit + space for unit, space in before[a1:a2])
        added = "".join(unit + space for unit, space in after[b1:b2])
        if op == "equal":
            put("same", added)
        elif op == "delete":
            put("removed", removed)
        elif op == "insert":
            put("added", added)
        else:  # replaced: the white space after the last word is the new text's, unchanged
            put("removed", removed.rstrip())
            put("added", added.rstrip())
            put("same", added[len(added.rstrip()) :])
    return pieces


def _units(text: str | None, pattern: re.Pattern[str]) -> tuple[str, list[tuple[str, str]]]:
    """A text's leading white space, and its words (or lines), each with the white space after
    it."""
    text = text or ""
    body = text.lstrip()
    return text[: len(text) - len(body)], pattern.findall(body)


def _equal_pairs(keys: list[str], other: list[str]) -> int:
    """How many pairs of equal units the two sequences have (what difflib's search costs)."""
    counts = Counter(other)
    return sum(number * counts[key] for key, number in Counter(keys).items())


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
