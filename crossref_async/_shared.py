"""One request budget for many processes and machines, kept in Redis (issue 15).

Crossref grants its budget per identity, not per process: four shards of a harvest run at once,
or four web workers, each spending the whole budget overrun it four times. A
:class:`SharedBudget` keeps what the governor decides per pool in one Redis server, so every
process using the same server and identity obeys one schedule:

* **the rate** (:meth:`SharedBudget.try_start`): a sliding-window log of starts (a sorted set)
  plus a GCRA-style spacing, so no window of one interval ever holds more starts than the limit
  across all processes together, the first interval included, and K processes do not burst
  together;
* **the concurrency window** (:meth:`SharedBudget.acquire_lease`, :meth:`~SharedBudget.renew`,
  :meth:`~SharedBudget.release`): a lease per request in flight, with a short TTL that its live
  holder renews; the acquire script reclaims expired leases, so a killed worker's slot comes
  back within the TTL;
* **what the answers teach** (:meth:`~SharedBudget.set_rating`, :meth:`~SharedBudget.pause`,
  :meth:`~SharedBudget.open_breaker`, :meth:`~SharedBudget.claim_probe`,
  :meth:`~SharedBudget.close_breaker`, read back in one round trip by
  :meth:`~SharedBudget.snapshot`): one process learns it, all obey it.

Every decision is one Lua script run atomically on the server (EVALSHA, loaded again on
NOSCRIPT after a restart), and its clock is the server's ``TIME``: one clock for every process
and machine, never mixed with the event loop's. Times handed back are either durations
(seconds to wait) or server times (seconds since the epoch, as ``TIME`` gives them).

Keys are ``crossref-async:{identity}:{pool}:<what>``, where the identity is
:func:`identity_for` (a short SHA-256 of the mailto or of the Plus token, or ``public``: the
token never reaches Redis). The braces make the identity a Redis Cluster hash tag, so every
script's keys fall in one slot.

A server new to the identity, or one that lost its data, starts cold (``cold_start``): for
one interval nothing starts and for one lease TTL no new lease is granted, so what it forgot
cannot be spent twice.

Failures: Redis unreachable, refusing the password, or lost mid-run raise
:class:`BudgetUnavailableError`, naming the server's URL with any password redacted, from
whichever operation met it; the caller pauses and retries, and never spends the budget alone.

The client is redis-py's asyncio API, so a shared budget runs on asyncio (not trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast
from urllib.parse import urlsplit, urlunsplit

from ._errors import CrossrefError

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.commands.core import AsyncScript

__all__ = [
    "BreakerState",
    "BudgetUnavailableError",
    "Lease",
    "PoolState",
    "Rating",
    "ReleaseWatch",
    "SharedBudget",
    "Start",
    "identity_for",
    "redact_url",
]

PREFIX = "crossref-async"

#: How long an idle pool's state lives in Redis after its last write: long enough to outlast
#: any pause or open circuit, short enough that abandoned namespaces go away by themselves.
STATE_TTL = 86_400.0


class BudgetUnavailableError(CrossrefError):
    """The shared budget's Redis server cannot be reached (at start, or lost mid-run).

    ``url`` is the server's URL with any password redacted. The budget is shared, so the caller
    must wait and retry rather than go on spending it alone.

    >>> error = BudgetUnavailableError("redis://:s3cret@localhost:6379/0", "refused")
    >>> str(error)
    'shared budget at redis://:***@localhost:6379/0 unavailable: refused'
    >>> error.url
    'redis://:***@localhost:6379/0'
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = redact_url(url)
        self.reason = reason
        super().__init__(f"shared budget at {self.url} unavailable: {reason}")


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``; the user name stays.

    >>> redact_url("redis://user:pw@host:6380/2")
    'redis://user:***@host:6380/2'
    >>> redact_url("rediss://:pw@host/0?password=pw2")
    'rediss://:***@host/0?password=***'
    >>> redact_url("redis://localhost:6379/0")
    'redis://localhost:6379/0'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon else f"{user}@{host}"
    query = "&".join(
        f"{key}=***" if key.lower() == "password" else f"{key}{sep}{value}"
        for key, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_problem(url: str) -> str | None:
    """What makes ``url`` unusable as a shared budget's Redis URL, or None if it is usable.

    >>> url_problem("redis://:pw@10.0.0.5:6379/0") is None
    True
    >>> url_problem("unix:///run/redis.sock") is None
    True
    >>> url_problem("http://10.0.0.5:6379")
    "not a Redis URL (the scheme is 'http')"
    >>> url_problem("redis:///0")
    'no host'
    >>> url_problem("redis://host:63x9/0")
    'the port is not a number from 1 to 65535'
    >>> url_problem("redis://host/zero")
    "the database is not a number (the path is '/zero')"
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        if not url.lower().startswith(("redis://", "rediss://")):
            return "not a URL"
        return "the port is not a number from 1 to 65535"
    scheme = parts.scheme.lower()
    if scheme == "unix":
        return None if parts.path.strip("/") else "no socket path (unix:///path/to/redis.sock)"
    if scheme not in ("redis", "rediss"):
        return f"not a Redis URL (the scheme is {scheme!r})" if scheme else "not a URL"
    if not parts.hostname:
        return "no host"
    if port == 0:
        return "the port is not a number from 1 to 65535"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        # redis-py would quietly use database 0: a typo must not share another budget.
        return f"the database is not a number (the path is {parts.path!r})"
    return None


def identity_for(mailto: str | None = None, plus_token: str | None = None) -> str:
    """The key namespace of a client identity: ``plus-<hash>`` for a Plus token (it governs
    when both are given), ``mailto-<hash>`` for a polite mailto, else ``public``.

    The hash is the first 16 hex digits of SHA-256, so neither the token nor the address goes
    into Redis; the same mailto (any case, any surrounding blanks) gives the same namespace.

    >>> identity_for()
    'public'
    >>> identity_for("Me@Example.org ") == identity_for("me@example.org")
    True
    >>> identity_for("me@example.org").startswith("mailto-"), len(identity_for(None, "tok"))
    (True, 21)
    """
    if plus_token:
        return "plus-" + hashlib.sha256(plus_token.encode()).hexdigest()[:16]
    if mailto and mailto.strip():
        return "mailto-" + hashlib.sha256(mailto.strip().lower().encode()).hexdigest()[:16]
    return "public"


# -- the scripts ---------------------------------------------------------------------------------
#
# All times inside are integer microseconds of the server's TIME (exact in a Lua double up to
# year 2255); what goes back is strings, because Redis truncates Lua numbers to integers.

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
-- tostring() and '..' print 14 digits; microseconds of the epoch need 16
local function fmt(x) return string.format('%d', x) end
-- Expiry only ever moves later: callers with a shorter window or TTL must not make a key
-- (and the starts or leases of callers with longer ones) vanish early.
local function keep(key, ms)
  ms = math.ceil(tonumber(ms))
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
"""

# The identity's epoch: when this server first served it (set by the first script to run, kept
# without expiry). A missing epoch means a server new to the identity, or one that lost its
# data (a restart without persistence, a failover): starts and leases made before may be gone
# from it while their requests are still in the window or in flight, so for one window (one
# lease TTL) after the epoch nothing new is let through ("cold start"). Renewals may take
# their slots again meanwhile.
_EPOCH = """
local function epoch_of(key)
  local value = redis.call('GET', key)
  if value then return tonumber(value) end
  redis.call('SET', key, fmt(now))
  return now
end
"""

# KEYS: starts (zset), state (hash), epoch. ARGV: limit, window_us, spacing_us, member,
# state_ttl_ms, cold ("1": no start within one window of the epoch), slack_us.
# -> {"0", now_us} with the start recorded at now, or {wait_us, now_us} with nothing recorded.
# The log holds true start times (it alone guarantees the window); the spacing's reference
# forgives up to `slack` of lateness (a timer firing late, a round trip), so that lateness
# does not add up into a lower rate.
# No half-open window (t - window, t] holds more than `limit` members: a start at now is taken
# only while fewer than `limit` starts are later than now - window.
_START = (
    _NOW
    + _EPOCH
    + """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - window))
local at = now
local epoch = epoch_of(KEYS[3])
if ARGV[6] == '1' and epoch + window > at then at = epoch + window end
local state = redis.call('HMGET', KEYS[2], 'pause_until', 'last_start')
local pause_until = tonumber(state[1] or '0') or 0
local last = tonumber(state[2] or '0') or 0
if pause_until > at then at = pause_until end
if last + spacing > at then at = last + spacing end
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  -- the start that must leave the window first: the limit-th latest
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  local free = tonumber(oldest[2]) + window
  if free > at then at = free end
end
if at > now then
  return {fmt(at - now), fmt(now)}
end
redis.call('ZADD', KEYS[1], fmt(now), ARGV[4])
keep(KEYS[1], math.ceil(window / 1000) + 1000)
local ref = now - tonumber(ARGV[7])
if last + spacing > ref then ref = last + spacing end
redis.call('HSET', KEYS[2], 'last_start', fmt(ref))
keep(KEYS[2], ARGV[5])
return {'0', fmt(now)}
"""
)

# KEYS: starts, state. ARGV: member, state_ttl_ms, slack_us. Moves a recorded start to now
# (never earlier): the request went out later than it started (a handshake, a busy loop);
# later starts keep their spacing from then, less the slack. -> "1" if moved, "0" if not in
# the log (or not later).
_SENT = (
    _NOW
    + """
local moved = redis.call('ZADD', KEYS[1], 'XX', 'GT', 'CH', fmt(now), ARGV[1])
if moved == 1 then
  local last = tonumber(redis.call('HGET', KEYS[2], 'last_start') or '0') or 0
  local ref = now - tonumber(ARGV[3])
  if ref > last then
    redis.call('HSET', KEYS[2], 'last_start', fmt(ref))
    keep(KEYS[2], ARGV[2])
  end
end
return fmt(moved)
"""
)

# KEYS: leases (zset member -> expiry), epoch. ARGV: limit, ttl_us, lease id, cold ("1": no
# new lease within one TTL of the epoch, while the holders of leases the server lost renew).
# Reclaims expired leases, then takes one if fewer than `limit` are live.
# -> {"1", expires_us, now_us} or {"0", retry_us, now_us} (retry_us: when the earliest live
# lease expires if nobody releases it first, or the cold start ends).
_ACQUIRE = (
    _NOW
    + _EPOCH
    + """
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local epoch = epoch_of(KEYS[2])
if ARGV[4] == '1' and epoch + ttl > now then
  return {'0', fmt(epoch + ttl - now), fmt(now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
local live = redis.call('ZCARD', KEYS[1])
if live >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'0', fmt(tonumber(first[2]) - now), fmt(now)}
end
redis.call('ZADD', KEYS[1], fmt(now + ttl), ARGV[3])
keep(KEYS[1], math.ceil(ttl / 1000) + 1000)
return {'1', fmt(now + ttl), fmt(now)}
"""
)

# KEYS: leases, ended (zset: released lease id -> when the record may go). ARGV: limit,
# ttl_us, lease id. A live lease is extended to now + ttl. One that is gone (expired and
# reclaimed, or lost with a Redis restart) is taken again only if there is room, so renewing
# never puts more than `limit` in flight; one that was released is never taken again (a
# renewal racing its own release must not leak the slot). -> {"1", expires_us} held, or
# {"0", "0"} lost.
_RENEW = (
    _NOW
    + """
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now))
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  if redis.call('ZSCORE', KEYS[2], ARGV[3]) or redis.call('ZCARD', KEYS[1]) >= limit then
    return {'0', '0'}
  end
end
redis.call('ZADD', KEYS[1], fmt(now + ttl), ARGV[3])
keep(KEYS[1], math.ceil(ttl / 1000) + 1000)
return {'1', fmt(now + ttl)}
"""
)

# KEYS: leases, ended. ARGV: lease id, channel, ttl_us. -> "1" released, "0" was not held
# (expired). Remembers the release for a TTL (so a late renewal cannot take the slot again)
# and publishes on the pool's channel so waiters elsewhere may try again at once.
_RELEASE = (
    _NOW
    + """
local gone = redis.call('ZREM', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', fmt(now))
redis.call('ZADD', KEYS[2], fmt(now + ttl), ARGV[1])
keep(KEYS[2], math.ceil(ttl / 1000) + 1000)
if gone == 1 then redis.call('PUBLISH', ARGV[2], 'released') end
return fmt(gone)
"""
)

# KEYS: state. ARGV: advertised_rate, interval, advertised_concurrency, rate, concurrency,
# state_ttl_ms. Last writer wins (scripts run one at a time, so the last to run has the
# latest rated_at). -> rated_at_us.
_RATE = (
    _NOW
    + """
redis.call('HSET', KEYS[1], 'advertised_rate', ARGV[1], 'interval', ARGV[2],
  'advertised_concurrency', ARGV[3], 'rate', ARGV[4], 'concurrency', ARGV[5], 'rated_at', fmt(now))
keep(KEYS[1], ARGV[6])
return fmt(now)
"""
)

# KEYS: state. ARGV: seconds_us, state_ttl_ms. Extends the pause to now + seconds, never
# shortens it. -> {pause_until_us, now_us}.
_PAUSE = (
    _NOW
    + """
local till = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'pause_until') or '0') or 0
if current > till then till = current end
redis.call('HSET', KEYS[1], 'pause_until', fmt(till))
keep(KEYS[1], ARGV[2])
return {fmt(till), fmt(now)}
"""
)

# KEYS: state. ARGV: cooldown_us, state_ttl_ms. Opens the circuit until now + cooldown (an open
# circuit is extended, never shortened; a half-open one opens again). -> {open_until_us, now_us}.
_OPEN = (
    _NOW
    + """
local till = now + tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'breaker', 'breaker_until')
if state[1] == 'open' and (tonumber(state[2] or '0') or 0) > till then
  till = tonumber(state[2])
end
redis.call('HSET', KEYS[1], 'breaker', 'open', 'breaker_until', fmt(till), 'breaker_at', fmt(now))
redis.call('HDEL', KEYS[1], 'probe')
keep(KEYS[1], ARGV[2])
return {fmt(till), fmt(now)}
"""
)

# KEYS: state. ARGV: holder, probe_ttl_us, state_ttl_ms. The one probe of a circuit whose
# cool-down is over, for all processes: -> "1" if this holder has it (the circuit is half-open,
# the probe is theirs until now + probe_ttl; a probe whose holder died lapses then), "0" if not
# (closed: no probe needed; open and cooling; or another holder's probe is live).
_PROBE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'breaker', 'breaker_until', 'probe', 'probe_until')
local state = s[1] or 'closed'
if state == 'closed' then return '0' end
if state == 'open' and (tonumber(s[2] or '0') or 0) > now then return '0' end
if state == 'half-open' and s[3] ~= ARGV[1] and (tonumber(s[4] or '0') or 0) > now then
  return '0'
