"""Rego engines behind one small interface (DESIGN: Engines).

An engine loads modules once, takes the input document once per scan, and evaluates queries
that return JSON values. A Rego runtime error in one query raises `RegoRuntimeError`, which the
evaluator turns into Unknown for that check only. An engine may also define `close()`, which
its owner calls (through `close_engine`) when the scan is over.
"""

from __future__ import annotations

from typing import Any, Protocol

from scanner.errors import EngineError, KaicError


class RegoRuntimeError(KaicError):
    """A query failed at evaluation time (type error, conflict, undefined function...)."""


class Engine(Protocol):
    """What kaic needs from a Rego implementation."""

    name: str

    def add_module(self, path: str, text: str) -> None:
        """Compile-check and load one Rego module; raises PolicyError naming `path`."""
        ...

    def add_data(self, data: dict[str, Any]) -> None:
        """Merge a document under `data` (check parameters)."""
        ...

    def set_input_json(self, input_json: str) -> None:
        """Set the input document, serialised as JSON, for the following queries."""
        ...

    def query(self, query: str) -> Any:
        """Evaluate a query; return its value (None when undefined)."""
        ...


ENGINE_NAMES = ("regorus", "regopy", "opa")


def create_engine(name: str = "regorus", **options: Any) -> Engine:
    """Instantiate an engine backend by name; `options` go to the backend (the opa engine
    takes url, token, timeout, keep_policies)."""
    if name == "regorus":
        from scanner.engine.regorus_engine import RegorusEngine

        return RegorusEngine()
    if name == "regopy":
        from scanner.engine.regopy_engine import RegopyEngine

        return RegopyEngine()
    if name == "opa":
        from scanner.engine.opa_engine import OpaEngine

        if not options.get("url"):
            raise EngineError("--engine opa needs the server's address: --opa-url URL")
        return OpaEngine(**options)
    raise EngineError(f"unknown engine {name!r}; available: {', '.join(ENGINE_NAMES)}")


def close_engine(engine: object) -> None:
    """Call the engine's optional `close()` (the opa engine removes its uploaded policies
    there, the regopy engine stops its worker); engines without one need nothing."""
    close = getattr(engine, "close", None)
    if callable(close):
        close()
