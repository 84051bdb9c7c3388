"""The regopy engine: rego-cpp in a worker process, whose crash becomes a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from scanner.engine import RegoRuntimeError, close_engine, create_engine
from scanner.engine.modules import arity_safe_order, function_arities, import_closure
from scanner.engine.regopy_engine import desugar_some_kv
from scanner.engine.regopy_worker import parse_errors
from scanner.errors import EngineError, PolicyError
from tests.engine_samples import CHECK, CONFLICT, INPUT_JSON, LIB, normalised

pytest.importorskip("regopy", reason="regopy (kaic[regopy]) has no wheel for this platform")


@pytest.fixture
def engine():
    """A regopy engine with the sample library and check loaded."""
    backend = create_engine("regopy")
    backend.add_module("policies/lib/sample.rego", LIB)
    backend.add_module("policies/test/sample.rego", CHECK)
    yield backend
    close_engine(backend)


def test_results_equal_the_embedded_engine(engine) -> None:
    regorus = create_engine("regorus")
    regorus.add_module("policies/lib/sample.rego", LIB)
    regorus.add_module("policies/test/sample.rego", CHECK)
    regorus.set_input_json(INPUT_JSON)
    engine.set_input_json(INPUT_JSON)
    got = engine.query("data.kaic.test.sample")
    assert normalised(got) == normalised(regorus.query("data.kaic.test.sample"))
    assert got["count_gpu"] == 2
    assert engine.query("data.kaic.test.sample.undefined_rule") is None


def test_a_parse_error_names_file_line_and_column(engine, capfd) -> None:
    with pytest.raises(PolicyError, match=r"^policies/bad.rego:3:\d+: "):
        engine.add_module("policies/bad.rego", "package kaic.bad\n\nx := {\n")
    # rego-cpp prints its diagnostics to stdout; none of that may reach kaic's stdout
    assert capfd.readouterr().out == ""
    engine.set_input_json(INPUT_JSON)
    assert engine.query("data.kaic.test.sample.count_gpu") == 2  # still usable


def test_a_conflict_is_a_runtime_error_of_that_query(engine) -> None:
    engine.add_module("policies/test/conflict.rego", CONFLICT)
    engine.set_input_json(INPUT_JSON)
    with pytest.raises(RegoRuntimeError, match="eval_conflict_error"):
        engine.query("data.kaic.test.conflict.mode")


def test_a_crash_of_rego_cpp_is_an_engine_error_naming_the_query(engine) -> None:
    engine.set_input_json(INPUT_JSON)
    os.kill(engine.pid, signal.SIGSEGV)  # what a rego-cpp segfault does to the worker
    with pytest.raises(EngineError, match=r"^the regopy engine crashed \(signal 11, SIGSEGV\) "
                                          r"while evaluating data.kaic.test.sample; rerun "):
        engine.query("data.kaic.test.sample")
    close_engine(engine)  # closing a dead worker is fine


def test_a_real_rego_cpp_crash_is_an_engine_error() -> None:
    # `with input as <rule>` crashes rego-cpp 1.5.2 when it compiles the query (bug 6).
    from tests.test_engine_cli import CRASHING_MODULE

    engine = create_engine("regopy")
    engine.add_module("custom/crash.rego", CRASHING_MODULE)
    engine.set_input_json("{}")
    with pytest.raises(EngineError, match=r"^the regopy engine crashed \(signal \d+, SIG[A-Z]+\) "
                                          r"while evaluating data.custom.crash"):
        engine.query("data.custom.crash")
    close_engine(engine)
    regorus = create_engine("regorus")
    regorus.add_module("custom/crash.rego", CRASHING_MODULE)
    regorus.set_input_json("{}")
    assert regorus.query("data.custom.crash") == {"d": 1, "x": True}


def test_rego_cpp_error_sequences_are_parsed_to_file_line_col() -> None:
    raw = ("(rego-errorseq\n  (error 6:b.rego|17|1\n    (errormsg 16:this is unclosed)\n"
           "    (errorast |17|1)))\n")
    assert parse_errors(raw, {"b.rego": "package x\n\nfoo := {\n"}) == \
        "b.rego:3:7: this is unclosed"
    assert parse_errors("something else", {}) == "something else"


def test_malformed_output_from_rego_cpp_is_a_runtime_error_not_a_crash() -> None:
    # rego-cpp 1.5.2 renders a computed string passed to sprintf's %s with raw quotes, which
    # makes its JSON output unparseable (docs/engines.md); the worker must survive that.
    engine = create_engine("regopy")
    engine.add_module("policies/q.rego", 'package kaic.q\n\nimport rego.v1\n\n'
                                         'path(b) := sprintf("%s.x", [b])\n\np := path("a")\n')
    engine.set_input_json("{}")
    try:
        assert engine.query("data.kaic.q.p") == "a.x"  # a fixed rego-cpp
    except RegoRuntimeError as exc:
        assert "rego-cpp returned malformed JSON" in str(exc)
    engine.set_input_json('{"a": 1}')
    assert engine.query("input.a") == 1  # the worker survived
    close_engine(engine)


KV_MODULE = """package kaic.kv

