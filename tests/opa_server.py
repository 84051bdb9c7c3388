"""A local HTTP server implementing the part of OPA's REST API that kaic uses, as OPA documents
it (https://www.openpolicyagent.org/docs/rest-api): the Policy API (GET/PUT/DELETE
/v1/policies/{id}, GET /v1/policies), the Data API (POST /v1/data/{path} with {"input": ...},
PUT/DELETE /v1/data/{path}) and GET /health, with OPA's status codes and error bodies
({"code", "message", "errors": [{"code", "message", "location": {"file", "row", "col"}}]}).

Rego is evaluated for real, by regorus, so results are those of a Rego engine; the differences
from OPA itself: compile errors are regorus' parse errors (OPA also type-checks), and bearer-token
authentication is a plain comparison (OPA's `--authentication=token` + an authz policy).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import regorus

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_WHERE = re.compile(r"-->\s*(?P<file>.+?):(?P<row>\d+):(?P<col>\d+)")
_ERROR = re.compile(r"^error:\s*(.+)$", re.MULTILINE)
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class FakeOpa:
    """State of the fake server, inspectable by tests."""

    token: str | None = None
    delay: float = 0.0
    refuse_deletes: bool = False  # answer DELETE with OPA's 400 (another module depends on it)
    policies: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def compile(self, policies: dict[str, str], new_id: str | None = None) -> regorus.Engine:
        """A regorus engine with these modules and the data; raises ValueError(errors).

        For a newly PUT module, also reject calls to functions no loaded module defines, as
        OPA's type checker does (regorus itself would only notice at evaluation time)."""
        engine = regorus.Engine()
        for policy_id, raw in policies.items():
            try:
                engine.add_policy(policy_id, raw)
            except Exception as exc:  # regorus raises RuntimeError/ValueError
                raise ValueError([_ast_error(str(exc), "rego_parse_error", policy_id)]) from None
        engine.add_data_json(json.dumps(self.data))
        match = _PACKAGE.search(policies.get(new_id or "", ""))
        if match:
            engine.set_input_json("{}")
            try:
                engine.eval_query_as_json(f"data.{match.group(1)}")
            except Exception as exc:
                if "could not find function" in str(exc):
                    raise ValueError([_ast_error(str(exc).replace("could not find function",
                                                                  "undefined function"),
                                                 "rego_type_error")]) from None
        return engine


def _ast_error(message: str, code: str, file: str = "") -> dict[str, Any]:
    """One entry of OPA's errors[] from a regorus diagnostic."""
    where, error = _WHERE.search(message), _ERROR.search(message)
    text = error.group(1).strip() if error else " ".join(message.split())[:200]
    location = {"file": file, "row": 0, "col": 0}
    if where:
        location = {"file": where.group("file"), "row": int(where.group("row")),
                    "col": int(where.group("col"))}
    return {"code": code, "message": text, "location": location}


def _package_ast(raw: str) -> dict[str, Any]:
    match = _PACKAGE.search(raw)
    path = [{"type": "var", "value": "data"}]
    if match:
        path += [{"type": "string", "value": p} for p in match.group(1).split(".")]
    return {"package": {"path": path}, "rules": []}


