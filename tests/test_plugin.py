"""The plugin in Limnoria's own test harness: commands, the channel listener,
announcements and access control, as people on IRC would see them."""
from __future__ import annotations

import re

import pytest

from supybot import conf, ircmsgs
from supybot.test import ChannelPluginTestCase, timeFastForward

from OTRSHelp.tracker import Tracker
from pagebuilder import App, Page, Rev, at, days_ago, sig

NOCAP = "stranger!u@host__no_testcap__"


def plugin(tc):
    return tc.irc.getCallback("OTRSHelp")


def seed(tc, page: Page, *later: tuple[str, str]) -> Tracker:
    """Store *page* as the page the bot has read (and later revisions)."""
    tracker = Tracker(plugin(tc).store)
    tracker.process(Rev(1, at(0), "Someone", page.text()))
    return tracker


class AccountTags:
    """The server tags each message with the sender's services account
    (IRCv3 account-tag), as Libera does; ``accounts`` maps nick -> account."""

    accounts: dict[str, str] = {"test": "admin1"}
    config = {"supybot.plugins.OTRSHelp.admins": ["admin1"]}

    def setUp(self):
        super().setUp()
        self.irc.state.capabilities_ack.add("account-tag")
        original = self.irc.feedMsg

        def feed(msg, *args, **kwargs):
            account = self.accounts.get(msg.nick) if msg.prefix else None
            if msg.command in ("PRIVMSG", "NOTICE") and account:
                msg.server_tags["account"] = account
            return original(msg, *args, **kwargs)

        self.irc.feedMsg = feed


def sample_page() -> Page:
    alice = App("Alice Example", days_ago(40.2), queues="info-en, permissions-commons")
    alice.lines += [f"*{{{{support}}}} Good. {sig('Supporter One', days_ago(39))}",
                    f"*{{{{oppose}}}} Not yet. {sig('Opposer', days_ago(38))}",
                    f"*{{{{q}}}} How many hours a week? {sig('Asker', days_ago(37))}"]
    bob = App("Bob", days_ago(3.2), queues="info-de", languages="German")
    bob.lines += [f"*{{{{s}}}} Sure. {sig('Supporter One', days_ago(2))}"]
    return Page([alice, bob])


class FaqCommandsTestCase(AccountTags, ChannelPluginTestCase):
    plugins = ("OTRSHelp", "User")
    channel = "#wikimedia-vrtconnect"

    def testHelp(self):
        self.assertRegexp("help OTRSHelp", "Volunteer Response Team")
        self.assertRegexp("otrshelp", "OTRSHelp 0.1.0: .*faq.*follow https:.*not read yet")
        self.assertRegexp("help OTRSHelp faq", "topic or question")
        self.assertRegexp("list OTRSHelp", "apply.*faq.*queue")

    def testFaqListsTopics(self):
        self.assertRegexp("faq", "apply.*how-long")

    def testFaqAnswersAQuestionWithItsLink(self):
        self.assertRegexp("faq how do I apply?", r"volunteers-vrt@wikimedia\.org.*https://meta\.wikimedia\.org/")

    def testFaqByTopicAndLanguage(self):
        self.assertRegexp("faq wie lange dauert die Bearbeitung meiner Bewerbung?", "https://")
        self.assertRegexp("faq info-nl", "(?i)nl")

    def testFaqMissSuggests(self):
        self.assertRegexp("faq zzzz qqqq", "(?i)no answer")

    def testQueuesForALanguage(self):
        self.assertRegexp("queues German", "info-de")
        self.assertNotRegexp("queues German", "info-nl")
        self.assertRegexp("queues Klingon", "(?i)no queue")

    def testQueue(self):
        self.assertRegexp("queue info-de", "(?i)de.wikipedia.org/wiki/Wikipedia:Support-Team")
        self.assertRegexp("queue info-dx", "(?i)no queue.*info-de")

    def testApply(self):
        self.assertRegexp("apply", r"Volunteer_Response_Team/Volunteering")

    def testAPrivateQuestionGetsAnAnswer(self):
        m = self.getMsg("how long does it take to get an answer on my application?", private=True)
        assert m.args[0] == self.nick and "https://" in m.args[1]
        m = self.getMsg("hello there", private=True)
        assert "faq" in m.args[1]

    def testAdminsEditTheKnowledgeBase(self):
        self.assertNotError("faq set how-long It takes about three weeks now. https://meta.wikimedia.org/wiki/VRT")
        self.assertRegexp("faq how-long", "three weeks")
        self.assertNotError("faq alias how-long backlog")
        self.assertRegexp("faq backlog", "three weeks")
        self.assertRegexp("faq history how-long", r"a\u200bdmin1: set \[all\].*three weeks")
        self.assertRegexp("faq wie lange dauert es?", "three weeks")
        self.assertNotError("faq forget reapply")
        self.assertNotRegexp("faq", "reapply")

    def testOthersCannotEditTheKnowledgeBase(self):
        self.assertRegexp("faq set how-long Nonsense", "VRTS admins", frm=NOCAP)
        self.assertNotRegexp("faq how-long", "Nonsense")


