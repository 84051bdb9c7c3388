"""The `kaic` command line: argument parsing and exit codes only.

Exit codes (DESIGN): 0 nothing fails at or above --fail-on; 1 a requirement fails;
2 usage or input error, printed as one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from scanner import __version__
from scanner.errors import KaicError, ReportError

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="kaic",
    help="Kubernetes AI Conformance scanner: manifests, charts, clusters and snapshots "
    "against the whitepaper checklist and the CNCF AI Conformance requirements.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich's help formatter imports ~0.3 s of modules (markdown, pygments) and
    # `kaic --help` must answer in under 0.3 s (bench/results.md).
    rich_markup_mode=None,
)
policies_app = typer.Typer(help="Inspect and test the policy library.", no_args_is_help=True,
                           rich_markup_mode=None)
app.add_typer(policies_app, name="policies")


class FailOn(StrEnum):
    """Which requirement levels fail the gate."""

    must = "must"
    should = "should"
    never = "never"


def fail(message: str) -> NoReturn:
    """Print one error line and exit 2."""
    typer.echo(f"kaic: error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kaic {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """kaic: does this cluster, or this bundle of manifests, meet Kubernetes AI Conformance?"""


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so an interrupted scan leaves no half report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.kaic-tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"{path}: cannot write: {exc.strerror or exc}") from None


@app.command()
def scan(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Manifest files or directories; '-' reads stdin.", show_default=False),
    ] = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-F",
                     help="table, json, sarif, checklist, junit, cncf (repeatable).",
                     show_default=False),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the (single) format here.")
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Write every format into this directory "
                     "(kaic.sarif, kaic.json, kaic-checklist.md, kaic-junit.xml, PRODUCT.yaml)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="whitepaper-0.9, cncf, cncf-1.33 … cncf-1.37.")
    ] = "whitepaper-0.9",
    k8s_version: Annotated[
        str | None, typer.Option("--k8s-version", help="Kubernetes minor for --profile cncf.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest requirement level that fails the gate.")
    ] = FailOn.must,
    engine: Annotated[str, typer.Option("--engine", help="Rego engine.")] = "regorus",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table on stdout.")] = False,
) -> None:
    """Scan manifests and report requirement status; exit 1 when a requirement fails."""
    from scanner.report import OutputFormat

    if not paths:
        fail("nothing to scan: give one or more PATHs (or '-' for stdin)")
    try:
        formats = [OutputFormat(f) for f in (fmt or ["table"])]
    except ValueError:
        fail(f"unknown --format in {fmt}; choose from "
             + ", ".join(f.value for f in OutputFormat))
    if output is not None and output_dir is not None:
        fail("use either --output or --output-dir, not both")
    if output is not None and len(formats) > 1:
        fail("--output takes one --format; use --output-dir for several")
    try:
        report = _run_scan(paths, profile, k8s_version, engine)
        _emit(report, formats, output, output_dir, quiet)
    except KaicError as exc:
        fail(str(exc))
    from scanner.evaluate import failing_requirements

    failing = failing_requirements(report, fail_on.value)
    if failing and not quiet:
        ids = ", ".join(r.id for r in failing)
        typer.echo(f"kaic: {len(failing)} requirement(s) fail at --fail-on {fail_on.value}: {ids}",
                   err=True)
    raise typer.Exit(EXIT_FAIL if failing else EXIT_OK)


def _run_scan(paths: list[str], profile_name: str, k8s_version: str | None, engine: str):
    from scanner.evaluate import prepare_engine
    from scanner.evaluate import scan as run
    from scanner.policies import load_library
    from scanner.profiles import CNCF_ALIAS, cncf_profile_for, load_profile
    from scanner.sources import load_inventory

    inventory = load_inventory(paths)
    if profile_name == CNCF_ALIAS:
        version = k8s_version or ((inventory.cluster or {}).get("version") or {}).get("gitVersion")
        profile_name = cncf_profile_for(version)
    profile = load_profile(profile_name)
    library = load_library()
    return run(inventory, library, profile, engine=prepare_engine(library, engine))


def _emit(report, formats, output: Path | None, output_dir: Path | None, quiet: bool) -> None:
    from scanner.report import OutputFormat, render

    written = [f.filename for f in formats if f is not OutputFormat.cncf]
    for f in formats:
        if output_dir is not None:
            evidence = written if f is OutputFormat.cncf else None
            write_atomically(output_dir / f.filename, render(report, f, evidence_files=evidence))
        elif output is not None:
            write_atomically(output, render(report, f))
        elif f is OutputFormat.table:
            if not quiet:
                typer.echo(render(report, f, color=sys.stdout.isatty()), nl=False)
        else:
            typer.echo(render(report, f), nl=False)


@policies_app.command("list")
def policies_list() -> None:
    """List every check with its id, severity, scope and requirements."""
    from scanner.policies import load_library

    try:
        library = load_library()
    except KaicError as exc:
        fail(str(exc))
    for check in library.checks:
        c = check.metadata.custom
        reqs = " ".join(f"{k}:{','.join(v)}" for k, v in sorted(c.requirements.items()))
        typer.echo(f"{c.id:32} {c.severity.value:8} {c.scope:9} {reqs}")


@policies_app.command("show")
def policies_show(check_id: Annotated[str, typer.Argument(help="A check id.")]) -> None:
    """Show a check's metadata, the profiles that use it and its crosswalk."""
    from scanner.policies import load_library
    from scanner.profiles import available_profiles, load_profile

    try:
        check = load_library().check(check_id)
        profiles = [load_profile(name) for name in available_profiles()]
    except KaicError as exc:
        fail(str(exc))
    meta, c = check.metadata, check.metadata.custom
    typer.echo(f"{c.id}: {meta.title}\n\n{meta.description.strip()}\n")
    typer.echo(f"package:   {check.package}\nfile:      {check.path}")
    typer.echo(f"severity:  {c.severity.value}\nscope:     {c.scope}")
    for catalogue, ids in sorted(c.requirements.items()):
        typer.echo(f"{catalogue + ':':10} {', '.join(ids)}")
    typer.echo("inputs:    " + ", ".join(f"{i.group or 'core'}/{i.resource}" for i in c.inputs))
    typer.echo("profiles:")
    for p in profiles:
        for req in p.requirements:
            if check in p.checks_for(req, [check]):
                walk = f" (crosswalk: {', '.join(req.crosswalk)})" if req.crosswalk else ""
                typer.echo(f"  {p.name}: {req.id} [{req.level.value}] {req.title}{walk}")
    if c.remediation:
        typer.echo(f"\nremediation:\n{c.remediation.strip()}")
    for url in c.docs:
        typer.echo(f"docs: {url}")


