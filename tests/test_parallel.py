"""`--jobs`: checks evaluated in forked processes give exactly the sequential results, and a
worker that fails is redone in the main process instead of losing or hiding its checks."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from scanner import evaluate, parallel
from tests.conftest import FIXTURES, invoke, run_scan, without_timing, write_team


def test_children_run_in_other_processes_and_results_keep_task_order() -> None:
    results = parallel.run_forked([os.getpid, os.getpid, lambda: {"n": 3}])
    assert results[0] == os.getpid()
    assert results[1] != os.getpid()
    assert results[2] == {"n": 3}


def _raise() -> None:
    raise ValueError("boom")


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("task", [_raise, _kill_self, lambda: os._exit(3), object],
                         ids=["raises", "killed", "exit-3", "not-json"])
def test_a_child_that_does_not_deliver_is_failed_not_an_error(task) -> None:
    assert parallel.run_forked([lambda: "here", task]) == ["here", parallel.FAILED]


def test_an_exception_in_the_parent_stops_and_reaps_every_child() -> None:
    import time

    with pytest.raises(RuntimeError):
        parallel.run_forked([lambda: (_ for _ in ()).throw(RuntimeError("parent")),
                             lambda: time.sleep(600), lambda: time.sleep(600)])
    with pytest.raises(ChildProcessError):  # no child left, running or zombie
        os.waitpid(-1, os.WNOHANG)


def test_an_interrupt_while_collecting_leaves_no_child(monkeypatch) -> None:
    import time

    class Interrupted:
        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

        def read(self) -> bytes:
            raise KeyboardInterrupt

    real_fdopen = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args, **kwargs):
        if mode == "rb":  # the parent reading a child's pipe
            os.close(fd)
            return Interrupted()
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    with pytest.raises(KeyboardInterrupt):
        parallel.run_forked([lambda: 1, lambda: time.sleep(600), lambda: time.sleep(600)])
    with pytest.raises(ChildProcessError):  # both children killed and reaped
        os.waitpid(-1, os.WNOHANG)


def test_worker_count() -> None:
    assert parallel.worker_count(3, objects=10, tasks=2) == 2  # asked for, capped by tasks
    assert parallel.worker_count(0, objects=10, tasks=14) == 1  # small input: no fork
    auto = parallel.worker_count(0, objects=parallel.AUTO_MIN_OBJECTS, tasks=14)
    assert auto == min(parallel.usable_cpus(), parallel.MAX_AUTO_JOBS)
    assert parallel.worker_count(1, objects=10**6, tasks=14) == 1


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel.can_fork()
        assert parallel.worker_count(4, objects=10**6, tasks=14) == 1
    finally:
        stop.set()
        thread.join()
    assert parallel.can_fork()


@pytest.mark.parametrize("example", ["bad-bundle", "full-platform"])
@pytest.mark.parametrize("jobs", [2, 4])
def test_jobs_give_the_sequential_report(example: str, jobs: int) -> None:
    paths = [FIXTURES / "examples" / example]
    assert parallel.can_fork()
    sequential = run_scan(paths, jobs=1)
    assert sum(len(r.findings) for r in sequential.requirements) > 0
    assert without_timing(run_scan(paths, jobs=jobs)) == without_timing(sequential)


def test_a_runtime_error_stays_with_its_check_across_processes(tmp_path: Path) -> None:
    library = write_team(tmp_path)
    reports = [run_scan([tmp_path / "cm.yaml"], str(tmp_path / "profile.yaml"), library, jobs)
               for jobs in (1, 2)]
    assert [e.check_id for e in reports[1].errors] == ["team-broken"]
    assert without_timing(reports[1]) == without_timing(reports[0])


def test_a_worker_that_dies_is_redone_in_the_main_process(monkeypatch, tmp_path: Path) -> None:
    main = os.getpid()
    query_all = evaluate._query_all

    def dies_in_a_child(engine, checks):
        if os.getpid() != main:
            (tmp_path / str(os.getpid())).touch()
            os._exit(9)
        return query_all(engine, checks)

    paths = [FIXTURES / "examples" / "bad-bundle"]
    sequential = run_scan(paths, jobs=1)
    monkeypatch.setattr(evaluate, "_query_all", dies_in_a_child)
    assert without_timing(run_scan(paths, jobs=3)) == without_timing(sequential)
    assert len(list(tmp_path.iterdir())) == 2  # both workers ran, and died


def test_cli_jobs(cli, tmp_path: Path) -> None:
    bundle = str(FIXTURES / "examples" / "bad-bundle")
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.sarif"
        result = invoke(cli, "scan", bundle, "--format", "sarif", "-o", str(out), "-q",
                        "--fail-on", "never", "--jobs", jobs)
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]
    bad = invoke(cli, "scan", bundle, "--jobs", "-1")
    assert bad.exit_code == 2
    assert "--jobs" in bad.stderr


def test_a_fork_that_fails_is_a_failed_task(monkeypatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    assert parallel.run_forked([lambda: 1, lambda: 2]) == [1, parallel.FAILED]


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu.max": "garbage\n"}, None),
    ({}, None),
], ids=["v2-limit", "v2-unlimited", "v1-limit", "v1-unlimited", "unreadable", "none"])
def test_cgroup_cpu_quota(tmp_path: Path, files: dict[str, str], quota: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert parallel.cgroup_cpu_quota(tmp_path) == quota


def test_a_cpu_quota_lowers_the_worker_count(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # half a CPU: one process
    assert parallel.usable_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert parallel.usable_cpus(tmp_path) == len(os.sched_getaffinity(0))
