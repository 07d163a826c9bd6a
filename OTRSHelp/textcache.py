"""A memo for functions of one piece of wikitext, bounded by entries and
by characters.

Why not ``functools.lru_cache``: it bounds entries only, and the bot's
memos are keyed by text from the wiki. A vandal's revision can hold a
single template or comment of a megabyte; its parse tree (tens of bytes
per character) would stay in an entries-only cache until hundreds of newer
pieces push it out, which on a quiet page takes weeks. Here the keys'
characters are counted too, the least recently used entries go first, and
a piece longer than the whole character budget is computed but not kept.
The result is assumed to be about proportional to its key, as a parse is.

Thread-safe: the poller and command threads parse at once. The function
runs outside the lock, so two threads may compute the same new key once
each; both get an equal result and one copy is kept.

Plain Python: nothing here imports supybot.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any, Callable, NamedTuple, TypeVar

__all__ = ["CacheInfo", "text_lru"]

R = TypeVar("R")
_MISSING: Any = object()


class CacheInfo(NamedTuple):
    """As ``functools.lru_cache`` reports it, plus the characters kept."""

    hits: int
    misses: int
    maxsize: int
    currsize: int
    chars: int
    maxchars: int


def text_lru(maxsize: int, maxchars: int) -> Callable[[Callable[[str], R]], Callable[[str], R]]:
    """Decorate a function of one ``str``: at most ``maxsize`` results and
    ``maxchars`` characters of keys kept. The wrapper has ``cache_info()``
    and ``cache_clear()`` like ``lru_cache``'s."""
    if maxsize < 1 or maxchars < 1:
        raise ValueError("text_lru needs room for at least one entry and one character")

    def decorate(func: Callable[[str], R]) -> Callable[[str], R]:
        data: OrderedDict[str, R] = OrderedDict()
        lock = threading.Lock()
        counts = {"hits": 0, "misses": 0, "chars": 0}

        @functools.wraps(func)
        def wrapper(text: str) -> R:
            with lock:
                value = data.get(text, _MISSING)
                if value is not _MISSING:
                    data.move_to_end(text)
                    counts["hits"] += 1
                    return value
                counts["misses"] += 1
            value = func(text)
            if len(text) > maxchars:
                return value
            with lock:
                if text not in data:
                    data[text] = value
                    counts["chars"] += len(text)
                    while len(data) > maxsize or counts["chars"] > maxchars:
                        old, _ = data.popitem(last=False)
                        counts["chars"] -= len(old)
            return value

        def cache_info() -> CacheInfo:
            with lock:
                return CacheInfo(counts["hits"], counts["misses"], maxsize, len(data),
                                 counts["chars"], maxchars)

        def cache_clear() -> None:
            with lock:
                data.clear()
                counts.update(hits=0, misses=0, chars=0)

        wrapper.cache_info = cache_info  # type: ignore[attr-defined]
        wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