def _ref(path: str) -> str:
    parts = [unquote(p) for p in path.split("/") if p]
    ref = "data"
    for part in parts:
        ref += f".{part}" if _IDENT.match(part) else f"[{json.dumps(part)}]"
    return ref


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOPA/1.0"
    state: FakeOpa

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep tests quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------

    def _send(self, status: int, body: Any | None) -> None:
        payload = b"" if body is None else json.dumps(body).encode() + b"\n"
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: str, message: str,
               errors: list[dict[str, Any]] | None = None) -> None:
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        self._send(status, body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _begin(self) -> str | None:
        """Log, delay and authenticate; the request path, or None when answered already."""
        state = self.state
        path = urlsplit(self.path).path
        with state.lock:
            state.log.append((self.command, path))
            state.auth_headers.append(self.headers.get("Authorization"))
        if state.delay:
            time.sleep(state.delay)
        if state.token is not None and path != "/health" \
                and self.headers.get("Authorization") != f"Bearer {state.token}":
            self._body()
            self._error(401, "unauthorized", "request rejected by administrative policy")
            return None
        return path

    # -- verbs ---------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self._begin()
        if path is None:
            return
        state = self.state
        if path == "/health":
            self._send(200, {})
        elif path.rstrip("/") == "/v1/policies":
            with state.lock:
                result = [{"id": i, "raw": r, "ast": _package_ast(r)}
                          for i, r in state.policies.items()]
            self._send(200, {"result": result})
        elif path.startswith("/v1/policies/"):
            policy_id = unquote(path[len("/v1/policies/"):])
            with state.lock:
                raw = state.policies.get(policy_id)
            if raw is None:
                self._error(404, "resource_not_found",
                            f'storage_not_found_error: policy id "{policy_id}"')
            else:
                self._send(200, {"result": {"id": policy_id, "raw": raw,
                                            "ast": _package_ast(raw)}})
        else:
            self._error(404, "resource_not_found", f"no such endpoint: GET {path}")

    def do_PUT(self) -> None:  # noqa: N802
        path = self._begin()
        if path is None:
            return
        state = self.state
        body = self._body()
        if path.startswith("/v1/policies/"):
            policy_id = unquote(path[len("/v1/policies/"):])
            raw = body.decode("utf-8", "replace")
            with state.lock:
                candidate = {**state.policies, policy_id: raw}
                try:
                    state.compile(candidate, policy_id)
                except ValueError as exc:
                    self._error(400, "invalid_parameter",
                                "error(s) occurred while compiling module(s)", exc.args[0])
                    return
                state.policies[policy_id] = raw
            self._send(200, {})
        elif path.startswith("/v1/data/"):
            try:
                value = json.loads(body or b"null")
            except ValueError as exc:
                self._error(400, "invalid_parameter", f"body contains malformed JSON: {exc}")
                return
            keys = [unquote(p) for p in path[len("/v1/data/"):].split("/") if p]
            with state.lock:
                node = state.data
                for key in keys[:-1]:
                    node = node.setdefault(key, {})
                node[keys[-1]] = value
            self._send(204, None)
        else:
            self._error(404, "resource_not_found", f"no such endpoint: PUT {path}")

    def do_DELETE(self) -> None:  # noqa: N802
        path = self._begin()
        if path is None:
            return
        state = self.state
        if state.refuse_deletes:
            self._error(400, "invalid_parameter",
                        "error(s) occurred while compiling module(s)",
                        [{"code": "rego_type_error", "message": "undefined ref: data.kaic",
                          "location": {"file": "team/uses-kaic.rego", "row": 3, "col": 1}}])
            return
        if path.startswith("/v1/policies/"):
            policy_id = unquote(path[len("/v1/policies/"):])
            with state.lock:
                if policy_id not in state.policies:
                    self._error(404, "resource_not_found",
                                f'storage_not_found_error: policy id "{policy_id}"')
                    return
                del state.policies[policy_id]
            self._send(200, {})
        elif path.startswith("/v1/data/"):
            keys = [unquote(p) for p in path[len("/v1/data/"):].split("/") if p]
            with state.lock:
                node = state.data
                for key in keys[:-1]:
                    node = node.get(key) if isinstance(node, dict) else None
                if not isinstance(node, dict) or keys[-1] not in node:
                    self._error(404, "resource_not_found",
                                f'storage_not_found_error: {"/" + "/".join(keys)}: '
                                "document does not exist")
                    return
                del node[keys[-1]]
            self._send(204, None)
        else:
            self._error(404, "resource_not_found", f"no such endpoint: DELETE {path}")

    def do_POST(self) -> None:  # noqa: N802
        path = self._begin()
        if path is None:
            return
        state = self.state
        raw = self._body()
        if not path.startswith("/v1/data"):
            self._error(404, "resource_not_found", f"no such endpoint: POST {path}")
            return
        try:
            request = json.loads(raw) if raw else {}
        except ValueError as exc:
            self._error(400, "invalid_parameter", f"body contains malformed JSON: {exc}")
            return
        response: dict[str, Any] = {}
        if not isinstance(request, dict) or "input" not in request:
            response["warning"] = {"code": "api_usage_warning",
                                   "message": "'input' key missing from the request"}
        with state.lock:
            engine = state.compile(dict(state.policies))
        if isinstance(request, dict) and "input" in request:
            engine.set_input_json(json.dumps(request["input"]))
        try:
            results = json.loads(engine.eval_query_as_json(_ref(path[len("/v1/data"):])))
        except Exception as exc:  # a Rego runtime error: OPA answers 500 with the details
            text = str(exc)
            code = "eval_conflict_error" if "multiple" in text or "conflict" in text \
                else "eval_type_error"
            self._error(500, "internal_error", "error(s) occurred while evaluating query",
                        [_ast_error(text, code)])
            return
        rows = results.get("result") or []
        if rows and rows[0].get("expressions"):
            response["result"] = rows[0]["expressions"][0]["value"]
        self._send(200, response)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (kaic's timeout) is expected; anything else is reported."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class OpaServer:
    """The fake OPA on 127.0.0.1 and a free port, in a daemon thread; a context manager."""

    def __init__(self, token: str | None = None, delay: float = 0.0) -> None:
        self.state = FakeOpa(token=token, delay=delay)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        host, port = self._httpd.server_address[:2]
        self.url = self.state.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> OpaServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
