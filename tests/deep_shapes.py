"""Legal models of unusual shape: wide constants, deep call chains, long sums, long invariants.

Each generator returns `.irq` source whose verdicts are known in closed form, so tests can assert
real verdicts (not only "no crash") under every engine. `shapes(seed)` draws a mixed batch for the
stress test (tests/checker/test_deep_stress.py); the same seed gives the same models.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

INT32_MAX = 2**31 - 1


@dataclass
class Shape:
    """A model and what every engine must say about it (check -> "holds" / "violated")."""

    name: str
    text: str
    expect: dict[str, str] = field(default_factory=dict)


def wide_constant(k: int, op: str = "<", mx: int = 3) -> Shape:
    """`check invariant c OP k` on a counter 0..mx that a thread raises to mx: decided by k alone."""
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant c {op} {k}\n")
    ok = all({"<": v < k, "<=": v <= k, ">": v > k, ">=": v >= k, "==": v == k, "!=": v != k}[op]
             for v in range(mx + 1))
    return Shape(f"wide_{op}_{k}", text, {"invariant": "holds" if ok else "violated", "counter_range": "holds"})


def wide_if(k: int, mx: int = 3) -> Shape:
    """`if c < k { set f }` after c is raised to mx; `invariant not f`: violated iff some c < k."""
    text = (f"counter c max {mx}\nflag f\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)}; if c < {k} {{ set f }} }}\n"
            "check invariant not f\n")
    return Shape(f"wide_if_{k}", text, {"invariant": "violated" if mx < k else "holds",
                                        "counter_range": "holds"})


def wide_sum(k: int, mx: int = 3) -> Shape:
    """Constants that cancel: `c + K - K < 2` is `c < 2`, however wide K is."""
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant c + {k} - {k} < 2\n")
    return Shape(f"wide_sum_{k}", text, {"invariant": "violated" if mx >= 2 else "holds",
                                         "counter_range": "holds"})


def call_chain(n: int, violate: bool = True) -> Shape:
    """fn0 calls fn1 ... calls fn{n-1}, which increments c; the thread increments it again after
    the call. `invariant c < 2` is violated (c reaches 2) unless `violate` is false (then `< 3`)."""
    fns = "\n".join(f"function fn{i} {{ call fn{i + 1} }}" for i in range(n - 1))
    text = ("counter c max 3\n"
            "thread t { call fn0; inc c }\n"
            f"{fns}\nfunction fn{n - 1} {{ inc c }}\n"
            f"check invariant c < {2 if violate else 3}\n")
    return Shape(f"calls_{n}", text, {"invariant": "violated" if violate else "holds", "counter_range": "holds"})


def long_sum_if(n: int, bound: int) -> Shape:
    """`if c + c + ... (n terms) > bound { set f }` after one `inc c`: f is set iff n > bound."""
    s = " + ".join(["c"] * n)
    text = ("counter c max 3\nflag f\n"
            f"thread t {{ inc c; if {s} > {bound} {{ set f }} }}\n"
            "check invariant not f\n")
    return Shape(f"sum_if_{n}_{bound}", text, {"invariant": "violated" if n > bound else "holds",
                                                "counter_range": "holds"})


def long_invariant(n: int, bound: int, mx: int = 3) -> Shape:
    """`invariant c + c + ... (n terms) < bound` while c goes 0..mx: violated iff n*mx >= bound."""
    s = " + ".join(["c"] * n)
    text = (f"counter c max {mx}\n"
            f"thread t {{ {'; '.join(['inc c'] * mx)} }}\n"
            f"check invariant {s} < {bound}\n")
    return Shape(f"inv_{n}_{bound}", text, {"invariant": "violated" if n * mx >= bound else "holds",
                                             "counter_range": "holds"})


def mixed_sum(rng: random.Random, n: int) -> Shape:
    """n terms over two counters with random signs and wide constants; the verdict computed here."""
    terms = [("+", "a")]
    for _ in range(n - 1):
        what = rng.choice(["a", "b", "k"])
        sign = rng.choice("+-")
        terms.append((sign, str(rng.choice([1, 7, 2**31, 2**32 + 1, 2**64, 2**255])) if what == "k" else what))
    src = terms[0][1] + "".join(f" {s} {t}" for s, t in terms[1:])
    bound = rng.choice([0, 1, 5, 2**31, -(2**31)])
    bound_src = str(bound) if bound >= 0 else f"0 - {-bound}"

    def value(a: int, b: int) -> int:
        env = {"a": a, "b": b}
        return sum((1 if s == "+" else -1) * (env[t] if t in env else int(t)) for s, t in terms)

    reach = [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (3, 2)]  # the thread's steps, in order
    ok = all(value(a, b) < bound for a, b in reach)
    text = ("counter a max 3\ncounter b max 2\n"
            "thread t { inc a; inc b; inc a; inc b; inc a }\n"
            f"check invariant {src} < {bound_src}\n")
    return Shape(f"mixed_{n}", text, {"invariant": "holds" if ok else "violated", "counter_range": "holds"})


WIDE = [2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**63, 2**64 + 1, 2**255, 2**300]


def shapes(seed: int) -> list[Shape]:
    """A batch of every shape, sizes and constants drawn from `seed`."""
    rng = random.Random(seed)
    k = rng.choice(WIDE)
    return [
        wide_constant(k, rng.choice(["<", "<=", ">", ">=", "==", "!="])),
        wide_if(rng.choice(WIDE + [2, 3])),
        wide_sum(rng.choice(WIDE)),
        call_chain(rng.randint(50, 500), violate=rng.random() < 0.5),
        long_sum_if(rng.randint(200, 1000), rng.choice([3, 500, 2**40])),
        long_invariant(rng.randint(150, 400), rng.choice([200, 2000, 2**33])),
        mixed_sum(rng, rng.randint(5, 60)),
    ]
