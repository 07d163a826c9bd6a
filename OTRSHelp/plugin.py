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

from supybot import callbacks, conf, ircdb, ircmsgs, ircutils, log, schedule, world
from supybot.commands import additional, optional, wrap

try:
    from supybot.i18n import PluginInternationalization

    _ = PluginInternationalization("OTRSHelp")
except Exception:  # pragma: no cover
    def _(x):
        return x

from . import __url__, __version__
from . import admin as admin_view
from .announce import DEFAULT_FORMATS, Links, lines_for
from .eventstream import wiki_id
from .faq import KnowledgeBase, Override
from .listener import ChannelMemory, looks_like_bot
from .names import irc_safe, no_ping, normalize_username
from .pacing import Pacing
from .profile import ProfileCache
from .store import Store, default_url
from .tracker import Tracker
from .watcher import Watcher
from .wikiclient import WikiClient, WikiError

EVENT_IDS_TAG = "otrshelp_event_ids"
PENDING_LINES = 15
MARK_KINDS = {"email": "email", "approved": "decision", "declined": "decision",
              "onhold": "decision", "on-hold": "decision", "withdrawn": "decision"}


class OTRSHelp(callbacks.Plugin):
    """Helps people who want to join Wikimedia's Volunteer Response Team (VRT,
    formerly OTRS): answers their questions (try "faq" and "apply"),
    announces the applications page on Meta-Wiki in the channel, and lets
    VRTS admins follow each applicant ("status", "pending", "mark")."""

    threaded = True

    def __init__(self, irc):
        self.__parent = super(OTRSHelp, self)
        self.__parent.__init__(irc)
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
        self._poll_again = False
        self.store = Store(self._db_url())
        self.kb_base = KnowledgeBase.load()
        self.kb = self._knowledge_base()
        self._irc = irc
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
        self._start_stream()
        self._start_poll()

    def die(self):
        self._stopping.set()
        self._wake.set()
        if self.client is not None:
            self.client.stop.set()  # ends a retry wait at once
        for name in ("OTRSHelp.poll", "OTRSHelp.staleDigest"):
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
        self.store.close()
        self.__parent.die()

    def reset(self):
        """Reconnecting: lines queued but never sent will be sent again."""
        with self._announce_lock:
            self._in_flight.clear()

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

    def poll_now(self):
        """One poll and the announcements it found (also used by tests)."""
        try:
            watcher = self._components()
            result = watcher.poll()
        except Exception as e:  # never let the poller thread die silently
            log.exception("OTRSHelp: poll failed: %s", e)
            self.last_poll = {"time": time.time(), "error": str(e)}
            return None
        if result.page is not None and self.links is not None and result.page.title != self.links.title:
            self.links = Links(self.links.article, self.links.script, result.page.title)
        self.last_poll = {"time": time.time(), "error": result.error,
                          "revisions": result.revisions, "events": len(result.events)}
        for irc in world.ircs:
            if irc.network == self._irc.network or len(world.ircs) == 1:
                self.announce_pending(irc)
        return result

    def announce_pending(self, irc) -> int:
        """Send what is recorded but not yet announced, in every channel the
        bot is in and announces in. Nothing is sent while the bot is in no
        such channel: the events wait until someone can read them."""
        if self.links is None:
            self._components()
        with self._announce_lock:
            channels = [c for c in irc.state.channels
                        if self.registryValue("announce", c, irc.network)]
            if not channels:
                return 0
            events = [e for e in self.store.unannounced() if e.id not in self._in_flight]
            if not events:
                return 0
            burst = self.registryValue("burst")
            sent = 0
            for channel in channels:
                formats = {k: self.registryValue("formats." + k, channel, irc.network)
                           for k in DEFAULT_FORMATS}
                for line, ids in lines_for(events, self.links, formats, burst=burst):
                    msg = ircmsgs.privmsg(channel, line)
                    msg.tag(EVENT_IDS_TAG, ids)
                    irc.queueMsg(msg)
                    sent += 1
            self._in_flight.update(e.id for e in events)
            return sent

    def outFilter(self, irc, msg):
        ids = msg.tagged(EVENT_IDS_TAG)
        if ids:
            try:
                self.store.mark_announced(ids)
            except Exception as e:  # the line went out; log and carry on
                log.error("OTRSHelp: could not mark events %s announced: %s", ids, e)
        return msg

    def doJoin(self, irc, msg):
        if ircutils.strEqual(msg.nick, irc.nick):
            schedule.addEvent(lambda: self.announce_pending(irc), time.time() + 1)

    # ------------------------------------------------------------------
    # answering plain questions
    # ------------------------------------------------------------------
    def _knowledge_base(self) -> KnowledgeBase:
        overrides = []
        for row in self.store.faq_overrides():
            lang = row.lang or None
            if row.action == "set":
                overrides.append(Override(topic=row.topic, lang=lang, text=row.value))
            elif row.action == "alias":
                overrides.append(Override(topic=row.topic, lang=lang, aliases=[row.value]))
            elif row.action == "forget":
                overrides.append(Override(topic=row.topic, lang=lang, forgotten=True))
        try:
            return self.kb_base.with_overrides(overrides)
        except ValueError as e:  # a bad override must not take the FAQ down
            log.error("OTRSHelp: ignoring FAQ overrides: %s", e)
            return self.kb_base

    def _is_bot(self, irc, msg) -> bool:
        return ircutils.strEqual(msg.nick, irc.nick) or looks_like_bot(
            msg.nick, msg.server_tags, self.registryValue("botNicks"))

    def doPrivmsg(self, irc, msg):
        if not msg.channel or ircmsgs.isCtcp(msg) and not ircmsgs.isAction(msg):
            return
        channel, now = msg.channel, time.time()
        if self._is_bot(irc, msg):
            return
        self.memory.spoke(irc.network, channel, msg.nick, now)
        if callbacks.addressed(irc, msg):
            return
        if not self.registryValue("answerQuestions", channel, irc.network):
            return
        text = ircmsgs.unAction(msg) if ircmsgs.isAction(msg) else msg.args[1]
        match = self.kb.match_chat(text)
        if match is None:
            return
        cooldown = self.registryValue("answerCooldown", channel, irc.network)
        if self.memory.recently_answered(irc.network, channel, match.topic, now, cooldown):
            return
        delay = self.registryValue("answerDelay", channel, irc.network)
        self._answer_seq += 1
        schedule.addEvent(self._answer, now + delay, name=f"OTRSHelp.answer.{self._answer_seq}",
                          args=[irc, channel, msg.nick, match, now])

    def _answer(self, irc, channel, nick, match, asked_at) -> None:
        """Answer unless a person spoke meanwhile (someone else is helping)."""
        if self.memory.someone_else_spoke(irc.network, channel, nick, asked_at):
            return
        if channel not in irc.state.channels and not world.testing:
            return
        cooldown = self.registryValue("answerCooldown", channel, irc.network)
        if self.memory.claim_answer(irc.network, channel, match.topic, time.time(), cooldown):
            irc.queueMsg(ircmsgs.privmsg(channel, f"{nick}: {irc_safe(match.answer)}"))

    def invalidCommand(self, irc, msg, tokens):
        """Someone wrote to the bot, but not a command: a question in a
        private message gets the nearest answer, in a channel only a
        confident one."""
        text = " ".join(str(t) for t in tokens)
        match = self.kb.match_chat(text) if msg.channel else self.kb.lookup(text)
        if match is not None:
            irc.reply(irc_safe(match.answer), prefixNick=True)
        elif not msg.channel:
            irc.reply(_("I answer questions about joining the VRT. Try: faq, apply, queues, "
                        "or ask in plain words, e.g. \"how do I apply?\""))

    # ------------------------------------------------------------------
    # access
    # ------------------------------------------------------------------
    def _account(self, irc, msg) -> str | None:
        tags = msg.server_tags or {}
        account = tags.get("account")
        if not account:
            try:
                account = irc.state.nickToAccount(msg.nick)
            except KeyError:
                account = None
        return account if account and account != "*" else None

    def _is_admin(self, irc, msg) -> bool:
        """The admin capability, checked against the sender's services
        account where the network has accounts: a nick alone proves nothing."""
        caps = getattr(irc.state, "capabilities_ack", set()) or set()
        if {"account-tag", "extended-join", "account-notify"} & set(caps):
            account = self._account(irc, msg)
            if not account:
                return False
            user = ircdb.users.getUserFromNick(irc.network, account)
            if user is None:
                return False
            return ircdb.checkCapability(user.id, "admin")
        return ircdb.checkCapability(msg.prefix, "admin")

    def _require_admin(self, irc, msg) -> bool:
        if self._is_admin(irc, msg):
            return True
        irc.errorNoCapability("admin", Raise=False)
        return False

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
        who = self._account(irc, msg) or msg.nick
        if action == "history":
            rows = self.store.faq_overrides(topic)
            if not rows:
                irc.reply(_("No changes to %s: it is as in the knowledge base file.") % topic)
                return
            irc.reply("; ".join(f"{r.at:%Y-%m-%d %H:%M} {r.by}: {r.action} [{r.lang or 'all'}] "
                                f"{irc_safe(r.value, 80)}".rstrip() for r in rows[-8:]))
            return
        if action in ("set", "alias") and not rest:
            irc.error(_("Give the text too: faq %s <topic> <text>") % action)
            return
        if action != "set" and topic not in self.kb.topics() and topic not in self.kb_base.topics():
            irc.error(_("There is no topic %s. Topics: %s") % (topic, ", ".join(self.kb.topics())))
            return
        self.store.add_faq_override(topic, lang, action, " ".join(rest), who)
        self.kb = self._knowledge_base()
        irc.replySuccess()

    def queues(self, irc, msg, args, language):
        """[<language>]

        Lists the VRT queues, or those for <language> (e.g. German, nl).
        """
        if language:
            found = self.kb.queues_for_language(language)
            if not found:
                irc.reply(_("I know no queue for %s. All queues: %s")
                          % (language, ", ".join(sorted(self.kb.queues))))
                return
        else:
            found = list(self.kb.queues.values())
        irc.reply("; ".join(f"{q.name} ({', '.join(q.languages)})" for q in found))
    queues = wrap(queues, [additional("text")])

    def queue(self, irc, msg, args, name):
        """<name>

        What the queue <name> is for, its language and how to join it.
        """
        q = self.kb.queues.get(name.lower())
        if q is None:
            near = difflib.get_close_matches(name.lower(), list(self.kb.queues), n=3, cutoff=0.5)
            irc.reply(_("There is no queue %s.%s") % (
                irc_safe(name, 40), (_(" Did you mean: %s?") % ", ".join(near)) if near else ""))
            return
        text = f"{q.name} ({', '.join(q.languages)}): {q.purpose}"
        if q.process:
            text += f" {q.process}"
        irc.reply(irc_safe(text))
    queue = wrap(queue, ["something"])

    def apply(self, irc, msg, args):
        """takes no arguments

        How to apply to join the VRT.
        """
        irc.reply(irc_safe(self.kb.answer("apply") or ""), prefixNick=True)
    apply = wrap(apply)

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
        if not self._require_admin(irc, msg):
            return
        result = self.poll_now()
        if result is None:
            irc.error(_("The poll failed: %s") % self.last_poll.get("error"))
        elif result.error:
            irc.reply(_("The wiki did not answer: %s. Nothing is lost; I will try again.")
                      % irc_safe(result.error, 200))
        else:
            page = result.page
            irc.reply(_("Read %s (page %s, revision %s): %s new revision(s), %s event(s).")
                      % (page.title, page.pageid, page.lastrevid, result.revisions,
                         len(result.events)))
    poll = wrap(poll)

    # ------------------------------------------------------------------
    # commands: applicants and admins
    # ------------------------------------------------------------------
    def _lookup(self, irc, name):
        row = self.store.find_application(name)
        if row is not None:
            return row
        names = self.store.applicant_names()
        near = admin_view.near_names(name, names)
        irc.reply(_("I know no application by %s.%s") % (
            no_ping(normalize_username(name)),
            (_(" Did you mean: %s?") % ", ".join(no_ping(n) for n in near)) if near else ""))
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
        if not self._require_admin(irc, msg):
            return
        row = self._lookup(irc, name)
        if row is None:
            return
        self._components()
        records = self.store.records(row.applicant)
        profile = None
        try:
            profile = self.profiles.get(row.applicant)
        except WikiError as e:
            profile = e
        target = self._private_target(irc, msg)
        for line in admin_view.status_lines(row, records, profile, self.links, _utcnow()):
            irc.reply(line, **target)
    status = wrap(status, ["text"])

    def pending(self, irc, msg, args):
        """takes no arguments

        Admins: open applications, longest waiting first, with flags (no
        email yet, unanswered question, opposes). Sent privately.
        """
        if not self._require_admin(irc, msg):
            return
        waiting = ("open", "on hold")
        rows = self.store.applications(statuses=waiting, limit=PENDING_LINES)
        total = self.store.count_applications(statuses=waiting)
        records = self.store.records_for([r.applicant_key for r in rows])
        lines = admin_view.pending_lines(rows, records, _utcnow(), total=total)
        target = self._private_target(irc, msg)
        for line in lines:
            irc.reply(line, **target)
    pending = wrap(pending)

    def stale(self, irc, msg, args):
        """takes no arguments

        Admins: the applications waiting longer than the configured number
        of days (the digest the admin channel gets periodically).
        """
        if not self._require_admin(irc, msg):
            return
        target = self._private_target(irc, msg)
        for line in self._stale_lines():
            irc.reply(line, **target)
    stale = wrap(stale)

    def _stale_lines(self) -> list[str]:
        rows = self.store.applications(statuses=("open", "on hold"))
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

    def _applicant_and_rest(self, irc, text: str):
        """Split "<applicant> <rest>" where the name may hold spaces: the
        longest leading run of words that names a known applicant wins."""
        words = text.split()
        for n in range(min(len(words), 8), 0, -1):
            row = self.store.find_application(" ".join(words[:n]))
            if row is not None:
                return row, words[n:]
        self._lookup(irc, words[0] if len(words) == 1 else " ".join(words[:-1]) or text)
        return None, []

    def mark(self, irc, msg, args, text):
        """<applicant> email|approved|declined|onhold|withdrawn [<note>]

        Admins: records what happened off-wiki: the email with the age has
        arrived (never its content), or the decision. Shown in "status".
        """
        if not self._require_admin(irc, msg):
            return
        words = text.split()
        at = next((i for i, w in enumerate(words) if i > 0 and w.lower() in MARK_KINDS), None)
        if at is None:
            irc.error(_("Say what to record: mark <applicant> %s [<note>]") % "|".join(
                k for k in MARK_KINDS if k != "on-hold"))
            return
        row = self._lookup(irc, " ".join(words[:at]))
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
        self.store.add_record(row.applicant, MARK_KINDS[what], value, self._account(irc, msg) or msg.nick)
        irc.reply(_("Recorded for %s: %s.%s") % (no_ping(row.applicant), value, dropped),
                  **self._private_target(irc, msg))
    mark = wrap(mark, ["text"])

    def note(self, irc, msg, args, text):
        """<applicant> <text>

        Admins: a private note about an application, shown in "status".
        """
        if not self._require_admin(irc, msg):
            return
        row, rest = self._applicant_and_rest(irc, text)
        if row is None:
            return
        if not rest:
            irc.error(_("Give the note too: note <applicant> <text>"))
            return
        self.store.add_record(row.applicant, "note", " ".join(rest), self._account(irc, msg) or msg.nick)
        irc.reply(_("Noted for %s.") % no_ping(row.applicant), **self._private_target(irc, msg))
    note = wrap(note, ["text"])


def _utcnow() -> datetime:
    return datetime.fromtimestamp(time.time(), timezone.utc)


Class = OTRSHelp
