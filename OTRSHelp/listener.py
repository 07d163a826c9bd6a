"""When the bot may answer a plain question in a channel.

People rarely type commands; they ask and wait. The bot answers only a
confident match (the knowledge base decides that), and only when answering
helps: not to bots, not when a person has answered meanwhile, and not with
the same answer twice in a short time. This module keeps that memory; it
knows nothing of IRC libraries.
"""
from __future__ import annotations

import threading
from typing import Iterable, Mapping

__all__ = ["ChannelMemory", "looks_like_bot"]


def looks_like_bot(nick: str, tags: Mapping[str, object] | None, known: Iterable[str]) -> bool:
    """Other bots' lines are never answered: IRCv3 marks them with a ``bot``
    tag where the server supports it; elsewhere the nick gives them away."""
    tags = tags or {}
    if "bot" in tags or "draft/bot" in tags:
        return True
    low = nick.lower()
    if low.endswith(("bot", "bot_")) or low.endswith("serv"):
        return True
    return any(low == k.lower() for k in known)


class ChannelMemory:
    """Who spoke last in each channel and which answers were given when.

    Thread-safe: Limnoria calls in from the main loop and command threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[float, str]] = {}
        self._answered: dict[tuple[str, str, str], float] = {}

    def spoke(self, network: str, channel: str, nick: str, when: float) -> None:
        with self._lock:
            self._last[(network, channel.lower())] = (when, nick)

    def someone_else_spoke(self, network: str, channel: str, asker: str, since: float) -> bool:
        """A person other than the asker said something after the question:
        probably an answer, so the bot stays quiet."""
        with self._lock:
            last = self._last.get((network, channel.lower()))
        return bool(last and last[0] > since and last[1].lower() != asker.lower())

    def recently_answered(self, network: str, channel: str, topic: str, now: float,
                          cooldown: float) -> bool:
        with self._lock:
            return now - self._answered.get((network, channel.lower(), topic), float("-inf")) < cooldown

    def claim_answer(self, network: str, channel: str, topic: str, now: float, cooldown: float) -> bool:
        """Record that *topic* is answered now, unless it was within
        *cooldown*; True when the caller should send the answer."""
        key = (network, channel.lower(), topic)
        with self._lock:
            if now - self._answered.get(key, float("-inf")) < cooldown:
                return False
            self._answered[key] = now
            return True
