"""What the bot remembers: the page as last read, every event it found, and
what admins recorded off-wiki.

The tracker writes a revision's new state and its events in one transaction,
and the announcer marks events announced as it sends them, so a restart
neither repeats nor loses an announcement. SQLite by default; any SQLAlchemy
URL (PostgreSQL, MariaDB) by configuration. Each call opens its own session,
so the poller thread and command threads can use one Store at once.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from .access import account_key
from .model import Event  # the detached event lives with the page's model
from .names import normalize_username, username_key

__all__ = [
    "AdminRow",
    "ApplicationRow",
    "CommentRow",
    "Event",
    "EventRow",
    "FaqOverrideRow",
    "PageState",
    "RecordRow",
    "Store",
    "StoreUnavailable",
    "utcnow",
]

log = logging.getLogger("OTRSHelp.store")

#: seconds to wait for a database connection before calling the store away
CONNECT_TIMEOUT = 10


class StoreUnavailable(Exception):
    """The database cannot be used right now: server stopped or unreachable,
    connection lost, disk full, locked too long.

    The one error callers handle for an outage (a short message, no
    traceback worth logging): the call that raised it wrote nothing, and the
    store reconnects by itself on a later call, so the caller retries later.
    """


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the backend stores.

    SQLite and MariaDB drop the zone; comparing naive and aware datetimes
    later would raise, so every value is normalised at the boundary.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # MariaDB/MySQL DATETIME keeps whole seconds only (MariaDB truncates
        # the microseconds, MySQL rounds them), so a time read back would not
        # equal the one written, and events or records made within the same
        # second would sort by id only. DATETIME(6) keeps microseconds, as
        # SQLite and PostgreSQL do.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class JSONText(TypeDecorator):
    """JSON kept as text: portable across SQLite, PostgreSQL and MariaDB."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


# MariaDB/MySQL only (other backends ignore these options). utf8mb4:
# the tables must hold any text from the wiki (emoji, non-BMP scripts) even
# when the database was created with another default (MariaDB's built-in
# default is latin1; utf8/utf8mb3 stops at the BMP). utf8mb4_bin: compare as
# SQLite and PostgreSQL do. Under the usual *_ci collations "Jose" = "José"
# and "BoB" = "Bob", so a lookup would hand one person's private records to
# another and DISTINCT would merge different people; case-insensitive
# lookups go through the casefolded ``applicant_key`` instead. Both prefixes:
# a ``mariadb+driver://`` URL reads only ``mariadb_*``, ``mysql+driver://``
# only ``mysql_*``.
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin",
               "mariadb_charset": "utf8mb4", "mariadb_collate": "utf8mb4_bin"}


class Base(DeclarativeBase):
    __table_args__ = MYSQL_TABLE  # tables with their own __table_args__ add it too


class PageState(Base):
    """The page the bot follows and how far it has read it."""

    __tablename__ = "page_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_url: Mapped[str] = mapped_column(String(255), default="")
    page_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    last_revid: Mapped[int | None] = mapped_column(Integer)
    last_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_revid: Mapped[int | None] = mapped_column(Integer)
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_event_id: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApplicationRow(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant: Mapped[str] = mapped_column(String(255))
    applicant_key: Mapped[str] = mapped_column(String(255), index=True)
    anchor: Mapped[str] = mapped_column(String(255), default="")
    heading: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_by: Mapped[str | None] = mapped_column(String(255))
    closed: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(255))
    queues: Mapped[list] = mapped_column(JSONText, default=list)
    languages: Mapped[list] = mapped_column(JSONText, default=list)
    statement: Mapped[str] = mapped_column(Text, default="")
    present: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_revid: Mapped[int | None] = mapped_column(Integer)
    last_revid: Mapped[int | None] = mapped_column(Integer)
    last_activity: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_by: Mapped[str | None] = mapped_column(String(255))
    # kept by the tracker so lists of thousands need no comment scan
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    oppose_count: Mapped[int] = mapped_column(Integer, default=0)
    neutral_count: Mapped[int] = mapped_column(Integer, default=0)
    open_questions: Mapped[int] = mapped_column(Integer, default=0)
    # what the section said when last read: an unchanged section costs nothing
    content_digest: Mapped[str | None] = mapped_column(String(40))
    # set while the section is missing from a held (mass-removal) revision
    missing_since_revid: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[list["CommentRow"]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="CommentRow.id")

    __table_args__ = (Index("ix_applications_present_status_opened", "present", "status", "opened"), MYSQL_TABLE)


