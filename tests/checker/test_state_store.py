"""Issue 18 item 4: the default store (checker/state_store.py) is exact for any state width,
packed or collapsed (checker/collapse.py: SPIN's COLLAPSE, Holzmann 1997).

The store keeps every state's bytes and compares them after the hash, so two states never merge,
whatever their width and even when every state has the same hash; it iterates in BFS (id) order
with each state's first parent, like the dict it replaced; a search through it has the dict's
state counts and traces (the engine agreement tests and bench/preserve.py check those on every
bundled and generated model).
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ircheck import collapse, state_store
from ircheck.api import check_source
from ircheck.state_store import ROOT, StateStore
from tests.support.generators import examples, kernel_models, models, x86_models


def _against_a_dict(bits: int, n: int = 6000) -> StateStore:
    """A packed store fed n rounds of states drawn from a pool of n random ones, against a dict
    (`_check_against_a_dict`), and random states never added are not in it."""
    rnd = random.Random(bits)
    pool = [rnd.getrandbits(bits) for _ in range(n)]
    store = StateStore(bits, 16)
    _check_against_a_dict(store, lambda: rnd.choice(pool), rnd, n)
    stored = set(store)
    absent = [x for x in (rnd.getrandbits(bits) for _ in range(500)) if x not in stored]
    assert not any(x in store for x in absent)
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


# ---- collapse compression (checker/collapse.py): wide states kept as their components' indices

def _structured(rnd: random.Random, bits: int, groups: int, pool: int) -> Callable[[], int]:
    """States of `groups` bit fields, each one of `pool` random values (few values per field, as in
    a design's states): the kind collapse compression keeps in a few bytes."""
    gw = -(-bits // groups)
    pools = [[rnd.getrandbits(gw) for _ in range(pool)] for _ in range(groups)]
    top = (1 << bits) - 1

    def make() -> int:
        s = 0
        for j, p in enumerate(pools):
            s |= rnd.choice(p) << (j * gw)
        return s & top
    return make


def _check_against_a_dict(store: StateStore, make: Callable[[], int], rnd: random.Random, rounds: int) -> None:
    ref: dict[int, int | None] = {}
    order: list[int] = []
    for _ in range(rounds):
        parent = rnd.choice(order) if order else None
        out = [make() for _ in range(3 if order else 1)]
        expected = []
        for t in out:
            if t not in ref:
                ref[t] = parent
                order.append(t)
                expected.append(t)
        assert store.add(out, ROOT if parent is None else store.id_of(parent)) == expected
    assert list(store) == order  # BFS (insertion) order
    assert list(store.states(len(order) // 3, len(order) // 2)) == order[len(order) // 3:len(order) // 2]
    assert all(store.id_of(t) == k and store.state_of(k) == t for k, t in enumerate(order))
    assert all(store[t] == ref[t] for t in order)  # the parents
    for t in order[-50:]:
        path = store.path_to(t)
        assert path[0] == order[0] and path[-1] == t
        assert all(store[b] == a for a, b in zip(path, path[1:], strict=False))
    # a state one bit away from a stored one, or with a component value never seen, is not stored
    near = [t ^ (1 << rnd.randrange(store.bits)) for t in order[:300]]
    assert all((x in store) == (x in ref) for x in near)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bits=st.integers(9, 700), groups=st.integers(1, 8), pool=st.integers(2, 60), seed=st.integers(0, 2**32))
def test_a_collapsed_store_is_the_dict_of_parents(bits: int, groups: int, pool: int, seed: int) -> None:
    rnd = random.Random(seed)
    store = StateStore(bits, 16, plan_at=2000)
    _check_against_a_dict(store, _structured(rnd, bits, groups, pool), rnd, 2500)


@pytest.mark.parametrize(("bits", "groups", "pool"), [(64, 2, 100), (162, 4, 30), (500, 4, 30)])
def test_structured_wide_states_are_collapsed_and_stay_exact(bits: int, groups: int, pool: int) -> None:
    rnd = random.Random(bits)
    store = StateStore(bits, 16, plan_at=2000)
    _check_against_a_dict(store, _structured(rnd, bits, groups, pool), rnd, 4000)
    assert store.codec is not None and store.codec.width < store.width - 1


def test_a_column_widens_past_256_values_and_the_states_stay_exact() -> None:
    """A field whose values keep coming (a scattered counter): its component has about 120 values
    in the sample and thousands at the end, so its column goes from bytes to 16-bit indices."""
    rnd = random.Random(7)
    pool = [rnd.getrandbits(130) << 32 for _ in range(20)]
    calls = [0]

    def make() -> int:
        calls[0] += 1
        return ((rnd.randrange(1 + calls[0] // 16) * 0x9E3779B1) & 0xFFFFFFFF) | rnd.choice(pool)
    store = StateStore(162, 16, plan_at=2000)
    _check_against_a_dict(store, make, rnd, 20000)
    assert store.codec is not None and "H" in {c.typecode for c in store.codec.cols}


def test_random_states_stay_packed() -> None:
    rnd = random.Random(3)
    store = StateStore(162, 16, plan_at=2000)
    _check_against_a_dict(store, lambda: rnd.getrandbits(162), rnd, 3000)
    assert store.codec is None  # every component would have as many values as states: nothing saved


def test_the_switch_happens_while_a_frontier_is_read() -> None:
    """The search reads a level with `states(lo, hi)` and adds the successors meanwhile: a level
    started packed is read from the arena it started in after the store collapses."""
    rnd = random.Random(11)
    make = _structured(rnd, 162, 4, 20)
    store = StateStore(162, 16, plan_at=1000)
    store.add([make()], ROOT)
    lo, hi, order = 0, 1, list(store.states())
    while lo < hi and len(store) < 20000:
        for k, s in enumerate(store.states(lo, hi), lo):
            assert s == order[k]
            order += store.add([make() for _ in range(4)], k)
        lo, hi = hi, len(store)
    assert store.codec is not None and list(store) == order


@pytest.mark.parametrize("bits", [162, 8 * collapse.PACKED_MAX, 8 * collapse.PACKED_MAX + 1, 300])
def test_only_states_wider_than_packed_max_collapse(bits: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made as the search makes it (`plan_at` left to the store): states of up to
    `collapse.PACKED_MAX` bytes stay packed past `PLAN_AT` states (packed they are under 50 bytes a
    state already), wider ones collapse there."""
    monkeypatch.setattr(collapse, "PLAN_AT", 1000)
    rnd = random.Random(bits)
    store = StateStore(bits)
    _check_against_a_dict(store, _structured(rnd, bits, 4, 20), rnd, 3000)
    assert (store.codec is not None) == (-(-bits // 8) > collapse.PACKED_MAX)


@pytest.mark.parametrize("plan_at", [None, 500])
def test_add_gives_the_id_of_every_state(plan_at: int | None) -> None:
    """`add(out, parent, ids)`: the id of each state of `out`, stored before or just now (repeats
    in `out` included), across the switch to collapsed - what the search's edge log keeps."""
    from array import array  # noqa: PLC0415
    rnd = random.Random(17)
    make = _structured(rnd, 162, 4, 12)
    store = StateStore(162, 16, plan_at=plan_at)
    for k in range(2000):
        out = [make() for _ in range(3)]
        out.append(out[0])
        ids = array("I")
        store.add(out, k % max(1, len(store)), ids)
        assert list(ids) == [store.id_of(t) for t in out]
    assert (store.codec is not None) == (plan_at is not None)


@pytest.mark.parametrize("plan_at", [None, 500])
def test_the_level_dict_gives_the_ids_the_table_gives(plan_at: int | None) -> None:
    """`new_level()`: the states `add` stores from then on are also in `level` (state -> id), and
    `add` answers from it first - the same ids as the table, parents and order unchanged, across
    the switch to collapsed; the next `new_level()` starts an empty dict, `truncate` drops it."""
    rnd = random.Random(23)
    make = _structured(rnd, 162, 4, 12)
    plain, leveled = StateStore(162, 16, plan_at=plan_at), StateStore(162, 16, plan_at=plan_at)
    for k in range(3000):
        if k % 100 == 0:
            before = len(leveled)
            leveled.new_level()
            assert leveled.level == {}
        out = [make() for _ in range(3)]
        out += [out[0], out[1]]
        ids_p, ids_l = array("I"), array("I")
        parent = k % max(1, len(plain))
        assert plain.add(out, parent, ids_p) == leveled.add(out, parent, ids_l)
        assert ids_l == ids_p
        assert leveled.level == {leveled.state_of(i): i for i in range(before, len(leveled))}
    assert list(plain.items()) == list(leveled.items()) and len(leveled) > 1000
    assert (leveled.codec is not None) == (plan_at is not None)
    leveled.truncate(500)
    assert leveled.level is None


def test_a_level_after_a_wide_one_goes_without_the_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    """`new_level()` starts no dict after a level of `LEVEL_CAP` states or more (memory), and one
    again after a narrower level; `add` gives the same ids either way."""
    monkeypatch.setattr(state_store, "LEVEL_CAP", 10)
    store = StateStore(40)
    store.add([0], ROOT)
    store.new_level()
    assert store.level == {}
    store.add(list(range(1, 13)), 0)  # a level of 12 states
    store.new_level()
    assert store.level is None
    got = array("I")
    store.add(list(range(5, 20)), 1, got)  # 7 new ones, without the dict
    assert list(got) == [store.id_of(t) for t in range(5, 20)] and len(store) == 20
    store.new_level()  # the last level had 7 states: the dict again
    assert store.level == {}


def test_truncate_keeps_the_first_collapsed_states() -> None:
    rnd = random.Random(5)
    make = _structured(rnd, 200, 4, 20)
    store = StateStore(200, 16, plan_at=1000)
    for _ in range(3000):
        store.add([make()], ROOT)
    assert store.codec is not None
    first = list(store)[:1500]
    store.truncate(1500)
    assert list(store) == first and all(store.id_of(t) == k for k, t in enumerate(first))


def test_collapsed_states_with_the_same_hash_are_still_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_store, "hash", lambda _b: 12345, raising=False)
    rnd = random.Random(13)
    store = StateStore(162, 16, plan_at=300)
    _check_against_a_dict(store, _structured(rnd, 162, 4, 6), rnd, 400)  # one probe chain: `same` decides
    assert store.codec is not None and len(store) > 350


def _outcome(text: str) -> list[object]:
    r = check_source(text, engine="explicit")
    return [r.stats.states, r.stats.transitions, r.stats.depth,
            [(c.name, c.status, len(c.trace), c.loop_start, c.states) for c in r.checks]]


def test_collapsed_searches_decide_as_packed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated models (fixed seeds) searched with a store that collapses at 40 states and with one
    that never does: the same states, transitions, depth, verdicts and traces (state by state)."""
    texts = examples(kernel_models(), 8) + examples(x86_models(), 6) + examples(models(), 6)
    made: list[int] = []
    monkeypatch.setattr(collapse.Collapse, "__init__", _spy(collapse.Collapse.__init__, made))
    monkeypatch.setattr(collapse, "MIN_SAVING", 1)
    monkeypatch.setattr(collapse, "PACKED_MAX", 0)  # every width may collapse
    collapsed = 0
    for text in texts:
        monkeypatch.setattr(collapse, "PLAN_AT", None)
        packed = _outcome(text)
        before = len(made)
        monkeypatch.setattr(collapse, "PLAN_AT", 40)
        assert _outcome(text) == packed, text
        collapsed += len(made) > before
    assert collapsed >= 5, collapsed  # the comparison did exercise collapsed stores


def _spy(init: Callable[..., None], seen: list[int]) -> Callable[..., None]:
    def wrapped(self: collapse.Collapse, comps: list[tuple[int, int]]) -> None:
        seen.append(len(comps))
        init(self, comps)
    return wrapped