class ListenerTestCase(ChannelPluginTestCase):
    plugins = ("OTRSHelp",)
    channel = "#wikimedia-vrtconnect"
    config = {"supybot.plugins.OTRSHelp.answerDelay": 0.0}

    def say(self, text, nick="newbie"):
        self.irc.feedMsg(ircmsgs.privmsg(self.channel, text, prefix=f"{nick}!u@example.org"))

    def replies(self, timeout=0.5):
        import time as _t
        from supybot import drivers
        out, end = [], _t.monotonic() + timeout
        while _t.monotonic() < end:
            drivers.run()
            m = self.irc.takeMsg()
            if m is not None:
                out.append(m)
        return [m for m in out if m.command == "PRIVMSG"]

    def testAQuestionGetsTheAnswerAddressedToTheAsker(self):
        self.say("hi, how do I apply to join the VRT?")
        (m,) = self.replies()
        assert m.args[0] == self.channel
        assert m.args[1].startswith("newbie: ")
        assert "volunteers-vrt@wikimedia.org" in m.args[1]

    def testGermanAndDutchQuestionsGetTheirLanguage(self):
        self.say("Wie kann ich mich beim Support-Team bewerben?", nick="hans")
        (m,) = self.replies()
        assert m.args[1].startswith("hans: ") and re.search(r"(?i)bewerb", m.args[1])
        self.say("Hoe kan ik me aanmelden voor VRT?", nick="piet")
        (m,) = self.replies()
        assert m.args[1].startswith("piet: ") and re.search(r"(?i)aanmeld", m.args[1])

    def testOffTopicTalkGetsNothing(self):
        for line in ["hello everyone", "how do I upload a photo to commons?",
                     "lol that was a long meeting", "is the en.wiki RfA still open?"]:
            self.say(line)
        assert self.replies() == []

    def testNoAnswerWhenAPersonAnsweredMeanwhile(self):
        conf.supybot.plugins.OTRSHelp.answerDelay.get(self.channel).setValue(5.0)
        try:
            self.say("how long does an application take?")
            self.say("newbie: usually a few weeks, be patient", nick="helper")
            timeFastForward(6)
            assert self.replies() == []
        finally:
            conf.supybot.plugins.OTRSHelp.answerDelay.get(self.channel).setValue(0.0)

    def testSameTopicNotTwiceToOnePersonWithinTheCooldown(self):
        self.say("how do I apply to OTRS?")
        assert len(self.replies()) == 1
        self.say("how can i apply for vrt access?")
        assert self.replies() == []
        # someone else (who may have joined after the answer) gets it
        self.say("how can i apply for vrt access?", nick="other")
        (m,) = self.replies()
        assert m.args[1].startswith("other: ")

    def testBotsAreNeverAnswered(self):
        self.say("how do I apply to join the VRT?", nick="wm-bot")
        self.say("how do I apply to join the VRT?", nick="SomeOtherBot")
        assert self.replies() == []

    def testOffPerChannel(self):
        conf.supybot.plugins.OTRSHelp.answerQuestions.get(self.channel).setValue(False)
        try:
            self.say("how do I apply to join the VRT?")
            assert self.replies() == []
        finally:
            conf.supybot.plugins.OTRSHelp.answerQuestions.get(self.channel).setValue(True)


