"""How many wrong passwords the sign-in form takes: per account name and per client address.

Each name (known or not: locking only real accounts would tell which names exist) and each client address
may fail ``free`` times; after that every further failure locks it for ``base`` seconds, doubling each time,
up to ``cap``. While either is locked the form answers "try again later" without checking the password at
all, so a lockout is no oracle for a correct guess. A success clears the name's count (not the address's:
one good account must not wash an address that is guessing at others). A count is forgotten ``forget``
seconds after its last failure. An IPv6 client counts by its /64 (one host usually holds a whole /64, so
counting single addresses would give it 2^64 fresh starts); an IPv4-mapped address counts as the IPv4 one.

Memory is bounded: each table keeps at most ``max_keys`` entries, least recently failed first out. Flooding
the name table to push a locked name out needs more failures than one address may make, so it needs many
addresses — each throttled on its own. The counts live in this process: replicas count separately.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5
BASE_SECONDS = 2.0
CAP_SECONDS = 15 * 60.0
FORGET_SECONDS = 24 * 3600.0
MAX_KEYS = 10_000
NAME_KEY_CHARS = 65  # names are at most 64 characters: a longer one is no account, keyed by its start


@dataclass
class _Count:
    failures: int
    last: float
    locked_until: float


class _Table:
    def __init__(self, throttle: SigninThrottle) -> None:
        self.throttle = throttle
        self.counts: OrderedDict[str, _Count] = OrderedDict()

    def _live(self, key: str, now: float) -> _Count | None:
        count = self.counts.get(key)
        if count is not None and now - count.last > self.throttle.forget and now >= count.locked_until:
            del self.counts[key]
            return None
        return count

    def wait(self, key: str, now: float) -> float:
        count = self._live(key, now)
        return max(0.0, count.locked_until - now) if count is not None else 0.0

    def fail(self, key: str, now: float) -> None:
        count = self._live(key, now) or _Count(0, now, now)
        count.failures += 1
        count.last = now
        over = count.failures - self.throttle.free
        if over >= 0:
            lock = min(self.throttle.cap, self.throttle.base * 2.0 ** min(over, 64))
            count.locked_until = max(count.locked_until, now + lock)
        self.counts[key] = count
        self.counts.move_to_end(key)
        while len(self.counts) > self.throttle.max_keys:
            self.counts.popitem(last=False)

    def clear(self, key: str) -> None:
        self.counts.pop(key, None)


class SigninThrottle:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        free: int = FREE_FAILURES,
        base: float = BASE_SECONDS,
        cap: float = CAP_SECONDS,
        forget: float = FORGET_SECONDS,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.clock, self.free, self.base, self.cap = clock, free, base, cap
        self.forget, self.max_keys = forget, max_keys
        self.names = _Table(self)
        self.addresses = _Table(self)

    def wait(self, name: str, address: str) -> int:
        """Whole seconds until ``name`` may be tried from ``address`` again (0: now)."""
        now = self.clock()
        seconds = max(self.names.wait(_name_key(name), now), self.addresses.wait(_address_key(address), now))
        return math.ceil(seconds)

    def failed(self, name: str, address: str) -> int:
        """Count a wrong password; returns the seconds the name or address is now locked for (0: not)."""
        now = self.clock()
        self.names.fail(_name_key(name), now)
        self.addresses.fail(_address_key(address), now)
        return self.wait(name, address)

    def succeeded(self, name: str) -> None:
        self.names.clear(_name_key(name))

    def size(self) -> int:
        return len(self.names.counts) + len(self.addresses.counts)


def _name_key(name: str) -> str:
    return name[:NAME_KEY_CHARS]


def _address_key(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # not an address (a test client's name, a Unix socket): counted as given
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
