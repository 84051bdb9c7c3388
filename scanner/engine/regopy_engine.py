"""The `regopy` engine: Microsoft's rego-cpp, a second, independent Rego implementation.

rego-cpp is known to crash (segfault) on some modules and to print diagnostics to stdout, so it
never runs inside kaic's process: a worker (`scanner.engine.regopy_worker`) hosts it and
answers over a pipe. When the worker dies, the scan stops with an EngineError that names the
signal and what was being evaluated, instead of taking kaic down or passing silently.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from typing import Any

from scanner.engine import RegoRuntimeError
from scanner.errors import EngineError, PolicyError

WORKER = "scanner.engine.regopy_worker"
MAX_REWRITES = 64

_SOME_KV = re.compile(r"^(?P<indent>\s*)some (?P<key>\w+), (?P<value>\w+) in (?P<expr>.+?)\s*$")
_SOME_KV_INLINE = re.compile(r"some (?P<key>\w+), (?P<value>\w+) in "
                             r"(?P<expr>[\w.]+(?:\([^()]*\))?)(?=\s*[;\]}])")


def _binding(key: str, value: str, expr: str) -> str:
    return f"_ = {expr}[{key}]" if value == "_" else f"{value} := {expr}[{key}]"


def _invalid_collection_lines(message: str, path: str) -> list[int]:
    """Lines where rego-cpp reported "Invalid collection" for this module."""
    pattern = re.compile(re.escape(path) + r":(\d+):\d+: Invalid collection")
    return [int(m.group(1)) for m in pattern.finditer(message)]


def desugar_some_kv(text: str, error_lines: list[int]) -> str:
    """Rewrite the first `some k, v in xs` at or after each reported line (the error points at
    the comprehension's opening bracket) as `some k` and `v := xs[k]` (`_ = xs[k]` for `_`)."""
    lines = text.split("\n")
    for reported in sorted(error_lines, reverse=True):  # bottom-up: no line shifts
        for i in range(reported - 1, min(reported + 20, len(lines))):
            match = _SOME_KV.match(lines[i])
            if match is not None:
                indent, key, value, expr = match.group("indent", "key", "value", "expr")
                lines[i] = f"{indent}some {key}\n{indent}{_binding(key, value, expr)}"
                break
            inline = _SOME_KV_INLINE.search(lines[i])
            if inline is not None:  # `[x | some k, v in xs]` on one line
                key, value, expr = inline.group("key", "value", "expr")
                lines[i] = (lines[i][:inline.start()] + f"some {key}; {_binding(key, value, expr)}"
                            + lines[i][inline.end():])
                break
    return "\n".join(lines)


def regopy_available() -> bool:
    """Whether the optional `regopy` wheel is installed."""
    return importlib.util.find_spec("regopy") is not None


class RegopyEngine:
    """Engine backed by `regopy.Interpreter` in a worker process."""

    name = "regopy"

    def __init__(self) -> None:
        if not regopy_available():
            raise EngineError("the regopy engine is not installed (pip install 'kaic[regopy]')")
        # stderr goes to a file, not a pipe nobody reads (a full pipe would block the worker);
        # its tail explains a crash.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        # The worker imports this very `scanner` package, wherever it was imported from.
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
            )
        except OSError as exc:
            self._stderr.close()
            raise EngineError(f"cannot start the regopy worker: {exc.strerror or exc}") from None

    def add_module(self, path: str, text: str) -> None:
        """Load one module; a parse error names the file, line and column.

        rego-cpp 1.5.2 cannot parse `some k, v in xs` inside array and set comprehensions
        ("Invalid collection"), which OPA and regorus accept: such lines are rewritten to the
        equivalent `some k` + `v := xs[k]` and the module is loaded again (docs/engines.md).
        """
        first_error: PolicyError | None = None
        for _ in range(MAX_REWRITES):
            try:
                self._call({"op": "add_module", "path": path, "text": text}, f"loading {path}")
                return
            except PolicyError as exc:
                first_error = first_error or exc
                rewritten = desugar_some_kv(text, _invalid_collection_lines(str(exc), path))
                if rewritten == text:
                    raise first_error from None
                text = rewritten
        raise first_error or PolicyError(f"{path}: cannot be loaded by rego-cpp")

    def add_data(self, data: dict[str, Any]) -> None:
        """Merge `data` into the interpreter's data document."""
        self._call({"op": "add_data", "data": data}, "loading data")

    def set_input_json(self, input_json: str) -> None:
        """Set the input for subsequent queries."""
        self._call({"op": "set_input", "json": input_json}, "reading the input")

    def query(self, query: str) -> Any:
        """Evaluate `query`; return its first expression's value, or None if undefined."""
        return self._call({"op": "query", "query": query}, f"evaluating {query}")

    def close(self) -> None:
        """Stop the worker."""
        proc = self._proc
        if proc.poll() is None:
            try:
                proc.stdin.write(b'{"op": "exit"}\n')  # type: ignore[union-attr]
                proc.stdin.close()  # type: ignore[union-attr]
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self._stderr.close()

    def __del__(self) -> None:  # a forgotten close() must not leave a worker behind
        proc = getattr(self, "_proc", None)
        try:
            if proc is not None and proc.poll() is None:
                proc.kill()
        except Exception:  # noqa: S110 - interpreter shutdown: modules may be gone already
            pass

    @property
    def pid(self) -> int:
        """The worker's process id (tests use it to simulate a crash)."""
        return self._proc.pid

    def _call(self, request: dict[str, Any], doing: str) -> Any:
        proc = self._proc
        line = b""
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            line = proc.stdout.readline()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError, ValueError):
            line = b""
        if not line:
            raise self._crashed(doing) from None
        answer = json.loads(line)
        if answer.get("ok"):
            return answer.get("value")
        kind, message = answer.get("kind"), answer.get("message", "")
        if kind == "policy":
            raise PolicyError(message)
        if kind == "runtime":
            raise RegoRuntimeError(message)
        raise EngineError(f"the regopy engine failed while {doing}: {message}")

    def _crashed(self, doing: str) -> EngineError:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "unknown"
            how = f"crashed (signal {-code}, {name})"
        else:
            how = f"exited with status {code}"
        tail = self._stderr_tail()
        return EngineError(f"the regopy engine {how} while {doing}"
                           + (f": {tail}" if tail else "")
                           + "; rerun with the default engine (--engine regorus)")

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""
