"""Who may read and write what is private.

A services account proves who sent a message only as the server reports it
on that very message (IRCv3 ``account-tag``). A nick, a hostmask, or a login
remembered from an earlier message proves nothing: nicks change hands the
moment someone quits, and many people share a host behind a web gateway or a
bouncer. So the rule here takes the tags of one message and nothing else.

The public surface is a list chosen here, not whatever the loaded plugins
happen to offer: everything else is refused to anyone who is not the bot's
owner.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Mapping

__all__ = [
    "PUBLIC_COMMANDS",
    "Roster",
    "Sender",
    "account_key",
    "denied_capabilities",
    "sender_of",
]

# Services (Atheme on Libera, Anope here) compare account names as IRC
# compares nicks: case-insensitively under RFC 1459 casemapping, ASCII only.
_RFC1459 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")

# What anyone may run, by plugin (Limnoria's lower-case plugin names). The
# OTRSHelp admin commands are listed because they check the roster
# themselves and answer a stranger with one refusal line.
PUBLIC_COMMANDS: Mapping[str, frozenset[str]] = {
    "otrshelp": frozenset({
        "otrshelp", "help", "faq", "apply", "queues", "queue", "application", "announce",
        "status", "pending", "stale", "mark", "note", "poll", "admins",
    }),
    "misc": frozenset({"help", "list", "more"}),
}


def account_key(name: str) -> str:
    """The form under which services treat two account names as one."""
    return name.strip().translate(_RFC1459)


@dataclass(frozen=True)
class Sender:
    """The services account behind one message.

    ``known`` is False when the network does not tag messages with the
    account: then nobody can be proved an admin, and the bot says so
    instead of guessing from a nick.
    """

    account: str | None
    known: bool

    @property
    def logged_in(self) -> bool:
        return self.account is not None


def sender_of(tags: Mapping[str, str] | None, acked_caps: Collection[str]) -> Sender:
    """The account of this message's sender, from this message's tags alone.

    With ``account-tag`` negotiated, a message without the tag comes from
    someone not logged in, whatever was true a second ago.
    """
    if "account-tag" not in acked_caps:
        return Sender(None, False)
    account = (tags or {}).get("account")
    if not account or account == "*":
        return Sender(None, True)
    return Sender(account, True)


class Roster:
    """VRTS admins: the accounts the operator configured, plus those an admin
    added from IRC (read from the store at each check, so a removal takes
    effect at once). Configured admins cannot be removed from IRC."""

    def __init__(self, configured: Iterable[str],
                 stored: Callable[[], Iterable[str]] = lambda: ()) -> None:
        self.configured = {account_key(a): a for a in configured if a.strip()}
        self._stored = stored

    def is_configured(self, account: str) -> bool:
        return account_key(account) in self.configured

    def is_admin(self, account: str | None) -> bool:
        """True only for a proved account that is an admin at this moment."""
        if not account:
            return False
        key = account_key(account)
        if key in self.configured:
            return True
        return any(account_key(a) == key for a in self._stored())


def denied_capabilities(commands: Mapping[str, Iterable[str]],
                        public: Mapping[str, Collection[str]] = PUBLIC_COMMANDS) -> set[str]:
    """Anticapabilities that refuse every loaded command not on the public
    list: a whole plugin when none of its commands is public, else each of
    its other commands. ``commands`` maps a plugin's lower-case name to its
    command names, as loaded (so a plugin loaded later is covered too)."""
    denied: set[str] = set()
    for plugin, names in commands.items():
        plugin = plugin.lower()
        allowed = public.get(plugin)
        if not allowed:
            denied.add(f"-{plugin}")
            continue
        for name in names:
            if name.lower() not in allowed:
                denied.add(f"-{plugin}.{name.lower()}")
    return denied
