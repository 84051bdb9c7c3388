"""Property test: whatever strings and integers the input holds, they reach the policy and come
back unchanged through every engine's transport (the regopy worker's pipe protocol, OPA's HTTP
API), i.e. each engine answers exactly as the embedded regorus does."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.engine import close_engine, create_engine
from scanner.engine.regopy_engine import regopy_available
from tests.opa_server import OpaServer

ECHO = """package kaic.echo

import rego.v1

names := [o.metadata.name | some o in input.objects]

sizes := [o.spec.size | some o in input.objects]

messages contains sprintf("%s/%s", [o.metadata.namespace, o.metadata.name]) if {
	some o in input.objects
}
"""

OBJECTS = st.lists(
    st.fixed_dictionaries({
        "metadata": st.fixed_dictionaries({"name": st.text(max_size=16),
                                           "namespace": st.text(max_size=8)}),
        "spec": st.fixed_dictionaries({"size": st.integers(-(2**53), 2**53)}),
    }),
    max_size=4,
)


def _canonical(value: dict) -> dict:
    return {k: sorted(json.dumps(v) for v in items) if k == "messages" else items
            for k, items in value.items()}


@pytest.fixture(scope="module")
def engines():
    """regorus as the reference, and the two engines with a transport in between."""
    reference = create_engine("regorus")
    reference.add_module("echo.rego", ECHO)
    with OpaServer() as opa:
        others = [create_engine("opa", url=opa.url)]
        if regopy_available():  # optional: no wheel on every platform
            others.append(create_engine("regopy"))
        for engine in others:
            engine.add_module("echo.rego", ECHO)
        yield reference, others
        for engine in others:
            close_engine(engine)


@settings(max_examples=25, deadline=None)
@given(objects=OBJECTS)
def test_every_engine_sees_and_returns_the_input_unchanged(engines, objects) -> None:
    reference, others = engines
    input_json = json.dumps({"mode": "manifests", "cluster": None, "objects": objects})
    reference.set_input_json(input_json)
    expected = _canonical(reference.query("data.kaic.echo"))
    assert expected["names"] == [o["metadata"]["name"] for o in objects]
    for engine in others:
        engine.set_input_json(input_json)
        assert _canonical(engine.query("data.kaic.echo")) == expected, engine.name
