"""Hostile and broken inputs, each with a bounded, documented behaviour (README, "Limits"):
exit 2 with one line naming the path, or a `skipped` note in the report. Never a traceback,
never a hang, never unbounded memory.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
import yaml

from scanner import limits
from scanner.errors import InputError
from scanner.limits import (
    MAX_DEPTH,
    DocumentBudget,
    check_text_depth,
    check_tree_depth,
    check_value,
    gunzip_bounded,
    read_file,
)
from scanner.sources.manifests import ManifestSource
from scanner.sources.yamlload import load_documents
from tests.hardening_support import assert_clean_exit, run_cli

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "fixtures" / "hostile"
EXPECTED = yaml.safe_load((HOSTILE / "expected.yaml").read_text())
NAMESPACE = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n"




def scan_json(*args: str, stdin: bytes | None = None) -> tuple[int, dict | None, str]:
    """Run `kaic scan ARGS -F json`; (exit code, parsed report or None, stderr)."""
    result = run_cli(["scan", *args, "-F", "json", "-q"], stdin)
    assert_clean_exit(result)
    report = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result.exit_code, report, result.stderr


# --- regression fixtures -------------------------------------------------------------------


def test_every_fixture_has_an_expectation() -> None:
    files = {p.name for p in HOSTILE.iterdir() if p.suffix in (".yaml", ".json")}
    assert files - {"expected.yaml"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_regression_fixture(name: str) -> None:
    expected = EXPECTED[name]
    code, report, stderr = scan_json(str(HOSTILE / name))
    allowed = expected["exit"] if isinstance(expected["exit"], list) else [expected["exit"]]
    assert code in allowed, stderr
    if code == 2:
        assert expected["stderr"] in stderr
        assert f"fixtures/hostile/{name}" in stderr  # the message names the file
    else:
        assert report is not None and report["summary"]["objects"] >= 1


def test_wrong_types_make_only_the_fragile_checks_unknown() -> None:
    _, report, stderr = scan_json(str(HOSTILE / "wrong-types.yaml"))
    assert report is not None
    errors = {e["check_id"]: e["message"] for e in report["errors"]}
    assert "`add` expects numeric argument" in errors["hardening-fragile"]
    assert report["summary"]["objects"] == 4
    obs = next(r for r in report["requirements"] if r["id"] == "OBS-6.2")
    assert obs["status"] == "Unknown"
    assert any("could not be evaluated" in n for n in obs["notes"])
    assert "kaic: warning:" in stderr and "--strict" in stderr


# --- size ----------------------------------------------------------------------------------


def test_200_mb_manifest_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with open(big, "wb") as f:  # sparse: 200 MB on paper, nothing on disk
        f.truncate(200 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"huge\.yaml: 200 MiB is larger than the 64 MiB"):
            ManifestSource().load([str(big)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # nothing close to the file's size was allocated
    code, _, stderr = scan_json(str(big))
    assert code == 2 and "huge.yaml" in stderr and "64 MiB" in stderr


def test_endless_device_given_explicitly_is_cut_at_the_limit() -> None:
    # /dev/zero has no size: reading stops one byte past the limit.
    with pytest.raises(InputError, match="larger than the 1 MiB input limit"):
        read_file(Path("/dev/zero"), "/dev/zero", limit=1024 * 1024)


def test_stdin_over_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    code, _, stderr = scan_json("-", stdin=NAMESPACE * 100)
    assert code == 2 and "<stdin>: larger than the" in stderr


def test_non_utf8_stdin_is_a_clean_error() -> None:
    code, _, stderr = scan_json("-", stdin=b"kind: \xff\n")
    assert code == 2 and "<stdin>: not UTF-8 text" in stderr


def test_gzip_bomb_is_cut_at_the_limit() -> None:
    member = gzip.compress(b"\0" * (16 * 1024 * 1024), compresslevel=9)
    bomb = member * 64  # 64 members: 1 GiB once decompressed, ~1 MB here
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(InputError, match=r"state\.json\.gz: decompresses to more than the 64 MiB"):
        gunzip_bounded(bomb, "state.json.gz")
    assert gunzip_bounded(gzip.compress(b"{}") * 2, "ok.gz") == b"{}{}"
    with pytest.raises(InputError, match="truncated gzip"):
        gunzip_bounded(member[:100], "cut.gz")
    with pytest.raises(InputError, match="invalid gzip"):
        gunzip_bounded(b"\x1f\x8bnot gzip at all", "bad.gz")


def test_gzip_file_posing_as_a_manifest(tmp_path: Path) -> None:
    path = tmp_path / "state.json.gz"
    path.write_bytes(gzip.compress(b"\0" * 10_000_000))
    code, _, stderr = scan_json(str(path))  # read as a snapshot: decompressed, bounded
    assert code == 2 and "state.json.gz" in stderr


def test_document_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_DOCUMENTS", 50)
    (tmp_path / "a.yaml").write_bytes(b"---\n".join([NAMESPACE] * 30))
    (tmp_path / "b.yaml").write_bytes(b"---\n".join([NAMESPACE] * 30))
    code, _, stderr = scan_json(str(tmp_path))
    assert code == 2 and "b.yaml: more than 50 documents" in stderr
    # A List counts as its items: exactly the limit in one List is accepted, one more is not.
    def namespaces(n: int) -> str:
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"n{i}"}}
            for i in range(n)]})

    listed = tmp_path / "list" / "list.json"
    listed.parent.mkdir()
    listed.write_text(namespaces(50))
    code, out, stderr = scan_json(str(listed))
    assert code != 2 and out["summary"]["objects"] == 50, stderr
    listed.write_text(namespaces(51))
    code, _, stderr = scan_json(str(listed))
    assert code == 2 and "more than 50 documents" in stderr
    # Empty documents count too, so 64 MiB of `---` cannot spin through millions of them.
    budget = DocumentBudget(limit=3)
    with pytest.raises(InputError, match="more than 3 documents"):
        for _ in range(4):
            budget.take("x.yaml")


# --- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,
    "a: " + "{b: " * 10_000 + "1" + "}" * 10_000,
    "- " * 10_000 + "x",
    "".join(" " * i + f"k{i}:\n" for i in range(10_000)) + " " * 10_000 + "v\n",
], ids=["flow-seq", "flow-map", "block-seq-inline", "block-map"])
def test_10000_levels_of_nesting_are_a_clean_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    code, _, stderr = scan_json(str(path))
    assert code == 2 and f"deeper than {MAX_DEPTH} levels" in stderr and "deep.yaml" in stderr


def test_a_million_levels_fail_fast() -> None:
    # libyaml alone segfaults on this (C recursion) and its scanner is quadratic in flow depth.
    with pytest.raises(InputError, match="nesting deeper than 100 levels"):
        check_text_depth("[" * 1_000_000, "deep.yaml")


def test_deep_json_file(tmp_path: Path) -> None:
    for depth, message in ((10_000, "nesting too deep"), (150, "deeper than 100 levels")):
        path = tmp_path / "deep.json"
        path.write_text("[" * depth + "]" * depth)
        code, _, stderr = scan_json(str(path))
        assert code == 2 and message in stderr, stderr


def test_nesting_at_the_limit_is_scanned(tmp_path: Path) -> None:
    # Kubernetes objects one level under the limit reach the engine and are evaluated.
    value: object = "leaf"
    for _ in range(MAX_DEPTH - 1):
        value = [value]
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "x": value}
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(doc))
    code, report, _ = scan_json(str(path))
    assert code in (0, 1) and report["summary"]["objects"] == 1


def test_check_value_counts_shared_subtrees_and_finds_cycles() -> None:
    leaf: list = []
    shared = [leaf] * 3
    check_value([shared, shared], "u", "doc", max_depth=3, max_nodes=9)
    with pytest.raises(InputError, match="more than 8 values"):
        check_value([shared, shared], "u", "doc", max_depth=3, max_nodes=8)
    with pytest.raises(InputError, match="deeper than 2 levels"):
        check_value([shared, shared], "u", "doc", max_depth=2)
    # Without aliases the file size bounds the document: a big `kind: List` is no bomb.
    check_value({"items": [{"a": [1, 2]} for _ in range(20)]}, "u", "doc", max_nodes=8)
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(InputError, match="recursive"):
        check_value({"a": loop}, "u", "doc")


@pytest.mark.parametrize("depth", [1, 2, 7, 8, 9])
def test_tree_depth_check_agrees_with_check_value(depth: int) -> None:
    # The JSON-only check must draw the line exactly where check_value does: a chain of
    # `depth` containers, alternating dicts and lists, beside shallow siblings and scalars.
    value: object = {"leaf": 1}
    for i in range(depth - 1):
        value = [value, "s", {}] if i % 2 else {"k": value, "n": None, "e": []}
    outcomes = []
    for check in (check_value, check_tree_depth):
        try:
            check(value, "u", "doc", max_depth=8)
            outcomes.append("ok")
        except InputError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == ("ok" if depth <= 8 else "u: doc is nested deeper than 8 levels")
    check_tree_depth("scalar", "u", "doc", max_depth=0)  # no container: nothing to check


def test_merge_keys_keep_pyyaml_semantics() -> None:
    text = "a: &a {x: 1, y: 2}\nb: {<<: *a, y: 3}\nc: {<<: [{x: 5}, *a]}\n"
    [(_, doc)] = list(load_documents(text, "m.yaml"))
    assert doc["b"] == {"x": 1, "y": 3}
    assert doc["c"] == {"x": 5, "y": 2}  # the first mapping of a merge list wins


# --- odd files in scanned folders ------------------------------------------------------------


def skipped(report: dict) -> dict[str, dict]:
    return {Path(s["uri"]).name: s for s in report["skipped"]}


def test_directory_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ns.yaml").write_bytes(NAMESPACE)
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a" / "self").symlink_to(".", target_is_directory=True)
    code, report, _ = scan_json(str(tmp_path))
    assert code in (0, 1) and report["summary"]["objects"] == 1


def test_symlink_to_a_file_outside_is_scanned(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(NAMESPACE)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.yaml").symlink_to(outside)
    code, report, _ = scan_json(str(repo))
    assert code in (0, 1) and report["summary"]["objects"] == 1


def test_fifo_socket_device_and_broken_link_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_bytes(NAMESPACE)
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it would block forever: no writer
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.yaml"))
    (tmp_path / "null.yaml").symlink_to("/dev/null")
    (tmp_path / "broken.yml").symlink_to(tmp_path / "does-not-exist")
    try:
        code, report, stderr = scan_json(str(tmp_path))
    finally:
        sock.close()
    assert code in (0, 1) and report["summary"]["objects"] == 1
    notes = skipped(report)
    assert notes["pipe.yaml"]["reason"] == "not read: a named pipe (FIFO)"
    assert notes["sock.yaml"]["reason"] == "not read: a socket"
    assert notes["null.yaml"]["reason"] == "not read: a character device"
    assert notes["broken.yml"]["reason"] == "not read: a broken symbolic link"
    assert all(s["unread"] for s in notes.values())
    assert "kaic: warning: 4 problem(s)" in stderr
    code, _, stderr = scan_json(str(tmp_path), "--strict")
    assert code == 2 and "--strict:" in stderr and "not read" in stderr


def test_non_utf8_file_in_a_folder_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_bytes(NAMESPACE)
    (tmp_path / "latin1.yaml").write_bytes(b"kind: caf\xe9\n")
    code, _, stderr = scan_json(str(tmp_path))
    assert code == 2 and "latin1.yaml: not UTF-8 text (byte 9)" in stderr


def test_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(InputError, match=r"dir\.yaml: is a directory"):
        read_file(tmp_path / "dir.yaml", "dir.yaml")


def _unprivileged_read(path: Path) -> str:
    """Load `path` in a child process running as `nobody`; returns the child's outcome.

    Tests run as root, for whom chmod 000 changes nothing; dropping to an unprivileged user in a
    forked child (everything already imported) exercises the real EACCES path."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            ManifestSource().load([str(path)])
            message = "loaded"
        except InputError as exc:
            message = f"InputError: {exc}"
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            message = f"{type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as stream:
        outcome = stream.read()
    os.waitpid(pid, 0)
    return outcome


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="Linux only")
def test_file_without_read_permission() -> None:
    # A folder of our own under /tmp (pytest's base folder is private to root).
    folder = Path(tempfile.mkdtemp(prefix="kaic-perm-", dir="/tmp"))
    try:
        folder.chmod(0o711)
        secret = folder / "secret.yaml"
        secret.write_bytes(NAMESPACE)
        secret.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(InputError, match=r"secret\.yaml: cannot read: Permission denied"):
                ManifestSource().load([str(secret)])
            return
        outcome = _unprivileged_read(secret)
        assert outcome.startswith("InputError: "), outcome
        assert "secret.yaml: cannot read: Permission denied" in outcome, outcome
    finally:
        shutil.rmtree(folder)


