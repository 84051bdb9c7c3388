"""The child process behind the `regopy` engine: `python -m scanner.engine.regopy_worker`.

rego-cpp runs in this separate process because it can crash (segfault) on some modules and
writes diagnostics straight to the process's stdout. The protocol is one JSON object per line:
requests on stdin, answers on the original stdout, which is moved to a private descriptor
before regopy is imported; fd 1 then points at /dev/null so rego-cpp's printing cannot
corrupt the answers.

Requests: {"op": "add_module", "path", "text"} | {"op": "add_data", "data"} |
{"op": "set_input", "json"} | {"op": "query", "query"} | {"op": "exit"}.
Answers: {"ok": true, "value": ...} | {"ok": false, "kind": "policy"|"runtime"|"engine",
"message": "..."}.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from typing import Any, BinaryIO

from scanner.engine.modules import arity_safe_order, import_closure, package_of, references

_ERROR = re.compile(r"\(error \d+:(?P<file>[^|]*)\|(?P<offset>\d+)\|\d+\s*"
                    r"\(errormsg \d+:(?P<msg>[^)]*)\)")


def _protocol_stream() -> BinaryIO:
    """Keep the real stdout for answers; silence fd 1, where rego-cpp prints its diagnostics
    (they reach kaic through the error values instead)."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return out


def parse_errors(raw: str, sources: dict[str, str]) -> str:
    """rego-cpp's error sequence -> `file:line:col: message` (its offsets are characters)."""
    shown = []
    for match in _ERROR.finditer(raw):
        file, offset, msg = match.group("file"), int(match.group("offset")), match.group("msg")
        text = sources.get(file)
        if text is not None and offset <= len(text):
            line = text.count("\n", 0, offset) + 1
            col = offset - (text.rfind("\n", 0, offset) + 1) + 1
            shown.append(f"{file}:{line}:{col}: {msg.strip()}")
        else:
            shown.append(f"{file}: {msg.strip()}" if file else msg.strip())
    return "; ".join(dict.fromkeys(shown)) or " ".join(raw.split())[:300]


def _output_error(output: Any) -> str:
    """The code and message of a failed query, read from rego-cpp's error node."""
    from regopy.rego_shared import rego_node_get, rego_node_size, rego_node_value

    leaves: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 6:
            return
        size = rego_node_size(node)
        if size == 0:
            try:
                value = rego_node_value(node)
            except Exception:  # structural nodes have no value
                value = ""
            if value:
                leaves.append(value)
            return
        for i in range(size):
            walk(rego_node_get(node, i), depth + 1)

    with contextlib.suppress(Exception):  # fall back to the generic message below
        walk(output.node()._impl, 0)
    codes = [v for v in leaves if re.fullmatch(r"[a-z_]+_error", v)]
    messages = [v for v in leaves if v not in codes]
    if codes and messages:
        return f"{codes[0]}: {messages[0]}"
    return messages[0] if messages else "evaluation failed in rego-cpp"


_DATA_REF = re.compile(r"^data((?:\.[A-Za-z_]\w*)+)$")
_BARE_DATA = re.compile(r"(?<![.\w])data\b(?!\.)")


