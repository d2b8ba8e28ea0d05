"""Where a Ray search runs (`--workers`, `--cluster`, `--swarm`, `RAY_ADDRESS`), and the clear error without Ray.

Ray (https://docs.ray.io) is an optional extra: `pip install 'ircheck[cluster]'`. This module does not
import it (a run that does not ask for Ray pays nothing); checker/ray_bfs.py and ray_swarm.py do.

- `Cluster(address, swarm)`: address None or "local" starts a local Ray with `--workers` CPUs (its
  processes end with the run; `--workers N`, N > 1, alone asks for this); any other address is an existing cluster (`ray start --head` on one
  machine, `ray start --address HEAD:6379` on the others; ircheck installed on every node), given as
  `--cluster HOST:6379` or in the `RAY_ADDRESS` environment variable.
- `swarm` > 0: `--swarm N`, N randomized bounded searches (checker/ray_swarm.py) instead of the
  exhaustive partitioned BFS (checker/ray_bfs.py).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from ircheck.grammar.diagnostics import Diagnostic, IrcheckError

INSTALL_HINT = "pip install 'ircheck[cluster]' (Ray)"
LOCAL = "local"


@dataclass(frozen=True)
class Cluster:
    """A Ray search: where (`address`: None or "local", or a Ray address) and how (`swarm` members)."""

    address: str | None = None
    swarm: int = 0

    @property
    def local(self) -> bool:
        return self.address in (None, LOCAL)


def from_options(address: str | None, swarm: int, workers: int) -> Cluster | None:
    """The Ray search the command line asks for, or None for the one-machine engines.

    Ray runs with `--cluster ADDRESS`, with `--swarm N`, or with `--workers N` (N > 1): on the cluster
    the `RAY_ADDRESS` environment variable names, else on a local Ray of N CPUs. `--workers 1` (the
    default) without the other two is the one-process search."""
    env = os.environ.get("RAY_ADDRESS") or None
    if address is None and not swarm and workers <= 1:
        return None
    return Cluster(address or env, swarm)


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


def require_ray(what: str) -> None:
    """Raise the input error (exit status 2) that says what to install, when Ray is missing."""
    if not ray_available():
        raise IrcheckError([Diagnostic("IRQ902", f"{what} needs Ray, which is not installed", "<command line>",
                                       0, 0, INSTALL_HINT)])