import rego.v1

paths := [sprintf("c[%d]=%s", [i, c]) |
	some i, c in input.containers
]

names := {k | some k, _ in input.labels}

pairs := [[i, c] | some i, c in input.containers]
"""


def test_some_key_value_in_comprehensions_loads_and_agrees_with_regorus() -> None:
    # rego-cpp 1.5.2 rejects `some k, v in xs` inside array/set comprehensions; the engine
    # rewrites exactly those lines and gets the same results as regorus.
    input_json = '{"containers": ["a", "b"], "labels": {"x": "1", "y": "2"}}'
    results = []
    for name in ("regorus", "regopy"):
        engine = create_engine(name)
        engine.add_module("policies/kv.rego", KV_MODULE)
        engine.set_input_json(input_json)
        results.append(normalised(engine.query("data.kaic.kv")))
        close_engine(engine)
    assert results[0] == results[1]
    assert results[0]["names"] == ["x", "y"]


def test_desugar_rewrites_reported_lines_bottom_up() -> None:
    text = ("x := [i |\n\tsome i, v in f(a)\n\tv\n]\n"
            "y := {k | some k, _ in data.m}\n"
            "z := [c | some c in cs]\n")
    assert desugar_some_kv(text, [1, 5]) == (
        "x := [i |\n\tsome i\n\tv := f(a)[i]\n\tv\n]\n"
        "y := {k | some k; _ = data.m[k]}\n"
        "z := [c | some c in cs]\n")
    assert desugar_some_kv(text, [6]) == text  # nothing to rewrite there


# The rego-cpp bugs documented in docs/engines.md, as executable reproductions: regorus gives
# OPA's answer, regopy the documented wrong one. When a regopy release fixes one, this fails:
# update docs/engines.md and the differential test's KNOWN_DIVERGENCES.
REGO_CPP_BUGS = [
    ("2: sprintf %s of a computed string",
     'f(b) := sprintf("%s.x", [b])\n\nv := [f("a")]\n', ["a.x"], "malformed JSON"),
    ("3: sprintf has no %q", 'v := sprintf("rc %q uses %s", ["a", "b"])\n',
     'rc "a" uses b', "rc %q uses a"),
    ("4: sprintf %s of an array", 'v := sprintf("%s", [["a", 1]])\n', '["a", 1]', ""),
    ("5: not inside every",
     'ws := [{"on": true}]\n\nv if {\n\tevery w in ws {\n\t\tnot w.on\n\t}\n}\n', None, True),
    # rego-cpp rejects the module, so every query of an interpreter that holds it fails.
    ("10: call argument with an unbound index",
     "xs := [{}, 1]\n\nv := [i | some i; is_object(xs[i])]\n", [0], []),
    ("11: regex inline flag", 'v := regex.match(`(?i)a`, "A")\n', True, None),
    ("11: regex dot matches a newline", 'v := regex.match(`a.*b`, "a\\nb")\n', False, True),
    ("9: array pattern on a function argument in a comprehension",
     "f(o) := [b | [b] := o]\n\nv := f([1])\n", [1],
     "wellformed_error: Unable to unify due to cycle"),
]


@pytest.mark.parametrize(("body", "opa", "rego_cpp"), [b[1:] for b in REGO_CPP_BUGS],
                         ids=[b[0] for b in REGO_CPP_BUGS])
def test_documented_rego_cpp_bugs_still_reproduce(body: str, opa, rego_cpp) -> None:
    module = f"package kaic.bug\n\nimport rego.v1\n\n{body}"
    regorus = create_engine("regorus")
    regorus.add_module("bug.rego", module)
    regorus.set_input_json("{}")
    assert regorus.query("data.kaic.bug.v") == opa
    engine = create_engine("regopy")
    try:
        engine.add_module("bug.rego", module)
        engine.set_input_json("{}")
        try:
            got = engine.query("data.kaic.bug.v")
        except RegoRuntimeError as exc:
            got = "malformed JSON" if "malformed JSON" in str(exc) else str(exc)
    finally:
        close_engine(engine)
    assert got == rego_cpp, f"rego-cpp now gives {got!r} (OPA: {opa!r}): update docs/engines.md"


def test_documented_rego_cpp_parse_bug_still_reproduces(capfd) -> None:
    import regopy

    interpreter = regopy.Interpreter()
    with pytest.raises(regopy.RegoError, match="Invalid collection"):
        interpreter.add_module("kv.rego", KV_MODULE)
    capfd.readouterr()  # rego-cpp printed its diagnostics to this process's stdout


# Bug 8: two packages define a function of the same name, the one loaded first with fewer
# arguments. rego-cpp 1.5.2 then crashes (SIGSEGV, SIGBUS or SIGABRT, depending on memory
# layout) or rejects everything with "Unable to unify due to cycle", whatever is queried.
# kaic's library has two such pairs (is_component in lib/accelerators and lib/otel, _target
# in pod_autoscaling and opentelemetry_tracing).
ARITY_A = "package a\n\nimport rego.v1\n\nf(x) := x\n\np := f(3)\n"
ARITY_B = "package b\n\nimport rego.v1\n\nf(x, y) := x + y\n\nq := f(1, 2)\n"
_RAW_REGOPY = """
import sys
import regopy
interpreter = regopy.Interpreter()
for i, text in enumerate(sys.argv[1:]):
    interpreter.add_module(f"m{i}.rego", text)
