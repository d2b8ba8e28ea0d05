"""Issue 18 item 4: the default store (checker/state_store.py) is exact for any state width.

The store keeps every state's bytes and compares them after the hash, so two states never merge,
whatever their width and even when every state has the same hash; it iterates in BFS (id) order
with each state's first parent, like the dict it replaced; a search through it has the dict's
state counts and traces (the engine agreement tests and bench/preserve.py check those on every
bundled and generated model).
"""

from __future__ import annotations

import random

import pytest

from ircheck import state_store
from ircheck.state_store import ROOT, StateStore


def _against_a_dict(bits: int, n: int = 6000) -> StateStore:
    rnd = random.Random(bits)
    pool = [rnd.getrandbits(bits) for _ in range(n)]
    store, ref = StateStore(bits, 16), {pool[0]: None}
    store.add([pool[0]], ROOT)
    order = [pool[0]]
    for _ in range(n):
        parent = rnd.choice(order)
        out = [rnd.choice(pool) for _ in range(3)]
        expected = []
        for t in out:
            if t not in ref:
                ref[t] = parent
                expected.append(t)
                order.append(t)
        assert store.add(out, store.id_of(parent)) == expected
    assert list(store) == list(ref)  # BFS (insertion) order
    assert all(store[t] == ref[t] for t in ref)
    absent = [x for x in (rnd.getrandbits(bits) for _ in range(500)) if x not in ref]
    assert not any(x in store for x in absent)
    assert store.path_to(order[-1])[0] == pool[0]
    return store


@pytest.mark.parametrize("bits", [1, 7, 64, 65, 162, 500])
def test_the_store_is_a_dict_of_parents_for_any_width(bits: int) -> None:
    _against_a_dict(bits)


def test_every_state_with_the_same_hash_is_still_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_store, "hash", lambda _b: 12345, raising=False)
    store = _against_a_dict(162, 800)  # one probe chain: the bytes decide
    assert len(store) > 300


def test_truncate_keeps_the_first_states() -> None:
    store = StateStore(40)
    store.add(list(range(1, 1001)), ROOT)
    store.truncate(10)
    assert len(store) == 10 and list(store) == list(range(1, 11))
    assert 10 in store and 11 not in store and store.id_of(500) == -1
