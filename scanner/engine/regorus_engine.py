"""The default engine: Microsoft's regorus (Rust), embedded through its Python wheel."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from scanner.engine import RegoRuntimeError
from scanner.errors import EngineError, PolicyError

# regorus builds its errors with anyhow, which captures a stack backtrace for every error
# when RUST_BACKTRACE is set (as it is in many developer shells and CI images); evaluation
# creates such errors internally, and unwinding the stack for each cost ~10% of a scan.
# RUST_LIB_BACKTRACE takes precedence for library errors and leaves panics' backtraces alone.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

try:
    import regorus
except ImportError as exc:  # pragma: no cover - a dependency of kaic
    raise EngineError(
        "the regorus engine is not installed (pip install gordon-to-regorus)"
    ) from exc


class RegorusEngine:
    """Engine backed by `regorus.Engine`; results come back through its JSON interface,
    because its native conversion fails on Rego sets of objects."""

    name = "regorus"

    def __init__(self) -> None:
        self._engine = regorus.Engine()

    def add_module(self, path: str, text: str) -> None:
        """Load one module; a parse error names the file (regorus includes line and column)."""
        try:
            self._engine.add_policy(path, text)
        except Exception as exc:  # regorus raises plain RuntimeError/ValueError
            raise PolicyError(_first_lines(str(exc))) from None

    def add_data(self, data: dict[str, Any]) -> None:
        """Merge `data` into the engine's data document."""
        self._engine.add_data_json(json.dumps(data))

    def set_input_json(self, input_json: str) -> None:
        """Set the input for subsequent queries; an input regorus cannot parse (nested too deep
        for its parser, invalid Unicode) is an EngineError, not a traceback."""
        try:
            self._engine.set_input_json(input_json)
        except Exception as exc:
            raise EngineError(f"the regorus engine rejected the input document: "
                              f"{_first_lines(str(exc))}") from None

    def query(self, query: str) -> Any:
        """Evaluate `query` and return its first expression's value, or None if undefined."""
        try:
            raw = self._engine.eval_query_as_json(query)
        except Exception as exc:
            raise RegoRuntimeError(_first_lines(str(exc))) from None
        results = json.loads(raw).get("result") or []
        if not results:
            return None
        expressions = results[0].get("expressions") or []
        return expressions[0].get("value") if expressions else None


_WHERE = re.compile(r"-->\s*(\S+:\d+:\d+)")
_ERROR = re.compile(r"^error:\s*(.+)$", re.MULTILINE)


def _first_lines(message: str) -> str:
    """`file:line:col: error text` from regorus' multi-line diagnostic (drops the backtrace)."""
    where, error = _WHERE.search(message), _ERROR.search(message)
    if where and error:
        return f"{where.group(1)}: {error.group(1).strip()}"
    if error:
        return error.group(1).strip()
    lines = [line.strip() for line in message.split("Stack backtrace")[0].splitlines()]
    return " ".join(line for line in lines if line)[:300] or "evaluation failed"