@app.command("validate-product")
def validate_product_cmd(
    file: Annotated[Path, typer.Argument(help="A PRODUCT.yaml (vX.Y/<product>/PRODUCT.yaml).")],
    version: Annotated[
        str | None, typer.Option("--version", help="Kubernetes minor, e.g. 1.35.")
    ] = None,
    structure_only: Annotated[
        bool, typer.Option("--structure-only",
                           help="Check structure only (a fresh draft still has placeholders).")
    ] = False,
) -> None:
    """Apply the official validator's offline rules to a CNCF self-assessment file."""
    from scanner.product import validate_product

    try:
        result = validate_product(file, version)
    except KaicError as exc:
        fail(str(exc))
    for problem in result.structure:
        typer.echo(f"{file}: structure: {problem}")
    if not structure_only:
        for problem in result.readiness:
            typer.echo(f"{file}: not ready: {problem}")
    ok = result.ok(structure_only)
    typer.echo(f"{file}: v{result.version}: " + ("valid" if ok else "invalid")
               + (" (structure only)" if structure_only else ""))
    raise typer.Exit(EXIT_OK if ok else EXIT_FAIL)


@policies_app.command("test")
def policies_test() -> None:
    """Run every *_test.rego of the library through the embedded engine."""
    from scanner.policy_tests import run_policy_tests

    try:
        results = run_policy_tests()
    except KaicError as exc:
        fail(str(exc))
    failed = [r for r in results if not r.passed]
    for r in failed:
        typer.echo(f"FAIL {r.package}.{r.rule}: {r.detail}")
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(EXIT_FAIL if failed else EXIT_OK)


def main() -> None:
    """Console-script entry point; turns stray errors into one line and exit 2."""
    try:
        app()
    except KaicError as exc:
        typer.echo(f"kaic: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        typer.echo("kaic: interrupted", err=True)
        sys.exit(130)
