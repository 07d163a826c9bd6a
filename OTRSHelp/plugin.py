###
# Copyright (c) 2026, OTRSHelp developers
# All rights reserved.
###
"""Limnoria glue: commands, the channel listener, the poller thread and the
announcer. The logic lives in the domain modules next to this file."""

from __future__ import annotations

import difflib
import os
import threading
import time
from datetime import datetime, timezone

from supybot import callbacks, commands, conf, ircdb, ircmsgs, ircutils, log, schedule, world
from supybot.commands import additional, optional, wrap

try:
    from supybot.i18n import PluginInternationalization

    _ = PluginInternationalization("OTRSHelp")
except Exception:  # pragma: no cover
    def _(x):
        return x

from . import __url__, __version__
from . import access
from . import admin as admin_view
from .announce import DEFAULT_FORMATS, Links, lines_for
from .eventstream import wiki_id
from .faq import KnowledgeBase, Override
from .heap import steady_large_blocks
from .listener import ChannelMemory, Pending, looks_like_bot
from .names import irc_safe, no_ping, normalize_username
from .pacing import Pacing
from .profile import ProfileCache
from .lease import Lease
from .model import WAITING_STATUSES
from .store import Store, StoreUnavailable, default_url
from .tracker import Tracker
from .watcher import Watcher
from .wikiclient import WikiClient, WikiError

EVENT_IDS_TAG = "otrshelp_event_ids"
PRIVATE_TAG = "otrshelp_private"
WATCH_SECONDS = 600  # how long a nick that asked for something private is watched
HOUSEKEEPING_SECONDS = 600
PENDING_LINES = 15
MARK_KINDS = {"email": "email", "approved": "decision", "declined": "decision",
              "onhold": "decision", "on-hold": "decision", "withdrawn": "decision"}


def _vrt_admin(irc, msg, args, state) -> None:
    """wrap() converter, first in every admin command: the account on this
    message is a VRTS admin right now. Nothing else runs otherwise, and the
    command's replies (usage errors included) go privately or to the admin
    channel."""
    plugin = state.cb
    target = plugin._private_target(irc, msg)
    if getattr(irc, "nested", 0):
        irc.error(_("Admin commands cannot be nested in other commands."), **target)
        raise callbacks.SilentError()
    why = plugin._admin_refusal(irc, msg)
    if why is not None:
        irc.error(why, **target)
        raise callbacks.SilentError()
    irc.private = target.get("private") or None  # a usage error goes the same way
    if target.get("private"):
        plugin._watch_requester(irc, msg)


commands.addConverter("vrtAdmin", _vrt_admin)


def forget_absent_nicks(state, own_nick: str) -> int:
    """Drop from Limnoria's ``nicksToHostmasks`` and ``nicksToAccounts``
    the nicks in none of the state's channels; how many were dropped."""
    present = ircutils.IrcSet([own_nick])
    for channel in state.channels.values():
        present.update(channel.users)
    dropped = 0
    for table in (state.nicksToHostmasks, state.nicksToAccounts):
        for nick in [n for n in table if n not in present]:
            del table[nick]
            dropped += 1
    return dropped


def forget_quiet_flood_queues(flood) -> int:
    """Drop from Limnoria's command flood counter (Owner's ``FloodQueue``,
    a queue per host) the hosts with no command left in the flood interval;
    Limnoria never drops a host's queue, nor the messages in it until that
    host sends again. How many hosts were dropped."""
    quiet = [host for host, queue in list(flood.queues.items()) if len(queue) == 0]
    for host in quiet:
        del flood.queues[host]
    return len(quiet)


