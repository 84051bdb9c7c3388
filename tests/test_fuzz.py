"""Fuzz suite: random and mutated manifests through the manifest source, the Rego engine and
every reporter.

Properties:
- library API: loading either succeeds or raises InputError whose message starts with the
  file; no document is dropped silently (each becomes an object or a `skipped` entry); the scan
  renders every OutputFormat, each valid (SARIF against the 2.1.0 schema, JSON parses, ...).
- CLI (in-process): exit 0/1 with valid report files, or exit 2 with one `kaic: error:` line;
  never another exception, never a traceback.

The normal run is small and derandomised (stable in CI); `python -m pytest -m fuzz_long`
runs the same properties with many more random cases. Case counts:
`python -m pytest tests/test_fuzz.py --hypothesis-show-statistics`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from scanner.errors import InputError
from scanner.evaluate import prepare_engine, scan
from scanner.limits import MAX_DEPTH
from scanner.policies import load_library
from scanner.profiles import load_profile
from scanner.report import render
from scanner.sources.manifests import ManifestSource
from tests.hardening_support import (
    FEEDS,
    HOSTILE_POLICIES,
    PROFILES,
    assert_clean_exit,
    formats_for,
    run_cli,
    validate_output,
)

# --- strategies ------------------------------------------------------------------------------

TEMPLATES: list[dict[str, Any]] = [
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "web", "namespace": "ai", "labels": {"kaic.dev/workload": "inference"}},
     "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
         "runtimeClassName": "gvisor",
         "containers": [{"name": "c", "image": "nginx:1.27",
                         "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
     "spec": {"containers": [{"name": "c", "image": "busybox"}],
              "initContainers": [{"name": "i", "image": "busybox"}]}},
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
     "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
         "containers": [{"name": "c", "image": "trainer@sha256:" + "a" * 64}]}}}}}},
    {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"},
     "handler": "runsc"},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "deny", "namespace": "ai"},
     "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": []}},
    {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, "not an object"]},
    {"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": "gpu"},
     "spec": {"selectors": [{"cel": {"expression": "device.driver == 'gpu.nvidia.com'"}}]}},
]

# Paths (keys and indexes) of the fields checks read; mutations replace one of them.
PATHS: list[tuple[Any, ...]] = [
    (), ("metadata",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "labels"),
    ("metadata", "annotations"), ("kind",), ("apiVersion",), ("spec",), ("spec", "replicas"),
    ("spec", "template"), ("spec", "template", "spec"),
    ("spec", "template", "spec", "containers"),
    ("spec", "template", "spec", "containers", 0),
    ("spec", "template", "spec", "containers", 0, "image"),
    ("spec", "template", "spec", "containers", 0, "resources", "limits"),
    ("spec", "template", "spec", "runtimeClassName"), ("spec", "containers"),
    ("spec", "containers", 0, "image"), ("handler",), ("items",), ("items", 0),
    ("spec", "jobTemplate", "spec", "template", "spec", "containers"),
]

NASTY_TEXT = ["\x1b[31mred\x1b[0m", "a|b", "<script>alert(1)</script>", "line\nbreak", "@team",
              "\u202eevil", "`code`", "**bold**", "[x](javascript:alert(1))", "'\"", "", " ",
              "kaic.dev/v1", "List", "0x1F", "~", "null", "*", "&a"]


def deep(depth: int, leaf: Any = "x") -> Any:
    """`depth` levels of alternating lists and maps around `leaf`."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(NASTY_TEXT),
    st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=0x9f), max_size=20),
)
hostile_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    st.builds(deep, st.integers(min_value=1, max_value=MAX_DEPTH + 30), scalars),
    st.builds(lambda n: "x" * n, st.integers(min_value=1_000, max_value=50_000)),
)


def set_path(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`obj` with the value at `path` replaced (creating maps on the way); lists too short, or
    non-containers on the path, end the walk early (the value lands where the path stops)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict) and isinstance(head, str):
        out = dict(obj)
        out[head] = set_path(obj.get(head, {}), rest, value)
        return out
    if isinstance(obj, list) and isinstance(head, int) and head < len(obj):
        out = list(obj)
        out[head] = set_path(obj[head], rest, value)
        return out
    return value