class AdminCommandsTestCase(AccountTags, ChannelPluginTestCase):
    plugins = ("OTRSHelp",)
    channel = "#wikimedia-vrtconnect"

    @pytest.fixture(autouse=True)
    def _wiki(self, mediawiki):
        """Profiles come from a real MediaWiki, never from Meta."""
        mediawiki.create_user("Bob")
        old = conf.supybot.plugins.OTRSHelp.wikiApi()
        conf.supybot.plugins.OTRSHelp.wikiApi.setValue(mediawiki.api_url)
        yield
        conf.supybot.plugins.OTRSHelp.wikiApi.setValue(old)

    def setUp(self):
        super().setUp()
        seed(self, sample_page())

    def testApplicationIsPublic(self):
        self.assertRegexp("application alice example",
                          r"A\u200blice Example: open since .* \(40 days waiting\); 1 support, 1 oppose, 0 neutral; 1 open question")
        self.assertRegexp("application Alice_Example", "Volunteering#Alice_Example")

    def testPublicLineHasNoPrivateField(self):
        plugin(self).store.add_record("Bob", "note", "secret remark", "admin1")
        self.assertNotRegexp("application Bob", "secret|email")

    def testUnknownApplicantSaysSoAndSuggests(self):
        self.assertRegexp("application Alise Example", r"no application by A\u200blise Example.*Did you mean: A\u200blice Example")
        self.assertRegexp("application Nobody At All", "I know no application by")

    def testStatusGoesPrivatelyWithVotesAndRecords(self):
        self.assertNotError("mark Bob email")
        m = self.getMsg("status bob")
        assert m.args[0] == self.nick, "status must not go to the channel"
        text = m.args[1]
        assert "B\u200bob: open since" in text and "queues info-de" in text
        votes = self.irc.takeMsg().args[1]
        assert "support 1 (S\u200bupporter One)" in votes
        third = self.irc.takeMsg().args[1]
        assert "email: received" in third
        assert "profile: registered" in third and "global account: not available" in third

    def testMarkDisagreeingWithThePageIsShown(self):
        self.assertNotError("mark Alice_Example approved welcome aboard")
        self.getMsg("status Alice Example")
        self.irc.takeMsg()
        third = self.irc.takeMsg().args[1]
        assert "decision: approved: welcome aboard" in third
        assert "differs from the page: open" in third

    def testPendingLongestWaitingFirstWithFlags(self):
        m = self.getMsg("pending")
        assert m.args[0] == self.nick
        first = self.irc.takeMsg().args[1]
        second = self.irc.takeMsg().args[1]
        assert first.startswith("A\u200blice Example: 40 d")
        assert "no email" in first and "unanswered question" in first and "1 oppose" in first
        assert second.startswith("B\u200bob: 3 d")

    def testEmailMarkNeverStoresTheContent(self):
        self.assertRegexp("mark Bob email she is 19", "not stored")
        (r,) = plugin(self).store.records("Bob")
        assert (r.kind, r.value) == ("email", "received") and "19" not in r.value

    def testNamesWithSpacesInMarkAndNote(self):
        self.assertRegexp("mark alice example onhold waiting for the email", "Recorded for A\u200blice Example")
        self.assertRegexp("note Alice Example asked twice", "Noted for A\u200blice Example")
        assert [r.value for r in plugin(self).store.records("Alice Example")] == [
            "on hold: waiting for the email", "asked twice"]

    def testNotesAreRecordedWithWho(self):
        self.assertNotError("note Bob asked on VRT wiki about permissions")
        rows = plugin(self).store.records("Bob")
        assert [(r.kind, r.value, r.by) for r in rows] == [("note", "asked on VRT wiki about permissions", "admin1")]

    def testRefusalsWithoutTheCapability(self):
        for command in ("status Bob", "pending", "stale", "mark Bob email", "note Bob hello", "poll",
                        "admins", "admins add stranger"):
            m = self.getMsg(command, frm=NOCAP)
            assert m is not None and "admin" in m.args[1], command
            assert m.args[0] == "stranger", "a refusal goes privately"
            assert "Bob: open" not in m.args[1]
        assert plugin(self).store.records("Bob") == []
        assert plugin(self).store.admins() == []

    def testTheAdminsNickWithoutTheAccountIsRefused(self):
        """Stale nick -> account: the admin was logged in a moment ago; the
        next message from the same nick!user@host carries no account tag
        (someone else took the nick) and gets nothing."""
        self.assertNotError("note Bob first, as the real admin")
        self.accounts = {}  # same prefix, no account on this message
        for command in ("status Bob", "pending", "note Bob forged"):
            m = self.getMsg(command)
            assert "log in" in m.args[1] and "Bob: open" not in m.args[1], command
        assert [r.value for r in plugin(self).store.records("Bob")] == ["first, as the real admin"]

    def testAnotherAccountIsRefused(self):
        self.accounts = {"test": "admin1-lookalike"}
        self.assertRegexp("status Bob", "VRTS admins only")

    def testAccountsCompareAsServicesCompareThem(self):
        self.accounts = {"test": "ADMIN1"}
        self.assertRegexp("admins", "VRTS admins:")
        m = self.getMsg("status Bob")
        assert "B\u200bob: open since" in m.args[1]

    def testWithoutAccountTagNobodyIsAnAdmin(self):
        self.irc.state.capabilities_ack.discard("account-tag")
        self.assertRegexp("pending", "account-tag")

    def testAdminsAddedFromIrcAreStoredWithWhoAndWhen(self):
        self.assertRegexp("admins add helper2", "now a VRTS admin")
        (row,) = plugin(self).store.admins()
        assert (row.account, row.added_by) == ("helper2", "admin1")
        self.accounts = {"test": "Helper2"}
        self.assertRegexp("admins", "VRTS admins:")
        self.assertRegexp("admins", r"a\u200bdmin1 \(configured\).*h\u200belper2 \(added by a\u200bdmin1")
        self.assertRegexp("admins remove admin1", "configured by the operator")
        self.assertRegexp("admins remove helper2", "no longer")
        self.assertRegexp("admins", "VRTS admins only")

    def testUsageErrorsAndFaqHistoryGoPrivately(self):
        for command in ("mark Bob", "note Bob", "faq history apply", "admins add"):
            m = self.getMsg(command)
            assert m.args[0] == self.nick, (command, m)

    def testNestedAdminCommandsAreRefused(self):
        m = self.getMsg("application [status Bob]")
        assert "support 1" not in m.args[1] and "queues info-de" not in m.args[1]

    def testEchoedNamesAreBoundedAndDePinged(self):
        m = self.getMsg("application " + "mallory " * 30)
        assert "m\u200ballory" in m.args[1].lower()
        assert len(m.args[1]) < 200

    def testAnnounceSwitch(self):
        # Owner has an "announce" too: the bot's registry makes ours the default
        self.assertRegexp("otrshelp announce", "on")
        self.assertNotError("otrshelp announce off")
        self.assertRegexp("otrshelp announce", "off")
        self.assertNotError("otrshelp announce on")

    def testAnnounceSwitchNeedsOps(self):
        self.assertRegexp("otrshelp announce off", "op", frm=NOCAP)
        self.assertRegexp("otrshelp announce", "on")
        # a channel operator (+o from ChanServ) may switch it off
        self.irc.feedMsg(ircmsgs.join(self.channel, prefix=NOCAP))
        self.irc.feedMsg(ircmsgs.IrcMsg(prefix="ChanServ!ChanServ@services.", command="MODE",
                                        args=(self.channel, "+o", "stranger")))
        self.assertNotError("otrshelp announce off", frm=NOCAP)
        self.assertRegexp("otrshelp announce", "off")


