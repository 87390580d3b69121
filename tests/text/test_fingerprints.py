"""Text fingerprints for dedup: text hashes, MinHash buckets, shingle hashes and story terms."""

from __future__ import annotations

import pytest

from pipeline.text.fingerprints import (
    fingerprint,
    hashed_jaccard,
    jaccard,
    lsh_buckets,
    shingle_hashes,
    shingles,
    story_terms,
    text_hash,
)


def test_text_hash_ignores_spacing_and_case() -> None:
    assert text_hash("Hello,  World!\n") == text_hash("hello world")
    assert text_hash("hello world") != text_hash("hello there world")


def test_minhash_buckets_are_stable_and_shared_by_near_copies() -> None:
    from pipeline.text.fingerprints import minhash_signature

    text = " ".join(f"word{i} filler{i % 7}" for i in range(300))
    copy = "LONDON (Wire) - " + text + " Reporting by Wire staff"
    a, b = minhash_signature(shingles(text)), minhash_signature(shingles(copy))
    assert a == minhash_signature(shingles(text))
    assert set(lsh_buckets(a)) & set(lsh_buckets(b))
    assert jaccard(shingles(text), shingles(copy)) > 0.9


def test_shingle_hashes_compare_as_the_shingles_do() -> None:
    from pipeline.text.fingerprints import minhash_signature

    text = " ".join(f"word{i} filler{i % 7}" for i in range(300))
    copy = "LONDON (Wire) - " + text[: len(text) // 2] + " Reporting by Wire staff"
    other = " ".join(f"other{i}" for i in range(100)) + " word1 filler1 word2 filler2"
    for a, b in [(text, copy), (text, other), (copy, other), (text, text), ("", text)]:
        assert hashed_jaccard(shingle_hashes(a), shingle_hashes(b)) == pytest.approx(
            jaccard(shingles(a), shingles(b))
        )
    for sample in (copy, "Очереди на границе с Казахстаном растут: мужчины уезжают.", "", "one"):
        prints = fingerprint("Title", sample)  # hashed its own, faster way
        assert prints.shingle_hashes == shingle_hashes(sample)
        assert prints.signature == minhash_signature(shingles(sample))


def test_story_terms_meet_across_scripts_and_inflections() -> None:
    russian = story_terms("Очереди на границе с Казахстаном", None)
    english = story_terms("Queues at the Kazakhstan border", None)
    assert "kazak" in russian and "kazak" in english
    assert "the" not in english and "на" not in russian
