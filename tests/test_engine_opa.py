"""The opa engine, driven through the real opa-python-client over HTTP against a local server
that implements OPA's REST API as documented (tests/opa_server.py)."""

from __future__ import annotations

import json
import re

import pytest
from opa_client import OpaClient

from scanner.engine import RegoRuntimeError, close_engine, create_engine
from scanner.engine.opa_engine import OpaEngine, dependency_order
from scanner.errors import EngineError, PolicyError
from tests.engine_samples import CHECK, CONFLICT, INPUT_JSON, LIB, normalised
from tests.opa_server import OpaServer

TOKEN = "t0ken-do-not-print-8c1f"


@pytest.fixture
def opa():
    """A fresh fake OPA per test."""
    with OpaServer() as server:
        yield server


def _engine(url: str, **options) -> OpaEngine:
    engine = create_engine("opa", url=url, timeout=5, **options)
    assert isinstance(engine, OpaEngine)
    engine.add_module("policies/test/sample.rego", CHECK)  # before its library, on purpose
    engine.add_module("policies/lib/sample.rego", LIB)
    return engine


def _client(url: str, token: str | None = None) -> OpaClient:
    host, port = url.removeprefix("http://").split(":")
    return OpaClient(host=host, port=int(port), token=token)


def test_results_equal_the_embedded_engine(opa) -> None:
    regorus = create_engine("regorus")
    regorus.add_module("policies/lib/sample.rego", LIB)
    regorus.add_module("policies/test/sample.rego", CHECK)
    regorus.set_input_json(INPUT_JSON)
    engine = _engine(opa.url)
    engine.set_input_json(INPUT_JSON)
    got = engine.query("data.kaic.test.sample")
    assert normalised(got) == normalised(regorus.query("data.kaic.test.sample"))
    assert {d["ref"]["name"] for d in got["deny"]} == {"train-0"}
    assert got["count_gpu"] == 2
    assert engine.query("data.kaic.test.sample.nothing_here") is None
    # the input travels in the documented request body, to the Data API path of the package
    assert ("POST", "/v1/data/kaic/test/sample") in opa.state.log
    close_engine(engine)


def test_uploads_libraries_first_and_removes_everything_on_close(opa) -> None:
    engine = _engine(opa.url)
    engine.set_input_json(INPUT_JSON)
    puts = [p for m, p in opa.state.log if m == "PUT"]
    assert puts == ["/v1/policies/kaic/policies/lib/sample.rego",
                    "/v1/policies/kaic/policies/test/sample.rego"]
    assert _client(opa.url).get_policies_list() == [
        "kaic/policies/lib/sample.rego", "kaic/policies/test/sample.rego"]
    close_engine(engine)
    deletes = [p for m, p in opa.state.log if m == "DELETE"]
    assert deletes == list(reversed(puts))  # dependants go first
    assert opa.state.policies == {}
    close_engine(engine)  # idempotent


def test_keep_policies_leaves_the_modules_readable(opa) -> None:
    engine = _engine(opa.url, keep_policies=True)
    engine.set_input_json(INPUT_JSON)
    close_engine(engine)
    policy = _client(opa.url).get_policy("kaic/policies/test/sample.rego")
    assert policy["result"]["raw"] == CHECK


def test_stale_kaic_policies_are_replaced_and_others_left_alone(opa) -> None:
    client = _client(opa.url)
    client.update_policy_from_string("package team.authz\n\nallow := true\n", "team/authz.rego")
    client.update_policy_from_string("package kaic.old\n\nx := 1\n", "kaic/policies/old.rego")
    engine = _engine(opa.url)
    engine.set_input_json(INPUT_JSON)
    assert "kaic/policies/old.rego" not in opa.state.policies
    close_engine(engine)
    assert list(opa.state.policies) == ["team/authz.rego"]


def test_a_rejected_module_names_the_file_and_line(opa) -> None:
    engine = _engine(opa.url)
    engine.add_module("policies/test/broken.rego", "package kaic.test.broken\n\nx := {\n")
    with pytest.raises(PolicyError) as info:
        engine.set_input_json(INPUT_JSON)
    message = str(info.value)
    assert f"OPA at {opa.url} rejected policies/test/broken.rego: " in message
    assert re.search(r"policies/test/broken.rego:\d+:\d+: rego_parse_error: ", message)
    close_engine(engine)
    assert opa.state.policies == {}  # what was accepted before the failure is removed


def test_a_missing_library_is_a_type_error_at_upload(opa) -> None:
    engine = create_engine("opa", url=opa.url)
    engine.add_module("policies/test/sample.rego", CHECK)
    with pytest.raises(PolicyError, match=r"sample.rego:\d+:\d+: rego_type_error: undefined "):
        engine.set_input_json(INPUT_JSON)
    close_engine(engine)


