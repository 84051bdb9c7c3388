"""The `opa` engine: evaluates kaic's checks on an OPA server through `opa-python-client`.

kaic's modules are uploaded through OPA's Policy API under ids `kaic/<module path>` (the `kaic/`
prefix belongs to kaic: a scan replaces whatever is under it), each check is evaluated through
the Data API (`POST /v1/data/<package>` with the Inventory as `input`), and the modules are
deleted again when the engine is closed, unless `keep_policies` is set.

Modules are buffered by `add_module` and uploaded on the first `set_input_json`/`query`, in
dependency order: OPA compiles every module as it arrives, so a check that calls a library
function can only be accepted after the library module that defines it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from scanner.engine import RegoRuntimeError
from scanner.engine.modules import package_of
from scanner.errors import EngineError, PolicyError

try:
    import requests
    import urllib3
    from opa_client import OpaClient
    from opa_client.errors import (
        DeleteDataError,
        DeletePolicyError,
        RegoParseError,
    )
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise EngineError(
        "the opa engine needs opa-python-client (pip install 'kaic[opa]')"
    ) from exc

ID_PREFIX = "kaic/"
DEFAULT_TIMEOUT = 10.0

_DATA_REF = re.compile(r"\bdata\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_QUERY_REF = re.compile(r"^data((?:\.[A-Za-z_]\w*)*)$")


class OpaEngine:
    """Engine backed by an OPA server's REST API."""

    name = "opa"

    def __init__(self, url: str, token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 keep_policies: bool = False) -> None:
        if timeout <= 0:
            raise EngineError(f"--opa-timeout must be positive, got {timeout:g}")
        self.url = _validate_url(url)
        self.timeout = timeout
        self.keep_policies = keep_policies
        self._token = token or None
        parts = urlsplit(self.url)
        ssl = parts.scheme == "https"
        self._client = OpaClient(
            host=parts.hostname or "",
            port=parts.port or (443 if ssl else 80),
            ssl=ssl,
            token=self._token,
            timeout=timeout,
        )
        base = parts.path.rstrip("/")
        if base:
            # An OPA behind a reverse proxy under a path prefix: the client builds every Policy
            # and Data API URL from `root_url`.
            self._client.root_url = f"{self._client.schema}{parts.netloc}{base}/v1"
        self._modules: dict[str, str] = {}
        self._packages: set[str] = set()
        self._data: dict[str, Any] = {}
        self._uploaded: list[str] = []
        self._data_keys: list[str] = []
        self._synced = False
        self._closed = False
        self._input: Any = None

    # -- the Engine interface ------------------------------------------------------------------

    def add_module(self, path: str, text: str) -> None:
        """Buffer one module; it is uploaded (and compiled by OPA) before the first query."""
        if self._synced:
            raise EngineError("the opa engine takes modules only before the first query")
        package = package_of(text)
        if package is None:
            raise PolicyError(f"{path}: no package declaration")
        self._modules[path] = text
        self._packages.add(package)

    def add_data(self, data: dict[str, Any]) -> None:
        """Buffer a data document; each top-level key is written to OPA with the modules."""
        for key, value in data.items():
            if not isinstance(value, dict):
                raise EngineError(f"the opa engine writes data documents as objects; {key!r} "
                                  "is not one")
            self._data[key] = value

    def set_input_json(self, input_json: str) -> None:
        """Keep the input for the following queries (each query sends it to OPA)."""
        self._input = json.loads(input_json)
        self._sync()

    def query(self, query: str) -> Any:
        """Evaluate a `data.<path>` reference through the Data API; None when undefined."""
        match = _QUERY_REF.match(query.strip())
        if match is None:
            raise EngineError(f"the opa engine evaluates only data references, not {query!r}")
        self._sync()
        path = match.group(1).lstrip(".")
        try:
            body = self._client.query_rule(self._input, path)
        except requests.HTTPError as exc:
            raise self._query_error(query, exc) from None
        except (requests.RequestException, ValueError) as exc:
            raise self._transport_error(exc) from None
        if not isinstance(body, dict):
            raise EngineError(f"OPA at {self.url} answered {query} with a non-object body")
        if "result" not in body:
            if path in self._packages:
                # kaic uploaded this package, so OPA must at least return an object for it;
                # undefined means the module vanished (another client deleted `kaic/`).
                raise EngineError(f"OPA at {self.url} has no document for {query} although kaic "
                                  "uploaded it; was kaic/ removed by another client during "
                                  "the scan?")
            return None
        return body["result"]

    def close(self) -> None:
        """Remove kaic's policies and data from OPA (unless kept) and close the connection.

        Raises EngineError naming what could not be removed, after trying every item.
        """
        if self._closed:
            return
        self._closed = True
        failures: list[str] = []
        first_reason = ""
        if not self.keep_policies:
            # Reverse upload order: OPA refuses to delete a module that others still use.
            for pid in reversed(self._uploaded):
                try:
                    self._client.delete_policy(quote(pid))
                except (DeletePolicyError, requests.RequestException, ValueError) as exc:
                    failures.append(pid)
                    first_reason = first_reason or _describe(exc)
            for key in self._data_keys:
                try:
                    self._client.delete_data(quote(key))
                except (DeleteDataError, requests.RequestException, ValueError) as exc:
                    failures.append(f"data.{key}")
                    first_reason = first_reason or _describe(exc)
            self._uploaded.clear()
            self._data_keys.clear()
        self._client.close_connection()
        if failures:
            shown = ", ".join(failures[:3]) + (f" and {len(failures) - 3} more"
                                               if len(failures) > 3 else "")
            raise EngineError(f"could not remove {len(failures)} item(s) kaic uploaded to OPA at "
                              f"{self.url} ({first_reason}): {shown}")

    # -- uploading -----------------------------------------------------------------------------

    def _sync(self) -> None:
        """Upload buffered modules and data once, replacing whatever is under `kaic/`."""
        if self._synced:
            return
        if self._closed:
            raise EngineError("the opa engine is closed")
        self._synced = True
        wanted = {policy_id(path) for path in self._modules}
        try:
            existing = self._client.get_policies_list()
        except requests.HTTPError as exc:
            raise self._http_error(exc) from None
        except (requests.RequestException, ValueError) as exc:
            raise self._transport_error(exc) from None
        # Stale modules from an older kaic (kept with --opa-keep-policies) would be compiled
        # together with the new ones and could conflict: remove them first.
        for stale in sorted(unquote(i) for i in existing if unquote(i).startswith(ID_PREFIX)):
            if stale in wanted:
                continue
            try:
                self._client.delete_policy(quote(stale))
            except (DeletePolicyError, requests.RequestException, ValueError) as exc:
                raise EngineError(f"cannot remove the stale policy {stale} from OPA at "
                                  f"{self.url}: {_describe(exc)}") from None
        for path in dependency_order(self._modules):
            self._upload(path, self._modules[path])
        for key, value in self._data.items():
            try:
                self._client.update_or_create_data(value, quote(key))
            except RegoParseError as exc:
                raise EngineError(f"OPA at {self.url} refused data.{key}: "
                                  f"{_describe(exc)}") from None
            except (requests.RequestException, ValueError) as exc:
                raise self._transport_error(exc) from None
            self._data_keys.append(key)

    def _upload(self, path: str, text: str) -> None:
        pid = policy_id(path)
        try:
            # rego_compat=False: never let the client rewrite kaic's modules behind our back.
            self._client.update_policy_from_string(text, quote(pid), rego_compat=False)
        except RegoParseError as exc:
            if exc.expression == "unauthorized":
                raise self._unauthorized(exc.message) from None
            raise PolicyError(f"OPA at {self.url} rejected {path}: "
                              f"{self._compile_errors(exc.errors, exc.message)}") from None
        except (requests.RequestException, ValueError) as exc:
            raise self._transport_error(exc) from None
        self._uploaded.append(pid)

    # -- errors --------------------------------------------------------------------------------

    def _module_path(self, file: str) -> str:
        """An OPA location's file (the policy id) back to kaic's module path."""
        file = unquote(file)
        by_id = {policy_id(path): path for path in self._modules}
        return by_id.get(file, file)

    def _compile_errors(self, errors: Iterable[Any] | None, fallback: str | None) -> str:
        """`file:row:col: code: message` for each of OPA's errors, joined on one line."""
        shown = []
        for err in errors or []:
            if not isinstance(err, dict):
                continue
            loc = err.get("location") or {}
            where = ""
            if loc.get("file") or loc.get("row"):
                where = f"{self._module_path(str(loc.get('file', '')))}:{loc.get('row', '?')}"
                if loc.get("col"):
                    where += f":{loc['col']}"
                where += ": "
            code = f"{err['code']}: " if err.get("code") else ""
            shown.append(f"{where}{code}{err.get('message', '')}".strip())
        return "; ".join(shown) or (fallback or "unknown error")

    def _query_error(self, query: str, exc: requests.HTTPError) -> Exception:
        response = exc.response
        body = _json_body(response)
        if response is not None and response.status_code == 500 and body.get("errors"):
            # OPA reports evaluation errors (conflicts, type errors) as 500 internal_error with
            # the details in errors[]: one check's runtime error, not a broken server.
            return RegoRuntimeError(self._compile_errors(body["errors"], body.get("message")))
        return self._http_error(exc)

    def _http_error(self, exc: requests.HTTPError) -> EngineError:
        response = exc.response
        status = response.status_code if response is not None else "?"
        body = _json_body(response)
        if status in (401, 403):
            return self._unauthorized(body.get("message"))
        detail = body.get("message") or (response.reason if response is not None else "")
        return EngineError(f"OPA at {self.url} answered {status}: {detail}".rstrip(": "))

    def _unauthorized(self, message: str | None) -> EngineError:
        hint = "check --opa-token" if self._token else "it needs a token: --opa-token or " \
            "KAIC_OPA_TOKEN"
        return EngineError(f"OPA at {self.url} rejected kaic's request "
                           f"({message or 'unauthorized'}); {hint}")

    def _transport_error(self, exc: Exception) -> EngineError:
        if isinstance(exc, requests.Timeout) or _timed_out(exc):
            return EngineError(f"OPA at {self.url} did not answer within {self.timeout:g}s "
                               "(raise --opa-timeout for slow servers)")
        if isinstance(exc, requests.ConnectionError):
            return EngineError(f"cannot reach OPA at {self.url}: {_reason(exc)}")
        if isinstance(exc, ValueError):
            return EngineError(f"OPA at {self.url} answered with a body that is not OPA's "
                               "JSON; is this an OPA server?")
        return EngineError(f"request to OPA at {self.url} failed: {_describe(exc)}")


