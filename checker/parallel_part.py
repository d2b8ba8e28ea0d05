"""The workers' side of `--workers N` (checker/parallel.py tells the design): the partition of
the state space a process owns (`Part`: its `seen` dict, its frontier in serial BFS order, one
BFS level's expansion and the exchange of the successors others own), the worker process's
loop, and the choice of the partition mask on the explored prefix (`choose_mask`).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import pickle
import signal
import threading
import time
import traceback
from array import array
from bisect import bisect_left
from multiprocessing.connection import Connection

from ircheck.explicit import Explicit
from ircheck.limits import OUT_OF_MEMORY
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import Triage

_PRIME = 1_000_003  # owner(t) = (t & mask) % _PRIME % workers
CHECK_EVERY = 4096
PEER_GONE = "a peer worker stopped"
Candidate = tuple[int, str, str, str, int, "int | None", int]  # key, kind, check, message, state, transition, line


def owner(t: int, workers: int, mask: int = -1) -> int:
    """The worker that stores state t: a function of the bits of t selected by `mask`."""
    return (t & mask) % _PRIME % workers


def fork_available() -> bool:
    return "fork" in mp.get_all_start_methods()


# ---- one partition of the state space -----------------------------------------------------------

class Part:
    """The states one worker owns, and the level-by-level work on them.

    Runs in the parent while the search has one partition, and in each worker process after that.
    """

    def __init__(self, eng: Explicit, me: int, n: int, mask: int, keep_levels: bool,
                 deadline: float | None, mem_limit: float | None) -> None:
        self.eng, self.ts = eng, eng.ts
        self.me, self.n, self.mask = me, n, mask
        self.keep_levels = keep_levels
        self.deadline, self.mem_limit = deadline, mem_limit
        self.M = len(self.ts.transitions) + 2  # > out-degree + 1: key r*M (own steps), r*M+i+1 (i-th successor)
        self.seen: dict[int, int | None] = {}
        self.frontier: list[int] = []
        self.order: list[int] = []  # per frontier state: its rank, or (not self.dense) its key; same order
        self.dense = True
        self.new_keys: dict[int, int] = {}
        self.expanded: tuple[list[int], list[int]] = ([], [])  # last expanded level: order, out-degrees
        self.level = 0
        self.levels: list[tuple[list[int], array[int]]] = []  # keep_levels: (states in rank order, ranks)
        self.quiet: list[tuple[int, int, int]] = []          # (level, rank, state)
        self.peers: dict[int, Connection] = {}

    @classmethod
    def initial(cls, eng: Explicit, keep_levels: bool, deadline: float | None, mem_limit: float | None) -> Part:
        p = cls(eng, 0, 1, -1, keep_levels, deadline, mem_limit)
        p.seen[eng.init] = None
        p.frontier, p.order = [eng.init], [0]
        if keep_levels:
            p.levels.append(([eng.init], array("q", [0])))
        return p

    def split(self, me: int, n: int, mask: int, mem_limit: float | None) -> Part:
        """Worker me's share of this (single) partition."""
        p = Part(self.eng, me, n, mask, self.keep_levels, self.deadline, mem_limit)

        def own(t: int) -> bool:
            return (t & mask) % _PRIME % n == me
        p.seen = {t: par for t, par in self.seen.items() if own(t)}
        pairs = [(t, r) for t, r in zip(self.frontier, self.order, strict=True) if own(t)]
        p.frontier, p.order = [t for t, _r in pairs], [r for _t, r in pairs]
        p.dense = self.dense
        p.level = self.level
        for states, ranks in self.levels:
            mine = [(t, r) for t, r in zip(states, ranks, strict=True) if own(t)]
            p.levels.append(([t for t, _r in mine], array("q", [r for _t, r in mine])))
        p.quiet = [q for q in self.quiet if own(q[2])]
        return p

    # ---- one BFS level
    def expand(self, found: frozenset[str], facts_known: frozenset[str], bound_known: bool,
               densify: bool) -> tuple[int, int, list[Candidate], str, float, float, int]:
        """Expand the frontier. Returns (new states, transitions, candidates, stop reason, peak MB,
        CPU seconds, bits of the largest order value)."""
        ts, n, me, M, mask = self.ts, self.n, self.me, self.M, self.mask
        code = self.eng.code
        succ, props, unfinished = code.succ, code.props, code.unfinished
        tri = Triage(ts)
        want_deadlock = tri.deadlock
        bound_check, fact_check = ts.bound_check, ts.fact_check
        seen = self.seen
        kd: dict[int, int] = {}
        nxt: list[int] = []
        app = nxt.append
        buckets: list[dict[int, int | None]] = [{} for _ in range(n)]
        bkeys: list[list[int]] = [[] for _ in range(n)]
        cands: list[Candidate] = []
        recorded: set[tuple[str, str]] = set()
        degrees: list[int] = []  # out-degree per expanded state: the --max-states cut counts them exactly
        dapp = degrees.append
        stopped = ""
        deadline, mem_limit = self.deadline, self.mem_limit
        level = self.level
        count = 0
        cpu0 = time.process_time()
        for s, r in zip(self.frontier, self.order, strict=True):
            out: list[int] = []
            vio: list[int] = []
            ncpu = succ(s, out, vio)
            dapp(len(out))
            k = r * M
            if vio:
                for ti in vio:  # `Triage`'s reading of the tags; each new one is a candidate
                    line, why = tri.line[ti], tri.bound[ti]
                    if why is not None and not bound_known and ("b", "") not in recorded:
                        recorded.add(("b", ""))
                        cands.append((k, "b", bound_check, why, s, ti, line))
                    for fact in tri.facts[ti]:
                        if fact not in facts_known and ("f", fact) not in recorded:
                            recorded.add(("f", fact))
                            cands.append((k, "f", fact_check, fact, s, ti, line))
                    for check, msg in tri.checked[ti]:
                        if check not in found and ("v", check) not in recorded:
                            recorded.add(("v", check))
                            cands.append((k, "v", check, msg, s, ti, line))
            if want_deadlock and ncpu == 0 and unfinished(s):
                self.quiet.append((level, r, s))
            for t in out:
                k += 1
                if t in seen:  # only own states are in `seen`: known, or met earlier in this level
                    continue
                o = (t & mask) % _PRIME % n
                if o == me:
                    seen[t] = s
                    kd[t] = k
                    app(t)
                else:
                    b = buckets[o]
                    if t not in b:
                        b[t] = s
                        bkeys[o].append(k)
            count += 1
            if not count % CHECK_EVERY:
                if deadline is not None and time.monotonic() > deadline:
                    stopped = "timeout"
                    break
                if mem_limit and not count % (16 * CHECK_EVERY) and peak_rss_mb() > mem_limit:
                    stopped = "memory"
                    break
        if self.peers:
            # swap the successors owned by others; keep the smallest key (the serial first generator)
            payloads = {j: pickle.dumps((list(buckets[j]), list(buckets[j].values()), bkeys[j]), protocol=5)
                        for j in self.peers}
            del buckets, bkeys
            for data in self._exchange(payloads):
                ts_, ps_, ks_ = pickle.loads(data)
                for t, p, kk in zip(ts_, ps_, ks_, strict=True):
                    if t in seen:
                        old = kd.get(t)
                        if old is not None and kk < old:
                            seen[t] = p
                            kd[t] = kk
                    else:
                        seen[t] = p
                        kd[t] = kk
                        app(t)
            nxt.sort(key=kd.__getitem__)
        if ts.state_props:
            for t in nxt:
                bad = props(t)
                kb = 0
                while bad:
                    if bad & 1:
                        p = ts.state_props[kb]
                        tag = ("p", p.check)
                        if p.check not in found and tag not in recorded:
                            recorded.add(tag)
                            cands.append((kd[t], "p", p.check, p.message, t, None, p.line))
                    bad >>= 1
                    kb += 1
        self.expanded = (self.order, degrees)
        self.frontier, self.new_keys = nxt, kd
        self.order, self.dense = [kd[t] for t in nxt], False
        self.level += 1
        if densify or self.keep_levels:
            self.densify()
        if self.keep_levels:
            self.levels.append((nxt, array("q", self.order)))
        top = self.order[-1].bit_length() if self.order else 0
        return len(nxt), sum(degrees), cands, stopped, peak_rss_mb(), time.process_time() - cpu0, top

    def densify(self) -> None:
        """Replace the frontier's keys by global ranks (every partition calls this at the same level).

        Keys grow by log2(M) bits per level (key = parent's order value * M + i + 1); ranks keep them
        small. Every partition sends its sorted keys to every other; a rank is the position in the
        merged list (own keys tagged with the low bit).
        """
        if self.dense:
            return
        keys = self.order
        if self.peers:
            tagged = [(x << 1) | 1 for x in keys]
            for data in self._exchange({j: pickle.dumps(keys, protocol=5) for j in self.peers}):
                tagged += [x << 1 for x in pickle.loads(data)]
            tagged.sort()
            self.order = [i for i, x in enumerate(tagged) if x & 1]
        else:
            self.order = list(range(len(keys)))  # one partition: its keys are all there is
        self.dense = True

    def _exchange(self, payloads: dict[int, bytes]) -> list[bytes]:
        """Send one message to every peer while receiving theirs (a thread sends: no pipe deadlock)."""
        def send_all() -> None:
            for j, data in payloads.items():
                self.peers[j].send_bytes(data)
        th = threading.Thread(target=send_all, daemon=True)
        th.start()
        got = [self.peers[j].recv_bytes() for j in sorted(self.peers)]
        th.join()
        return got

    # ---- the --max-states cut
    def key_at(self, rank: int) -> int | None:
        """The key of this partition's new state with global rank `rank`, if it has it."""
        i = bisect_left(self.order, rank)
        if i < len(self.order) and self.order[i] == rank:
            return self.new_keys[self.frontier[i]]
        return None

    def cut(self, cutoff: int, keep_below: int) -> tuple[int, int]:
        """Forget the new states the serial engine does not keep (key >= keep_below): it expands up
        to the state whose successors reach the limit (keys below `cutoff`), then drops those past N.

        Returns the states kept and the steps of the expanded states the serial engine had not reached.
        """
        kd = self.new_keys
        keep = [t for t in self.frontier if kd[t] < keep_below]
        for t in self.frontier[len(keep):]:
            del self.seen[t]
        self.frontier = keep
        self.order = self.order[:len(keep)]
        last = cutoff // self.M - 1  # rank of the last state the serial engine expands
        order, degrees = self.expanded
        return len(keep), sum(d for r, d in zip(order, degrees, strict=False) if r > last)

    # ---- counterexamples and liveness
    def parents(self, states: list[int]) -> list[int | None]:
        seen = self.seen
        return [seen[s] for s in states]

    def level_data(self, d: int) -> tuple[list[int], list[int | None], array[int]]:
        states, ranks = self.levels[d]
        return states, [self.seen[t] for t in states], ranks


