"""When the bot may answer a plain question in a channel.

People rarely type commands; they ask and wait. The bot answers a confident
match (the knowledge base decides that) after a short delay, and only when
answering helps: not to bots, not when a person has meanwhile answered the
asker or spoken on the topic, and not the same answer twice to the same
person. Someone who joined later, or asks in another language, is a new
asker and gets the answer. This module keeps that memory; it knows nothing
of IRC libraries.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .names import mentions

__all__ = ["ChannelMemory", "Pending", "looks_like_bot", "addresses"]


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


def addresses(text: str, nick: str) -> bool:
    """Is the line said to ``nick`` ("nick: ...", "@nick", or the nick as a word)?"""
    # word by word, not a pattern made of the nick: every asker's pattern
    # would stay in Python's ``re`` cache (names.py says how much that is)
    return mentions(text, nick)


@dataclass
class Pending:
    """An answer waiting for its delay; ``cancelled`` says why it will not be sent."""

    network: str
    channel: str
    asker: str
    topic: str
    lang: str
    asked_at: float
    cancelled: str | None = None


REMEMBERED = 5000  # answers (and hints) remembered at most, per kind


def _forget_old(times: dict, now: float, cooldown: float) -> None:
    """Past the cooldown an entry means nothing: drop those once there are
    a few hundred, and the oldest beyond REMEMBERED whatever their age."""
    if len(times) > 500:
        for k in [k for k, t in times.items() if now - t >= cooldown]:
            del times[k]
    if len(times) > REMEMBERED:
        for k, _ in sorted(times.items(), key=lambda kv: kv[1])[:len(times) - REMEMBERED]:
            del times[k]


class ChannelMemory:
    """Pending answers and the answers given, per channel and asker.

    Thread-safe: Limnoria calls in from the main loop and command threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Pending] = {}
        self._answered: dict[tuple[str, str, str, str, str], float] = {}
        self._hinted: dict[tuple[str, str, str], float] = {}

    @staticmethod
    def _key(network: str, channel: str, asker: str, topic: str, lang: str) -> tuple[str, str, str, str, str]:
        return (network, channel.lower(), asker.lower(), topic, lang)

    # ------------------------------------------------------------ pending
    def add_pending(self, pending: Pending) -> int:
        with self._lock:
            pid = next(self._ids)
            self._pending[pid] = pending
            return pid

    def take_pending(self, pid: int) -> Pending | None:
        """The pending answer, removed; its ``cancelled`` says if it must not be sent."""
        with self._lock:
            return self._pending.pop(pid, None)

    def heard(self, network: str, channel: str, nick: str, text: str,
              speaks_to: Callable[[str, str], bool]) -> list[Pending]:
        """A person said ``text``: cancel the pending answers it makes
        unnecessary, those to another asker that this line addresses or that
        it answers on their topic. Unrelated chatter cancels nothing."""
        cancelled: list[Pending] = []
        with self._lock:
            waiting = [p for p in self._pending.values()
                       if p.cancelled is None and p.network == network
                       and p.channel.lower() == channel.lower() and p.asker.lower() != nick.lower()]
        for p in waiting:
            if addresses(text, p.asker):
                p.cancelled = f"{nick} answered {p.asker}"
            elif speaks_to(text, p.topic):
                p.cancelled = f"{nick} spoke on {p.topic}"
            else:
                continue
            cancelled.append(p)
        return cancelled

    # ------------------------------------------------------------ cooldown
    def answered_ago(self, network: str, channel: str, asker: str, topic: str, lang: str,
                     now: float) -> float | None:
        """Seconds since this person got this answer in this language here, or None."""
        with self._lock:
            at = self._answered.get(self._key(network, channel, asker, topic, lang))
        return None if at is None else now - at

    def recently_answered(self, network: str, channel: str, asker: str, topic: str, lang: str,
                          now: float, cooldown: float) -> bool:
        ago = self.answered_ago(network, channel, asker, topic, lang, now)
        return ago is not None and ago < cooldown

    def claim_answer(self, network: str, channel: str, asker: str, topic: str, lang: str,
                     now: float, cooldown: float) -> bool:
        """Record that ``asker`` gets ``topic`` in ``lang`` now, unless they got
        it within ``cooldown``; True when the caller should send the answer."""
        key = self._key(network, channel, asker, topic, lang)
        with self._lock:
            if now - self._answered.get(key, float("-inf")) < cooldown:
                return False
            self._answered[key] = now
            _forget_old(self._answered, now, cooldown)
            return True

    def claim_hint(self, network: str, channel: str, asker: str, now: float, cooldown: float) -> bool:
        """One short hint per person per cooldown when they address the bot
        with something it cannot answer."""
        key = (network, channel.lower(), asker.lower())
        with self._lock:
            if now - self._hinted.get(key, float("-inf")) < cooldown:
                return False
            self._hinted[key] = now
            _forget_old(self._hinted, now, cooldown)
            return True
