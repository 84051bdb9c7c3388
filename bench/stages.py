"""Where a scan's time goes: every stage of one in-process scan, timed, and each check's query.

`python bench/stages.py PATH [--profile whitepaper-0.9] [--cprofile OUT.prof]` prints JSON:
seconds for imports, source -> Inventory, policy library + engine, input serialisation, input
load into the engine, each check's query (with its result counts), building the findings and
statuses, and rendering SARIF. `bench/run.py` calls it for every corpus size, so a check whose
query time grows faster than the input (a cross-resource join over all objects) shows up as a
ratio above the object ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(path: str, profile_name: str) -> dict[str, Any]:
    """Run one scan of `path` stage by stage and return the timings."""
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    from scanner.evaluate import _unwrap, prepare_engine, rules_query, scan
    from scanner.policies import load_library
    from scanner.profiles import load_profile
    from scanner.report import OutputFormat, render
    from scanner.sources import load_inventory

    t1 = time.perf_counter()
    timings["imports"] = t1 - t0
    inventory = load_inventory([path])
    t2 = time.perf_counter()
    timings["load_inventory"] = t2 - t1
    library = load_library()
    profile = load_profile(profile_name)
    engine = prepare_engine(library)
    t3 = time.perf_counter()
    timings["library_and_engine"] = t3 - t2
    input_json = inventory.input_json()
    t4 = time.perf_counter()
    timings["input_json"] = t4 - t3
    engine.set_input_json(input_json)
    t5 = time.perf_counter()
    timings["engine_set_input"] = t5 - t4
    checks: dict[str, Any] = {}
    relevant = {c.id: c for r in profile.requirements
                for c in profile.checks_for(r, library.checks)}
    for check in sorted(relevant.values(), key=lambda c: c.id):
        started = time.perf_counter()
        try:
            document = _unwrap(engine.query(rules_query(check.package)))
            error = None
        except Exception as exc:  # a failing check is reported, not fatal, here too
            document, error = None, str(exc)
        elapsed = time.perf_counter() - started
        counts = {}
        if isinstance(document, dict):
            counts = {k: len(v) for k, v in document.items()
                      if k in ("deny", "warn", "evidence", "unknown")
                      and isinstance(v, list | dict)}
        checks[check.id] = {"seconds": elapsed, "results": counts, "error": error}
    t6 = time.perf_counter()
    timings["queries_total"] = t6 - t5
    # The real evaluator end to end (it sets the input and queries again, then builds
    # findings and statuses); its time minus queries_total is the findings work.
    report = scan(inventory, library, profile, engine=engine)
    t7 = time.perf_counter()
    timings["evaluate_end_to_end"] = t7 - t6
    sarif = render(report, OutputFormat.sarif)
    t8 = time.perf_counter()
    timings["render_sarif"] = t8 - t7
    return {
        "path": path,
        "objects": len(inventory.objects),
        "input_bytes": len(input_json),
        "findings": report.summary.findings,
        "sarif_bytes": len(sarif),
        "stages": timings,
        "checks": checks,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--profile", default="whitepaper-0.9")
    parser.add_argument("--profile-file", type=Path,
                        help="a profile file (bench/allchecks.py writes one with every check)")
    parser.add_argument("--cprofile", type=Path, help="also write a cProfile of the scan here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    profile = str(args.profile_file) if args.profile_file else args.profile
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(measure, args.path, profile)
        profiler.dump_stats(args.cprofile)
    else:
        result = measure(args.path, profile)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
