"""What the coordinator and the nodes send each other through Redis: JSON, never pickle.

A *task* is one request to make: a feed (with the validators of its last complete fetch) or an
article page (with the feed entry that listed it). A *result* is what a node made of one task:
the items to store (a ``FeedItem``, ``ArticleItem``s, already extracted) and the entries whose
pages are to be fetched next (``follow``). A compromised Redis can at worst send wrong data:
decoding builds only newsmon's own dataclasses from plain JSON values, field by field, and
refuses anything else (``MessageError``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.net.urls import FETCHABLE_SCHEMES, scheme_of
from pipeline.text.fingerprints import Fingerprints

FEED = "feed"
ARTICLE = "article"
TASK_KINDS = (FEED, ARTICLE)
# The request headers a feed task carries: its validators (``FeedScheduleMiddleware``).
VALIDATOR_HEADERS = ("If-None-Match", "If-Modified-Since")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a result larger than this is refused, not decoded


class MessageError(ValueError):
    """A task or result that is not what newsmon sends."""


@dataclass
class Task:
    """One request for a node to make, and what it needs to make it."""

    kind: str  # FEED or ARTICLE
    url: str
    run: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Feeds: the feed list's title and category, the conditional headers and the body hash of
    # the last complete fetch.
    title: str | None = None
    category: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    previous_hash: str | None = None
    # Telegram channels: the ID of the newest post stored (``ChannelStateMiddleware``).
    newest_post: int | None = None
    # Articles: the feed entry that listed the page.
    entry: Entry | None = None


@dataclass
class Result:
    """What a node made of one task."""

    task: str  # the task's id
    run: int
    node: str
    kind: str
    items: list[FeedItem | ArticleItem] = field(default_factory=list)
    # Entries whose pages are to be fetched: (normalised URL, request URL, entry). The node's
    # completion script turns each into an article task, or, when the URL was requested in this
    # run already, the coordinator into a sighting (``seen``, filled in from Redis).
    follow: list[tuple[str, str, Entry]] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)


def encode_task(task: Task) -> str:
    data = dataclasses.asdict(task)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_task(raw: str | bytes) -> Task:
    data = _load(raw)
    kind = _str(data, "kind")
    if kind not in TASK_KINDS:
        raise MessageError(f"unknown task kind {kind!r}")
    url = _str(data, "url")
    if scheme_of(url) not in FETCHABLE_SCHEMES:
        raise MessageError(f"task URL is not http(s): {url[:200]!r}")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise MessageError("task headers are not a mapping of strings")
    entry = data.get("entry")
    return Task(
        kind=kind,
        url=url,
        run=_int(data, "run"),
        id=_str(data, "id"),
        title=_opt_str(data, "title"),
        category=_opt_str(data, "category"),
        headers={k: v for k, v in headers.items() if k in VALIDATOR_HEADERS},
        previous_hash=_opt_str(data, "previous_hash"),
        newest_post=_opt_int(data, "newest_post"),
        entry=_entry(entry) if entry is not None else None,
    )


def encode_result(result: Result) -> str:
    data = {
        "task": result.task,
        "run": result.run,
        "node": result.node,
        "kind": result.kind,
        "items": [_item_data(item) for item in result.items],
        "follow": [
            {"url": url, "request_url": request_url, "entry": dataclasses.asdict(entry)}
            for url, request_url, entry in result.follow
        ],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_result(raw: str | bytes, seen: str | bytes = b"") -> Result:
    """A result as a node sent it; ``seen``: the indices of ``follow`` that Redis found
    requested already in this run (comma-separated)."""
    data = _load(raw)
    items_data = data.get("items")
    follow_data = data.get("follow")
    if not isinstance(items_data, list) or not isinstance(follow_data, list):
        raise MessageError("result without items or follow lists")
    follow = []
    for each in follow_data:
        if not isinstance(each, dict):
            raise MessageError("result follow entry is not an object")
        follow.append((_str(each, "url"), _str(each, "request_url"), _entry(each.get("entry"))))
    seen_text = seen.decode() if isinstance(seen, bytes) else seen
    try:
        seen_indices = [int(index) for index in seen_text.split(",") if index]
    except ValueError as exc:
        raise MessageError(f"bad seen list {seen_text[:100]!r}") from exc
    if any(not 0 <= index < len(follow) for index in seen_indices):
        raise MessageError("seen index out of range")
    return Result(
        task=_str(data, "task"),
        run=_int(data, "run"),
        node=_str(data, "node"),
        kind=_str(data, "kind"),
        items=[_item(each) for each in items_data],
        follow=follow,
        seen=seen_indices,
    )


def _item_data(item: FeedItem | ArticleItem) -> dict[str, Any]:
    if isinstance(item, FeedItem):
        return {"type": FEED, **dataclasses.asdict(item)}
    if item.body is not None:
        raise MessageError(f"article {item.url} still holds its page: extract it first")
    data = dataclasses.asdict(item)
    fp = item.fingerprints
    if fp is not None:
        data["fingerprints"] = {
            **dataclasses.asdict(fp),
            "shingle_hashes": base64.b64encode(fp.shingle_hashes).decode("ascii"),
        }
    return {"type": ARTICLE, **data}


def _item(data: Any) -> FeedItem | ArticleItem:
    if not isinstance(data, dict):
        raise MessageError("result item is not an object")
    data = dict(data)
    kind = data.pop("type", None)
    if kind == FEED:
        return FeedItem(**_fields(FeedItem, data))
    if kind != ARTICLE:
        raise MessageError(f"unknown item type {kind!r}")
    values = _fields(ArticleItem, data)
    values["entry"] = _entry(values.get("entry"))
    if values.get("body") is not None:
        raise MessageError("an article result carries a page body")
    fp = values.get("fingerprints")
    if fp is not None:
        if not isinstance(fp, dict):
            raise MessageError("fingerprints are not an object")
        fp_values = _fields(Fingerprints, fp)
        try:
            fp_values["shingle_hashes"] = base64.b64decode(fp_values["shingle_hashes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError("fingerprints without shingle hashes") from exc
        values["fingerprints"] = Fingerprints(**fp_values)
    stems = values.get("text_stems")
    if stems is not None:
        if not (
            isinstance(stems, list) and len(stems) == 2 and all(isinstance(s, str) for s in stems)
        ):
            raise MessageError("text stems are not a (group, stems) pair")
        values["text_stems"] = (stems[0], stems[1])
    try:
        return ArticleItem(**values)
    except TypeError as exc:
        raise MessageError(f"article item: {exc}") from exc


def _entry(data: Any) -> Entry:
    if not isinstance(data, dict):
        raise MessageError("entry is not an object")
    values = _fields(Entry, data)
    try:
        entry = Entry(**values)
    except TypeError as exc:
        raise MessageError(f"entry: {exc}") from exc
    if not isinstance(entry.feed_url, str):
        raise MessageError("entry without a feed URL")
    return entry


_SCALARS = (str, int, float, bool, type(None))


def _fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The values of ``data`` that are fields of the dataclass ``cls``, as plain JSON values."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise MessageError(f"unknown fields for {cls.__name__}: {sorted(unknown)[:5]}")
    for name, value in data.items():
        if isinstance(value, list):
            if not all(isinstance(each, _SCALARS) for each in value):
                raise MessageError(f"{cls.__name__}.{name}: a list of non-scalars")
        elif not isinstance(value, _SCALARS) and not (
            isinstance(value, dict) and name in ("entry", "fingerprints")
        ):
            raise MessageError(f"{cls.__name__}.{name}: unexpected {type(value).__name__}")
    return dict(data)


def _load(raw: str | bytes) -> dict[str, Any]:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(raw)} bytes, over {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MessageError("message is not a JSON object")
    return data


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise MessageError(f"{name} is not a string")
    return value


def _str(data: dict[str, Any], name: str) -> str:
    value = _opt_str(data, name)
    if value is None:
        raise MessageError(f"{name} is not a string")
    return value


def _opt_int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise MessageError(f"{name} is not an integer")
    return value


def _int(data: dict[str, Any], name: str) -> int:
    value = _opt_int(data, name)
    if value is None:
        raise MessageError(f"{name} is not an integer")
    return value
