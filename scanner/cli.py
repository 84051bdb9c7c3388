"""The `kaic` command line: argument parsing and exit codes only.

Exit codes (DESIGN): 0 nothing fails at or above --fail-on; 1 a requirement fails;
2 usage or input error, printed as one line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from scanner import __version__
from scanner.errors import KaicError, PolicyError

if TYPE_CHECKING:
    from scanner.sources.helm import HelmOptions

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
exceptions_app = typer.Typer(help="Inspect waivers: the exceptions file and inline annotations.",
                             no_args_is_help=True)
app.add_typer(exceptions_app, name="exceptions")


class FailOn(StrEnum):
    """Which requirement levels fail the gate."""

    must = "must"
    should = "should"
    never = "never"


def fail(message: str) -> NoReturn:
    """Print one error line and exit 2 (control characters from file names or YAML removed)."""
    from scanner.report.text import one_line

    typer.echo(f"kaic: error: {one_line(message)}", err=True)
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
    """Write via a temporary file and rename, so an interrupted scan leaves no half report
    (see scanner/outputs.py: O_EXCL temporary file, fsync, rename)."""
    from scanner.outputs import write_atomically as write

    write(path, text)


@app.command()
def scan(
    ctx: typer.Context,
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
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No table on stdout, no progress or summary on stderr.")] = False,
    cluster: Annotated[bool, typer.Option(
        "--cluster", help="Scan the live cluster (kubeconfig or in-cluster config).",
        rich_help_panel="Live cluster")] = False,
    kubeconfig: Annotated[str | None, typer.Option(
        "--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, ~/.kube/config).",
        rich_help_panel="Live cluster")] = None,
    context: Annotated[str | None, typer.Option(
        "--context", help="Kubeconfig context (default: the current one).",
        rich_help_panel="Live cluster")] = None,
    opa_url: Annotated[
        str | None, typer.Option("--opa-url", help="OPA server for --engine opa, "
                                 "e.g. http://opa:8181.", show_default=False)
    ] = None,
    opa_token: Annotated[
        str | None, typer.Option("--opa-token", envvar="KAIC_OPA_TOKEN", show_default=False,
                                 help="Bearer token for the OPA server (or KAIC_OPA_TOKEN).")
    ] = None,
    opa_keep_policies: Annotated[
        bool, typer.Option("--opa-keep-policies",
                           help="Leave kaic's modules (ids kaic/...) on the OPA server.")
    ] = False,
    opa_timeout: Annotated[
        float, typer.Option("--opa-timeout", help="Seconds to wait for each OPA request.")
    ] = 10.0,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: kaic.yaml, or the "
                                  "tool.kaic table of pyproject.toml, in the scanned root or "
                                  "cwd).")
    ] = None,
    exceptions: Annotated[
        Path | None, typer.Option("--exceptions", help="Exceptions file (default: "
                                  ".kaic-exceptions.yaml in the scanned root or cwd).")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Fail only on findings not in this "
                                  "baseline (or previous JSON report / SARIF log).")
    ] = None,
    write_baseline: Annotated[
        Path | None, typer.Option("--write-baseline", help="Write this scan's baseline here.")
    ] = None,
    policy_dir: Annotated[
        list[Path] | None, typer.Option("--policy-dir", help="Extra policy directory with "
                                        "custom checks (repeatable).", show_default=False,
                                        metavar="DIR")
    ] = None,
    profile_file: Annotated[
        Path | None, typer.Option("--profile-file", help="A team profile file (replaces "
                                  "--profile).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="helm, kustomize or manifests for every PATH (default: "
                     "detected per PATH: Chart.yaml or .tgz -> helm, kustomization.yaml -> "
                     "kustomize).", show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option("--values", "-f", help="Helm values file (repeatable, later wins).",
                     show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", help="Helm value k=v (repeatable).", show_default=False,
                     rich_help_panel="Charts and Kustomize"),
    ] = None,
    set_string: Annotated[
        list[str] | None,
        typer.Option("--set-string", help="Helm value k=v kept a string (repeatable).",
                     show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    release_name: Annotated[
        str | None,
        typer.Option("--release-name", help="Helm release name (default: release-name).",
                     show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Helm release namespace (default: default); "
                     "with --cluster, only these namespaces (repeatable; default: all).",
                     show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    kube_version: Annotated[
        str | None,
        typer.Option("--kube-version", help="Kubernetes version charts see in .Capabilities "
                     "(e.g. v1.34); also picks --profile cncf when --k8s-version is not given.",
                     show_default=False, rich_help_panel="Charts and Kustomize"),
    ] = None,
    include_tests: Annotated[
        bool,
        typer.Option("--include-tests", help="Also scan Helm test templates and test hooks.",
                     rich_help_panel="Charts and Kustomize"),
    ] = False,
    include_notes: Annotated[
        bool,
        typer.Option("--include-notes", help="Also read rendered NOTES.txt as YAML.",
                     rich_help_panel="Charts and Kustomize"),
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=0, help="Processes that evaluate checks with the "
                          "regorus engine (0: one per usable CPU, at most 4, for inputs of "
                          "1,000 objects or more).")
    ] = 0,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 2 when a check could not be evaluated or a "
                           "file in a scanned folder could not be read (reports are still "
                           "written).")
    ] = False,
) -> None:
    """Scan manifests, Helm charts, Kustomize directories, a snapshot or the live cluster and
    report requirement status; exit 1 when a requirement fails."""
    from scanner.adoption import build_waivers, gate, hook_factories, open_baseline
    from scanner.report import OutputFormat
    from scanner.sources.helm import HelmOptions

    try:
        settings = _settings(ctx, config)
    except KaicError as exc:
        fail(str(exc))
    if cluster and paths:
        fail("use either PATHs or --cluster, not both")
    if not cluster and (kubeconfig or context):
        fail("--kubeconfig and --context need --cluster")
    if not cluster and namespace and len(namespace) > 1:
        fail("a Helm release has one --namespace; repeat it only with --cluster")
    if not settings.paths and not cluster:
        fail("nothing to scan: give one or more PATHs (or '-' for stdin), `paths:` in kaic.yaml, "
             "or --cluster")
    try:
        formats = [OutputFormat(f) for f in settings.formats]
    except ValueError:
        fail(f"unknown --format in {settings.formats}; choose from "
             + ", ".join(f.value for f in OutputFormat))
    output, output_dir = settings.output, settings.output_dir
    if output is not None and output_dir is not None:
        fail("use either --output or --output-dir, not both")
    if output is not None and len(formats) > 1:
        fail("--output takes one --format; use --output-dir for several")
    helm = HelmOptions(
        values_files=tuple(values or ()), set_values=tuple(set_values or ()),
        set_string_values=tuple(set_string or ()), release_name=release_name,
        namespace=None if cluster or not namespace else namespace[0],
        kube_version=kube_version, include_tests=include_tests,
        include_notes=include_notes,
    )
    if opa_url is not None and settings.engine != "opa":
        fail("--opa-url applies to --engine opa only")
    try:
        # Created first, so a bad --engine/--opa-url fails before any input is read.
        backend = _create_engine(settings.engine, opa_url, opa_token, opa_timeout,
                                 opa_keep_policies)
        try:
            waivers = build_waivers(settings)
            known = open_baseline(settings.baseline)
            live = _cluster_options(kubeconfig, context, namespace) if cluster else None
            report = _run_scan([] if cluster else settings.paths, settings.profile,
                               settings.k8s_version or kube_version,
                               settings.engine, policy_dirs=settings.policy_dirs,
                               source=source, helm=helm, backend=backend,
                               profile_file=settings.profile_file,
                               hooks=hook_factories(waivers, known), live=live, quiet=quiet,
                               jobs=settings.jobs)
        finally:
            _close_engine(backend)
        report = waivers.finish(report)
        _emit(report, formats, output, output_dir, quiet)
        if write_baseline is not None:
            from scanner.baseline import render_baseline

            write_atomically(write_baseline, render_baseline(report))
    except KaicError as exc:
        fail(str(exc))
    from scanner.report.text import one_line
    from scanner.strict import incomplete_reasons

    for warning in report.warnings:
        typer.echo(f"kaic: warning: {one_line(warning)}", err=True)
    problems = incomplete_reasons(report)
    if problems and strict:
        fail(f"--strict: {problems[0]}"
             + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))
    if problems:  # printed even with --quiet: the scan did not see everything
        typer.echo(f"kaic: warning: {len(problems)} problem(s) made the scan incomplete, first: "
                   f"{problems[0]}; --strict turns this into exit 2", err=True)
    failing = gate(report, settings.fail_on, known)
    if failing:  # one stderr line, even with --quiet: it explains exit code 1
        ids = ", ".join(r.id for r in failing)
        new = " new" if known is not None else ""
        typer.echo(f"kaic: {len(failing)} requirement(s) fail{new} at --fail-on "
                   f"{settings.fail_on}: {ids}", err=True)
    raise typer.Exit(EXIT_FAIL if failing else EXIT_OK)


# Command-line parameter name -> settings key (see scanner/adoption.py).
_SETTING_OF = {"paths": "paths", "profile": "profile", "profile_file": "profile_file",
               "k8s_version": "k8s_version", "fail_on": "fail_on", "fmt": "format",
               "output": "output", "output_dir": "output_dir", "engine": "engine",
               "exceptions": "exceptions", "policy_dir": "policy_dirs", "baseline": "baseline",
               "jobs": "jobs"}


def _settings(ctx: typer.Context, config: Path | None):
    """Flags typed by the user > config file > defaults."""
    from scanner.adoption import resolve_settings

    flags, given = {}, set()
    for param, key in _SETTING_OF.items():
        if param not in ctx.params:
            continue
        value = ctx.params[param]
        flags[key] = value.value if isinstance(value, StrEnum) else value
        # Compared by name: typer vendors its own copy of click's ParameterSource enum.
        source = ctx.get_parameter_source(param)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            given.add(key)
    return resolve_settings(flags, given, config)


def _run_scan(paths: list[str], profile_name: str, k8s_version: str | None, engine: str, *,
              policy_dirs: list[Path] | None = None, profile_file: Path | None = None,
              hooks: list | None = None, source: str | None = None,
              helm: HelmOptions | None = None, backend: Any = None, live=None,
              quiet: bool = False, jobs: int = 0):
    from scanner.evaluate import prepare_engine
    from scanner.evaluate import scan as run
    from scanner.policies import load_library
    from scanner.profiles import CNCF_ALIAS, cncf_profile_for, load_profile
    from scanner.sources import load_inventory
    from scanner.sources.cluster import inputs_of

    # The library comes first: its checks' inputs say what to read from a cluster, and what an
    # older snapshot lacks.
    library = load_library(policy_dirs)
    if live is not None:
        inventory = _collect(live, inputs_of(library.checks), quiet, as_inventory=True)
    else:
        inventory = load_inventory(paths, source=source, helm=helm,
                                   needed=inputs_of(library.checks))
    if profile_name == CNCF_ALIAS and profile_file is None:
        version = k8s_version or ((inventory.cluster or {}).get("version") or {}).get("gitVersion")
        profile_name = cncf_profile_for(version)
    if profile_file is not None and not profile_file.is_file():
        raise PolicyError(f"{profile_file}: no such profile file")
    profile = load_profile(str(profile_file) if profile_file is not None else profile_name)
    waive = None
    if hooks:
        from scanner.adoption import compose

        waive = compose(factory(library, profile) for factory in hooks)
    return run(inventory, library, profile, engine=prepare_engine(library, engine, backend),
               waive=waive, jobs=jobs)


def _create_engine(name: str, opa_url: str | None, opa_token: str | None, opa_timeout: float,
                   opa_keep_policies: bool):
    """The Rego engine for `--engine`; the opa engine takes the --opa-* options."""
    from scanner.engine import create_engine

    if name != "opa":
        return create_engine(name)
    return create_engine(name, url=opa_url, token=opa_token, timeout=opa_timeout,
                         keep_policies=opa_keep_policies)


def _close_engine(backend) -> None:
    """Close the engine after the scan (the opa engine removes its uploaded policies, the
    regopy engine stops its worker); a failed cleanup is a warning: the scan result stands."""
    from scanner.engine import close_engine

    try:
        close_engine(backend)
    except KaicError as exc:
        typer.echo(f"kaic: warning: {exc}", err=True)


def _cluster_options(kubeconfig: str | None, context: str | None,
                     namespaces: list[str] | None):
    from scanner.sources.cluster import ClusterOptions, check_namespaces

    return ClusterOptions(kubeconfig=kubeconfig, context=context,
                          namespaces=check_namespaces(namespaces or []))


def _collect(options, inputs, quiet: bool, as_inventory: bool = False):
    """Read the cluster (progress bar on a terminal, one summary line unless --quiet)."""
    from scanner.sources.cluster import collect, summary_line, to_inventory
    from scanner.sources.progress import RichProgress, wants_progress

    collection = collect(inputs, options, progress=RichProgress() if wants_progress(quiet)
                         else None)
    if not quiet:
        typer.echo(summary_line(collection), err=True)
    return to_inventory(collection, "cluster") if as_inventory else collection


def _emit(report, formats, output: Path | None, output_dir: Path | None, quiet: bool) -> None:
    from scanner.report import OutputFormat, render

    written = [f.filename for f in formats if f is not OutputFormat.cncf]
    for f in formats:
        if output_dir is not None:
            evidence = written if f is OutputFormat.cncf else None
            from scanner.outputs import report_path

            write_atomically(report_path(output_dir, f.filename),
                             render(report, f, evidence_files=evidence))
        elif output is not None:
            write_atomically(output, render(report, f))
        elif f is OutputFormat.table:
            if not quiet:
                typer.echo(render(report, f, color=sys.stdout.isatty()), nl=False)
        else:
            typer.echo(render(report, f), nl=False)


@app.command()
def snapshot(
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Snapshot file: FILE.json or FILE.json.gz.", show_default=False)],
    kubeconfig: Annotated[str | None, typer.Option(
        "--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, ~/.kube/config).")] = None,
    context: Annotated[str | None, typer.Option(
        "--context", help="Kubeconfig context (default: the current one).")] = None,
    namespace: Annotated[list[str] | None, typer.Option(
        "--namespace", "-n", help="Only these namespaces (repeatable; default: all).",
        show_default=False)] = None,
    policy_dir: Annotated[list[Path] | None, typer.Option(
        "--policy-dir", help="Also read what these custom checks need (repeatable).",
        show_default=False, metavar="DIR")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress or summary on stderr.")] = False,
) -> None:
    """Save what the checks read from the live cluster, to scan later with `kaic scan FILE`."""
    from scanner.policies import load_library
    from scanner.sources.cluster import inputs_of
    from scanner.sources.snapshot import write_snapshot

    if not output.name.endswith((".json", ".json.gz")):
        fail(f"{output}: a snapshot file name ends in .json or .json.gz")
    try:
        options = _cluster_options(kubeconfig, context, namespace)
        collection = _collect(options, inputs_of(load_library(policy_dir).checks), quiet)
        size = write_snapshot(collection, output)
    except KaicError as exc:
        fail(str(exc))
    if not quiet:
        typer.echo(f"kaic: wrote {output} ({size} bytes)", err=True)


@app.command()
def rbac(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the ClusterRole here instead of stdout.")] = None,
    policy_dir: Annotated[list[Path] | None, typer.Option(
        "--policy-dir", help="Also grant what these custom checks read (repeatable).",
        show_default=False, metavar="DIR")] = None,
) -> None:
    """Print the least-privilege ClusterRole that `kaic scan --cluster` needs."""
    from scanner.policies import load_library
    from scanner.rbac import render_rbac
    from scanner.sources.cluster import inputs_of

    try:
        text = render_rbac(inputs_of(load_library(policy_dir).checks))
        if output is not None:
            write_atomically(output, text)
        else:
            typer.echo(text, nl=False)
    except KaicError as exc:
        fail(str(exc))


@exceptions_app.command("audit")
def exceptions_audit(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="What the exceptions apply to (as for `kaic scan`).",
                       show_default=False),
    ] = None,
    exceptions: Annotated[
        Path | None, typer.Option("--exceptions", help="Exceptions file (default: "
                                  ".kaic-exceptions.yaml in the scanned root or cwd).")
    ] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile to scan with.")] = (
        "whitepaper-0.9"),
    profile_file: Annotated[
        Path | None, typer.Option("--profile-file", help="A team profile file.")
    ] = None,
    k8s_version: Annotated[
        str | None, typer.Option("--k8s-version", help="Kubernetes minor for --profile cncf.")
    ] = None,
    policy_dir: Annotated[
        list[Path] | None, typer.Option("--policy-dir", help="Extra policy directory "
                                        "(repeatable).", show_default=False)
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """List used, unused, expired and invalid exceptions and inline waivers; exit 1 if any
    needs attention."""
    from scanner.adoption import hook_factories
    from scanner.exceptions import WaiverSet, audit, find_exceptions_file, parse_exceptions

    try:
        settings = _settings(ctx, config)
        if not settings.paths:
            fail("nothing to scan: give the PATHs the exceptions apply to")
        path = settings.exceptions or find_exceptions_file(
            [Path(p) for p in settings.paths[:1] if p != "-"])
        # Lenient parse: every invalid entry is listed instead of stopping at the first.
        waivers = WaiverSet(files=[parse_exceptions(path)] if path is not None else [])
        report = _run_scan(settings.paths, settings.profile, settings.k8s_version,
                           settings.engine, policy_dirs=settings.policy_dirs,
                           profile_file=settings.profile_file,
                           hooks=hook_factories(waivers, None))
        waivers.finish(report)
    except KaicError as exc:
        fail(str(exc))
    result = audit(waivers)
    if path is None:
        typer.echo("no exceptions file (looked for .kaic-exceptions.yaml in the scanned root "
                   "and the working directory)")
    for line in result.lines():
        typer.echo(line)
    raise typer.Exit(EXIT_FAIL if result.problems else EXIT_OK)


@policies_app.command("list")
def policies_list(
    policy_dir: Annotated[
        list[Path] | None, typer.Option("--policy-dir", help="Also load this directory of "
                                        "custom checks (repeatable).", show_default=False)
    ] = None,
) -> None:
    """List every check with its id, severity, scope and requirements."""
    from scanner.policies import load_library

    try:
        library = load_library(policy_dir)
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
def policies_test(
    policy_dir: Annotated[
        list[Path] | None, typer.Option("--policy-dir", help="Also test this directory of "
                                        "custom checks (repeatable).", show_default=False)
    ] = None,
) -> None:
    """Run every *_test.rego of the library through the embedded engine."""
    from scanner.policy_tests import run_policy_tests

    try:
        results = run_policy_tests(policy_dir)
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
        from scanner.report.text import one_line

        typer.echo(f"kaic: error: {one_line(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        typer.echo("kaic: interrupted", err=True)
        sys.exit(130)
