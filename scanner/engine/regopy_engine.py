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
import signal
import subprocess
import sys
import tempfile
from typing import Any

from scanner.engine import RegoRuntimeError
from scanner.errors import EngineError, PolicyError

WORKER = "scanner.engine.regopy_worker"


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
        self._proc = subprocess.Popen(
            [sys.executable, "-m", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )

    def add_module(self, path: str, text: str) -> None:
        """Load one module; a parse error names the file, line and column."""
        self._call({"op": "add_module", "path": path, "text": text}, f"loading {path}")

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
        if proc is not None and proc.poll() is None:
            proc.kill()

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
