"""Feedback on long runs: a live progress line on stderr, and the per-model statistics.

`Progress` draws one line with rich - model, states, depth, states/s, memory,
elapsed time - and erases it when the model is done, so the report that follows
is not disturbed. It is only ever shown on a terminal: `wanted()` says no when
stderr is redirected (CI logs, pipes, files stay free of control characters)
or when the user asked for `--quiet`.

The engines call the callback `Progress.start()` returns as
`callback(states, depth, seconds)` every few thousand states; redrawing is
limited to a few times a second so that a fast search does not pay for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from ircheck.sysinfo import peak_rss_mb

if TYPE_CHECKING:  # pragma: no cover
    from rich.live import Live
    from rich.text import Text

Callback = Callable[[int, int, float], None]


def wanted(stream: TextIO | None = None, quiet: bool = False) -> bool:
    """A progress line belongs on an interactive terminal only."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def elapsed(seconds: float) -> str:
    """`0:07`, `12:03`, `1:02:03`."""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def line(model: str, states: int, depth: int, seconds: float, memory_mb: float, wall: float) -> str:
    """The progress line's words (also used by the tests). states -1: the Z3 engine (it stores no
    states; `depth` is its BMC depth), e.g. after `auto` handed over."""
    if states < 0:
        return f"{model}  Z3: BMC depth {depth}  {memory_mb:,.0f} MB  {elapsed(wall)}"
    rate = states / seconds if seconds > 0 else 0.0
    return (f"{model}  {states:,} states  depth {depth}  {rate:,.0f} states/s  "
            f"{memory_mb:,.0f} MB  {elapsed(wall)}")


class Progress:
    """A live progress line on `stream` (default stderr); one model at a time.

        progress = Progress()
        callback = progress.start("m.irq")   # pass to check_file(..., progress=callback)
        ...
        progress.stop()                       # erase the line before printing the report
    """

    def __init__(self, stream: TextIO | None = None, *, force_terminal: bool | None = None,
                 min_interval: float = 0.12) -> None:
        from rich.console import Console  # rich (~50 ms to import) only when a progress line is shown

        self.console = Console(file=stream if stream is not None else sys.stderr, force_terminal=force_terminal,
                               highlight=False, soft_wrap=False)
        self.min_interval = min_interval
        self._live: Live | None = None
        self._model = ""
        self._t0 = 0.0
        self._last = 0.0
        self.updates = 0  # lines drawn (for tests)

    def _text(self, words: str) -> Text:
        from rich.text import Text  # see __init__
        return Text(words, style="dim", no_wrap=True, overflow="ellipsis")

    def start(self, model: str) -> Callback:
        from rich.live import Live  # see __init__

        self.stop()
        self._model = model
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._live = Live(self._text(f"{model}  starting"), console=self.console, auto_refresh=False,
                          transient=True, redirect_stdout=False, redirect_stderr=False)
        self._live.start(refresh=True)
        return self.update

    def update(self, states: int, depth: int, seconds: float) -> None:
        live = self._live
        if live is None:
            return
        now = time.perf_counter()
        if now - self._last < self.min_interval:
            return
        self._last = now
        self.updates += 1
        live.update(self._text(line(self._model, states, depth, seconds, peak_rss_mb(), now - self._t0)),
                    refresh=True)

    def stop(self) -> None:
        """Erase the line (idempotent; safe after Ctrl-C)."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