class AdminChannelTestCase(AccountTags, ChannelPluginTestCase):
    plugins = ("OTRSHelp",)
    channel = "#vrt-admins"
    config = {"supybot.plugins.OTRSHelp.adminChannel": "#vrt-admins",
              "supybot.plugins.OTRSHelp.staleDays": 30,
              "supybot.plugins.OTRSHelp.admins": ["admin1"]}

    def setUp(self):
        super().setUp()
        seed(self, sample_page())

    def testStaleDigestGoesToTheAdminChannel(self):
        plugin(self)._stale_digest()
        head = self.irc.takeMsg()
        assert head.args[0] == "#vrt-admins"
        assert head.args[1] == "1 application(s) waiting more than 30 days:"
        line = self.irc.takeMsg().args[1]
        assert line.startswith("A\u200blice Example: 40 d") and "no email" in line
        assert self.irc.takeMsg() is None  # Bob waits 3 days: not stale

    def testPendingAskedInTheAdminChannelIsAnsweredThere(self):
        m = self.getMsg("pending")
        assert m.args[0] == "#vrt-admins"


class ReloadTestCase(ChannelPluginTestCase):
    plugins = ("OTRSHelp",)

    def testReloadKeepsWorking(self):
        import sys

        seed(self, sample_page())
        before = sys.modules["OTRSHelp.faq"]
        self.assertNotError("reload OTRSHelp")
        assert sys.modules["OTRSHelp.faq"] is not before, "the domain code is reloaded too"
        self.assertRegexp("application Bob", "B\u200bob: open since")
        self.assertRegexp("faq how do I apply?", "volunteers-vrt")


