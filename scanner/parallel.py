"""Run a few CPU-bound tasks side by side in forked processes (`kaic scan --jobs`).

Rego evaluation is the bulk of a large scan and runs on one core. A forked child inherits the
parent's engine with its modules compiled and its input already set (copy-on-write), so the
only cost of a worker is the fork and sending its result back as JSON through a pipe. A child
that fails in any way (exception, crash, killed, bad output) yields `FAILED` and the caller
redoes that task in its own process, so parallelism never changes a result or hides an error.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MAX_AUTO_JOBS = 4
# Below this many objects evaluation takes about a second or less, and a second process gains
# little: each process computes the shared library rules again.
AUTO_MIN_OBJECTS = 1000

FAILED = object()  # a task whose child process did not deliver a result


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: its affinity mask (a cpuset), lowered to a cgroup CPU quota
    when there is one (a Kubernetes CPU limit is a quota: the pod sees every CPU of the node but
    gets only its share, and more workers than the share would only queue)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    return max(1, min(cpus, int(quota))) if quota is not None else cpus


def cgroup_cpu_quota(root: Path) -> float | None:
    """CPUs' worth of time the cgroup may use (cgroup v2 `cpu.max`, or v1
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`); None when unlimited or unknown."""
    try:
        fields = (root / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def can_fork() -> bool:
    """Forking is safe: the platform has fork and this process runs no other thread (a
    thread holding a lock at fork time would leave that lock held forever in the child)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def worker_count(requested: int, objects: int, tasks: int) -> int:
    """How many processes to use: `requested` if positive, else one per usable CPU (at most
    MAX_AUTO_JOBS) for inputs of at least AUTO_MIN_OBJECTS; never more than `tasks`, and 1
    where forking is not safe."""
    if requested > 0:
        wanted = requested
    else:
        wanted = min(usable_cpus(), MAX_AUTO_JOBS) if objects >= AUTO_MIN_OBJECTS else 1
    wanted = min(wanted, tasks)
    return wanted if wanted > 1 and can_fork() else 1


def run_forked(tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each task's JSON-serialisable result, in order: the first task runs here, every other
    one in a forked child. A child's result is FAILED when the child did not deliver it (or
    could not be forked: no memory for another process, a process limit)."""
    children: list[tuple[int, int] | None] = []  # (pid, read end of its pipe); None: no fork
    try:
        for task in tasks[1:]:  # one by one: a failed fork still leaves the others to stop
            children.append(_spawn(task))  # noqa: PERF401
        results = [tasks[0]()] if tasks else []
        while children:  # _collect reaps (or kills) its child, whatever happens
            child = children.pop(0)
            results.append(FAILED if child is None else _collect(*child))
        return results
    finally:
        for child in children:  # only after an exception here (Ctrl-C): stop the rest
            if child is not None:
                _stop(*child)


def _spawn(task: Callable[[], Any]) -> tuple[int, int] | None:
    try:
        read_fd, write_fd = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: never returns into the caller's code, never runs its cleanup
        status = 1
        try:
            os.close(read_fd)
            payload = json.dumps(task()).encode()
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
            status = 0
        except BaseException:  # noqa: BLE001 - the parent redoes the task and reports errors
            pass
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid: int, fd: int) -> Any:
    reaped = False
    try:
        with os.fdopen(fd, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        if not reaped:  # interrupted (Ctrl-C) while waiting for this child
            _kill(pid)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return FAILED
    try:
        return json.loads(payload)
    except ValueError:
        return FAILED


def _stop(pid: int, fd: int) -> None:
    _kill(pid)
    with contextlib.suppress(OSError):
        os.close(fd)


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