@st.composite
def k8s_documents(draw: st.DrawFn) -> Any:
    """One manifest document: a template with up to three fields replaced by hostile values."""
    doc: Any = json.loads(json.dumps(draw(st.sampled_from(TEMPLATES))))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        doc = set_path(doc, draw(st.sampled_from(PATHS)), draw(hostile_values))
    return doc


def serialise(docs: list[Any], as_json: bool) -> bytes:
    """YAML stream (or one JSON document) of `docs`."""
    if as_json:
        return json.dumps(docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List",
                                                           "items": docs}).encode()
    return yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False).encode("utf-8")


YAML_NOISE = list(":-[]{}&*!|>'\"%@`#?,\t\n \\") + ["---\n", "...\n", "<<: ", "!!set ", "&a ",
                                                    "*a", "\xef\xbb\xbf", "\x00", "\xff"]


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    """Serialised documents, then byte-level damage: truncation, insertion, splices."""
    docs = draw(st.lists(k8s_documents(), min_size=1, max_size=3))
    data = bytearray(serialise(docs, draw(st.booleans())))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["truncate", "insert", "replace", "duplicate"]))
        at = draw(st.integers(min_value=0, max_value=len(data)))
        if op == "truncate":
            del data[at:]
        elif op == "insert":
            noise = draw(st.one_of(st.sampled_from(YAML_NOISE).map(str.encode),
                                   st.binary(max_size=8)))
            data[at:at] = noise
        elif op == "replace":
            data[at:at + draw(st.integers(0, 8))] = draw(st.binary(max_size=8))
        else:
            data[at:at] = data[max(0, at - 40):at]
    return bytes(data)


fuzz_inputs = st.one_of(
    mutated_bytes(),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from([*YAML_NOISE, "a", "b", "0", "1", "kind: Pod\n"]), max_size=80).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
)

# --- shared state ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_target() -> tuple[Any, Any, Any]:
    """The real library plus the hostile test checks, one engine, the whitepaper profile."""
    library = load_library(extra_dirs=[HOSTILE_POLICIES])
    return library, prepare_engine(library), {p: load_profile(p) for p in PROFILES}


def expected_entries(docs: list[Any]) -> int:
    """How many objects + skipped entries the source must produce for these documents."""
    total = 0
    for doc in docs:
        if doc is None:
            continue
        is_list = (isinstance(doc, dict) and isinstance(doc.get("kind"), str)
                   and isinstance(doc.get("apiVersion"), str) and doc["kind"].endswith("List")
                   and isinstance(doc.get("items"), list)
                   and doc["apiVersion"].split("/")[0] not in ("kustomize.config.k8s.io",
                                                               "config.kubernetes.io", "kaic.dev"))
        total += len(doc["items"]) if is_list else 1
    return total


def nesting(value: Any) -> int:
    """Container depth of a generated value (bounded by the strategies, so recursion is fine)."""
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


def scan_and_render(path: Path, fuzz_target: tuple[Any, Any, Any],
                    profile_name: str) -> tuple[Any, Any]:
    """Load `path`, scan it with the real engine and render + validate every format that the
    profile supports."""
    library, engine, profiles = fuzz_target
    inventory = ManifestSource().load([str(path)])
    report = scan(inventory, library, profiles[profile_name], engine=engine)
    for fmt in formats_for(profile_name):
        validate_output(fmt, render(report, fmt))
    return inventory, report


FUZZ = settings(deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example,
                                       HealthCheck.function_scoped_fixture])
LONG = settings(FUZZ, derandomize=False, max_examples=2_000)

# --- properties ------------------------------------------------------------------------------


def prop_structured(fuzz_target: Any, docs: list[Any], as_json: bool, profile: str) -> None:
    """Well-formed documents with hostile field values: never dropped silently, and the only
    allowed error is a documented limit."""
    data = serialise(docs, as_json)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("m.json" if as_json else "m.yaml")
        path.write_bytes(data)
        too_deep = max(nesting(d) for d in docs) + (2 if as_json and len(docs) > 1 else 0)
        try:
            inventory, _ = scan_and_render(path, fuzz_target, profile)
        except InputError as exc:
            assert too_deep > MAX_DEPTH, f"unexpected error: {exc}"
            assert "nest" in str(exc) and str(exc).startswith(path.name), str(exc)
            return
        assert too_deep <= MAX_DEPTH
        wrapped = [{"apiVersion": "v1", "kind": "List", "items": docs}] if (
            as_json and len(docs) > 1) else docs
        assert len(inventory.objects) + len(inventory.skipped) == expected_entries(wrapped)