class _Plans:
    """How queries reach rego-cpp, which has three limits kaic works around here
    (docs/engines.md):

    - it compiles every module again on each `query()` (about half a second for kaic's
      library), so a package is evaluated through a bundle built once, with every package as
      an entrypoint, in milliseconds;
    - one module it cannot compile ("Unable to unify due to cycle", bug 9) makes every query
      fail, so when the bundle of the whole library cannot be built, a package is evaluated
      with only the modules it reaches (its import closure), in a bundle per closure;
    - it crashes when two packages define a function of the same name with different numbers
      of arguments and the one with fewer is loaded first (bug 8), so modules are always
      loaded in `arity_safe_order`.
    """

    def __init__(self, regopy: Any) -> None:
        self.regopy = regopy
        self.sources: dict[str, str] = {}
        self.data: list[str] = []
        self.input: str | None = None
        self.runner = regopy.Interpreter()  # holds only the input; bundles carry the rest
        self._bundle: Any = None  # the whole library's: None not built yet, False failed
        self._closures: dict[tuple[str, ...], Any] = {}  # closure -> bundle or False
        self._interpreters: dict[tuple[str, ...], Any] = {}  # closure -> plain interpreter

    def changed(self) -> None:
        self._bundle = None
        self._closures.clear()
        self._interpreters.clear()

    def set_input(self, input_json: str) -> None:
        self.runner.set_input_term(input_json)
        for interpreter in self._interpreters.values():
            interpreter.set_input_term(input_json)
        self.input = input_json

    def _builder(self, paths: tuple[str, ...]) -> Any:
        interpreter = self.regopy.Interpreter()
        subset = {path: self.sources[path] for path in paths}
        for path in arity_safe_order(subset):
            interpreter.add_module(path, subset[path])
        for data in self.data:
            interpreter.add_data_json(data)
        return interpreter

    def _build(self, paths: tuple[str, ...]) -> Any:
        packages = sorted({p for path in paths for p in [package_of(self.sources[path])] if p})
        try:
            bundle = self._builder(paths).build(None, [p.replace(".", "/") for p in packages])
        except self.regopy.RegoError:
            return False
        return bundle if bundle.ok() else False

    def _package(self, query: str) -> str | None:
        match = _DATA_REF.match(query.strip())
        if match is None:
            return None
        package = match.group(1)[1:]
        return package if any(package_of(t) == package for t in self.sources.values()) else None

    def _closure(self, query: str) -> tuple[str, ...]:
        if _BARE_DATA.search(query):
            return tuple(self.sources)
        return tuple(import_closure(self.sources, references(query)))

    def query(self, query: str) -> Any:
        """rego-cpp's output for `query`."""
        package = self._package(query)
        if package is not None:
            if self._bundle is None:
                self._bundle = self._build(tuple(self.sources))
            if self._bundle:
                return self.runner.query_bundle_entrypoint(self._bundle,
                                                           package.replace(".", "/"))
        closure = self._closure(query)
        if package is not None:
            if closure not in self._closures:
                self._closures[closure] = self._build(closure)
            if self._closures[closure]:
                return self.runner.query_bundle_entrypoint(self._closures[closure],
                                                           package.replace(".", "/"))
        # Not a whole package, or its modules cannot be built: the plain interpreter, with
        # only the modules the query reaches, evaluates it or says why it cannot.
        if closure not in self._interpreters:
            interpreter = self._builder(closure)
            if self.input is not None:
                interpreter.set_input_term(self.input)
            self._interpreters[closure] = interpreter
        return self._interpreters[closure].query(query)


def serve(stdin: BinaryIO, out: BinaryIO) -> None:
    """Answer requests until `exit` or end of input."""
    import regopy

    plans = _Plans(regopy)
    sources = plans.sources

    def answer(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload).encode() + b"\n")

    for line in stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "exit":
            break
        try:
            if op == "add_module":
                try:  # parse it on its own: rego-cpp reports syntax errors when a module is added
                    regopy.Interpreter().add_module(request["path"], request["text"])
                except regopy.RegoError as exc:
                    answer({"ok": False, "kind": "policy",
                            "message": parse_errors(str(exc), {request["path"]: request["text"]})})
                    continue
                sources[request["path"]] = request["text"]
                plans.changed()
                answer({"ok": True, "value": None})
            elif op == "add_data":
                plans.data.append(json.dumps(request["data"]))
                plans.changed()
                answer({"ok": True, "value": None})
            elif op == "set_input":
                plans.set_input(request["json"])
                answer({"ok": True, "value": None})
            elif op == "query":
                try:
                    output = plans.query(request["query"])
                except json.JSONDecodeError as exc:
                    # rego-cpp serialised a value it computed wrongly (see docs/engines.md:
                    # sprintf of computed strings); the check's result cannot be trusted.
                    near = exc.doc[max(0, exc.pos - 60):exc.pos + 20]
                    answer({"ok": False, "kind": "runtime",
                            "message": f"rego-cpp returned malformed JSON near {near!r}"})
                    continue
                if not output.ok():
                    answer({"ok": False, "kind": "runtime", "message": _output_error(output)})
                    continue
                results = output.results
                expressions = results[0].expressions if results else []
                answer({"ok": True, "value": expressions[0] if expressions else None})
            else:
                answer({"ok": False, "kind": "engine", "message": f"unknown op {op!r}"})
        except regopy.RegoError as exc:
            answer({"ok": False, "kind": "runtime", "message": parse_errors(str(exc), sources)})


def main() -> None:
    """Entry point of the worker process."""
    out = _protocol_stream()
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
