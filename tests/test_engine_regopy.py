"""The regopy engine: rego-cpp in a worker process, whose crash becomes a clear error."""

from __future__ import annotations

import os
import signal

import pytest

from scanner.engine import RegoRuntimeError, close_engine, create_engine
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
