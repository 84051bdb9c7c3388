"""kaic's benchmark: side by side with checkov, and alone up to 100,000 objects.

    python bench/run.py            # full: >=5 runs each, 10k/50k/100k objects (~15 min)
    python bench/run.py --quick    # ~2-3 min: 3 runs, 10k objects only (not for the record)

What it measures, each command a fresh process: wall time, peak RSS from `os.wait4` (the
largest single process: the command or one of its children, e.g. `kaic scan --jobs` workers),
and the peak of the process tree's summed PSS, sampled from /proc every 0.1 s (shared
copy-on-write pages counted once, so forked workers are neither ignored nor double-counted):

1. the 2,000-document corpus (200 files): `kaic scan DIR --format sarif` and
   `checkov -d DIR --framework kubernetes -o sarif`, alternating A/B, medians (and kaic with
   `--jobs 1`, in the same rotation);
2. kaic alone on N objects (manifests: N/10 files; one big `kind: List` JSON file; a kaic
   snapshot written by kaic's own snapshot writer, also with `--jobs 1`);
3. the YAML parse floor: PyYAML's C loader (CSafeLoader) loading the same files, in-process;
4. `kaic --help` / `kaic --version`;
5. an in-process stage breakdown per size up to 10k objects (bench/stages.py), with each
   check's query time.

Every kaic run evaluates all of kaic's checks (a generated profile, bench/allchecks.py), not
one catalogue's selection.

checkov runs from its own virtualenv, never kaic's: `--checkov PATH` or `KAIC_BENCH_CHECKOV`
(default: `checkov` on PATH). Without it the side-by-side is skipped and results.md says so.
The report goes to bench/results.md (or `--output`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import allchecks, corpus  # noqa: E402
from scanner import parallel  # noqa: E402

CHECKOV_ENV = "KAIC_BENCH_CHECKOV"
SIDE_BY_SIDE_OBJECTS = 2000
TARGET_RATIO = 40.0
TARGET_SNAPSHOT_SECONDS = 15.0
TARGET_SNAPSHOT_RSS_GIB = 1.5
TARGET_SCALING = 11.0
TARGET_STARTUP_SECONDS = 0.3
# The stage breakdown evaluates every check twice (per check, then the real batch): beyond
# this size it would double a run that the scaling table already times.
STAGES_MAX_OBJECTS = 10_000


@dataclass
class Runs:
    """Repeated measurements of one command."""

    label: str
    seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    tree_pss_kib: list[int] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    error: str | None = None  # why the command failed; no further runs of it were made

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.seconds)

    @property
    def peak_rss_mib(self) -> float:
        """Largest peak RSS over the runs, MiB."""
        return max(self.rss_kib) / 1024

    @property
    def peak_tree_mib(self) -> float:
        """Largest sampled PSS of the whole process tree over the runs, MiB."""
        return max(self.tree_pss_kib, default=0) / 1024

    @property
    def peak_memory_mib(self) -> float:
        """The larger of the two memory measures: what a memory target is checked against."""
        return max(self.peak_rss_mib, self.peak_tree_mib)

    def spread(self) -> str:
        """min–max of the wall times."""
        return f"{min(self.seconds):.2f}–{max(self.seconds):.2f}"


def run_once(cmd: list[str], *, cwd: Path, env: dict[str, str], ok: tuple[int, ...]) -> tuple[
        float, int, int, int]:
    """(wall seconds, peak RSS KiB of the largest process, peak summed PSS KiB of the process
    tree, exit code); fails loudly on other codes."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    tree_pss = 0
    while True:
        # wait4 gives this child's rusage: ru_maxrss is the peak RSS in KiB (on Linux, of the
        # child or of the largest process it waited for).
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree_pss = max(tree_pss, _tree_pss_kib(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = code
    if code not in ok:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        raise RunFailed(f"exit {code}: {last[:300]}")
    return elapsed, usage.ru_maxrss, tree_pss, code


def _tree_pss_kib(pid: int) -> int:
    """Summed PSS (KiB) of `pid` and its descendants now; 0 for what has already exited."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                break
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            total += sum(_tree_pss_kib(int(child)) for child in children)
    except (OSError, ValueError):
        pass
    return total


class RunFailed(Exception):
    """A measured command exited with an unexpected code (its last stderr line attached)."""


def repeat(runs: list[Runs], cmds: list[list[str]], n: int, *, cwd: Path, env: dict[str, str],
           ok: tuple[int, ...] = (0, 1)) -> None:
    """Run the commands in turn, n rounds, alternating their order each round (ABBA...)."""
    for i in range(n):
        order = list(range(len(cmds)))
        if i % 2:
            order.reverse()
        for j in order:
            if runs[j].error:
                continue
            try:
                seconds, rss, tree_pss, code = run_once(cmds[j], cwd=cwd, env=env, ok=ok)
            except RunFailed as exc:
                # Recorded and reported in results.md; the other measurements go on.
                runs[j].error = str(exc)
                print(f"  {runs[j].label}: FAILED ({exc})", flush=True)
                continue
            runs[j].seconds.append(seconds)
            runs[j].rss_kib.append(rss)
            runs[j].tree_pss_kib.append(tree_pss)
            runs[j].exit_codes.append(code)
            print(f"  {runs[j].label}: {seconds:.2f}s {rss / 1024:.0f} MiB, tree "
                  f"{tree_pss / 1024:.0f} MiB (exit {code})",
                  flush=True)


def kaic_cmd() -> list[str]:
    """kaic from this checkout, as a subprocess."""
    return [sys.executable, "-m", "scanner"]


def kaic_env() -> dict[str, str]:
    """The environment for kaic runs: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def find_checkov(option: str | None) -> str | None:
    """The checkov executable from --checkov, $KAIC_BENCH_CHECKOV or PATH; None if absent."""
    for candidate in (option, os.environ.get(CHECKOV_ENV), shutil.which("checkov")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def version_of(cmd: list[str], env: dict[str, str] | None = None) -> str:
    """First line of `cmd`'s output, or a note that it failed."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else "unknown"


def parse_floor(directory: Path, repeats: int = 3) -> float:
    """Median in-process seconds for PyYAML's C loader to load every file of the corpus."""
    code = (
        "import sys, time, yaml, pathlib\n"
        "files = sorted(pathlib.Path(sys.argv[1]).rglob('*.yaml'))\n"
        "texts = [f.read_text() for f in files]\n"
        "t = time.perf_counter()\n"
        "n = sum(1 for text in texts for _ in yaml.load_all(text, Loader=yaml.CSafeLoader))\n"
        "print(time.perf_counter() - t)\n"
    )
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code, str(directory)], capture_output=True,
                             text=True, check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def stage_breakdown(path: Path, profile_file: Path) -> dict[str, Any] | None:
    """bench/stages.py on `path`, in a fresh process."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "stages.py"), str(path),
                          "--profile-file", str(profile_file)],
                         capture_output=True, text=True, env=kaic_env(), cwd=ROOT)
    if out.returncode != 0:
        print(f"  stages failed: {out.stderr[-500:]}", flush=True)
        return None
    return json.loads(out.stdout)


def machine() -> dict[str, str]:
    """CPU, cores, memory and load of this machine."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def package_versions() -> dict[str, str]:
    """Versions of kaic's performance-relevant dependencies."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("gordon-to-regorus", "PyYAML", "ryaml", "pydantic", "typer"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_revision() -> str:
    """The checkout's commit (and whether it has local changes)."""
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 runs, 10k objects only: a smoke run, not for results.md")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 5; quick 3)")
    parser.add_argument("--scaling-runs", type=int,
                        help="runs per scaling measurement (default: --runs)")
    parser.add_argument("--sizes", help="comma-separated object counts (default 10000,50000,"
                        "100000; quick 10000)")
    parser.add_argument("--checkov", help=f"checkov executable (or ${CHECKOV_ENV})")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "kaic-bench",
                        help="where corpora are generated (reused when already there)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    scaling_runs = args.scaling_runs or runs
    sizes = [int(s) for s in (args.sizes or ("10000" if args.quick else
                                              "10000,50000,100000")).split(",")]
    command = "python bench/run.py" + ("".join(f" {a}" for a in (argv or sys.argv[1:])))
    env = kaic_env()
    out_dir = Path(tempfile.mkdtemp(prefix="kaic-bench-out-"))
    # Every check of the library, not one catalogue's selection: see bench/allchecks.py.
    all_checks = out_dir / "all-checks.yaml"
    checks = allchecks.write_profile(all_checks)
    profile_args = ["--profile-file", str(all_checks)]
    started = datetime.now(UTC)
    report: dict[str, Any] = {"command": command, "runs": runs, "scaling_runs": scaling_runs,
                              "sizes": sizes,
                              "machine_before": machine()}

    # 1. Side by side on the 2,000-document corpus.
    print(f"corpus {SIDE_BY_SIDE_OBJECTS} ...", flush=True)
    small = corpus.ensure(args.work / f"corpus-{SIDE_BY_SIDE_OBJECTS}", SIDE_BY_SIDE_OBJECTS)
    small_dir = args.work / f"corpus-{SIDE_BY_SIDE_OBJECTS}" / "manifests"
    kaic_sarif = [*kaic_cmd(), "scan", str(small_dir), "--format", "sarif",
                  "-o", str(out_dir / "kaic.sarif"), *profile_args]
    checkov = find_checkov(args.checkov)
    report["checkov"] = checkov
    report["checks"] = checks
    if checkov:
        checkov_sarif = [checkov, "-d", str(small_dir), "--framework", "kubernetes", "-o",
                         "sarif", "--output-file-path", str(out_dir / "checkov"),
                         "--skip-download", "--quiet"]
        report["checkov_version"] = version_of([checkov, "--version"])
        # kaic with its default --jobs, checkov, and kaic in one process, in turn.
        trio = [Runs("kaic"), Runs("checkov"), Runs("kaic --jobs 1")]
        repeat(trio, [kaic_sarif, checkov_sarif, [*kaic_sarif, "--jobs", "1"]], runs, cwd=ROOT,
               env=env, ok=(0, 1))
        report["side_by_side"], report["side_by_side_jobs1"] = trio[:2], trio[2]
    else:
        print(f"bench: checkov not found: pass --checkov PATH or set {CHECKOV_ENV}; "
              "skipping the side-by-side", file=sys.stderr)
        alone = [Runs("kaic"), Runs("kaic --jobs 1")]
        repeat(alone, [kaic_sarif, [*kaic_sarif, "--jobs", "1"]], runs, cwd=ROOT, env=env)
        report["side_by_side"], report["side_by_side_jobs1"] = alone[:1], alone[1]
    for measured in [*report["side_by_side"], report["side_by_side_jobs1"]]:
        if measured.error:  # the ratio is the point of the benchmark: nothing to report
            raise SystemExit(f"bench: {measured.label} failed on the 2,000-document corpus: "
                             f"{measured.error}")
    report["small_corpus"] = small
    report["floor_small"] = parse_floor(small_dir)

    # 2. Startup.
    startup = [Runs("kaic --help"), Runs("kaic --version")]
    repeat(startup, [[*kaic_cmd(), "--help"], [*kaic_cmd(), "--version"]], max(runs, 10),
           cwd=ROOT, env=env, ok=(0,))
    if any(measured.error for measured in startup):
        raise SystemExit(f"bench: kaic --help/--version failed: {startup}")
    report["startup"] = startup

    # 3. Scaling, kaic alone.
    scaling: list[dict[str, Any]] = []
    for n in sizes:
        print(f"corpus {n} ...", flush=True)
        work = args.work / f"corpus-{n}"
        description = corpus.ensure(work, n)
        inputs = [("manifests", work / "manifests", f"{n // 10} YAML files", [])]
        inputs.append(("big JSON", work / "objects.json", "one kind: List file", []))
        if description.get("snapshot"):
            snapshot = work / description["snapshot"]["path"]
            inputs.append(("snapshot", snapshot, "kaic snapshot", []))
            # The same scan in one process: what --jobs gains, and costs in memory.
            inputs.append(("snapshot, --jobs 1", snapshot, "kaic snapshot", ["--jobs", "1"]))
        else:
            inputs.append(("snapshot (stand-in)", work / "objects.json",
                           "kind: List JSON: this kaic cannot write snapshots", []))
        row: dict[str, Any] = {"objects": n, "corpus": description, "inputs": []}
        for label, path, note, extra in inputs:
            measured = [Runs(label)]
            repeat(measured, [[*kaic_cmd(), "scan", str(path), "--format", "sarif",
                               "-o", str(out_dir / "scale.sarif"), *profile_args, *extra]],
                   scaling_runs, cwd=ROOT, env=env)
            row["inputs"].append({"label": label, "note": note, "runs": measured[0]})
        row["floor"] = parse_floor(work / "manifests", repeats=1 if n > 10000 else 3)
        if not args.no_stages and n <= STAGES_MAX_OBJECTS:
            row["stages"] = stage_breakdown(work / "manifests", all_checks)
            json_path = work / (description["snapshot"]["path"] if description.get("snapshot")
                                else "objects.json")
            row["stages_json"] = stage_breakdown(json_path, all_checks)
        scaling.append(row)
    report["scaling"] = scaling
    report["machine_after"] = machine()
    report["versions"] = package_versions()
    report["auto_jobs"] = min(parallel.usable_cpus(), parallel.MAX_AUTO_JOBS)
    report["kaic_version"] = version_of([*kaic_cmd(), "--version"], env=kaic_env())
    report["revision"] = git_revision()
    report["started"] = started.strftime("%Y-%m-%d %H:%M UTC")
    report["minutes"] = (datetime.now(UTC) - started).total_seconds() / 60
    text = render(report)
    args.output.write_text(text)
    print(text)
    shutil.rmtree(out_dir, ignore_errors=True)
    return 0


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(r: dict[str, Any]) -> str:
    """results.md from the measurements."""
    m, m2 = r["machine_before"], r["machine_after"]
    lines = [
        "# kaic benchmark results",
        "",
        f"Command: `{r['command']}` (run from the repository root; "
        f"{r['runs']} runs per side-by-side measurement, {r['scaling_runs']} per scaling "
        f"measurement, medians; {r['minutes']:.1f} min).",
        "",
        f"- Date: {r['started']}; {r['kaic_version']} at `{r['revision']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}; "
        f"Python {m['python']}",
        f"- Load average before / after: {m['load']} / {m2['load']} (other processes share "
        "this machine; alternating runs and medians damp, but do not remove, their effect)",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        + (f", checkov {r.get('checkov_version')}" if r.get("checkov") else ""),
        f"- Checks loaded: all {r['checks']} (`--profile-file` of bench/allchecks.py)",
        f"- `--jobs`: kaic runs with its default (0: one process per usable CPU, at most 4, from "
        f"1,000 objects), {r['auto_jobs']} processes on this machine; rows marked `--jobs 1` "
        "are the same scan in one process",
        "",
    ]
    pair = r["side_by_side"]
    small = r["small_corpus"]
    lines += [
        f"## Side by side: {small['objects']:,} documents in {small['files']} files",
        "",
        "Corpus: `bench/corpus.py` (seed "
        f"{small['seed']}): " + ", ".join(f"{v} {k}" for k, v in small["kinds"].items())
        + "; planted violations: " + ", ".join(f"{v} {k}" for k, v in small["violations"].items())
        + ".",
        "",
        "| tool | command | median s | min–max s | peak RSS MiB | tree PSS MiB |",
        "| :--- | :--- | ---: | ---: | ---: | ---: |",
        f"| kaic | `kaic scan DIR --format sarif -o FILE` | {pair[0].median:.2f} | "
        f"{pair[0].spread()} | {pair[0].peak_rss_mib:.0f} | {pair[0].peak_tree_mib:.0f} |",
    ]
    one = r["side_by_side_jobs1"]
    lines.append(f"| kaic, one process | `kaic scan DIR --format sarif -o FILE --jobs 1` | "
                 f"{one.median:.2f} | {one.spread()} | {one.peak_rss_mib:.0f} | "
                 f"{one.peak_tree_mib:.0f} |")
    if len(pair) > 1:
        lines.append(
            f"| checkov | `checkov -d DIR --framework kubernetes -o sarif --skip-download` | "
            f"{pair[1].median:.2f} | {pair[1].spread()} | {pair[1].peak_rss_mib:.0f} | "
            f"{pair[1].peak_tree_mib:.0f} |")
        ratio = pair[1].median / pair[0].median
        lines += ["", f"**kaic is {ratio:.1f}x faster than checkov** "
                  f"(target ≥ {TARGET_RATIO:.0f}x: {_verdict(ratio >= TARGET_RATIO)})."]
    else:
        lines += ["", f"checkov was not measured: not found (pass `--checkov PATH` or set "
                  f"`{CHECKOV_ENV}`)."]
    floor = r["floor_small"]
    lines += ["", f"YAML parse floor (PyYAML CSafeLoader loading the same files, in-process): "
              f"{floor:.2f} s; kaic end to end = {pair[0].median / floor:.2f}x the floor.", ""]
    help_runs, version_runs = r["startup"]
    lines += [
        "## Startup",
        "",
        "| command | median s | target |",
        "| :--- | ---: | :--- |",
        f"| `kaic --help` | {help_runs.median:.3f} | < {TARGET_STARTUP_SECONDS} s: "
        f"{_verdict(help_runs.median < TARGET_STARTUP_SECONDS)} |",
        f"| `kaic --version` | {version_runs.median:.3f} | < {TARGET_STARTUP_SECONDS} s: "
        f"{_verdict(version_runs.median < TARGET_STARTUP_SECONDS)} |",
        "",
        "## Scaling, kaic alone (`kaic scan INPUT --format sarif -o FILE`)",
        "",
        "Peak RSS: the largest single process (wait4); tree PSS: the summed PSS of kaic and "
        "its `--jobs` workers, sampled every 0.1 s.",
        "",
        "| objects | input | median s | min–max s | peak RSS MiB | tree PSS MiB | YAML floor s "
        "| vs floor |",
        "| ---: | :--- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_input: dict[str, dict[int, Runs]] = {}
    for row in r["scaling"]:
        for item in row["inputs"]:
            runs: Runs = item["runs"]
            if runs.error or not runs.seconds:
                lines.append(f"| {row['objects']:,} | {item['label']} ({item['note']}) | "
                             f"failed: {runs.error} | – | – | – | – | – |")
                continue
            by_input.setdefault(item["label"], {})[row["objects"]] = runs
            is_yaml = item["label"] == "manifests"
            floor_cells = (f"{row['floor']:.2f} | {runs.median / row['floor']:.2f}x" if is_yaml
                           else "– | –")
            lines.append(f"| {row['objects']:,} | {item['label']} ({item['note']}) | "
                         f"{runs.median:.2f} | {runs.spread()} | {runs.peak_rss_mib:.0f} | "
                         f"{runs.peak_tree_mib:.0f} | {floor_cells} |")
    lines.append("")
    sizes = sorted({row["objects"] for row in r["scaling"]})
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        lines += [f"Scaling {hi:,} / {lo:,} objects (input ratio {hi / lo:.0f}; target for "
                  f"100k/10k ≤ {TARGET_SCALING:.0f}):", ""]
        for label, per_size in by_input.items():
            if lo in per_size and hi in per_size:
                ratio = per_size[hi].median / per_size[lo].median
                lines.append(f"- {label}: {ratio:.1f}x "
                             f"({_verdict(ratio <= TARGET_SCALING * (hi / lo) / 10)})")
        lines.append("")
    for label, per_size in by_input.items():
        if label.startswith("snapshot") and 100000 in per_size:
            s = per_size[100000]
            ok = s.median < TARGET_SNAPSHOT_SECONDS and \
                s.peak_memory_mib / 1024 < TARGET_SNAPSHOT_RSS_GIB
            lines += [f"100k-object {label}: {s.median:.1f} s, "
                      f"{s.peak_memory_mib / 1024:.2f} GiB peak memory (the larger of peak RSS "
                      f"and tree PSS; target < {TARGET_SNAPSHOT_SECONDS:.0f} s and < "
                      f"{TARGET_SNAPSHOT_RSS_GIB} GiB: {_verdict(ok)}).", ""]
    lines += _stage_tables(r["scaling"])
    notes = ROOT / "bench" / "changes.md"
    if notes.is_file():  # the hand-written analysis travels with every refresh of the numbers
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines).rstrip() + "\n"


STAGES = ("imports", "load_inventory", "library_and_engine", "input_json", "engine_set_input",
          "queries_total", "evaluate_end_to_end", "render_sarif")


def _stage_tables(scaling: list[dict[str, Any]]) -> list[str]:
    rows = [(row["objects"], key, row.get(key)) for row in scaling
            for key in ("stages", "stages_json") if row.get(key)]
    if not rows:
        return []
    lines = ["## Where the time goes (in-process, one run: `python bench/stages.py INPUT`)", "",
             "Seconds. `evaluate_end_to_end` is the evaluator's own run with the default "
             "`--jobs` (input set, batch queries, findings with lines, requirement statuses); "
             "`queries_total` sums the checks queried one by one, each paying again for the "
             "library rules it uses, which is why it exceeds the batch.", "",
             "| objects | input | " + " | ".join(STAGES) + " |",
             "| ---: | :--- |" + " ---: |" * len(STAGES)]
    for n, key, data in rows:
        kind = "manifests" if key == "stages" else "JSON"
        lines.append(f"| {n:,} | {kind} | "
                     + " | ".join(f"{data['stages'][s]:.2f}" for s in STAGES) + " |")
    lines += ["", "Query time per check (JSON input; seconds; results: "
              "deny/warn/evidence/unknown):", ""]
    json_rows = [(n, data) for n, key, data in rows if key == "stages_json"]
    if json_rows:
        sizes = [n for n, _ in json_rows]
        lines += ["| check | " + " | ".join(f"{n:,}" for n in sizes) + " | growth |",
                  "| :--- |" + " ---: |" * (len(sizes) + 1)]
        first, last = json_rows[0][1], json_rows[-1][1]
        # Flag growth well beyond the input ratio (1.5x: single runs on a shared machine vary
        # by tens of percent; a quadratic join grows by the square of the ratio).
        growth_limit = (sizes[-1] / sizes[0]) * 1.5 if len(sizes) > 1 else None
        for check_id in sorted(first["checks"]):
            cells = []
            for _, data in json_rows:
                c = data["checks"].get(check_id, {})
                res = c.get("results", {})
                counts = "/".join(str(res.get(k, 0)) for k in ("deny", "warn", "evidence",
                                                               "unknown"))
                cells.append(f"{c.get('seconds', 0):.3f} ({counts})"
                             + (" ERROR" if c.get("error") else ""))
            growth = ""
            if growth_limit:
                a = first["checks"][check_id]["seconds"]
                b = last["checks"].get(check_id, {}).get("seconds", 0)
                growth = f"{b / a:.1f}x" if a > 0.001 else "–"
                if a > 0.001 and b / a > growth_limit:
                    growth += " **superlinear**"
            lines.append(f"| {check_id} | " + " | ".join(cells) + f" | {growth} |")
        lines.append("")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