# ---- a worker process -------------------------------------------------------------------------

def worker_main(prefix: Part, me: int, n: int, mask: int, conn: Connection, peers: dict[int, Connection],
                 unused: list[Connection], mem_limit: float | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for c in unused:
        c.close()
    gc.disable()
    try:
        part = prefix.split(me, n, mask, mem_limit)
        part.peers = peers
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                return
            if msg[0] == "gather":
                for d in range(len(part.levels)):
                    conn.send(part.level_data(d))
                conn.send(part.quiet)
                conn.send(len(part.levels))
                continue
            conn.send(getattr(part, msg[0])(*msg[1:]))
    except MemoryError:
        _send_quietly(conn, ("error", str(OUT_OF_MEMORY)))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        _send_quietly(conn, ("error", PEER_GONE))
    except BaseException:  # noqa: BLE001 - report any failure to the parent, then exit
        _send_quietly(conn, ("error", traceback.format_exc()))


def _send_quietly(conn: Connection, msg: object) -> None:
    try:
        conn.send(msg)
    except (OSError, EOFError):
        pass


class WorkerFailed(Exception):
    def __init__(self, what: str, killed: bool = False) -> None:
        super().__init__(what)
        self.killed = killed


# ---- choosing the partition -------------------------------------------------------------------

def choose_mask(eng: Explicit, part: Part, n: int, cross_cost: float = 1.5) -> int:
    """The state bits that decide a state's owner (-1: all of them).

    The time of a level is that of the busiest worker, and a successor that belongs to another
    worker costs about `cross_cost` times the expansion of a state more (it is pickled, sent, merged).
    So estimate, on the explored prefix, cost(mask) = largest share x (1 + cross_cost x fraction of
    steps that change a bit of the mask), and walk the masks obtained by leaving out the variables
    one by one, most often changed first; keep the cheapest that still splits the sample into at
    least 32 classes per worker. Shares come from the last (up to) 5,000 states explored, change
    rates from the successors of up to 1,000 frontier states.
    """
    pk = eng.pk
    fields = [((1 << w) - 1) << o for o, w in zip(pk.off, pk.width, strict=True)]
    front = part.frontier
    diffs: list[int] = []
    for s in front[:: max(1, len(front) // 1000)][:1000]:
        out: list[int] = []
        eng.code.succ(s, out, [])
        diffs.extend(s ^ t for t in out)
    states = list(part.seen)[-5000:]
    if not diffs or len(states) < 64 * n:
        return -1
    rates = [sum(1 for x in diffs if x & f) / len(diffs) for f in fields]

    def cost(mask: int) -> float | None:
        counts = [0] * n
        classes = set()
        for t in states:
            v = t & mask
            classes.add(v)
            counts[v % _PRIME % n] += 1
        if len(classes) < 32 * n:
            return None
        moved = sum(1 for x in diffs if x & mask) / len(diffs) * (n - 1) / n
        return max(counts) / len(states) * (1 + cross_cost * moved)

    mask = sum(fields)
    best_cost = cost(mask)
    if best_cost is None:
        return -1
    best = mask
    for i in sorted(range(len(fields)), key=lambda i: -rates[i]):
        if rates[i] == 0:
            break
        trial = mask & ~fields[i]
        c = cost(trial) if trial else None
        if c is None:
            continue  # too few classes without this variable: keep it
        mask = trial
        if c < best_cost:
            best, best_cost = trial, c
    return best if best != sum(fields) else -1