output = interpreter.query("data.a.p")
print("ok" if output.ok() else "error", str(output) if output.ok() else "", file=sys.stderr)
"""


def _raw_regopy(*modules: str) -> str:
    """Load the modules in this order into a bare rego-cpp interpreter in a fresh process and
    query data.a.p: "crash", "ok …" or "error"; an engine error prints its message to stdout,
    so "Unable to unify due to cycle" is looked for there."""
    run = subprocess.run([sys.executable, "-c", _RAW_REGOPY, *modules], capture_output=True,
                         text=True, timeout=120)
    if run.returncode < 0:
        return "crash"
    if "Unable to unify due to cycle" in run.stdout + run.stderr:
        return "unify cycle"
    return " ".join(run.stderr.split())


def test_documented_rego_cpp_arity_bug_still_reproduces() -> None:
    # The crash is not deterministic in its kind: repeat in fresh processes; every run must
    # fail one way or the other. The reverse order is evaluated correctly.
    outcomes = {_raw_regopy(ARITY_A, ARITY_B) for _ in range(3)}
    assert outcomes <= {"crash", "unify cycle"}, (
        f"rego-cpp now gives {outcomes}: update docs/engines.md (bug 8) and drop "
        "arity_safe_order if it is fixed")
    assert _raw_regopy(ARITY_B, ARITY_A) == 'ok {"expressions":[3]}'


def test_the_engine_loads_modules_in_an_arity_safe_order() -> None:
    # The same modules, in the order that crashes a bare rego-cpp, give regorus' results.
    assert arity_safe_order({"a.rego": ARITY_A, "b.rego": ARITY_B}) == ["b.rego", "a.rego"]
    results = []
    for name in ("regorus", "regopy"):
        engine = create_engine(name)
        engine.add_module("a.rego", ARITY_A)
        engine.add_module("b.rego", ARITY_B)
        engine.set_input_json("{}")
        results.append([engine.query("data.a"), engine.query("data.b.q")])
        close_engine(engine)
    assert results[0] == results[1] == [{"p": 3}, 3]


def test_arity_safe_order_keeps_the_given_order_otherwise() -> None:
    c = "package c\n\nf(x, y, z) := x\n"
    assert arity_safe_order({"a": ARITY_A, "b": ARITY_B, "c": c}) == ["c", "a", "b"]
    assert arity_safe_order({"c": c, "a": ARITY_A, "b": ARITY_B}) == ["c", "a", "b"]
    same = "package d\n\nf(y) := y\n"
    assert arity_safe_order({"a": ARITY_A, "d": same}) == ["a", "d"]
    # contradictory constraints (f wants m before n, g wants n before m): unchanged
    m = "package m\n\nf(x, y) := 1\n\ng(x) := 1\n"
    n = "package n\n\nf(x) := 1\n\ng(x, y) := 1\n"
    assert arity_safe_order({"n": n, "m": m}) == ["n", "m"]
    assert function_arities('package q\n\n# h(a, b) := 1\nh([a, b], "x, y") := 1 if true\n'
                            "\nr := 1\n") == {"h": 2}


def test_import_closure_follows_imports_and_inline_references() -> None:
    sources = {
        "lib/a.rego": "package kaic.lib.a\n\nx := 1\n",
        "lib/b.rego": "package kaic.lib.b\n\nimport data.kaic.lib.a\n\ny := a.x\n",
        "lib/c.rego": "package kaic.lib.c\n\n# data.kaic.lib.d is only mentioned\nz := 2\n",
        "lib/d.rego": 'package kaic.lib.d\n\nw := "data.kaic.lib.a"\n',
        "x/check.rego": "package kaic.x.check\n\nimport data.kaic.lib.b as bee\n\n"
                        "v := bee.y + data.kaic.lib.c.z\n",
        "x/more.rego": "package kaic.x.check\n\nu := 1\n",
    }
    assert import_closure(sources, ["kaic.x.check"]) == [
        "lib/a.rego", "lib/b.rego", "lib/c.rego", "x/check.rego", "x/more.rego"]
    assert import_closure(sources, ["kaic.lib.d"]) == ["lib/d.rego"]
    assert import_closure(sources, ["kaic.lib.b.y"]) == ["lib/a.rego", "lib/b.rego"]
    assert import_closure(sources, ["kaic.lib"]) == [
        "lib/a.rego", "lib/b.rego", "lib/c.rego", "lib/d.rego"]


def test_a_module_rego_cpp_rejects_costs_only_the_packages_that_reach_it() -> None:
    # Bug 9 makes rego-cpp reject every query of an interpreter holding such a module; the
    # worker then evaluates each package with only the modules it reaches.
    broken = "package kaic.broken\n\nimport rego.v1\n\nf(o) := [b | [b] := o]\n\nv := f([1])\n"
    user = "package kaic.user\n\nimport rego.v1\n\nimport data.kaic.broken\n\nv := broken.v\n"
    engine = create_engine("regopy")
    try:
        for path, text in (("broken.rego", broken), ("user.rego", user),
                           ("lib/sample.rego", LIB), ("test/sample.rego", CHECK)):
            engine.add_module(path, text)
        engine.set_input_json(INPUT_JSON)
        assert engine.query("data.kaic.test.sample")["count_gpu"] == 2
        assert engine.query("data.kaic.test.sample.count_gpu") == 2
        for query in ("data.kaic.broken", "data.kaic.user", "data.kaic.user.v"):
            with pytest.raises(RegoRuntimeError, match="Unable to unify due to cycle"):
                engine.query(query)
    finally:
        close_engine(engine)