class OTRSHelp(callbacks.Plugin):
    """Helps people who want to join Wikimedia's Volunteer Response Team (VRT,
    formerly OTRS): answers their questions (try "faq" and "apply"),
    announces the applications page on Meta-Wiki in the channel, and lets
    VRTS admins follow each applicant ("status", "pending", "mark")."""

    threaded = True
    echo_message = True  # the server's echoes of our lines are their receipts

    def __init__(self, irc):
        self.__parent = super(OTRSHelp, self)
        self.__parent.__init__(irc)
        steady_large_blocks()  # months of page texts must not creep (heap.py)
        self._lock = threading.RLock()
        self._announce_lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._poll_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.pacing: Pacing | None = None
        self._components_key: tuple | None = None
        self.client: WikiClient | None = None
        self.watcher: Watcher | None = None
        self.profiles: ProfileCache | None = None
        self.stream = None
        self.links: Links | None = None
        self.last_poll: dict = {}
        self.memory = ChannelMemory()
        self._answer_seq = 0
        # receipts (see outFilter): lines in flight by echo label / PING token
        self._by_label: dict[str, list[int]] = {}
        self._by_ping: dict[str, list[int]] = {}
        self._unpinged: list[int] = []
        self._ping_seq = 0
        self._queued = 0
        self._lines_left: dict[int, int] = {}
        self._confirmed: set[int] = set()  # received, not yet written to the store
        self._flush_lock = threading.Lock()
        self._down: dict[str, str] = {}
        # nicks that asked for something private, and when a nick left
        self._monitored: dict[str, float] = {}
        self._gone: dict[str, float] = {}
        self.store = Store(self._db_url())
        # one active bot per database (a standby, or Toolforge's new pod
        # starting before the old one stops): None until the first poll
        self.lease = Lease(self.store.engine, "otrshelp")
        self._active: bool | None = None
        self.kb_base = KnowledgeBase.load()
        self.kb = self._knowledge_base()
        self._irc = irc
        self._denied_for: tuple = ()
        if not world.testing:
            self._schedule()

    # ------------------------------------------------------------------
    # life cycle
    # ------------------------------------------------------------------
    def _db_url(self) -> str:
        url = self.registryValue("database") or os.environ.get("OTRSHELP_DB", "")
        if url:
            return url
        return default_url(conf.supybot.directories.data())

    def _schedule(self) -> None:
        """Start the poller thread (paced by pacing.Pacing) and the stale
        digest; the stream, if configured, only wakes the poller early."""
        hours = self.registryValue("staleDigestHours")
        if hours > 0:
            schedule.addPeriodicEvent(self._stale_digest, hours * 3600,
                                      name="OTRSHelp.staleDigest", now=False)
        schedule.addPeriodicEvent(self._housekeeping, HOUSEKEEPING_SECONDS,
                                  name="OTRSHelp.housekeeping", now=False)
        self._start_stream()
        self._start_poll()

    def die(self):
        self._stopping.set()
        self._wake.set()
        if self.client is not None:
            self.client.stop.set()  # ends a retry wait at once
        for name in ("OTRSHelp.poll", "OTRSHelp.staleDigest", "OTRSHelp.housekeeping"):
            try:
                schedule.removeEvent(name)
            except KeyError:
                pass
        for name in [n for n in list(schedule.schedule.events) if str(n).startswith("OTRSHelp.answer.")]:
            try:
                schedule.removeEvent(name)
            except KeyError:
                pass
        if self.stream is not None:
            self.stream.stop()
        thread = self._poll_thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=1.5)  # a request in flight is not waited for
        if self.client is not None:
            self.client.close()
        self.lease.close()  # a standby takes over at its next poll
        self.store.close()
        self.__parent.die()

    def _housekeeping(self) -> None:
        """Every ten minutes, on the main loop (Limnoria's state is not
        locked): forget the nicks Limnoria keeps that share no channel
        with the bot, and the flood counters of hosts that went quiet.
        Limnoria remembers the hostmask and account of every nick it hears
        from and forgets them only on a QUIT it sees; a visitor who parts,
        or writes privately from outside the channel, stays for good, and
        so does the flood queue (with its last commands) of every host that
        ever sent a command: months of visitors to a help channel. Nothing
        here uses those entries (access reads the account tag of each
        message), and the next message brings an entry back."""
        for irc in list(world.ircs):
            forget_absent_nicks(irc.state, irc.nick)
            owner = irc.getCallback("Owner")
            if owner is not None and hasattr(owner, "commands"):
                forget_quiet_flood_queues(owner.commands)

    def _components(self) -> Watcher:
        """Wiki client, tracker and watcher for the configured wiki and
        page; rebuilt when the configuration changes."""
        api = self.registryValue("wikiApi")
        page = self.registryValue("page")
        contact = self.registryValue("contact") or os.environ.get("OTRSHELP_CONTACT", "")
        hold = self.registryValue("holdHours") * 3600
        timeout = self.registryValue("httpTimeout")
        key = (api, page, contact, hold, timeout)
        with self._lock:
            if self._components_key != key or self.watcher is None:
                if self.client is not None:
                    self.client.close()
                self.client = WikiClient(api, contact=contact, timeout=timeout)
                tracker = Tracker(self.store, hold_seconds=hold)
                self.watcher = Watcher(self.client, tracker, self.store, page, api)
                self.profiles = ProfileCache(self.client, ttl=self.registryValue("profileCacheSeconds"))
                self.links = Links.from_api(api, page)
                self._components_key = key
            return self.watcher

    def _start_stream(self) -> None:
        url = self.registryValue("eventStream")
        if not url:
            return
        from .eventstream import StreamTrigger, page_matcher

        watcher = self._components()

        def match(event: dict) -> bool:
            page = watcher.page
            titles = [self.registryValue("page")] + ([page.title] if page else [])
            return page_matcher(titles)(event)

        state = self.store.state()
        self.stream = StreamTrigger(
            url, wiki=wiki_id(self.registryValue("wikiApi")), match=match,
            on_change=lambda event: self._start_poll(), user_agent=self.client.user_agent,
            last_event_id=state.stream_event_id, save_event_id=self.store.save_stream_id)
        self.stream.start()

    # ------------------------------------------------------------------
    # polling and announcing
    # ------------------------------------------------------------------
    def _start_poll(self) -> None:
        """Poll now: wakes the poller thread (from the stream's thread or a
        command), or starts it. Polls run one at a time on that thread; it
        waits between polls on an event, so die() ends the wait at once."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._wake.set()
            if self._poll_thread is not None and self._poll_thread.is_alive():
                return
            self._poll_thread = threading.Thread(target=self._poll_loop, name="OTRSHelp poller",
                                                 daemon=True)
            self._poll_thread.start()

    def _poll_loop(self) -> None:
        """Poll, then wait as pacing.Pacing says: short while the page is
        active, longer when it has been quiet for hours (pollSeconds at
        most). With the stream on, the poll is a safety net: every
        pollSeconds, and the stream wakes it for each edit."""
        pacing = self.pacing = Pacing()
        while not self._stopping.is_set():
            self._wake.clear()
            result = self.poll_now()
            pacing.longest = float(self.registryValue("pollSeconds"))
            if self.stream is not None:
                pacing.active = pacing.normal = pacing.longest
            else:
                pacing.active = float(self.registryValue("pollActiveSeconds"))
                pacing.normal = float(self.registryValue("pollIdleSeconds"))
            pacing.quiet_after = float(self.registryValue("pollQuietHours")) * 3600
            if result is not None and result.revisions:
                pacing.changed()
            if self._stopping.is_set():
                return
            self._wake.wait(pacing.interval())

    def _check_lease(self) -> bool:
        """Take or keep the lease; say so once when this bot becomes the
        active one or a standby."""
        active = self.lease.try_acquire()
        if not active and self.lease.last_error:  # the database is away, not taken
            self._trouble("the database", StoreUnavailable(self.lease.last_error))
            return False
        if active != self._active:
            if active:
                log.info("OTRSHelp: this bot is the active one on its database")
            else:
                log.warning("OTRSHelp: another bot holds this database (%s); standing by, "
                            "taking over when it stops", self.lease.last_error or "lease taken")
        self._active = active
        return active

    def poll_now(self):
        """One poll and the announcements it found (also used by tests)."""
        if not self._check_lease():
            return None
        self._flush_receipts()
        try:
            watcher = self._components()
            result = watcher.poll()
        except Exception as e:  # never let the poller thread die silently
            self._trouble("the database" if _is_store_error(e) else "the poll", e)
            self.last_poll = {"time": time.time(), "error": str(e)}
            return None
        self._trouble("the database", None)
        self._trouble("the poll", None)
        # the wiki client retried with back-off already; one line when the
        # wiki goes, one when it is back (the poll carries on meanwhile)
        self._trouble("the wiki", WikiError(result.error) if result.error else None)
        if result.page is not None and self.links is not None and result.page.title != self.links.title:
            self.links = Links(self.links.article, self.links.script, result.page.title)
        self.last_poll = {"time": time.time(), "error": result.error,
                          "revisions": result.revisions, "events": len(result.events)}
        for irc in world.ircs:
            if irc.network == self._irc.network or len(world.ircs) == 1:
                self.announce_pending(irc)
        return result

    def _trouble(self, what: str, error: Exception | None) -> None:
        """One log line when something goes away, one when it is back;
        nothing in between (a poll every few seconds would flood the log)."""
        if error is None:
            if self._down.pop(what, None) is not None:
                log.info("OTRSHelp: %s is back", what)
            return
        if what not in self._down:
            if what == "the poll":
                log.exception("OTRSHelp: poll failed: %s", error)
            else:
                log.warning("OTRSHelp: %s is unavailable (%s); trying again at every poll, "
                            "nothing is lost meanwhile", what, _short(error))
        self._down[what] = str(error)

    def announce_pending(self, irc) -> int:
        """Send what is recorded but not yet announced, in every channel the
        bot is in and announces in. Nothing is sent while the bot is in no
        such channel: the events wait until someone can read them."""
        if self._active is False:
            return 0
        if self.links is None:
            self._components()
        with self._announce_lock:
            channels = [c for c in irc.state.channels
                        if self.registryValue("announce", c, irc.network)]
            if not channels:
                return 0
            try:
                stored = self.store.unannounced()
            except Exception as e:
                self._trouble("the database", e)
                return 0
            busy = self._in_flight | self._confirmed
            events = [e for e in stored if e.id not in busy]
            if not events:
                return 0
            burst = self.registryValue("burst")
            sent = 0
            for channel in channels:
                formats = {k: self.registryValue("formats." + k, channel, irc.network)
                           for k in DEFAULT_FORMATS}
                chan = irc.state.channels.get(channel)
                nicks = list(chan.users) if chan is not None else []  # never pinged in excerpts
                for line, ids in lines_for(events, self.links, formats, burst=burst, nicks=nicks):
                    msg = ircmsgs.privmsg(channel, line)
                    msg.tag(EVENT_IDS_TAG, ids)
                    for i in ids:
                        self._lines_left[i] = self._lines_left.get(i, 0) + 1
                    self._queued += 1
                    irc.queueMsg(msg)
                    sent += 1
            self._in_flight.update(e.id for e in events)
            return sent

    # -- receipts: announced means the server has taken the line ---------------
    def outFilter(self, irc, msg):
        """A line is leaving. A private reply to a nick that left after
        asking is dropped. For an announcement line, its receipt is the
        server's echo (IRCv3 echo-message, matched by label) or, where the
        server does not echo, the PONG to a PING sent right after the last
        queued line."""
        if not self._reaches_the_asker(irc, msg):
            return None
        ids = msg.tagged(EVENT_IDS_TAG)
        if not ids or msg.command != "PRIVMSG":
            return msg
        with self._announce_lock:
            self._queued = max(0, self._queued - 1)
            label = msg.server_tags.get("label")
            if label and "echo-message" in irc.state.capabilities_ack:
                self._by_label[label] = list(ids)
            else:
                self._unpinged.extend(ids)
                if self._queued == 0:  # the last line of this batch: ask for the receipt
                    self._ping_seq += 1
                    token = f"otrshelp-{self._ping_seq}"
                    self._by_ping[token] = self._unpinged
                    self._unpinged = []
                    irc.sendMsg(ircmsgs.ping(token))
        return msg

    def _echo_receipt(self, msg) -> None:
        """The server's echo of one of our lines: its receipt."""
        label = msg.server_tags.get("label")
        if not label or msg.tagged("emulatedEcho"):
            return
        with self._announce_lock:
            ids = self._by_label.pop(label, None)
        if ids is not None:
            self._received(ids)

    def doPong(self, irc, msg):
        token = msg.args[-1] if msg.args else ""
        with self._announce_lock:
            ids = self._by_ping.pop(token, None)
        if ids is not None:
            self._received(ids)

    def _received(self, ids) -> None:
        with self._announce_lock:
            for i in ids:
                left = self._lines_left.get(i, 1) - 1
                if left > 0:  # still a line for another channel in flight
                    self._lines_left[i] = left
                    continue
                self._lines_left.pop(i, None)
                self._in_flight.discard(i)
                self._confirmed.add(i)
        # written off the main loop: a database that is away must not hold
        # up the IRC connection (the poller retries at every poll as well)
        if world.testing:
            self._flush_receipts()
        else:
            threading.Thread(target=self._flush_receipts, name="OTRSHelp receipts", daemon=True).start()

    def _flush_receipts(self) -> None:
        """Write the receipts; while the store is away they wait here (and
        their events are not sent again), and go in when it is back. One
        writer at a time, which also writes what arrives while it writes."""
        if not self._flush_lock.acquire(blocking=False):
            return
        try:
            while True:  # until no receipt is waiting (more may come meanwhile)
                with self._announce_lock:
                    ids = sorted(self._confirmed)
                if not ids:
                    return
                try:
                    self.store.mark_announced(ids)
                except Exception as e:
                    self._trouble("the database", e)
                    return
                with self._announce_lock:
                    self._confirmed.difference_update(ids)
        finally:
            self._flush_lock.release()

    def reset(self):
        """Reconnecting: lines without a receipt go again; received ones not."""
        with self._announce_lock:
            self._in_flight.clear()
            self._lines_left.clear()
            self._by_label.clear()
            self._by_ping.clear()
            self._unpinged = []
            self._queued = 0

    def doJoin(self, irc, msg):
        if ircutils.strEqual(msg.nick, irc.nick):
            schedule.addEvent(lambda: self.announce_pending(irc), time.time() + 1)

    # ------------------------------------------------------------------
    # answering plain questions
    # ------------------------------------------------------------------
    def _knowledge_base(self) -> KnowledgeBase:
        """The file with the admins' stored changes; a stored change that no
        longer applies is logged and skipped, the others still apply."""
        overrides = []
        for row in self.store.faq_overrides():
            lang = row.lang or None
            if row.action == "set":
                overrides.append(Override(topic=row.topic, lang=lang, text=row.value))
            elif row.action == "alias":
                overrides.append(Override(topic=row.topic, lang=lang, aliases=[row.value]))
            elif row.action == "forget":
                overrides.append(Override(topic=row.topic, lang=lang, forgotten=True))

        def skip(o: Override, e: ValueError) -> None:
            log.error("OTRSHelp: skipping a stored FAQ change to %s: %s", o.topic, e)

        return self.kb_base.with_overrides(overrides, on_error=skip)

    def _is_bot(self, irc, msg) -> bool:
        return ircutils.strEqual(msg.nick, irc.nick) or looks_like_bot(
            msg.nick, msg.server_tags, self.registryValue("botNicks"))

    def doPrivmsg(self, irc, msg):
        if msg.tagged("emulatedEcho") or not msg.nick or ircutils.strEqual(msg.nick, irc.nick):
            self._echo_receipt(msg)  # our own line, echoed (by the server, or by Limnoria)
            return
        if not msg.channel or ircmsgs.isCtcp(msg) and not ircmsgs.isAction(msg):
            return
        channel, now, net = msg.channel, time.time(), irc.network
        if self._is_bot(irc, msg):
            return
        text = ircmsgs.unAction(msg) if ircmsgs.isAction(msg) else msg.args[1]
        for p in self.memory.heard(net, channel, msg.nick, text, self.kb.speaks_to):
            log.info("OTRSHelp: %s: not answering %s on %s: %s", channel, p.asker, p.topic, p.cancelled)
        if callbacks.addressed(irc, msg):
            return
        if not self.registryValue("answerQuestions", channel, net):
            return
        decision = self.kb.decide(text, self.registryValue("requireTopicWord", channel, net))
        match = decision.match
        if match is None:
            if decision.gates.get("question"):
                log.info("OTRSHelp: %s: quiet on %s's question: %s", channel, msg.nick, decision.reason)
            return
        cooldown = self.registryValue("answerCooldown", channel, net)
        if self.memory.recently_answered(net, channel, msg.nick, match.topic, match.lang, now, cooldown):
            log.info("OTRSHelp: %s: not answering %s on %s again: answered within %ss",
                     channel, msg.nick, match.topic, cooldown)
            return
        pid = self.memory.add_pending(Pending(net, channel, msg.nick, match.topic, match.lang, now))
        delay = self.registryValue("answerDelay", channel, net)
        schedule.addEvent(self._answer, now + delay, name=f"OTRSHelp.answer.{pid}",
                          args=[irc, channel, msg.nick, match, pid])

    def _answer(self, irc, channel, nick, match, pid) -> None:
        """Answer unless a person meanwhile answered the asker or spoke on the topic."""
        pending = self.memory.take_pending(pid)
        if pending is None or pending.cancelled:
            return  # logged when it was cancelled
        if channel not in irc.state.channels and not world.testing:
            log.info("OTRSHelp: %s: not answering %s on %s: I left the channel", channel, nick, match.topic)
            return
        cooldown = self.registryValue("answerCooldown", channel, irc.network)
        if self.memory.claim_answer(irc.network, channel, nick, match.topic, match.lang, time.time(), cooldown):
            log.info("OTRSHelp: %s: answering %s on %s (%s, score %s)", channel, nick, match.topic,
                     match.lang, match.score)
            irc.queueMsg(ircmsgs.privmsg(channel, f"{nick}: {irc_safe(match.answer)}"))
        else:
            log.info("OTRSHelp: %s: not answering %s on %s again: answered within %ss",
                     channel, nick, match.topic, cooldown)

    @staticmethod
    def _not_a_command(irc, msg) -> None:
        """A plain question said to the bot is not a command: take it out of
        Limnoria's command-flood count, so a newcomer exploring is not ignored."""
        owner = irc.getCallback("Owner")
        floods = getattr(owner, "commands", None)
        try:
            q = floods._getQueue(msg, insert=False) if floods is not None else None
        except Exception:  # pragma: no cover - Limnoria internals changed
            return
        if q is None:
            return
        kept = [item for item in q.queue if item[1] is not msg]
        q.queue.reset()
        for item in kept:
            q.queue.enqueue(item)

    def invalidCommand(self, irc, msg, tokens):
        """Someone wrote to the bot, but not a command. Privately: the nearest
        answer. In a channel, addressed with a question: the answer (once per
        person and topic; asked again, a pointer to it); else one short hint."""
        text = " ".join(str(t) for t in tokens)
        now, net = time.time(), irc.network
        if not msg.channel:
            self._not_a_command(irc, msg)
            match = self.kb.lookup(text)
            if match is not None:
                log.info("OTRSHelp: private: answering %s on %s", msg.nick, match.topic)
                irc.reply(irc_safe(match.answer))
            else:
                log.info("OTRSHelp: private: no answer for %s: %s", msg.nick, irc_safe(text, 80))
                irc.reply(_("I answer questions about joining the VRT. Ask in plain words, e.g. "
                            "\"how do I apply?\", or try: help, faq, apply, queues."))
            return
        channel = msg.channel
        question = self.kb.is_question(text)
        match = self.kb.decide(text, addressed=True).match
        if match is None and question:
            match = self.kb.lookup(text)
        cooldown = self.registryValue("answerCooldown", channel, net)
        if match is not None:
            self._not_a_command(irc, msg)
            ago = self.memory.answered_ago(net, channel, msg.nick, match.topic, match.lang, now)
            if ago is not None and ago < cooldown:
                log.info("OTRSHelp: %s: pointing %s at my earlier answer on %s", channel, msg.nick, match.topic)
                irc.reply(_("I answered that %d min ago (scroll up, or: faq %s).")
                          % (max(1, round(ago / 60)), match.topic), prefixNick=True)
                return
            self.memory.claim_answer(net, channel, msg.nick, match.topic, match.lang, now, cooldown)
            log.info("OTRSHelp: %s: answering %s on %s (addressed)", channel, msg.nick, match.topic)
            irc.reply(irc_safe(match.answer), prefixNick=True)
            return
        if self.memory.claim_hint(net, channel, msg.nick, now, cooldown):
            self._not_a_command(irc, msg)
            log.info("OTRSHelp: %s: hint for %s (no answer for: %s)", channel, msg.nick, irc_safe(text, 80))
            irc.reply(_("I answer questions about joining the VRT: ask in plain words, or try \"help\"."),
                      prefixNick=True)

    # ------------------------------------------------------------------
    # access: an account proved by this message, never a nick
    # ------------------------------------------------------------------
    def inFilter(self, irc, msg):
        """Before any plugin sees a message: who sent it is what the server
        says on this message, and only the public commands are open."""
        if msg.command in ("PRIVMSG", "NOTICE") and msg.prefix and ircutils.isUserHostmask(msg.prefix):
            if self._active is False and not ircutils.strEqual(msg.nick, irc.nick):
                return None  # a standby neither answers nor obeys: the active bot does
            if self.registryValue("accountsOnly"):
                self._bind_login(irc, msg)
            if self.registryValue("publicCommandsOnly"):
                self._deny_unlisted(irc)
        return msg

    def _sender(self, irc, msg) -> access.Sender:
        caps = getattr(irc.state, "capabilities_ack", set()) or set()
        return access.sender_of(msg.server_tags, caps)

    def _bind_login(self, irc, msg) -> None:
        """Limnoria's own login (owner commands) follows the account on this
        message: whatever login this nick!user@host had before is dropped,
        and a bot user is logged in only when this message carries its
        account. A borrowed nick, a shared host or a login from before a
        quit therefore grants nothing."""
        prefix = msg.prefix
        for user in list(ircdb.users.users.values()):
            if isinstance(user, int):
                continue
            if user.hostmasks:  # hostmask login would grant without an account
                user.hostmasks.clear()
            if any(mask == prefix for _when, mask in user.auth):
                user.auth = [(w, m) for (w, m) in user.auth if m != prefix]
        ircdb.users.invalidateCache(hostmask=prefix)
        account = self._sender(irc, msg).account
        if not account:
            return
        try:
            user = ircdb.users.getUser(account)
        except KeyError:
            return
        if access.account_key(user.name) == access.account_key(account):
            user.auth.append((time.time(), prefix))

    def _deny_unlisted(self, irc) -> None:
        """Refuse every loaded command that is not on the public list
        (access.PUBLIC_COMMANDS) to anyone but the owner; recomputed when
        the set of loaded plugins changes."""
        loaded = tuple(cb.name() for cb in irc.callbacks)
        if loaded == self._denied_for:
            return
        commands_by_plugin: dict[str, list[str]] = {}
        for cb in irc.callbacks:
            if isinstance(cb, callbacks.Commands):
                commands_by_plugin[cb.name().lower()] = [c for c in cb.listCommands()]
        defaults = conf.supybot.capabilities()
        for cap in access.denied_capabilities(commands_by_plugin):
            if cap not in defaults:
                defaults.add(cap)
        self._denied_for = loaded

    def _roster(self) -> access.Roster:
        configured = self.registryValue("admins")
        return access.Roster(configured, stored=lambda: [r.account for r in self.store.admins()])

    def _admin_refusal(self, irc, msg) -> str | None:
        """Why this message may not use an admin command, or None."""
        sender = self._sender(irc, msg)
        if not sender.known:
            return _("This network does not tell me which services account sent a message "
                     "(no IRCv3 account-tag), so I cannot check that you are a VRTS admin.")
        if not sender.logged_in:
            return _("That is for VRTS admins: log in to your services account first.")
        try:
            ok = self._roster().is_admin(sender.account)
        except Exception as e:  # the store is away: refuse, never guess
            log.warning("OTRSHelp: cannot read the admin list: %s", e)
            return _("I cannot check the admin list right now; try again in a minute.")
        return None if ok else _("That is for VRTS admins only.")

    def _require_admin(self, irc, msg) -> bool:
        """For code paths inside a public command (faq set/history...)."""
        why = self._admin_refusal(irc, msg)
        if why is None:
            return True
        irc.error(why, private=True)
        return False

    # -- private replies reach the person who asked, or nobody -----------------
    def _watch_requester(self, irc, msg) -> None:
        """Private replies wait in the paced send queue; if the admin quits
        or changes nick meanwhile, someone else may hold the nick when they
        go out. So the request is marked, the nick watched (MONITOR, where
        the server has it; QUIT and NICK where we share a channel), and
        outFilter drops what would reach a nick that left after asking."""
        msg.tag(PRIVATE_TAG, True)
        supported = irc.state.supported
        if "MONITOR" in supported or "monitor" in supported:
            key = ircutils.toLower(msg.nick)
            self._unwatch_old(irc)
            if key not in self._monitored:
                irc.sendMsg(ircmsgs.monitor("+", [msg.nick]))
            self._monitored[key] = time.time()

    def _left(self, nick: str) -> None:
        now = time.time()
        self._gone[ircutils.toLower(nick)] = now
        if len(self._gone) > 500:  # bounded: only the last few minutes matter
            self._gone = {k: t for k, t in self._gone.items() if now - t < WATCH_SECONDS}

    def _unwatch_old(self, irc) -> None:
        now = time.time()
        old = [k for k, t in self._monitored.items() if now - t > WATCH_SECONDS]
        for k in old:
            del self._monitored[k]
        if old:
            irc.sendMsg(ircmsgs.monitor("-", old))

    def doQuit(self, irc, msg):
        self._left(msg.nick)

    def doNick(self, irc, msg):
        self._left(msg.nick)

    def do731(self, irc, msg):  # RPL_MONOFFLINE: a watched nick went away
        for target in msg.args[-1].split(","):
            if target:
                self._left(target.split("!", 1)[0])

    def _reaches_the_asker(self, irc, msg) -> bool:
        if msg.command not in ("PRIVMSG", "NOTICE") or not msg.args or irc.isChannel(msg.args[0]):
            return True
        request = msg.tagged("inReplyTo")
        if request is None or not request.tagged(PRIVATE_TAG):
            return True
        gone = self._gone.get(ircutils.toLower(msg.args[0]))
        asked = request.tagged("receivedAt") or 0
        if gone is not None and gone >= asked:
            log.warning("OTRSHelp: not sending a private reply to %s: they left after asking", msg.args[0])
            return False
        return True

    def _private_target(self, irc, msg) -> dict:
        """Private fields go to the admin channel when asked there, else by
        private message: never to a public channel."""
        admin_channel = self.registryValue("adminChannel")
        if msg.channel and admin_channel and ircutils.strEqual(msg.channel, admin_channel):
            return {"private": False}
        return {"private": True, "notice": False}

    # ------------------------------------------------------------------
    # commands: prospective volunteers
    # ------------------------------------------------------------------
    def otrshelp(self, irc, msg, args):
        """takes no arguments

        I help people who want to join Wikimedia's Volunteer Response Team
        (VRT, formerly OTRS): ask me in plain words, or use "faq", "apply",
        "queues", "queue" and "application". I announce the applications
        page on Meta-Wiki here. VRTS admins: "status", "pending", "mark",
        "note".
        """
        self._components()
        state = self.store.state()
        read = (_("last read revision %s") % state.last_revid) if state.last_revid else _("not read yet")
        irc.reply(_("OTRSHelp %s: I answer questions about joining the VRT (try: faq, apply, queues) "
                    "and follow %s (%s). Source and docs: %s")
                  % (__version__, self.links.section("") if self.links else "?", read, __url__))
    otrshelp = wrap(otrshelp)

    def faq(self, irc, msg, args, text):
        """[<topic or question>]

        Without argument, lists the topics. With a topic or a question,
        answers it. Admins: "faq set <topic> [--lang L] <text>", "faq alias
        <topic> <words>", "faq forget <topic>", "faq history <topic>".
        """
        if not text:
            irc.reply(_("FAQ topics: %s. Ask with: faq <topic or question>.")
                      % ", ".join(self.kb.topics()))
            return
        words = text.split()
        if words[0].lower() in ("set", "alias", "forget", "history") and len(words) >= 2:
            self._faq_admin(irc, msg, words)
            return
        match = self.kb.lookup(text)
        if match is None:
            near = self.kb.suggest(text)
            if near:
                irc.reply(_("I have no answer for that. Nearest topics: %s.") % ", ".join(near))
            else:
                irc.reply(_("I have no answer for that. Try: faq (lists the topics)."))
            return
        irc.reply(irc_safe(match.answer), prefixNick=True)
    faq = wrap(faq, [additional("text")])

    def _faq_admin(self, irc, msg, words) -> None:
        if not self._require_admin(irc, msg):
            return
        action, topic = words[0].lower(), words[1].lower()
        rest = words[2:]
        lang = ""  # every language, unless one is named
        if len(rest) >= 2 and rest[0] == "--lang":
            lang, rest = rest[1].lower(), rest[2:]
        who = self._sender(irc, msg).account
        target = self._private_target(irc, msg)
        if action == "history":  # names the admins: private
            rows = self.store.faq_overrides(topic)
            if not rows:
                irc.reply(_("No changes to %s: it is as in the knowledge base file.")
                          % irc_safe(topic, 40), **target)
                return
            irc.reply("; ".join(f"{r.at:%Y-%m-%d %H:%M} {no_ping(r.by)}: {r.action} [{r.lang or 'all'}] "
                                f"{irc_safe(r.value, 80)}".rstrip() for r in rows[-8:]), **target)
            return
        if action in ("set", "alias") and not rest:
            irc.error(_("Give the text too: faq %s <topic> <text>") % action)
            return
        if action != "set" and topic not in self.kb.topics() and topic not in self.kb_base.topics():
            irc.error(_("There is no topic %s. Topics: %s") % (topic, ", ".join(self.kb.topics())))
            return
        value = " ".join(rest)
        change = {"set": Override(topic=topic, lang=lang or None, text=value),
                  "alias": Override(topic=topic, lang=lang or None, aliases=[value]),
                  "forget": Override(topic=topic, lang=lang or None, forgotten=True)}[action]
        try:  # the same checks as the file, before anything is stored
            self.kb.with_overrides([change])
        except ValueError as e:
            irc.error(_("Not stored: %s") % irc_safe(str(e).split(": ", 1)[-1], 300))
            return
        self.store.add_faq_override(topic, lang, action, value, who)
        self.kb = self._knowledge_base()
        log.info("OTRSHelp: FAQ %s %s [%s] by %s", action, topic, lang or "all", who)
        irc.replySuccess()

    def queues(self, irc, msg, args, language):
        """[<language>]

        Lists the VRT queues, or those for <language> (e.g. German, nl), each
        with the language of its mail. "queue <name>" says how to join one.
        """
        if language:
            found = self.kb.queues_for_language(language)
            if not found:
                irc.reply(_("I know no queue for %s. All queues: %s")
                          % (irc_safe(no_ping(language), 40), ", ".join(sorted(self.kb.queues))))
                return
        else:
            found = list(self.kb.queues.values())
        irc.reply(irc_safe(self.kb.queues_line(found)))
    queues = wrap(queues, [additional("text")])

    def queue(self, irc, msg, args, name):
        """<name>

        What the queue <name> is for, its language and how to join it.
        """
        line = self.kb.queue_line(name)
        if line is None:
            near = difflib.get_close_matches(name.lower(), list(self.kb.queues), n=3, cutoff=0.5)
            irc.reply(_("There is no queue %s.%s") % (
                irc_safe(no_ping(name), 40), (_(" Did you mean: %s?") % ", ".join(near)) if near else ""))
            return
        irc.reply(irc_safe(line))
    queue = wrap(queue, ["something"])

    def apply(self, irc, msg, args):
        """takes no arguments

        How to apply to join the VRT.
        """
        irc.reply(irc_safe(self.kb.answer("apply") or ""), prefixNick=True)
    apply = wrap(apply)

    def help(self, irc, msg, args, rest):
        """[<command>]

        Without argument: what this bot does, its commands and how to ask.
        With a command name: that command's help.
        """
        if rest:
            misc = irc.getCallback("Misc")
            if misc is not None:
                misc.help(irc, msg, rest.split())
                return
            irc.reply(self.getCommandHelp([rest.split()[-1].lower()], simpleSyntax=True))
            return
        prefix = conf.supybot.reply.whenAddressedBy.chars.get(msg.channel or "")() or ""
        p = prefix[:1]
        irc.reply(_("I help people join Wikimedia's Volunteer Response Team (VRT, formerly OTRS). "
                    "Ask me in plain words, in English, German or Dutch, here or privately, e.g. "
                    "\"how do I apply?\" or \"wie lange dauert es?\". Commands: %sapply, %sfaq "
                    "[<topic or question>], %squeues [<language>], %squeue <name>, %sapplication "
                    "<applicant>, %sotrshelp. \"help <command>\" explains one.")
                  % (p, p, p, p, p, p))
    help = wrap(help, [additional("text")])

    # ------------------------------------------------------------------
    # commands: channel ops and operators
    # ------------------------------------------------------------------
    def announce(self, irc, msg, args, channel, state):
        """[<channel>] [on|off]

        Turns announcements of the applications page on or off in
        <channel>; without on/off, says whether they are on.
        """
        if state is None:
            on = self.registryValue("announce", channel, irc.network)
            irc.reply(_("Announcements in %s are %s.") % (channel, "on" if on else "off"))
            return
        if not self._is_channel_op(irc, msg, channel):
            irc.errorNoCapability(ircdb.makeChannelCapability(channel, "op"), Raise=False)
            return
        self.setRegistryValue("announce", state == "on", channel=channel, network=irc.network)
        irc.replySuccess()
        if state == "on":
            self.announce_pending(irc)
    announce = wrap(announce, ["channel", optional(("literal", ("on", "off")))])

    def _is_channel_op(self, irc, msg, channel) -> bool:
        """Channel ops as IRC shows them (+o, given by ChanServ to the
        channel's registered ops), or the bot's own #channel,op capability."""
        chan = irc.state.channels.get(channel)
        if chan is not None and chan.isOp(msg.nick):
            return True
        return ircdb.checkCapability(msg.prefix, ircdb.makeChannelCapability(channel, "op"))

    def poll(self, irc, msg, args):
        """takes no arguments

        Checks the applications page now and says how the last poll went.
        """
        target = self._private_target(irc, msg)
        result = self.poll_now()
        if result is None:
            irc.error(_("The poll failed: %s") % irc_safe(str(self.last_poll.get("error")), 200),
                      **target)
        elif result.error:
            irc.reply(_("The wiki did not answer: %s. Nothing is lost; I will try again.")
                      % irc_safe(result.error, 200), **target)
        else:
            page = result.page
            irc.reply(_("Read %s (page %s, revision %s): %s new revision(s), %s event(s).")
                      % (irc_safe(page.title, 200), page.pageid, page.lastrevid, result.revisions,
                         len(result.events)), **target)
    poll = wrap(poll, ["vrtAdmin"])

    # ------------------------------------------------------------------
    # commands: applicants and admins
    # ------------------------------------------------------------------
    def _lookup(self, irc, name, **target):
        row = self.store.find_application(name)
        if row is not None:
            return row
        names = self.store.applicant_names()
        near = admin_view.near_names(name, names)
        # the name is the asker's text: bounded and de-pinged like wiki text
        irc.reply(_("I know no application by %s.%s") % (
            irc_safe(no_ping(normalize_username(name)), 60),
            (_(" Did you mean: %s?") % ", ".join(no_ping(n) for n in near)) if near else ""),
            **target)
        return None

    def application(self, irc, msg, args, name):
        """<applicant>

        Where an application stands: open or closed, days waiting, votes and
        the link. Anyone may ask.
        """
        row = self._lookup(irc, name)
        if row is None:
            return
        self._components()
        irc.reply(admin_view.public_line(row, self.links, _utcnow()))
    application = wrap(application, ["text"])

    def status(self, irc, msg, args, name):
        """<applicant>

        Admins: everything about an application: votes with names, open
        questions, last activity, the applicant's wiki profile, and what
        admins recorded (email, decision, notes). Sent privately.
        """
        target = self._private_target(irc, msg)
        row = self._lookup(irc, name, **target)
        if row is None:
            return
        self._components()
        records = self.store.records(row.applicant)
        profile = None
        try:
            profile = self.profiles.get(row.applicant)
        except WikiError as e:
            profile = e
        for line in admin_view.status_lines(row, records, profile, self.links, _utcnow()):
            irc.reply(line, **target)
    status = wrap(status, ["vrtAdmin", "text"])

    def pending(self, irc, msg, args):
        """takes no arguments

        Admins: open applications, longest waiting first, with flags (no
        email yet, unanswered question, opposes). Sent privately.
        """
        waiting = WAITING_STATUSES
        rows = self.store.applications(statuses=waiting, limit=PENDING_LINES)
        total = self.store.count_applications(statuses=waiting)
        records = self.store.records_for([r.applicant_key for r in rows])
        lines = admin_view.pending_lines(rows, records, _utcnow(), total=total)
        target = self._private_target(irc, msg)
        for line in lines:
            irc.reply(line, **target)
    pending = wrap(pending, ["vrtAdmin"])

    def stale(self, irc, msg, args):
        """takes no arguments

        Admins: the applications waiting longer than the configured number
        of days (the digest the admin channel gets periodically).
        """
        target = self._private_target(irc, msg)
        for line in self._stale_lines():
            irc.reply(line, **target)
    stale = wrap(stale, ["vrtAdmin"])

    def _stale_lines(self) -> list[str]:
        rows = self.store.applications(statuses=WAITING_STATUSES)
        records = self.store.records_for([r.applicant_key for r in rows])
        return admin_view.stale_lines(rows, records, _utcnow(), self.registryValue("staleDays"))

    def _stale_digest(self) -> None:
        channel = self.registryValue("adminChannel")
        if not channel:
            return
        for irc in world.ircs:
            if channel in irc.state.channels:
                for line in self._stale_lines():
                    irc.queueMsg(ircmsgs.privmsg(channel, line))

    def _applicant_and_rest(self, irc, text: str, **target):
        """Split "<applicant> <rest>" where the name may hold spaces: the
        longest leading run of words that names a known applicant wins."""
        words = text.split()
        for n in range(min(len(words), 8), 0, -1):
            row = self.store.find_application(" ".join(words[:n]))
            if row is not None:
                return row, words[n:]
        self._lookup(irc, words[0] if len(words) == 1 else " ".join(words[:-1]) or text, **target)
        return None, []

    def mark(self, irc, msg, args, text):
        """<applicant> email|approved|declined|onhold|withdrawn [<note>]

        Admins: records what happened off-wiki: the email with the age has
        arrived (never its content), or the decision. Shown in "status".
        """
        target = self._private_target(irc, msg)
        words = text.split()
        at = next((i for i, w in enumerate(words) if i > 0 and w.lower() in MARK_KINDS), None)
        if at is None:
            irc.error(_("Say what to record: mark <applicant> %s [<note>]") % "|".join(
                k for k in MARK_KINDS if k != "on-hold"), **target)
            return
        row = self._lookup(irc, " ".join(words[:at]), **target)
        if row is None:
            return
        what, note = words[at].lower(), " ".join(words[at + 1:])
        value = "received" if what == "email" else ("on hold" if what in ("onhold", "on-hold") else what)
        dropped = ""
        if note and what == "email":
            # only that the email arrived: never its content or the age in it
            dropped = _(" (the text after 'email' was not stored: only the arrival is recorded)")
        elif note:
            value = f"{value}: {note}"
        self.store.add_record(row.applicant, MARK_KINDS[what], value, self._sender(irc, msg).account)
        irc.reply(_("Recorded for %s: %s.%s") % (no_ping(row.applicant), irc_safe(value, 300), dropped),
                  **target)
    mark = wrap(mark, ["vrtAdmin", "text"])

    def note(self, irc, msg, args, text):
        """<applicant> <text>

        Admins: a private note about an application, shown in "status".
        """
        target = self._private_target(irc, msg)
        row, rest = self._applicant_and_rest(irc, text, **target)
        if row is None:
            return
        if not rest:
            irc.error(_("Give the note too: note <applicant> <text>"), **target)
            return
        self.store.add_record(row.applicant, "note", " ".join(rest), self._sender(irc, msg).account)
        irc.reply(_("Noted for %s.") % no_ping(row.applicant), **target)
    note = wrap(note, ["vrtAdmin", "text"])

    def admins(self, irc, msg, args, action, account):
        """[add|remove <account>]

        Admins: lists the VRTS admins (services accounts), or adds or
        removes one. Those configured by the operator (OTRSHELP_ADMINS)
        cannot be removed from IRC. Sent privately.
        """
        target = self._private_target(irc, msg)
        roster = self._roster()
        if action is None:
            stored = self.store.admins()
            parts = [no_ping(a) + _(" (configured)") for a in roster.configured.values()]
            parts += [_("%s (added by %s, %s)") % (no_ping(r.account), no_ping(r.added_by),
                                                   f"{r.added_at:%Y-%m-%d}") for r in stored]
            irc.reply(_("VRTS admins: %s.") % (", ".join(parts) or _("none")), **target)
            return
        if not account or not ircutils.isNick(account, strictRfc=True):
            irc.error(_("Give a services account name: admins %s <account>") % action, **target)
            return
        who = self._sender(irc, msg).account
        if action == "add":
            if roster.is_admin(account):
                irc.reply(_("%s is already a VRTS admin.") % no_ping(account), **target)
                return
            self.store.add_admin(account, who)
            log.info("OTRSHelp: %s added %s as a VRTS admin", who, account)
            irc.reply(_("%s is now a VRTS admin (when logged in to that account).")
                      % no_ping(account), **target)
            return
        if roster.is_configured(account):
            irc.error(_("%s is configured by the operator (OTRSHELP_ADMINS); it cannot be "
                        "removed from IRC.") % no_ping(account), **target)
            return
        if not self.store.remove_admin(account):
            irc.error(_("%s is not a VRTS admin.") % irc_safe(no_ping(account), 60), **target)
            return
        log.info("OTRSHelp: %s removed %s from the VRTS admins", who, account)
        irc.reply(_("%s is no longer a VRTS admin.") % no_ping(account), **target)
    admins = wrap(admins, ["vrtAdmin", optional(("literal", ("add", "remove"))),
                           additional("somethingWithoutSpaces")])


def _is_store_error(e: Exception) -> bool:
    return isinstance(e, StoreUnavailable)


def _short(e: Exception, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _utcnow() -> datetime:
    return datetime.fromtimestamp(time.time(), timezone.utc)


Class = OTRSHelp