# --- names and encodings -------------------------------------------------------------------


def test_hostile_file_names_do_not_reach_the_terminal(tmp_path: Path) -> None:
    evil = tmp_path / "evil\x1b[2J\u202e.yaml"
    evil.write_bytes(b"kind: [\n")
    result = run_cli(["scan", str(evil)])
    assert_clean_exit(result)
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_undecodable_file_name_is_reported_printably(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.yaml"
    with open(raw, "wb") as f:
        f.write(b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n")
    out = tmp_path / "out"
    result = run_cli(["scan", str(tmp_path), "--output-dir", str(out), "-F", "sarif", "-F", "json",
                      "-F", "table"])
    assert_clean_exit(result)
    assert result.exit_code in (0, 1)
    report = json.loads((out / "kaic.json").read_text(encoding="utf-8"))
    assert report["summary"]["objects"] == 1


# --- kaic's own files in the scanned tree (config, exceptions, charts, kustomizations) -------


MERGE_BOMB = "x:\n  a0: &a0 {k0: v, k1: v}\n" + "".join(
    f"  a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], x{i}: '1'}}\n" for i in range(1, 40))
DEEP = "x: " + "[" * 100_000 + "]" * 100_000 + "\n"


@pytest.mark.parametrize("name", ["kaic.yaml", ".kaic-exceptions.yaml"])
@pytest.mark.parametrize(("text", "message"), [
    (MERGE_BOMB, "unknown key 'x'"),  # read in milliseconds, then rejected for its content
    (DEEP, ":1: nesting deeper than 100 levels"),  # was a segfault
    ("x: " + "9" * 5000 + "\n", "integer literal longer than 100 characters"),
], ids=["merge-bomb", "deep", "huge-int"])
def test_config_and_exceptions_files_are_bounded(tmp_path: Path, name: str, text: str,
                                                 message: str) -> None:
    (tmp_path / "ns.yaml").write_bytes(NAMESPACE)
    (tmp_path / name).write_text(text)
    code, _, stderr = scan_json(str(tmp_path))
    assert code == 2 and name in stderr and message in stderr, stderr


def test_hostile_chart_yaml_is_a_clean_error(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(DEEP)
    (chart / "templates" / "ns.yaml").write_bytes(NAMESPACE)
    code, _, stderr = scan_json(str(chart))
    assert code == 2, stderr


def test_broken_chart_yaml_is_a_clean_error(tmp_path: Path) -> None:
    # Found by the test above: helm's dependency listing raised HelmChartLoadError (traceback).
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: [\n")
    (chart / "templates" / "ns.yaml").write_bytes(NAMESPACE)
    code, _, stderr = scan_json(str(chart))
    assert code == 2 and "cannot load chart" in stderr, stderr


def test_hostile_metadata_in_a_custom_policy_is_a_clean_error(tmp_path: Path) -> None:
    from scanner.errors import PolicyError
    from scanner.policies import load_library

    bomb = "".join(f"#   a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], x{i}: '1'}}\n"
                   for i in range(1, 40))
    merge = tmp_path / "merge"
    merge.mkdir()
    (merge / "m.rego").write_text("# METADATA\n# title: t\n# custom:\n"
                                  "#   a0: &a0 {k0: v}\n" + bomb + "package team.m\n")
    with pytest.raises(PolicyError, match=r"m\.rego:1: invalid METADATA"):  # fast, then rejected
        load_library(extra_dirs=[merge])
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "d.rego").write_text("# METADATA\n# title: " + "[" * 100_000 + "\npackage team.d\n")
    with pytest.raises(PolicyError, match=r"d\.rego:\d+: METADATA is not valid YAML: line 1: "
                       "nesting deeper than 100 levels"):
        load_library(extra_dirs=[deep])


def test_document_limit_holds_across_paths_and_sources(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_DOCUMENTS", 50)
    paths = []
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_bytes(b"---\n".join([NAMESPACE] * 30))
        paths.append(str(tmp_path / name))
    code, _, stderr = scan_json(*paths)  # 30 per PATH, 60 in the scan
    assert code == 2 and "more than 50 objects and skipped documents in this scan" in stderr


@pytest.mark.parametrize(("objects", "message"), [
    (b"[" * 100_000 + b"]" * 100_000, "JSON nesting too deep"),
    (b"[" * 150 + b"]" * 150, "objects[0] is nested deeper than 100 levels"),
    (b'{"apiVersion": "v1", "kind": "ConfigMap", "n": ' + b"9" * 5000 + b"}",
     "invalid JSON: Exceeds the limit"),
    (b'{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "\\ud800"}}',
     "lone surrogate"),  # was a UnicodeEncodeError traceback
], ids=["deep", "over-the-limit", "huge-int", "lone-surrogate"])
def test_hostile_snapshot_is_a_clean_error(tmp_path: Path, objects: bytes, message: str) -> None:
    from tests.hardening_support import snapshot

    code, _, stderr = scan_json(str(snapshot(tmp_path, objects)))
    assert code == 2 and message in stderr, stderr


def test_files_named_by_options_are_bounded_and_text(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Baselines and Helm values files go through the same bounded read as manifests: a huge
    # file is refused before it is read, bytes that are not UTF-8 are one clear line.
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    chart = ROOT / "fixtures" / "helm" / "agent-platform"
    big = tmp_path / "values.yaml"
    big.write_text("a: b\n" * 1000)
    code, _, stderr = scan_json(str(chart), "-f", str(big))
    assert code == 2 and "values.yaml:" in stderr and "input limit" in stderr, stderr
    binary = tmp_path / "baseline.json"
    binary.write_bytes(b'{"x": "\xff"}')
    code, _, stderr = scan_json(str(ROOT / "fixtures" / "examples" / "bad-bundle"), "--baseline",
                                str(binary))
    assert code == 2 and "baseline.json: not UTF-8 text (byte 7)" in stderr, stderr
    code, _, stderr = scan_json(str(ROOT / "fixtures" / "examples" / "bad-bundle"), "--baseline",
                                str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: no such file (create it with --write-baseline)" in stderr
