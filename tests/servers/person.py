"""IrcPerson: a person in a channel, on a real IRC connection, who records
what they see."""
from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Sequence

import irc.client
import irc.connection
import jaraco.stream.buffer

from .common import T



# ---------------------------------------------------------------------------
# A person on IRC
# ---------------------------------------------------------------------------

Message = tuple[str, str, str, str]
"""(kind, source nick, target, text); kind is privmsg, pubmsg, privnotice or pubnotice."""

_MESSAGE_KINDS = {"privmsg", "pubmsg", "privnotice", "pubnotice"}


class IrcPerson:
    """Someone in the channel: a jaraco ``irc.client`` connection on its own thread.

    The constructor returns once the server has welcomed the client (and,
    with ``sasl=(account, password)``, once SASL succeeded; a failed SASL
    raises). Everything received is kept: chat in :attr:`messages`, every
    event (numerics, joins, tags) in :attr:`events`. All methods may be
    called from any thread.
    """

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        sasl: tuple[str, str] | None = None,
        *,
        caps: Sequence[str] = (),
        timeout: float = 20.0,
        username: str | None = None,
        source: str | None = None,
    ) -> None:
        self.nick_requested = nick
        self._sasl = sasl
        self._wanted_caps = set(caps) | ({"sasl"} if sasl else set())
        self.caps: set[str] = set()
        self._offered: set[str] = set()
        self._sasl_error: str | None = None
        self._cond = threading.Condition()
        self._messages: list[Message] = []
        self._events: list[irc.client.Event] = []
        self._closing = threading.Event()

        self.reactor = irc.client.Reactor()
        self.reactor.add_global_handler("all_events", self._on_event, -100)
        if self._wanted_caps:
            self.reactor.add_global_handler("cap", self._on_cap, -50)
            self.reactor.add_global_handler("authenticate", self._on_authenticate, -50)
            for kind in ("saslsuccess", "saslfail", "saslaborted", "sasltoolong", "saslalready"):
                self.reactor.add_global_handler(kind, self._on_sasl_done, -50)
        self.connection = self.reactor.server()
        # Wiki text is hostile; never let a stray byte kill the reader.
        self.connection.buffer_class = jaraco.stream.buffer.LenientDecodingLineBuffer

        # ``source`` (127.0.0.2, ...) makes the client come from another host
        plain = irc.connection.Factory(bind_address=(source, 0) if source else None)

        def connect_factory(address: tuple[str, int]) -> socket.socket:
            sock = plain(address)
            if self._wanted_caps:
                # Before NICK/USER, so the server holds registration for CAP.
                sock.sendall(b"CAP LS 302\r\n")
            return sock

        with self.reactor.mutex:
            self.connection.connect(host, port, nick, username=username,
                                    connect_factory=connect_factory)
        self._thread = threading.Thread(
            target=self._loop, name=f"IrcPerson-{nick}", daemon=True
        )
        self._thread.start()
        try:
            welcome = self.wait_for_event(
                lambda e: e.type in ("welcome", "error", "disconnect", "nicknameinuse"),
                timeout,
            )
            if welcome.type != "welcome":
                raise RuntimeError(f"{nick} could not connect: {welcome.type} {welcome.arguments}")
            if self._sasl_error:
                raise RuntimeError(f"SASL login of {nick} failed: {self._sasl_error}")
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.reactor.process_once(0.05)
            except (OSError, ValueError):
                # The reactor lists its sockets, drops its lock, then selects:
                # a socket closed in between (by close() or the server going
                # away) makes select() fail. The next round no longer has it.
                time.sleep(0.01)

    def _on_event(self, connection: irc.client.ServerConnection, event: irc.client.Event) -> None:
        if event.type == "all_raw_messages":
            return  # every line also arrives parsed, as its own event
        with self._cond:
            self._events.append(event)
            if event.type in _MESSAGE_KINDS:
                source = event.source.nick if event.source else ""
                self._messages.append((event.type, source, event.target, event.arguments[0]))
            self._cond.notify_all()

    def _on_cap(self, connection: irc.client.ServerConnection, event: irc.client.Event) -> None:
        sub, *rest = event.arguments
        if sub == "LS":
            more = len(rest) > 1 and rest[0] == "*"
            offered = rest[-1] if rest else ""
            self._offered.update(c.split("=", 1)[0] for c in offered.split())
            if more:
                return
            wanted = sorted(self._wanted_caps & self._offered)
            if self._sasl and "sasl" not in wanted:
                self._sasl_error = "server offers no SASL"
            if wanted:
                connection.send_raw("CAP REQ :" + " ".join(wanted))
            else:
                connection.cap("END")
        elif sub == "ACK":
            acked = set((rest[-1] if rest else "").split())
            self.caps |= acked
            if "sasl" in acked and self._sasl:
                connection.send_raw("AUTHENTICATE PLAIN")
            else:
                connection.cap("END")
        elif sub == "NAK":
            if self._sasl:
                self._sasl_error = "server refused the sasl capability"
            connection.cap("END")

    def _on_authenticate(
        self, connection: irc.client.ServerConnection, event: irc.client.Event
    ) -> None:
        if event.target == "+" and self._sasl:
            account, password = self._sasl
            blob = f"{account}\0{account}\0{password}".encode()
            connection.send_raw("AUTHENTICATE " + base64.b64encode(blob).decode())

    def _on_sasl_done(
        self, connection: irc.client.ServerConnection, event: irc.client.Event
    ) -> None:
        if event.type != "saslsuccess":
            self._sasl_error = f"{event.type}: {' '.join(event.arguments)}"
        connection.cap("END")

    # -- looking ----------------------------------------------------------

    @property
    def nick(self) -> str:
        return str(self.connection.get_nickname())

    @property
    def messages(self) -> list[Message]:
        """A snapshot of all chat received: (kind, source nick, target, text)."""
        with self._cond:
            return list(self._messages)

    @property
    def events(self) -> list[irc.client.Event]:
        """A snapshot of every event received (jaraco ``Event``: type, source, target, arguments, tags)."""
        with self._cond:
            return list(self._events)

    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 10.0, *, since: int = 0
    ) -> Message:
        """The first message that ``predicate`` accepts, already received or yet to come.

        ``since`` skips the first messages (pass ``len(person.messages)`` to
        wait for a new one). Raises ``TimeoutError`` listing what arrived.
        """
        return self._wait(self._messages, predicate, timeout, since, "message")

    def wait_for_event(
        self,
        predicate: Callable[[irc.client.Event], bool],
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> irc.client.Event:
        """Like :meth:`wait_for`, over :attr:`events`."""
        return self._wait(self._events, predicate, timeout, since, "event")

    def _wait(
        self,
        items: list[T],
        predicate: Callable[[T], bool],
        timeout: float,
        since: int,
        what: str,
    ) -> T:
        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                for item in items[checked:]:
                    if predicate(item):
                        return item
                checked = max(checked, len(items))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.nick_requested}: no matching {what} within {timeout} s;"
                        f" last ones: {items[-20:]!r}"
                    )
                self._cond.wait(remaining)

    # -- doing ------------------------------------------------------------

    def send_raw(self, line: str) -> None:
        with self.reactor.mutex:
            self.connection.send_raw(line)

    def say(self, target: str, text: str) -> None:
        """PRIVMSG ``target``."""
        with self.reactor.mutex:
            self.connection.privmsg(target, text)

    def notice(self, target: str, text: str) -> None:
        with self.reactor.mutex:
            self.connection.notice(target, text)

    def join(self, channel: str, timeout: float = 10.0) -> None:
        """Join ``channel`` and wait until the server confirms it (or refuses)."""
        mark = len(self.events)
        with self.reactor.mutex:
            self.connection.join(channel)
        refusals = {"bannedfromchan", "inviteonlychan", "channelisfull", "badchannelkey"}

        def answered(event: irc.client.Event) -> bool:
            if event.type in refusals:
                return True
            return (
                event.type == "join"
                and event.source is not None
                and event.source.nick == self.nick
                and str(event.target).lower() == channel.lower()
            )

        event = self.wait_for_event(answered, timeout, since=mark)
        if event.type != "join":
            raise RuntimeError(f"{self.nick} cannot join {channel}: {event.type} {event.arguments}")

    def whois_account(self, nick: str, timeout: float = 10.0) -> str | None:
        """The services account ``nick`` is logged in to (WHOIS 330), or None."""
        mark = len(self.events)
        with self.reactor.mutex:
            self.connection.whois(nick)
        low = nick.lower()

        def done(event: irc.client.Event) -> bool:
            return event.type == "endofwhois" and event.arguments[0].lower() == low

        self.wait_for_event(done, timeout, since=mark)
        for event in self.events[mark:]:
            if event.type == "whoisaccount" and event.arguments[0].lower() == low:
                return str(event.arguments[1])
        return None

    @property
    def connected(self) -> bool:
        return bool(self.connection.is_connected())

    def close(self, message: str = "bye") -> None:
        """QUIT and stop the thread. Safe to call twice."""
        if self._closing.is_set():
            return
        try:
            with self.reactor.mutex:
                if self.connection.is_connected():
                    self.connection.quit(message)
                    self.connection.disconnect(message)
        except (irc.client.ServerNotConnectedError, OSError):
            pass
        self._closing.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def __enter__(self) -> IrcPerson:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

