"""Tasks and results as JSON: what a node sends is what the writer stores, and nothing else is
accepted."""

from __future__ import annotations

import json
import pickle

import pytest

from pipeline import statuses
from pipeline.cluster import messages
from pipeline.cluster.messages import MessageError, Result, Task
from pipeline.items import ArticleItem, Entry, FeedItem
from pipeline.text.fingerprints import fingerprint

TEXT = (
    "На границе с Казахстаном выросли очереди из автомобилей. Водители ждут по нескольку "
    "часов, пограничники проверяют документы каждого пассажира, а местные жители говорят, что "
    "такого не видели с прошлого года."
)


def entry(link: str = "https://news.example.kz/ru/1") -> Entry:
    return Entry(
        feed_url="https://news.example.kz/rss",
        link=link,
        guid="ru-1",
        title="Очереди на границе",
        summary="Кратко",
        published="2026-11-30T08:00:00Z",
        author="Айгуль Сапарова",
        language="ru",
    )


def result() -> Result:
    article = ArticleItem(
        url="https://news.example.kz/ru/1",
        entry=entry(),
        status=statuses.OK,
        http_status=200,
        fetched_at="2026-11-30T09:00:00Z",
        title="Очереди на границе",
        text=TEXT,
        language="ru",
        requested_urls=["https://news.example.kz/ru/1"],
        fingerprints=fingerprint("Очереди на границе", TEXT),
        text_stems=("ru", "границ казахстан очеред"),
    )
    feed = FeedItem(
        url="https://news.example.kz/rss",
        status=statuses.OK,
        title="Степной вестник",
        http_status=200,
        entries=2,
        etag='"abc"',
        body_hash="0" * 40,
    )
    return Result(
        task="t1",
        run=3,
        node="node-a:1:abcdef",
        kind=messages.FEED,
        items=[feed, article],
        follow=[
            (
                "https://news.example.kz/ru/2",
                "https://news.example.kz/ru/2",
                entry("https://news.example.kz/ru/2"),
            ),
            (
                "https://news.example.kz/ru/3",
                "https://news.example.kz/ru/3",
                entry("https://news.example.kz/ru/3"),
            ),
        ],
    )


def test_a_result_comes_back_as_it_was_sent() -> None:
    sent = result()
    got = messages.decode_result(messages.encode_result(sent), b"1")
    assert got.items == sent.items
    assert got.follow == sent.follow
    assert got.seen == [1]
    assert (got.task, got.run, got.node, got.kind) == (sent.task, sent.run, sent.node, sent.kind)
    article = got.items[1]
    assert isinstance(article, ArticleItem)
    assert article.fingerprints is not None
    assert (
        article.fingerprints.shingle_hashes
        == fingerprint("Очереди на границе", TEXT).shingle_hashes
    )
    assert article.text_stems == ("ru", "границ казахстан очеред")


def test_a_task_comes_back_as_it_was_sent() -> None:
    task = Task(messages.ARTICLE, "https://news.example.kz/ru/1", 3, entry=entry())
    assert messages.decode_task(messages.encode_task(task)) == task
    feed = Task(
        messages.FEED,
        "https://news.example.kz/rss",
        3,
        title="Вестник",
        headers={"If-None-Match": '"abc"'},
        previous_hash="0" * 40,
    )
    assert messages.decode_task(messages.encode_task(feed)) == feed
    channel = Task(messages.FEED, "https://t.me/s/steppe_news", 3, newest_post=1042)
    assert messages.decode_task(messages.encode_task(channel)) == channel


def test_a_page_is_never_sent_unextracted() -> None:
    sent = result()
    article = sent.items[1]
    assert isinstance(article, ArticleItem)
    article.body = b"<html></html>"
    with pytest.raises(MessageError, match="still holds its page"):
        messages.encode_result(sent)


def tampered(change: str) -> bytes:
    data = json.loads(messages.encode_result(result()))
    if change == "unknown field":
        data["items"][1]["__class__"] = "os.system"
    elif change == "object in a text field":
        data["items"][1]["text"] = {"$type": "code"}
    elif change == "unknown item type":
        data["items"][0]["type"] = "pickle"
    elif change == "body":
        data["items"][1]["body"] = "PGh0bWw+"
    elif change == "entry field":
        data["items"][1]["entry"]["callback"] = "print"
    elif change == "no items":
        del data["items"]
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "change",
    [
        "unknown field",
        "object in a text field",
        "unknown item type",
        "body",
        "entry field",
        "no items",
    ],
)
def test_a_tampered_result_is_refused(change: str) -> None:
    with pytest.raises(MessageError):
        messages.decode_result(tampered(change))


def test_pickles_and_garbage_are_refused() -> None:
    with pytest.raises(MessageError, match="not JSON"):
        messages.decode_result(pickle.dumps(result()))
    with pytest.raises(MessageError, match="not JSON"):
        messages.decode_task(b"\x80\x04\x95")
    with pytest.raises(MessageError, match="not a JSON object"):
        messages.decode_result(b"[1, 2]")
    with pytest.raises(MessageError, match="seen index"):
        messages.decode_result(messages.encode_result(result()), b"7")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "javascript:alert(1)"])
def test_a_task_for_another_scheme_is_refused(url: str) -> None:
    raw = json.dumps({"kind": "feed", "url": url, "run": 1, "id": "x"})
    with pytest.raises(MessageError, match="not http"):
        messages.decode_task(raw)


def test_a_task_sends_only_the_conditional_headers() -> None:
    raw = json.dumps(
        {
            "kind": "feed",
            "url": "https://news.example.kz/rss",
            "run": 1,
            "id": "x",
            "headers": {"If-None-Match": '"a"', "Authorization": "Bearer stolen"},
        }
    )
    assert messages.decode_task(raw).headers == {"If-None-Match": '"a"'}
