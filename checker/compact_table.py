"""The compact store's visited set (checker/compact.py): an open-addressing table of 64-bit words
in one `array('Q')` (double hashing, prime capacity, grown in place by 1.5x with an epoch bit so
that the old and new arrays never coexist), and the hash-compaction omission bound.
"""

from __future__ import annotations

from array import array

HASH_BITS = 62
EBIT = 1 << 63  # epoch bit: flipped for every entry by each in-place growth
LOAD = 0.75


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):  # deterministic below 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def next_prime(n: int) -> int:
    n = max(n, 3) | 1
    while not _is_prime(n):
        n += 2
    return n


def omission_bound(states: int, bits: int = HASH_BITS) -> float:
    """P(two of `states` stored states share a hash) <= C(states, 2) * 2^(1-bits) (multiply-shift)."""
    return min(1.0, states * (states - 1) / 2 * 2.0 ** (1 - bits))


class Table:
    """Open addressing over array('Q'): 0 is empty; a word is key | epoch bit, key in [1, 2^62]."""

    def __init__(self, capacity: int) -> None:
        self.cap = next_prime(max(capacity, 1021))
        self.words = array("Q", bytes(8 * self.cap))
        self.epoch = 0
        self.count = 0

    @property
    def grow_at(self) -> int:
        return int(self.cap * LOAD)

    def grow(self) -> None:
        """Capacity x1.5 (next prime), rehashed in place: the old and new arrays never coexist."""
        tab, old = self.words, self.cap
        new = next_prime(old * 3 // 2)
        add = new - old
        while add > 0:  # extend in 8 MB chunks: no big temporary
            k = min(add, 1 << 20)
            tab.frombytes(bytes(8 * k))
            add -= k
        en = self.epoch ^ EBIT
        c1 = new - 1
        for i in range(old):
            x = tab[i]
            if not x or (x & EBIT) == en:
                continue  # empty, or moved already
            tab[i] = 0
            y = x ^ EBIT
            while y:
                j = y % new
                z = tab[j]
                if z and (z & EBIT) == en:
                    step = 1 + (y >> 20) % c1
                    while True:
                        j += step
                        if j >= new:
                            j -= new
                        z = tab[j]
                        if not z or (z & EBIT) != en:
                            break
                tab[j] = y
                y = z ^ EBIT if z else 0  # an entry not moved yet was displaced: place it next
        self.cap, self.epoch = new, en