class CommentRow(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    signer: Mapped[str | None] = mapped_column(String(255))
    time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    depth: Mapped[int] = mapped_column(Integer, default=1)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    struck_vote: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[str] = mapped_column(String(32), default="")
    revid: Mapped[int | None] = mapped_column(Integer)
    application: Mapped[ApplicationRow] = relationship(back_populates="comments")

    __table_args__ = (Index("ix_comments_app_signer_time", "application_id", "signer", "time"), MYSQL_TABLE)


class EventRow(Base):
    """An event found on the page; ``announced_at`` is set once it was sent."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revid: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    applicant: Mapped[str] = mapped_column(String(255), index=True)
    actor: Mapped[str | None] = mapped_column(String(255))
    time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anchor: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict] = mapped_column(JSONText, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class RecordRow(Base):
    """What an admin recorded off-wiki (email received, decision, note).

    Private: shown to admins only. The content of the email and the age in
    it are never recorded, only that it arrived.
    """

    __tablename__ = "records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant: Mapped[str] = mapped_column(String(255))
    applicant_key: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # email decision note
    value: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FaqOverrideRow(Base):
    """An admin's change to the knowledge base, layered over conf/faq.json."""

    __tablename__ = "faq_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    action: Mapped[str] = mapped_column(String(16))  # set alias forget
    value: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminRow(Base):
    """A VRTS admin added from IRC by another admin (those configured by the
    operator live in the environment, not here)."""

    __tablename__ = "admins"
    account_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    added_by: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (MYSQL_TABLE,)


def default_url(home: str) -> str:
    """The SQLite file in the runtime directory."""
    return "sqlite:///" + os.path.join(os.path.abspath(home), "otrshelp.sqlite3")


class Store:
    """Thread-safe access to the database; one short session per call."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # pre-ping: a connection left in the pool across a database
            # restart is replaced instead of failing the next call
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
            if url.startswith(("mysql", "mariadb")):
                kwargs["pool_recycle"] = 3600
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.RLock()
        self._schema_ready = False
        try:
            self._ensure_schema()
        except StoreUnavailable as e:
            # started during an outage: the tables are made on the first
            # call that finds the database back
            log.warning("store not available yet: %s", e)

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._write_lock:  # one thread creates the tables
            if self._schema_ready:
                return
            with _outage_as_unavailable():
                Base.metadata.create_all(self.engine)
            self._schema_ready = True

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers now."""
        with self.reading() as s:
            with _outage_as_unavailable():
                s.execute(select(1))

    def close(self) -> None:
        self.engine.dispose()

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log back into the database and empty
        it: SQLite's own checkpoint leaves the -wal file at its largest
        size, which grows by tens of KB an edit on a long run. Other
        databases manage their logs themselves: nothing to do."""
        if self.engine.dialect.name != "sqlite":
            return
        with self._write_lock, self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction; writers queue on a lock so SQLite never
        answers 'database is locked' to the poller."""
        with self._write_lock:
            self._ensure_schema()
            # all or nothing: a failure anywhere, the commit included, rolls
            # the whole transaction back
            with _outage_as_unavailable(), self._sessions.begin() as session:
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        self._ensure_schema()
        with _outage_as_unavailable(), self._sessions() as session:
            yield session

    # -- page state --------------------------------------------------------
    @staticmethod
    def page_state(session: Session) -> PageState:
        state = session.get(PageState, 1)
        if state is None:
            state = PageState(id=1)
            session.add(state)
            session.flush()
        return state

    def state(self) -> PageState:
        with self.transaction() as s:
            state = self.page_state(s)
            s.expunge(state)
            return state

    def set_page(self, api_url: str, page_id: int, title: str) -> None:
        """Remember which page is followed. A different wiki or page id means
        the stored progress belongs to something else: start over quietly."""
        with self.transaction() as s:
            state = self.page_state(s)
            if state.page_id is not None and (state.page_id != page_id or
                                              (state.api_url and state.api_url != api_url)):
                state.last_revid = None
                state.held_revid = state.held_since = None
                state.stream_event_id = None
            state.api_url, state.page_id, state.title = api_url, page_id, title

    def save_stream_id(self, event_id: str) -> None:
        with self.transaction() as s:
            self.page_state(s).stream_event_id = event_id

    # -- events --------------------------------------------------------------
    def unannounced(self, limit: int = 500) -> list[Event]:
        with self.reading() as s:
            rows = s.scalars(select(EventRow).where(EventRow.announced_at.is_(None))
                             .order_by(EventRow.id).limit(limit)).all()
            return [Event.from_row(r) for r in rows]

    def mark_announced(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.transaction() as s:
            s.execute(update(EventRow).where(EventRow.id.in_(list(ids)))
                      .values(announced_at=utcnow()))

    def events(self, applicant: str | None = None, limit: int = 1000) -> list[Event]:
        with self.reading() as s:
            q = select(EventRow).order_by(EventRow.id)
            if applicant:
                q = q.where(EventRow.applicant == normalize_username(applicant))
            return [Event.from_row(r) for r in s.scalars(q.limit(limit))]

    # -- applications ----------------------------------------------------------
    def applications(self, *, present: bool | None = True,
                     statuses: Sequence[str] | None = None,
                     limit: int | None = None) -> list[ApplicationRow]:
        """Applications, longest waiting first (comments not loaded)."""
        with self.reading() as s:
            q = select(ApplicationRow).order_by(ApplicationRow.opened, ApplicationRow.id)
            if present is not None:
                q = q.where(ApplicationRow.present.is_(present))
            if statuses:
                q = q.where(ApplicationRow.status.in_(list(statuses)))
            if limit:
                q = q.limit(limit)
            return list(s.scalars(q).all())

    def count_applications(self, *, present: bool = True, statuses: Sequence[str] | None = None) -> int:
        with self.reading() as s:
            q = select(func.count()).select_from(ApplicationRow).where(
                ApplicationRow.present.is_(present))
            if statuses:
                q = q.where(ApplicationRow.status.in_(list(statuses)))
            return s.scalar(q) or 0

    def find_application(self, name: str) -> ApplicationRow | None:
        """The applicant's current application (on the page), else their
        latest archived one; comments loaded."""
        key = username_key(name)
        with self.reading() as s:
            rows = s.scalars(select(ApplicationRow).where(ApplicationRow.applicant_key == key)
                             .order_by(ApplicationRow.present.desc(), ApplicationRow.opened.desc(),
                                       ApplicationRow.id.desc())).all()
            if not rows:
                return None
            row = rows[0]
            _ = list(row.comments)
            return row

    def applicant_names(self) -> list[str]:
        with self.reading() as s:
            return list(s.scalars(select(ApplicationRow.applicant).distinct()))

    # -- admin records -------------------------------------------------------------
    def add_record(self, applicant: str, kind: str, value: str, by: str) -> RecordRow:
        name = normalize_username(applicant)
        with self.transaction() as s:
            row = RecordRow(applicant=name, applicant_key=username_key(name), kind=kind,
                            value=value, by=by, at=utcnow())
            s.add(row)
            s.flush()
            s.expunge(row)
            return row

    def records(self, applicant: str) -> list[RecordRow]:
        with self.reading() as s:
            return list(s.scalars(select(RecordRow)
                                  .where(RecordRow.applicant_key == username_key(applicant))
                                  .order_by(RecordRow.at, RecordRow.id)))

    def records_for(self, keys: Sequence[str]) -> dict[str, list[RecordRow]]:
        out: dict[str, list[RecordRow]] = {}
        if not keys:
            return out
        with self.reading() as s:
            for r in s.scalars(select(RecordRow).where(RecordRow.applicant_key.in_(list(keys)))
                               .order_by(RecordRow.at, RecordRow.id)):
                out.setdefault(r.applicant_key, []).append(r)
        return out

    # -- FAQ overrides --------------------------------------------------------------
    def add_faq_override(self, topic: str, lang: str, action: str, value: str, by: str) -> None:
        with self.transaction() as s:
            s.add(FaqOverrideRow(topic=topic, lang=lang, action=action, value=value,
                                 by=by, at=utcnow()))

    def faq_overrides(self, topic: str | None = None) -> list[FaqOverrideRow]:
        with self.reading() as s:
            q = select(FaqOverrideRow).order_by(FaqOverrideRow.at, FaqOverrideRow.id)
            if topic:
                q = q.where(FaqOverrideRow.topic == topic)
            return list(s.scalars(q))

    # -- admins added from IRC --------------------------------------------------------
    def admins(self) -> list[AdminRow]:
        with self.reading() as s:
            return list(s.scalars(select(AdminRow).order_by(AdminRow.added_at)))

    def add_admin(self, account: str, by: str) -> None:
        with self.transaction() as s:
            if s.get(AdminRow, account_key(account)) is None:
                s.add(AdminRow(account_key=account_key(account), account=account,
                               added_by=by, added_at=utcnow()))

    def remove_admin(self, account: str) -> bool:
        with self.transaction() as s:
            row = s.get(AdminRow, account_key(account))
            if row is None:
                return False
            s.delete(row)
            return True

    def count(self, model: type[Base]) -> int:
        with self.reading() as s:
            return s.scalar(select(func.count()).select_from(model)) or 0


def _is_outage(error: BaseException) -> bool:
    """Errors that say the database is away or full, not that a query is
    wrong: an IntegrityError or ProgrammingError is a bug and stays one."""
    if isinstance(error, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


@contextmanager
def _outage_as_unavailable() -> Iterator[None]:
    try:
        yield
    except StoreUnavailable:
        raise
    except (DBAPIError, PoolTimeout) as e:
        if not _is_outage(e):
            raise
        orig = getattr(e, "orig", None) or e
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        raise StoreUnavailable(f"{type(orig).__name__}: {first}") from e


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # SQLite's page cache grows with the database up to 2 MB per pooled
    # connection (several threads, several connections): 512 KiB each keeps
    # a months-long run flat and still holds the hot pages of a large store
    cur.execute("PRAGMA cache_size=-512")
    cur.close()
