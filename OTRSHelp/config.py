###
# Copyright (c) 2026, OTRSHelp developers
# All rights reserved.
###
"""OTRSHelp's registry: what the operator and channel ops can change."""

from supybot import conf, registry

try:
    from supybot.i18n import PluginInternationalization

    _ = PluginInternationalization("OTRSHelp")
except Exception:  # pragma: no cover - Limnoria without i18n
    def _(x):
        return x

from . import defaults
from .announce import DEFAULT_FORMATS


class NonNegativeFloat(registry.Float):
    """Value must be a number, zero or more."""

    def setValue(self, v, **kwargs):
        if v < 0:
            self.error()
        super().setValue(v, **kwargs)


def configure(advanced):
    from supybot.questions import something

    conf.registerPlugin("OTRSHelp", True)
    page = something("Which page holds the applications?", default=defaults.PAGE)
    OTRSHelp.page.setValue(page)


OTRSHelp = conf.registerPlugin("OTRSHelp")

# -- the wiki ------------------------------------------------------------
conf.registerGlobalValue(OTRSHelp, "wikiApi", registry.String(
    defaults.WIKI_API, _("""Action API endpoint (api.php) of
    the wiki that holds the applications page.""")))
conf.registerGlobalValue(OTRSHelp, "page", registry.String(
    defaults.PAGE, _("""Title of the applications page. Redirects are
    followed once; the bot then follows the page id, so renames need no change.""")))
conf.registerGlobalValue(OTRSHelp, "eventStream", registry.String(
    defaults.EVENTSTREAM, _("""EventStreams
    recentchange URL that wakes the poller as soon as the page is edited. Empty
    turns the stream off; the poll carries on either way.""")))
conf.registerGlobalValue(OTRSHelp, "pollSeconds", registry.PositiveInteger(
    defaults.POLL_SECONDS, _("""Longest wait between two revision polls: reached after the page
    has been quiet for pollQuietHours and more. With the event stream on, the
    poll runs every pollSeconds and the stream wakes it for each edit. Each
    idle poll costs one small API request.""")))
# -- poll pacing without the stream (pacing.py; README: "What it costs") --
conf.registerGlobalValue(OTRSHelp, "pollActiveSeconds", registry.PositiveFloat(
    2.0, _("""Seconds between two polls for ten minutes after an edit of the
    page (stream off): edits come in bursts.""")))
conf.registerGlobalValue(OTRSHelp, "pollIdleSeconds", registry.PositiveFloat(
    4.0, _("""Seconds between two polls otherwise (stream off), until the
    page has been quiet for pollQuietHours.""")))
conf.registerGlobalValue(OTRSHelp, "pollQuietHours", registry.PositiveFloat(
    6.0, _("""After this many hours without an edit the wait between polls
    doubles every hour, up to pollSeconds.""")))
conf.registerGlobalValue(OTRSHelp, "contact", registry.String(
    "", _("""How Wikimedia can reach the bot's operator (User-Agent), e.g. an
    email address or User:Name on Meta.""")))
conf.registerGlobalValue(OTRSHelp, "database", registry.String(
    "", _("""SQLAlchemy URL of the database. Empty: the OTRSHELP_DB environment
    variable, else an SQLite file in the data directory. Prefer the environment
    for URLs with a password."""), private=True))
conf.registerGlobalValue(OTRSHelp, "httpTimeout", registry.PositiveFloat(
    10.0, _("""Seconds to wait for the wiki to answer one request before
    retrying with back-off.""")))
conf.registerGlobalValue(OTRSHelp, "holdHours", registry.PositiveFloat(
    6.0, _("""When one revision removes most open applications at once
    (blanking, vandalism), wait this many hours for a revert before announcing
    the removals as archived.""")))
conf.registerGlobalValue(OTRSHelp, "profileCacheSeconds", registry.PositiveInteger(
    600, _("""How long an applicant's wiki profile is kept before it is asked
    for again.""")))

# -- announcements -----------------------------------------------------------
conf.registerChannelValue(OTRSHelp, "announce", registry.Boolean(
    True, _("""Announce new applications, votes, questions, replies and
    decisions from the applications page in this channel.""")))
conf.registerGlobalValue(OTRSHelp, "burst", registry.PositiveInteger(
    6, _("""More events than this at once (catch-up after downtime, a busy
    hour) are announced as one summary line per application.""")))
conf.registerGroup(OTRSHelp, "formats")
for _kind, _default in DEFAULT_FORMATS.items():
    conf.registerChannelValue(OTRSHelp.formats, _kind, registry.String(
        _default, _("""Announcement format for '%s' events. Placeholders:
        $applicant $actor $vote $status $previous $queues $languages $excerpt
        $link.""") % _kind))

# -- answering questions -----------------------------------------------------------
conf.registerChannelValue(OTRSHelp, "answerQuestions", registry.Boolean(
    True, _("""Answer plain questions in the channel (not only commands) when
    the knowledge base matches them with high confidence.""")))
conf.registerChannelValue(OTRSHelp, "answerDelay", NonNegativeFloat(
    8.0, _("""Seconds to wait before answering a plain question; if a person
    answers meanwhile, the bot stays quiet.""")))
conf.registerChannelValue(OTRSHelp, "answerCooldown", registry.NonNegativeInteger(
    900, _("""Seconds during which the bot does not give the same answer twice
    in a channel.""")))
conf.registerGlobalValue(OTRSHelp, "botNicks", registry.SpaceSeparatedListOfStrings(
    ["ChanServ", "NickServ", "wm-bot", "wm-bot2", "wm-bot3", "wm-bot4", "wm-bot5"],
    _("""Nicks of other bots whose lines are never answered (nicks ending in
    'bot' and messages tagged as from a bot are skipped too).""")))

# -- admins ---------------------------------------------------------------------
conf.registerGlobalValue(OTRSHelp, "adminChannel", registry.String(
    "", _("""A private channel of VRTS admins: private fields may be shown there
    and the stale digest is posted there. Empty: private message only.""")))
conf.registerGlobalValue(OTRSHelp, "staleDays", registry.PositiveInteger(
    30, _("""An open application waiting longer than this many days is stale.""")))
conf.registerGlobalValue(OTRSHelp, "staleDigestHours", NonNegativeFloat(
    24.0, _("""Hours between two stale digests in the admin channel; 0 turns
    the digest off.""")))
conf.registerGlobalValue(OTRSHelp, "admins", registry.SpaceSeparatedListOfStrings(
    [], _("""Services accounts of the VRTS admins (OTRSHELP_ADMINS). An admin
    is recognised only by the account the server reports on each message;
    admins can add more from IRC with the "admins" command.""")))
conf.registerGlobalValue(OTRSHelp, "accountsOnly", registry.Boolean(
    True, _("""Log Limnoria users (the bot's owners) in by the services
    account on each message only: a login remembered from an earlier message,
    a hostmask, "identify" or NickAuth grant nothing. Turn off only when this
    plugin is loaded into a bot that manages its users otherwise.""")))
conf.registerGlobalValue(OTRSHelp, "publicCommandsOnly", registry.Boolean(
    True, _("""Refuse every loaded command that is not one of this bot's
    public commands (and help, list, more) to anyone but the owner.""")))

# -- answering questions: channels with a wider topic (FAQ) ---------------------------
conf.registerChannelValue(OTRSHelp, "requireTopicWord", registry.Boolean(
    False, _("""Answer a plain question only when it names the VRT (or OTRS, a
    queue, applying): for channels with a wider topic than joining the VRT.
    Off in the VRT channel, where every question is about it.""")))
