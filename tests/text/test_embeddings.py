"""Headline embeddings: the bundled model, compact storage, what is embedded."""

from __future__ import annotations

import numpy as np

from pipeline.text.embeddings import (
    DIMENSIONS,
    embed_stories,
    embed_texts,
    embedding_input,
    from_blobs,
    method_name,
    to_blob,
)


def test_what_is_embedded() -> None:
    text = "one two three four five"
    assert embedding_input("Headline", text, 0) == "Headline"
    assert embedding_input("Headline", text, 3) == "Headline. one two three"
    assert embedding_input(None, text, 2) == "one two"
    assert embedding_input(None, None, 5) == ""
    assert method_name(0) != method_name(20)


def test_stored_vectors_keep_their_cosines() -> None:
    vectors = embed_texts(["Токаев подписал закон о пенсиях", "Air Astana jet lands in Aktau"])
    blobs = [to_blob(v) for v in vectors]
    assert all(len(blob) == DIMENSIONS for blob in blobs)  # one signed byte per dimension
    restored = from_blobs(blobs)
    assert np.allclose(np.linalg.norm(restored, axis=1), 1.0, atol=1e-5)
    exact = float(vectors[0] @ vectors[1])
    assert abs(float(restored[0] @ restored[1]) - exact) < 0.01


def test_one_event_in_two_languages_is_closer_than_another_event() -> None:
    russian, english, other = embed_texts(
        [
            "Токаев подписал закон о повышении пенсий на 12 процентов",
            "Tokayev signs law raising pensions by 12 percent",
            "Air Astana jet makes emergency landing in Aktau",
        ]
    )
    assert float(russian @ english) > float(russian @ other) + 0.05


def test_the_worker_task_gives_a_vector_and_keys_per_article() -> None:
    quake = ("Землетрясение магнитудой 5,8 в Алматы", "Толчки ощущались в Бишкеке.")
    wage = ("Minimum wage rises in Kazakhstan", None)
    result, empty, other = embed_stories([quake, (None, None), wage], 0)
    assert isinstance(result["vector"], bytes) and len(result["vector"]) == DIMENSIONS
    assert "#5.8" in result["keys"] and "n:almt" in result["keys"]
    assert empty["vector"] is None
    assert other["vector"] != result["vector"]
    # Embedded together as one by one (within the rounding of the stored bytes).
    (alone,) = embed_stories([quake], 0)
    assert float(from_blobs([alone["vector"]])[0] @ from_blobs([result["vector"]])[0]) > 0.999


def test_from_no_blobs() -> None:
    assert from_blobs([]).shape == (0, DIMENSIONS)
