"""Collection progress on stderr: a rich bar on a terminal, nothing in CI logs or with --quiet."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any


def wants_progress(quiet: bool) -> bool:
    """A bar only for a human watching: stderr is a TTY, not --quiet, not CI."""
    return not quiet and sys.stderr.isatty() and not os.environ.get("CI")


class RichProgress:
    """The collector's Progress protocol drawn as one transient rich bar."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._objects = 0
        self._lock = threading.Lock()
        self._bar = Progress(
            TextColumn("reading cluster"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[objects]} objects  {task.fields[last]}"),
            console=Console(stderr=True), transient=True,
        )
        self._task: Any = None

    def start(self, total: int) -> None:
        """Show the bar."""
        self._bar.start()
        self._task = self._bar.add_task("read", total=total, objects=0, last="")

    def advance(self, label: str, objects: int) -> None:
        """One resource done (called from worker threads; rich's Progress is thread-safe)."""
        with self._lock:
            self._objects += objects
            self._bar.update(self._task, advance=1, objects=self._objects, last=label)

    def stop(self) -> None:
        """Remove the bar."""
        self._bar.stop()