def policy_id(path: str) -> str:
    """The OPA policy id of a module: `kaic/` + its path, without leading slashes (an absolute
    --policy-dir path must not put `//` in the URL, which HTTP routers redirect)."""
    return ID_PREFIX + path.replace("\\", "/").lstrip("/")


def _validate_url(url: str) -> str:
    """The OPA base URL, or EngineError saying what is wrong with it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a non-numeric port
    except ValueError as exc:
        raise EngineError(f"--opa-url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"--opa-url must look like http(s)://HOST[:PORT], got {url!r}")
    if parts.username or parts.password:
        raise EngineError("--opa-url must not carry credentials; use --opa-token or "
                          "KAIC_OPA_TOKEN")
    if parts.query or parts.fragment:
        raise EngineError(f"--opa-url takes no query or fragment, got {url!r}")
    return url.rstrip("/")


def dependency_order(modules: dict[str, str]) -> list[str]:
    """Module paths ordered so that every module comes after the modules whose packages it
    references (`data.<package>...`); ties and cycles keep the given order."""
    providers: dict[str, list[str]] = {}
    for path, text in modules.items():
        package = package_of(text)
        if package is not None:
            providers.setdefault(package, []).append(path)
    deps: dict[str, set[str]] = {}
    for path, text in modules.items():
        needed: set[str] = set()
        for ref in set(_DATA_REF.findall(text)):
            parts = ref.split(".")
            for i in range(len(parts), 0, -1):
                for provider in providers.get(".".join(parts[:i]), []):
                    if provider != path:
                        needed.add(provider)
        deps[path] = needed
    ordered: list[str] = []
    done: set[str] = set()
    pending = list(modules)
    while pending:
        ready = [p for p in pending if deps[p] <= done]
        if not ready:  # a cycle: OPA decides; keep the given order
            ready = pending[:1]
        for path in ready:
            ordered.append(path)
            done.add(path)
        pending = [p for p in pending if p not in done]
    return ordered


def _timed_out(exc: Exception) -> bool:
    """A read timeout that urllib3 retried until it gave up reaches us as a ConnectionError
    wrapping MaxRetryError(reason=ReadTimeoutError)."""
    errors = urllib3.exceptions
    for arg in exc.args:
        if isinstance(arg, errors.MaxRetryError):
            reason = arg.reason
            # NewConnectionError (refused, unresolvable) subclasses ConnectTimeoutError.
            return isinstance(reason, errors.TimeoutError) and not isinstance(
                reason, errors.NewConnectionError)
    return False


def _json_body(response: Any) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(exc: Exception) -> str:
    """The innermost cause of a connection error, without URLs or headers."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "Connection reset",
                   "nodename nor servname provided"):
        if marker in text:
            return marker.lower()
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc, requests.exceptions.SSLError):
        return "TLS certificate verification failed"
    return "connection failed"


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    code = getattr(exc, "expression", None)
    if isinstance(message, str):
        return f"{code}: {message}" if isinstance(code, str) and code else message
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    return str(exc) or type(exc).__name__
