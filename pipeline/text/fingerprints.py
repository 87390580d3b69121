"""Text fingerprints for dedup: an exact hash, MinHash LSH buckets, and terms for story grouping.

Pure functions of the text, computed in the extraction workers (``pipeline.parsing.articles``),
so that ``DedupPipeline`` only compares numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pipeline.text.tokens import fingerprint_tokens

SHINGLE_WORDS = 4
NUM_PERM = 64
# 16 bands of 4 rows: pairs with Jaccard similarity 0.5 become candidates half the time, 0.75 in
# 99.6% of cases, 0.1 in 0.2% (and candidates are then compared exactly).
BANDS, ROWS = 16, 4
MINHASH_SEED = 20221

# Story terms: tokens of a title and lead, in Latin letters, cut to a common stem length, so that
# "Казахстан", "Казахстане" and "Kazakhstan" meet.
STEM_CHARS = 5
LEAD_WORDS = 100  # words of the text, after the title, that story terms come from
CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e",
        "є": "ye", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k",
        "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
        "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "қ": "k", "ғ": "g", "ң": "n",
        "ә": "a", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    }
)  # fmt: skip
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "this",
        "from",
        "have",
        "has",
        "had",
        "was",
        "were",
        "are",
        "been",
        "will",
        "would",
        "could",
        "should",
        "about",
        "after",
        "before",
        "into",
        "over",
        "under",
        "more",
        "most",
        "than",
        "then",
        "they",
        "them",
        "their",
        "there",
        "these",
        "those",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "how",
        "also",
        "just",
        "said",
        "says",
        "say",
        "its",
        "his",
        "her",
        "hers",
        "him",
        "she",
        "our",
        "ours",
        "you",
        "your",
        "yours",
        "not",
        "but",
        "all",
        "any",
        "can",
        "may",
        "one",
        "two",
        "new",
        "out",
        "off",
        "per",
        "via",
        "и",
        "в",
        "во",
        "на",
        "не",
        "что",
        "это",
        "как",
        "по",
        "из",
        "за",
        "для",
        "от",
        "до",
        "при",
        "о",
        "об",
        "со",
        "с",
        "к",
        "у",
        "же",
        "ли",
        "бы",
        "был",
        "была",
        "были",
        "быть",
        "его",
        "ее",
        "её",
        "их",
        "они",
        "она",
        "он",
        "мы",
        "вы",
        "так",
        "также",
        "уже",
        "еще",
        "ещё",
        "или",
        "но",
        "а",
        "то",
        "тот",
        "та",
        "те",
        "этот",
        "эта",
        "эти",
        "который",
        "которая",
        "которые",
        "которых",
        "году",
        "года",
        "лет",
        "более",
        "после",
        "время",
        "может",
        "будет",
        "і",
        "й",
        "та",
        "що",
        "це",
        "як",
        "по",
        "з",
        "із",
        "за",
        "для",
        "від",
        "до",
        "при",
        "про",
        "на",
        "не",
        "у",
        "в",
        "же",
        "би",
        "був",
        "була",
        "були",
        "бути",
        "його",
        "її",
        "їх",
        "вони",
        "вона",
        "він",
        "ми",
        "ви",
        "також",
        "вже",
        "ще",
        "або",
        "але",
        "а",
        "те",
        "той",
        "ця",
        "ці",
        "який",
        "яка",
        "які",
        "року",
        "році",
    ]
)


def text_hash(text: str) -> str:
    """Hash of the text's words: equal for texts that differ only in spacing or case."""
    return _hash_of(fingerprint_tokens(text))


def shingles(text: str) -> set[str]:
    return _shingles_of(fingerprint_tokens(text))


def _hash_of(tokens: list[str]) -> str:
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()