end
redis.call('HSET', KEYS[1], 'breaker', 'half-open', 'probe', ARGV[1],
  'probe_until', fmt(now + tonumber(ARGV[2])), 'breaker_at', fmt(now))
keep(KEYS[1], ARGV[3])
return '1'
"""
)

# KEYS: state. ARGV: state_ttl_ms. -> now_us.
_CLOSE = (
    _NOW
    + """
redis.call('HSET', KEYS[1], 'breaker', 'closed', 'breaker_at', fmt(now))
redis.call('HDEL', KEYS[1], 'breaker_until', 'probe', 'probe_until')
keep(KEYS[1], ARGV[1])
return fmt(now)
"""
)

# KEYS: state, leases, starts. ARGV: window_us (0: do not count starts).
# -> {now_us, live_leases, starts_in_window, field, value, field, value, ...}
_SNAPSHOT = (
    _NOW
    + """
local window = tonumber(ARGV[1])
local live = redis.call('ZCOUNT', KEYS[2], '(' .. fmt(now), '+inf')
local starts = 0
if window > 0 then starts = redis.call('ZCOUNT', KEYS[3], '(' .. fmt(now - window), '+inf') end
local out = {fmt(now), fmt(live), fmt(starts)}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields do out[#out + 1] = fields[i] end
return out
"""
)

# KEYS: epoch. Sets the identity's epoch if the server has none. -> the epoch (us).
_TOUCH = _NOW + _EPOCH + "return fmt(epoch_of(KEYS[1]))"

_SCRIPTS = {
    "touch": _TOUCH,
    "start": _START,
    "sent": _SENT,
    "acquire": _ACQUIRE,
    "renew": _RENEW,
    "release": _RELEASE,
    "rate": _RATE,
    "pause": _PAUSE,
    "open": _OPEN,
    "probe": _PROBE,
    "close": _CLOSE,
    "snapshot": _SNAPSHOT,
}


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _s(micros: str | int | float) -> float:
    return float(micros) / 1_000_000


# -- what the operations give back ---------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """One slot of a pool's shared concurrency window, held until :meth:`SharedBudget.release`
    (or until ``expires``, server time, unless renewed).

    >>> Lease("polite-array", "a1b2", limit=3, ttl=10.0, expires=1.7e9)
    Lease(pool='polite-array', id='a1b2', limit=3, ttl=10.0, expires=1700000000.0)
    """

    pool: str
    id: str
    limit: int
    ttl: float
    expires: float


@dataclass(frozen=True)
class Rating:
    """A pool's budget as learned from the answers: the advertised one, and what the governor
    allows now (``rate`` requests a second after 429 cuts, ``concurrency`` after AIMD).

    >>> Rating(advertised_rate=3.0, interval=1.0, advertised_concurrency=3, rate=3.0, concurrency=2)
    Rating(advertised_rate=3.0, interval=1.0, advertised_concurrency=3, rate=3.0, concurrency=2)
    """

    advertised_rate: float
    interval: float
    advertised_concurrency: int
    rate: float
    concurrency: int


class Start(NamedTuple):
    """The answer of :meth:`SharedBudget.try_start`: ``wait == 0`` when the start was recorded
    at ``now`` (server time) as ``id``; else the seconds to wait before asking again (``id`` is
    then empty and nothing was recorded).

    >>> wait, now, start_id = Start(0.25, 1.7e9, "")
    >>> wait
    0.25
    """

    wait: float
    now: float
    id: str


BreakerState = Literal["closed", "open", "half-open"]


@dataclass(frozen=True)
class PoolState:
    """One pool's shared state as read in one round trip by :meth:`SharedBudget.snapshot`.

    Times are the Redis server's (seconds since the epoch); ``paused_for`` and
    ``breaker_remaining`` are durations from ``now``, ready to wait on.

    >>> state = PoolState(now=100.0, rating=None, rated_at=None, pause_until=103.5,
    ...     breaker="open", breaker_until=160.0, in_flight=2, starts_in_window=3)
    >>> state.paused_for, state.breaker_remaining
    (3.5, 60.0)
    """

    now: float
    rating: Rating | None
    rated_at: float | None
    pause_until: float | None
    breaker: BreakerState
    breaker_until: float | None
    in_flight: int  # live leases
    starts_in_window: int  # starts in the last window asked for (0 if none asked)

    @property
    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 if none)."""
        return max(0.0, (self.pause_until or 0.0) - self.now)

    @property
    def breaker_remaining(self) -> float:
        """Seconds left of an open circuit's cool-down (0 if closed, half-open or over)."""
        if self.breaker != "open" or self.breaker_until is None:
            return 0.0
        return max(0.0, self.breaker_until - self.now)


# -- the budget ----------------------------------------------------------------------------------


class SharedBudget:
    """The budget of one client identity, shared through the Redis server at ``url``
    (``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS).

    Make one per identity (see :func:`identity_for`) and ``await`` :meth:`connect` (or use it
    as an async context manager) before the first operation: it checks that the server answers,
    and raises :class:`BudgetUnavailableError` if not. Every operation is one atomic script on
    the server; any Redis failure raises :class:`BudgetUnavailableError`.

    ``lease_ttl`` is how long a concurrency lease lives without renewal (the holder renews it
    every ``lease_ttl / 3`` or so); ``timeout`` bounds connecting and each command, so a lost
    server is reported within it rather than hanging a request.

    ``cold_start``: a server that has not served this identity before, or has lost its data (a
    restart without persistence, a failover), may have forgotten starts still in the window
    and leases of requests still in flight. So for one interval after the server first sees
    the identity no request starts, and for one ``lease_ttl`` no new lease is granted (holders
    renewing may take theirs back meanwhile). :meth:`connect` records that moment, so the
    delay is mostly spent before the first request. ``cold_start=False`` drops the guard (a
    server with persistence and no failover, or tests).

    >>> SharedBudget("redis://:pw@localhost:6379/0", identity=identity_for(None, "token"))
    SharedBudget('redis://:***@localhost:6379/0', identity='plus-3c469e9d6c5875d3')
    """

    def __init__(
        self,
        url: str,
        *,
        identity: str = "public",
        lease_ttl: float = 10.0,
        timeout: float = 2.0,
        cold_start: bool = True,
    ) -> None:
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(f"{problem}: {redact_url(url)}")
        if not lease_ttl > 0 or not timeout > 0:
            raise ValueError("lease_ttl and timeout must be positive")
        if not identity or any(c in identity for c in "{}: "):
            # The identity is the keys' Redis Cluster hash tag: braces would break it.
            raise ValueError(f"not a budget identity (see identity_for()): {identity!r}")
        self._url = url
        self.url = redact_url(url)
        self.identity = identity
        self.lease_ttl = lease_ttl
        self.timeout = timeout
        self.cold_start = cold_start
        self._cold = "1" if cold_start else "0"
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    def __repr__(self) -> str:
        return f"SharedBudget({self.url!r}, identity={self.identity!r})"

    # -- connection -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and check the server answers (PING) and runs scripts (Redis 6.2 or later);
        :class:`BudgetUnavailableError` (naming the redacted URL) if not.

        >>> await budget.connect()  # again: a no-op once connected
        """
        if self._redis is None:
            try:
                import redis.asyncio as aioredis
            except ImportError:  # pragma: no cover - the extra is part of dev
                raise BudgetUnavailableError(
                    self._url, "redis-py is not installed: pip install 'crossref-async[redis]'"
                ) from None
            try:
                client = aioredis.Redis.from_url(
                    self._url,
                    decode_responses=True,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                    # Each failure is reported at once: the governor decides how to wait.
                    retry_on_timeout=False,
                    retry=None,
                    client_name="crossref-async",
                )
            except ValueError as exc:
                raise BudgetUnavailableError(self._url, f"unusable URL ({exc})") from None
            self._redis = client
            self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}
        info = await self._call(self._server_info())
        version = str(info.get("redis_version", "6.2"))
        # ZADD ... GT (the sent script) came with Redis 6.2.
        if _version(version) < (6, 2):
            raise BudgetUnavailableError(
                self._url, f"Redis {version} is too old (the scripts need 6.2 or later)"
            )
        # The cold start counts from now, not from the first request.
        await self._run("touch", [self._epoch_key()], [])

    async def _server_info(self) -> Mapping[str, Any]:
        import redis.exceptions as errors

        client = self._client()
        await client.ping()
        try:
            return cast("Mapping[str, Any]", await client.info("server"))
        except errors.ResponseError as exc:
            if "NOPERM" not in str(exc) and "unknown command" not in str(exc):
                raise
            # Some hosted servers refuse INFO (an ACL, a renamed command): trust the server.
            return {}

    async def aclose(self) -> None:
        """Close the connections (leases held stay until they expire or are released).

        >>> spare = SharedBudget(budget.url, identity="mailto-example")
        >>> await spare.connect()
        >>> await spare.aclose()
        """
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> SharedBudget:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("SharedBudget.connect() was not awaited")
        return self._redis

    async def _call(self, awaitable: Any) -> Any:
        import redis.exceptions as errors

        try:
            return await awaitable
        except (errors.ConnectionError, errors.TimeoutError, OSError) as exc:
            # redis-py's messages name host and port, never the password; the URL here is
            # redacted, and the cause is dropped so no frame below holds the full URL.
            raise BudgetUnavailableError(self._url, _reason(exc)) from None
        except errors.ResponseError as exc:
            if "BUSY" in str(exc) or "LOADING" in str(exc) or "MASTERDOWN" in str(exc):
                raise BudgetUnavailableError(self._url, _reason(exc)) from None
            raise

    async def _ready(self) -> aioredis.Redis:
        # Connected on first use too, so that a budget made and used at once just works.
        if self._redis is None:
            await self.connect()
        return self._client()

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        await self._ready()
        return await self._call(self._scripts[script](keys=keys, args=args))

    def key(self, pool: str, what: str) -> str:
        """The Redis key of ``what`` (``starts``, ``leases``, ``ended``, ``state``) of ``pool``:
        ``crossref-async:{identity}:{pool}:{what}`` (the braces are Redis Cluster's hash tag).

        >>> SharedBudget("redis://localhost").key("polite-array", "leases")
        'crossref-async:{public}:polite-array:leases'
        """
        return f"{PREFIX}:{{{self.identity}}}:{pool}:{what}"

    def _epoch_key(self) -> str:
        return f"{PREFIX}:{{{self.identity}}}:epoch"

    def _lease_keys(self, pool: str) -> list[str]:
        return [self.key(pool, "leases"), self.key(pool, "ended")]

    def channel(self, pool: str) -> str:
        """The pub/sub channel where :meth:`release` announces a freed slot of ``pool``.

        >>> budget.channel("list")
        'crossref-async:{mailto-doctest}:list:released'
        """
        return self.key(pool, "released")

    # -- the rate -------------------------------------------------------------------------------

    async def try_start(
        self,
        pool: str,
        limit: int,
        interval: float,
        *,
        spacing: float | None = None,
        slack: float = 0.0,
    ) -> Start:
        """May a request of ``pool`` start now, with at most ``limit`` starts in any window of
        ``interval`` seconds (across all processes)?

        Returns a :class:`Start`, ``(wait, now, id)``: ``wait == 0`` means the start was
        recorded at ``now`` (server time) as ``id``; otherwise nothing was recorded and the
        caller asks again after ``wait`` seconds (the earliest moment the window, the
        spacing and any 429 pause allow; another process may still take it first). Starts
        are also spaced at least ``spacing`` apart (default ``interval / limit``, GCRA's
        emission interval), so K processes never send their share in one burst. The
        governor's safety margin goes into ``interval`` (and ``spacing``) as the caller
        passes them. ``slack`` is how late a start may come without pushing the next one
        back (the governor forgives half its margin): the spacing then holds on average,
        never less than ``spacing - slack`` between two starts; the window is exact anyway.

        >>> first = await budget.try_start("demo-rate", 2, 60.0, spacing=0)
        >>> second = await budget.try_start("demo-rate", 2, 60.0, spacing=0)
        >>> third = await budget.try_start("demo-rate", 2, 60.0, spacing=0)
        >>> first.wait, second.wait, 59 < third.wait <= 60  # the third waits a window
        (0.0, 0.0, True)
        """
        if limit < 1 or not interval > 0:
            raise ValueError("limit must be at least 1 and interval positive")
        gap = interval / limit if spacing is None else spacing
        start_id = secrets.token_hex(8)
        reply = await self._run(
            "start",
            [self.key(pool, "starts"), self.key(pool, "state"), self._epoch_key()],
            [limit, _us(interval), _us(gap), start_id, _ms(STATE_TTL), self._cold, _us(slack)],
        )
        wait, now = _s(reply[0]), _s(reply[1])
        return Start(wait, now, start_id if wait == 0 else "")

    async def sent(self, pool: str, start_id: str, *, slack: float = 0.0) -> bool:
        """Move a recorded start to now (server time), never earlier: its request went out
        later than it started, so the window counts it from then and later starts keep their
        spacing from then (less ``slack``, as in :meth:`try_start`). False if the start has
        left the log already.

        >>> start = await budget.try_start("demo-sent", 5, 1.0)
        >>> await budget.sent("demo-sent", start.id)
        True
        """
        reply = await self._run(
            "sent",
            [self.key(pool, "starts"), self.key(pool, "state")],
            [start_id, _ms(STATE_TTL), _us(slack)],
        )
        return str(reply) == "1"

    async def starts(self, pool: str) -> list[float]:
        """The recorded starts of ``pool`` still in its log (server times, in order): for
        tests and monitoring.

        >>> _ = await budget.try_start("demo-log", 5, 1.0)
        >>> len(await budget.starts("demo-log"))
        1
        """
        client = await self._ready()
        pairs = await self._call(client.zrange(self.key(pool, "starts"), 0, -1, withscores=True))
        return [_s(score) for _, score in pairs]

    # -- the concurrency window -----------------------------------------------------------------

    async def acquire_lease(self, pool: str, limit: int) -> tuple[Lease | None, float]:
        """A slot in ``pool``'s shared window of ``limit`` requests in flight.

        Returns ``(lease, 0.0)``, or ``(None, retry)`` when all ``limit`` slots are held:
        ``retry`` is the seconds until the earliest lease expires if nobody releases it first
        (an upper bound; a release is announced on :meth:`channel` at once). Expired leases
        (their holder died or stopped renewing) are reclaimed here.

        >>> lease, _ = await budget.acquire_lease("demo-lease", 1)
        >>> other, retry = await budget.acquire_lease("demo-lease", 1)
        >>> lease is not None, other is None, 0 < retry <= budget.lease_ttl
        (True, True, True)
        >>> await budget.release(lease)
        True
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        lease_id = secrets.token_hex(8)
        reply = await self._run(
            "acquire",
            [self.key(pool, "leases"), self._epoch_key()],
            [limit, _us(self.lease_ttl), lease_id, self._cold],
        )
        if reply[0] != "1":
            return None, max(0.0, _s(reply[1]))
        return Lease(pool, lease_id, limit, self.lease_ttl, _s(reply[1])), 0.0

    async def renew(self, lease: Lease) -> Lease | None:
        """Extend ``lease`` by its TTL from now; the renewed lease, or None if it is lost (it
        expired and its slot went to another request, or Redis lost it and the window is full
        now). A lost lease's request may finish, but its slot is no longer counted.

        >>> lease, _ = await budget.acquire_lease("demo-renew", 1)
        >>> (await budget.renew(lease)) is not None
        True
        >>> await budget.release(lease)
        True
        """
        reply = await self._run(
            "renew", self._lease_keys(lease.pool), [lease.limit, _us(lease.ttl), lease.id]
        )
        if reply[0] != "1":
            return None
        return Lease(lease.pool, lease.id, lease.limit, lease.ttl, _s(reply[1]))

    async def renew_all(self, leases: Sequence[Lease]) -> list[Lease | None]:
        """:meth:`renew` every lease in one round trip (a pipeline): what a renewal task
        running every ``lease_ttl / 3`` or so calls with all the leases its process holds.
        The answers are in the order of ``leases``; a lease released meanwhile (a renewal
        racing the release) comes back None and its slot stays free.

        >>> held = [(await budget.acquire_lease("demo-all", 2))[0] for _ in range(2)]
        >>> [renewed is not None for renewed in await budget.renew_all(held)]
        [True, True]
        """
        if not leases:
            return []
        client = await self._ready()

        async def renew_in_pipeline() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                script = self._scripts["renew"]
                for lease in leases:
                    await script(
                        keys=self._lease_keys(lease.pool),
                        args=[lease.limit, _us(lease.ttl), lease.id],
                        client=pipe,
                    )
                return await pipe.execute()

        replies = await self._call(renew_in_pipeline())
        return [
            Lease(lease.pool, lease.id, lease.limit, lease.ttl, _s(reply[1]))
            if reply[0] == "1"
            else None
            for lease, reply in zip(leases, replies, strict=True)
        ]

    @contextlib.asynccontextmanager
    async def releases(self, pool: str) -> AsyncIterator[ReleaseWatch]:
        """Listen for slots of ``pool`` freed by any process (:meth:`release` announces them),
        so a waiter tries again at once rather than polling. Subscribe *before* the acquire
        that fails, so no release in between is missed::

            async with budget.releases(pool) as released:
                while (answer := await budget.acquire_lease(pool, limit))[0] is None:
                    await released.wait(answer[1])

        It holds one connection of its own while open.

        >>> lease, _ = await budget.acquire_lease("demo-watch", 1)
        >>> async with budget.releases("demo-watch") as watch:
        ...     await budget.release(lease)
        ...     await watch.wait(1.0)
        True
        True
        """
        pubsub: Any = (await self._ready()).pubsub()
        try:
            await self._call(pubsub.subscribe(self.channel(pool)))
            yield ReleaseWatch(self._call, pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def release(self, lease: Lease) -> bool:
        """Give ``lease``'s slot back (announced on :meth:`channel`); False if it had expired.

        >>> lease, _ = await budget.acquire_lease("demo-release", 1)
        >>> await budget.release(lease), await budget.release(lease)  # the second: gone
        (True, False)
        """
        reply = await self._run(
            "release",
            self._lease_keys(lease.pool),
            [lease.id, self.channel(lease.pool), _us(lease.ttl)],
        )
        return str(reply) == "1"

    # -- what the answers teach -----------------------------------------------------------------

    async def set_rating(self, pool: str, rating: Rating) -> float:
        """Share ``pool``'s learned budget (re-rating from headers, a 429's cut, AIMD's window):
        the last writer wins. Returns the server time it was written at.

        >>> rating = Rating(3.0, 1.0, 3, 3.0, 2)
        >>> _ = await budget.set_rating("demo-rating", rating)
        >>> (await budget.snapshot("demo-rating")).rating == rating
        True
        """
        reply = await self._run(
            "rate",
            [self.key(pool, "state")],
            [
                repr(float(rating.advertised_rate)),
                repr(float(rating.interval)),
                int(rating.advertised_concurrency),
                repr(float(rating.rate)),
                int(rating.concurrency),
                _ms(STATE_TTL),
            ],
        )
        return _s(reply)

    async def pause(self, pool: str, seconds: float) -> float:
        """Pause every process's starts in ``pool`` for ``seconds`` (a 429's Retry-After); a
        longer pause already set stays. Returns the seconds left of the pause now in force.

        >>> 9 < await budget.pause("demo-pause", 10.0) <= 10
        True
        >>> 9 < await budget.pause("demo-pause", 1.0) <= 10  # never shortened
        True
        """
        reply = await self._run(
            "pause", [self.key(pool, "state")], [_us(max(0.0, seconds)), _ms(STATE_TTL)]
        )
        return max(0.0, _s(reply[0]) - _s(reply[1]))

    async def open_breaker(self, pool: str, cooldown: float) -> float:
        """Open ``pool``'s circuit for every process for ``cooldown`` seconds (a longer open
        period already set stays). Returns the seconds until it may be probed. ``pool`` may be
        any scope name: the breaker of a whole client can use one of its own.

        >>> 29 < await budget.open_breaker("demo-open", 30.0) <= 30
        True
        >>> (await budget.snapshot("demo-open")).breaker
        'open'
        """
        reply = await self._run(
            "open", [self.key(pool, "state")], [_us(max(0.0, cooldown)), _ms(STATE_TTL)]
        )
        return max(0.0, _s(reply[0]) - _s(reply[1]))

    async def claim_probe(self, pool: str, holder: str, ttl: float) -> bool:
        """Claim the one probe of an open circuit whose cool-down is over, for all processes:
        True if ``holder`` (any id unique to the caller) has it and the circuit is half-open.
        A probe not settled by :meth:`close_breaker` or :meth:`open_breaker` within ``ttl``
        seconds lapses, so another process may probe.

        >>> _ = await budget.open_breaker("demo-probe", 0.0)
        >>> await budget.claim_probe("demo-probe", "me", 5.0)
        True
        >>> await budget.claim_probe("demo-probe", "someone-else", 5.0)  # one probe
        False
        """
        reply = await self._run(
            "probe", [self.key(pool, "state")], [holder, _us(ttl), _ms(STATE_TTL)]
        )
        return str(reply) == "1"

    async def close_breaker(self, pool: str) -> None:
        """Close ``pool``'s circuit for every process (its probe succeeded).

        >>> _ = await budget.open_breaker("demo-close", 30.0)
        >>> await budget.close_breaker("demo-close")
        >>> (await budget.snapshot("demo-close")).breaker
        'closed'
        """
        await self._run("close", [self.key(pool, "state")], [_ms(STATE_TTL)])

    async def snapshot(self, pool: str, window: float = 0.0) -> PoolState:
        """Everything shared about ``pool`` in one round trip: the rating, pause, breaker, live
        leases and (if ``window`` is given) the starts in the last ``window`` seconds.

        >>> state = await budget.snapshot("demo-empty")
        >>> state.rating, state.breaker, state.in_flight, state.paused_for
        (None, 'closed', 0, 0.0)
        """
        reply = await self._run(
            "snapshot",
            [self.key(pool, "state"), self.key(pool, "leases"), self.key(pool, "starts")],
            [_us(window)],
        )
        now, live, starts = _s(reply[0]), int(reply[1]), int(reply[2])
        fields = dict(zip(reply[3::2], reply[4::2], strict=True))
        rating = None
        if "advertised_rate" in fields:
            rating = Rating(
                advertised_rate=float(fields["advertised_rate"]),
                interval=float(fields["interval"]),
                advertised_concurrency=int(fields["advertised_concurrency"]),
                rate=float(fields["rate"]),
                concurrency=int(fields["concurrency"]),
            )
        breaker = fields.get("breaker", "closed")
        return PoolState(
            now=now,
            rating=rating,
            rated_at=_s(fields["rated_at"]) if "rated_at" in fields else None,
            pause_until=_s(fields["pause_until"]) if "pause_until" in fields else None,
            breaker=cast("BreakerState", breaker),
            breaker_until=_s(fields["breaker_until"]) if "breaker_until" in fields else None,
            in_flight=live,
            starts_in_window=starts,
        )


class ReleaseWatch:
    """Freed slots of one pool, as :meth:`SharedBudget.releases` listens for them."""

    def __init__(self, call: Callable[[Any], Awaitable[Any]], pubsub: Any) -> None:
        self._call = call  # the budget's: Redis failures become BudgetUnavailableError
        self._pubsub = pubsub

    async def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for a release: True if one came (a slot may be free
        now; another process may still take it first), False at the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            remaining = deadline - loop.time()
            message = await self._call(
                self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=max(0.0, remaining)
                )
            )
            if message is not None:
                return True
            if remaining <= 0:
                return False


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