class LimnoriaMemoryTestCase(ChannelPluginTestCase):
    """What Limnoria keeps of every visitor for good, the housekeeping
    forgets: nicks that share no channel with the bot, quiet hosts' flood
    counters."""
    plugins = ("OTRSHelp",)
    channel = "#wikimedia-vrtconnect"

    def testVisitorsWhoLeftAreForgotten(self):
        state = self.irc.state
        for i in range(50):  # visitors who came, asked, and left without quitting
            who = f"visitor{i}!~v@host{i}.example.org"
            self.irc.feedMsg(ircmsgs.join(self.channel, prefix=who))
            self.irc.feedMsg(ircmsgs.IrcMsg(f"@account=acct{i} :{who} PRIVMSG {self.channel} :hello"))
            self.irc.feedMsg(ircmsgs.part(self.channel, prefix=who))
        self.irc.feedMsg(ircmsgs.privmsg(self.nick, "hi", prefix="outsider!~o@elsewhere.example.org"))
        self.irc.feedMsg(ircmsgs.join(self.channel, prefix="Stayer!~s@here.example.org"))
        assert "visitor7" in state.nicksToHostmasks and "outsider" in state.nicksToHostmasks
        plugin(self)._housekeeping()
        assert not [n for n in state.nicksToHostmasks if n.startswith(("visitor", "outsider"))]
        assert not [n for n in state.nicksToAccounts if n.startswith("visitor")]
        assert state.nickToHostmask("stayer") == "Stayer!~s@here.example.org"
        # the next message brings an entry back: nothing depends on the old one
        self.irc.feedMsg(ircmsgs.privmsg(self.nick, "back", prefix="outsider!~o@elsewhere.example.org"))
        assert state.nickToHostmask("outsider") == "outsider!~o@elsewhere.example.org"

    def testFloodCountersOfQuietHostsAreForgotten(self):
        """Limnoria keeps a flood queue per host that ever sent a command,
        with its last commands in it, for good."""
        flood = self.irc.getCallback("Owner").commands
        for i in range(30):
            self.irc.feedMsg(ircmsgs.privmsg(self.channel, f"{self.nick}: faq list",
                                             prefix=f"v{i}!~v@host{i}.example.org"))
        assert len([h for h in flood.queues if h.startswith("host")]) == 30
        timeFastForward(conf.supybot.abuse.flood.interval() + 1)
        self.irc.feedMsg(ircmsgs.privmsg(self.channel, f"{self.nick}: faq list", prefix="v0!~v@host0.example.org"))
        plugin(self)._housekeeping()
        assert [h for h in flood.queues if h.startswith("host")] == ["host0.example.org"]