def _shingles_of(tokens: list[str]) -> set[str]:
    n = SHINGLE_WORDS
    return {" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# MinHash as datasketch 2.0 computes it (its default "affine32" scheme: SHA-1's first four
# bytes, the MurmurHash3 finalizer, then h -> a*h + b mod 2^32), so signatures and the buckets
# stored from them are unchanged, without importing datasketch (and SciPy with it) into every
# process: that import is slow and large (measurements: docs/performance.md).
_PERMUTATIONS = np.random.RandomState(MINHASH_SEED)
_A = _PERMUTATIONS.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
_B = _PERMUTATIONS.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
_EMPTY = [(1 << 32) - 1] * NUM_PERM


def minhash_signature(shingle_set: Iterable[str]) -> list[int]:
    return _minhash(_hashed(shingle_set))


def shingle_hashes(text: str) -> bytes:
    """The text's distinct 4-word shingles as sorted 32-bit hashes (SHA-1's first four bytes):
    what near-duplicate checks compare, as numbers rather than strings."""
    return _distinct(_hashed_shingles(fingerprint_tokens(text)))


def hashed_jaccard(a: bytes, b: bytes) -> float:
    """Jaccard similarity of two ``shingle_hashes`` (of shingles, but for a 32-bit collision)."""
    mine, theirs = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
    common = np.intersect1d(mine, theirs, assume_unique=True).size
    union = mine.size + theirs.size - common
    return common / union if union else 0.0


def _hashed(shingle_set: Iterable[str]) -> np.ndarray:
    return np.fromiter(
        (
            int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little")
            for s in shingle_set
        ),
        dtype=np.uint32,
    )


def _hashed_shingles(tokens: list[str]) -> np.ndarray:
    """``_hashed(_shingles_of(tokens))``, faster: the words are encoded once, and the shingles
    joined and hashed as bytes (measurements: docs/performance.md)."""
    n = SHINGLE_WORDS
    encoded = [token.encode("utf-8") for token in tokens]
    distinct = {b" ".join(encoded[i : i + n]) for i in range(max(1, len(encoded) - n + 1))}
    sha1 = hashlib.sha1
    return np.frombuffer(b"".join([sha1(s).digest()[:4] for s in distinct]), dtype="<u4")


def _distinct(hashes: np.ndarray) -> bytes:
    return np.unique(hashes).astype("<u4").tobytes()


def _minhash(hashes: np.ndarray) -> list[int]:
    if not hashes.size:
        return list(_EMPTY)
    mixed = _fmix32(hashes).reshape(-1, 1) * _A + _B  # wraps around: arithmetic mod 2^32
    return [int(v) for v in mixed.min(axis=0)]


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = values ^ (values >> np.uint32(16))
    return mixed


def lsh_buckets(signature: list[int]) -> list[int]:
    """One bucket per band: a signed 64-bit hash of the band's rows (an SQLite INTEGER)."""
    buckets = []
    for band in range(BANDS):
        rows = signature[band * ROWS : (band + 1) * ROWS]
        data = band.to_bytes(2, "big") + b"".join(v.to_bytes(8, "big") for v in rows)
        digest = hashlib.blake2b(data, digest_size=8).digest()
        buckets.append(int.from_bytes(digest, "big", signed=True))
    return buckets


def story_terms(title: str | None, text: str | None) -> list[str]:
    """Distinct stemmed terms of the title and the first words of the text."""
    return _terms_of(fingerprint_tokens(title or ""), fingerprint_tokens(text or ""))


def _terms_of(title_tokens: list[str], text_tokens: list[str]) -> list[str]:
    tokens = title_tokens + text_tokens[:LEAD_WORDS]
    terms: list[str] = []
    for token in tokens:
        if token in STOPWORDS:
            continue
        if token.isdigit():
            term = token if len(token) >= 2 else ""
        else:
            latin = token.translate(CYRILLIC_TO_LATIN)
            term = latin[:STEM_CHARS] if len(latin) >= 4 and latin.isalpha() else ""
        if term and term not in terms:
            terms.append(term)
    return terms


@dataclass
class Fingerprints:
    """What dedup compares of an article's text."""

    text_hash: str
    signature: list[int]  # MinHash of the 4-word shingles
    buckets: list[int]  # the signature's LSH bands
    story_terms: list[str]
    shingle_hashes: bytes  # for exact comparisons with the few candidates the bands find
    words: int | None = None  # of the text (None: from a node that did not count them)

    def comparable(self) -> bool:
        """Whether the text has words enough (``SHINGLE_WORDS``) to be compared as a copy: two
        posts that are only emoji, or only "Срочно!", are not one report."""
        return self.words is None or self.words >= SHINGLE_WORDS


def fingerprint(title: str | None, text: str) -> Fingerprints:
    tokens = fingerprint_tokens(
        text
    )  # once: the text is long, and every fingerprint starts from its words
    hashes = _hashed_shingles(tokens)
    signature = _minhash(hashes)
    return Fingerprints(
        _hash_of(tokens),
        signature,
        lsh_buckets(signature),
        _terms_of(fingerprint_tokens(title or ""), tokens),
        _distinct(hashes),
        len(tokens),
    )
