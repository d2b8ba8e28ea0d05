"""Typed tags: the reserved `Transition.violates` check names and lockdep's facts, defined once.

- `Tag`: the check names of a `violates` pair that are not checks. `Tag.BOUND` (`"__bound__"`):
  taking the step runs into a bound of the model (every check not violated is then inconclusive
  with the pair's message); `Tag.FACT` (`"__fact__"`): the step makes the fact named by the pair's
  second element true (see `TransitionSystem.judge`). A `Tag` is a `str` equal to, and hashing
  like, its value, so a tag and a plain check name share the `violates` pairs, sets and dicts of
  check names, and `isinstance(check, Tag)` tells them apart.
- `UseFact` / `DepFact`: lockdep's facts, `use|LOCK|USAGE|LINE|WHO` (USAGE: IN-HARDIRQ,
  HARDIRQ-ON, IN-SOFTIRQ, SOFTIRQ-ON) and `dep|HELD|TAKEN|LINE|WHO` (TAKEN acquired while HELD is
  held). Engines carry a fact as its `key` (a string: facts are keys of the engines' results);
  `parse_fact` turns a key back into the typed fact, the only place that reads that spelling.
- `Acknowledge`: the fairness group of one interrupt acknowledge (`acknowledge(0, "vector 0x21")`
  is "cpu0 takes vector 0x21"), under strong fairness: the CPU samples INTR at every instruction
  boundary, so a request deliverable again and again is taken. A `str` (groups are names in
  traces and reports); `isinstance(group, Acknowledge)` is the rule, not the spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tag(StrEnum):
    BOUND = "__bound__"
    FACT = "__fact__"

    def __hash__(self) -> int:  # like the str it equals (Enum hashes by member name)
        return str.__hash__(self)


BOUND = Tag.BOUND  # the default `TransitionSystem.bound_check` tag: a step runs into a model bound
FACT = Tag.FACT  # the default `TransitionSystem.fact_check` tag


@dataclass(frozen=True)
class UseFact:
    """Lock `lock` is used with `usage` (IN-HARDIRQ, HARDIRQ-ON, IN-SOFTIRQ, SOFTIRQ-ON; IN-NMI and USED
    for the NMI rule) by `who`."""

    lock: str
    usage: str
    line: int
    who: str

    @property
    def key(self) -> str:
        return f"use|{self.lock}|{self.usage}|{self.line}|{self.who}"


@dataclass(frozen=True)
class DepFact:
    """`who` acquires `taken` while holding `held`; `how` the edge's kind when a reader is involved
    (lockdep-design.rst `-(xy)->`, x how `held` is held, y how `taken` is taken, each E exclusive,
    N non-recursive read, R recursive read; "" for exclusive to exclusive)."""

    held: str
    taken: str
    line: int
    who: str
    how: str = ""

    @property
    def key(self) -> str:
        return f"dep|{self.held}|{self.taken}|{self.line}|{self.who}" + (f"|{self.how}" if self.how else "")


def parse_fact(key: str) -> UseFact | DepFact | None:
    """The typed fact a key spells (None: not a lockdep fact)."""
    parts = key.split("|")
    if parts[0] == "use" and len(parts) == 5:
        return UseFact(parts[1], parts[2], int(parts[3]), parts[4])
    if parts[0] == "dep" and len(parts) in (5, 6):
        return DepFact(parts[1], parts[2], int(parts[3]), parts[4], parts[5] if len(parts) == 6 else "")
    return None


class Acknowledge(str):
    """A fairness group under strong fairness (see the module docstring); build it with `acknowledge`."""

    __slots__ = ()


def acknowledge(cpu: int, what: str) -> Acknowledge:
    """The strong-fairness group of CPU `cpu` taking `what` ("vector 0x21", "NMI")."""
    return Acknowledge(f"cpu{cpu} takes {what}")


def is_strong(group: str) -> bool:
    """Is `group` under strong fairness (an interrupt acknowledge)?"""
    return isinstance(group, Acknowledge)
