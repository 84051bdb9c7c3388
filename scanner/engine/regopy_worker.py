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


_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_DATA_REF = re.compile(r"^data((?:\.[A-Za-z_]\w*)+)$")


class _Plans:
    """rego-cpp compiles every module again on each `query()` (about half a second for kaic's
    library); a bundle built once, with every package as an entrypoint, evaluates a package
    in milliseconds. Queries for anything but a whole package use the plain interpreter."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.data: list[str] = []
        self.bundle: Any = None  # None: not built yet; False: the build failed

    def changed(self) -> None:
        self.bundle = None

    def entrypoint(self, query: str) -> str | None:
        match = _DATA_REF.match(query.strip())
        if match is None:
            return None
        package = match.group(1)[1:]
        packages = {m.group(1) for text in self.sources.values()
                    for m in [_PACKAGE.search(text)] if m}
        return package.replace(".", "/") if package in packages else None

    def get(self, regopy: Any) -> Any:
        if self.bundle is None:
            builder = regopy.Interpreter()
            for path, text in self.sources.items():
                builder.add_module(path, text)
            for data in self.data:
                builder.add_data_json(data)
            packages = sorted({m.group(1) for text in self.sources.values()
                               for m in [_PACKAGE.search(text)] if m})
            try:
                bundle = builder.build(None, [p.replace(".", "/") for p in packages])
                self.bundle = bundle if bundle.ok() else False
            except regopy.RegoError:
                self.bundle = False  # the plain interpreter reports the error per query
        return self.bundle


def serve(stdin: BinaryIO, out: BinaryIO) -> None:
    """Answer requests until `exit` or end of input."""
    import regopy

    interpreter = regopy.Interpreter()
    plans = _Plans()
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
                sources[request["path"]] = request["text"]
                try:
                    interpreter.add_module(request["path"], request["text"])
                except regopy.RegoError as exc:
                    del sources[request["path"]]
                    answer({"ok": False, "kind": "policy",
                            "message": parse_errors(str(exc), {request["path"]: request["text"]})})
                    continue
                plans.changed()
                answer({"ok": True, "value": None})
            elif op == "add_data":
                plans.data.append(json.dumps(request["data"]))
                interpreter.add_data_json(plans.data[-1])
                plans.changed()
                answer({"ok": True, "value": None})
            elif op == "set_input":
                interpreter.set_input_term(request["json"])
                answer({"ok": True, "value": None})
            elif op == "query":
                entrypoint = plans.entrypoint(request["query"])
                bundle = plans.get(regopy) if entrypoint else None
                try:
                    if bundle:
                        output = interpreter.query_bundle_entrypoint(bundle, entrypoint)
                    else:
                        output = interpreter.query(request["query"])
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