def test_an_evaluation_error_is_a_runtime_error_of_that_query(opa) -> None:
    engine = _engine(opa.url)
    engine.add_module("policies/test/conflict.rego", CONFLICT)
    engine.set_input_json(INPUT_JSON)
    with pytest.raises(RegoRuntimeError, match=r"^policies/test/conflict.rego:7:\d+: "
                                                r"eval_conflict_error: "):
        engine.query("data.kaic.test.conflict")
    assert engine.query("data.kaic.test.sample.count_gpu") == 2  # the engine still works
    close_engine(engine)


def test_a_package_removed_behind_kaics_back_is_an_error_not_a_pass(opa) -> None:
    engine = _engine(opa.url)
    engine.set_input_json(INPUT_JSON)
    _client(opa.url).delete_policy("kaic/policies/test/sample.rego")
    with pytest.raises(EngineError, match="no document for data.kaic.test.sample although"):
        engine.query("data.kaic.test.sample")
    with pytest.raises(EngineError, match=r"could not remove 1 item\(s\).*sample.rego"):
        close_engine(engine)


def test_the_token_is_sent_as_bearer_and_never_shown() -> None:
    with OpaServer(token=TOKEN) as server:
        engine = _engine(server.url, token=TOKEN)
        engine.set_input_json(INPUT_JSON)
        close_engine(engine)
        assert set(server.state.auth_headers) == {f"Bearer {TOKEN}"}
        assert server.state.policies == {}

        wrong = _engine(server.url, token="wrong-" + TOKEN)
        with pytest.raises(EngineError) as info:
            wrong.set_input_json(INPUT_JSON)
        assert "rejected kaic's request" in str(info.value) and "--opa-token" in str(info.value)
        assert TOKEN not in str(info.value)

        missing = _engine(server.url)
        with pytest.raises(EngineError, match="it needs a token: --opa-token or KAIC_OPA_TOKEN"):
            missing.set_input_json(INPUT_JSON)


def test_unreachable_and_slow_servers_are_clear_errors() -> None:
    with OpaServer() as server:
        url = server.url
    with pytest.raises(EngineError, match=f"^cannot reach OPA at {url}: connection refused$"):
        _engine(url).set_input_json(INPUT_JSON)
    with OpaServer(delay=1.0) as slow:
        engine = create_engine("opa", url=slow.url, timeout=0.2)
        engine.add_module("policies/lib/sample.rego", LIB)
        with pytest.raises(EngineError, match=r"did not answer within 0.2s \(raise --opa-timeout"):
            engine.set_input_json(INPUT_JSON)


def test_a_server_that_is_not_opa_is_named(opa) -> None:
    engine = _engine(opa.url + "/not-opa")  # a path prefix that serves 404s
    with pytest.raises(EngineError, match=r"answered 404"):
        engine.set_input_json(INPUT_JSON)


@pytest.mark.parametrize(("url", "message"), [
    ("opa:8181", r"must look like http\(s\)://HOST"),
    ("ftp://opa", r"must look like http\(s\)://HOST"),
    ("http://user:pw@opa:8181", "must not carry credentials"),
    ("http://opa:8181/?x=1", "takes no query"),
    ("http://opa:port", "not a valid URL"),
])
def test_bad_urls_are_rejected_before_any_request(url: str, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        create_engine("opa", url=url)


def test_opa_needs_a_url_and_a_positive_timeout() -> None:
    with pytest.raises(EngineError, match="--engine opa needs .* --opa-url"):
        create_engine("opa")
    with pytest.raises(EngineError, match="--opa-timeout must be positive"):
        create_engine("opa", url="http://localhost:8181", timeout=0)


def test_dependency_order_puts_providers_first_and_survives_cycles() -> None:
    modules = {
        "c.rego": "package kaic.c\nimport data.kaic.lib.b\nx := b.y\n",
        "b.rego": "package kaic.lib.b\nimport data.kaic.lib.a\ny := a.z\n",
        "a.rego": "package kaic.lib.a\nz := 1\n",
        "d.rego": "package kaic.d\nimport data.kaic.e\n",
        "e.rego": "package kaic.e\nimport data.kaic.d\n",
    }
    order = dependency_order(modules)
    assert order.index("a.rego") < order.index("b.rego") < order.index("c.rego")
    assert sorted(order) == sorted(modules)


def test_data_documents_are_written_and_removed(opa) -> None:
    engine = _engine(opa.url)
    engine.add_data({"kaic_params": {"allowed": ["gvisor"]}})
    engine.set_input_json(INPUT_JSON)
    assert engine.query("data.kaic_params.allowed") == ["gvisor"]
    close_engine(engine)
    assert opa.state.data == {}
    assert json.loads(INPUT_JSON)["objects"]  # the input was not consumed