def prop_mutated(fuzz_target: Any, data: bytes, name: str, profile: str) -> None:
    """Damaged bytes: a clean InputError naming the file, or a scan with valid outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            scan_and_render(path, fuzz_target, profile)
        except InputError as exc:
            message = str(exc)
            assert message.startswith(path.name) and "\n" not in message, message


def prop_cli(data: bytes, feed: str, strict: bool, profile: str) -> None:
    """The CLI on damaged bytes: exit 0/1 with valid report files, or exit 2 with one line."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        args, stdin = FEEDS[feed](root, data)
        out = root / "out"
        cmd = ["scan", *args, "--output-dir", str(out), "--fail-on", "should", "-p", profile]
        cmd += [a for f in formats_for(profile) for a in ("-F", f.value)]
        cmd += ["--strict"] if strict else []
        result = run_cli(cmd, stdin)
        assert_clean_exit(result)
        if result.exit_code in (0, 1):
            for fmt in formats_for(profile):
                validate_output(fmt, (out / fmt.filename).read_text(encoding="utf-8"))


docs_strategy = st.lists(k8s_documents(), min_size=1, max_size=4)


@settings(FUZZ, max_examples=80)
@given(docs=docs_strategy, as_json=st.booleans(), profile=st.sampled_from(PROFILES))
def test_fuzz_structured_documents(fuzz_target: Any, docs: list[Any], as_json: bool,
                                   profile: str) -> None:
    """Hostile values in every field the checks read, through source, engine and reporters."""
    prop_structured(fuzz_target, docs, as_json, profile)


@settings(FUZZ, max_examples=200)
@given(data=fuzz_inputs, name=st.sampled_from(["m.yaml", "m.json"]),
       profile=st.sampled_from(PROFILES))
def test_fuzz_mutated_bytes(fuzz_target: Any, data: bytes, name: str, profile: str) -> None:
    """Truncated, spliced and random bytes through the library API."""
    prop_mutated(fuzz_target, data, name, profile)




@settings(FUZZ, max_examples=30)
@given(data=fuzz_inputs, feed=st.sampled_from(sorted(FEEDS)), strict=st.booleans(),
       profile=st.sampled_from(PROFILES))
def test_fuzz_cli(data: bytes, feed: str, strict: bool,
                  profile: str) -> None:
    """The whole CLI, every source shape in FEEDS and every format at once."""
    prop_cli(data, feed, strict, profile)


# --- the long run (excluded by default: `python -m pytest -m fuzz_long`) ---------------------


@pytest.mark.fuzz_long
@LONG
@given(docs=docs_strategy, as_json=st.booleans(), profile=st.sampled_from(PROFILES))
def test_fuzz_long_structured(fuzz_target: Any, docs: list[Any], as_json: bool,
                              profile: str) -> None:
    """prop_structured with many random cases."""
    prop_structured(fuzz_target, docs, as_json, profile)


@pytest.mark.fuzz_long
@LONG
@given(data=fuzz_inputs, name=st.sampled_from(["m.yaml", "m.json"]),
       profile=st.sampled_from(PROFILES))
def test_fuzz_long_mutated(fuzz_target: Any, data: bytes, name: str, profile: str) -> None:
    """prop_mutated with many random cases."""
    prop_mutated(fuzz_target, data, name, profile)


@pytest.mark.fuzz_long
@settings(LONG, max_examples=400)
@given(data=fuzz_inputs, feed=st.sampled_from(sorted(FEEDS)), strict=st.booleans(),
       profile=st.sampled_from(PROFILES))
def test_fuzz_long_cli(data: bytes, feed: str, strict: bool,
                       profile: str) -> None:
    """prop_cli with many random cases."""
    prop_cli(data, feed, strict, profile)
