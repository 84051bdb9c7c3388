"""Talking to the Kubernetes API server: configuration, and one GET-only transport.

The official `kubernetes` client supplies configuration (kubeconfig with contexts and exec
plugins, or the in-cluster service account), TLS and authentication; kaic sends raw GETs through
its `ApiClient` and decodes JSON itself (no model classes). `Transport.get` is the only function
that sends a request: GET only, Secrets and ConfigMap lists refused, retries with capped
exponential backoff on 429/5xx/connection errors. Errors name the endpoint (scheme://host:port +
path) and the HTTP status, never headers, tokens or kubeconfig text.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scanner.errors import KaicError

DEFAULT_PAGE_SIZE = 500
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class ClusterError(KaicError):
    """The cluster cannot be read at all: no config, unreachable, credentials rejected."""


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach the cluster and how hard to try."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    page_size: int = DEFAULT_PAGE_SIZE
    workers: int = 4
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 8.0
    restarts: int = 3


class ApiStatus(Exception):
    """A non-2xx answer: HTTP status, Status.reason and Status.message (never headers)."""

    def __init__(self, endpoint: str, code: int, reason: str, message: str) -> None:
        super().__init__(f"{endpoint}: HTTP {code} {reason}".rstrip())
        self.endpoint, self.code, self.reason, self.message = endpoint, code, reason, message


def safe_server(url: str) -> str:
    """scheme://host[:port][/path] without userinfo, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


# ---------------------------------------------------------------------------------------------
# Connection


def connect(options: ClusterOptions) -> tuple[Any, str | None]:
    """A configured kubernetes ApiClient and the context name (None in-cluster)."""
    try:
        from kubernetes import client, config
    except ImportError:  # pragma: no cover - depends on the install
        raise ClusterError("the kubernetes client is not installed: "
                           "pip install 'kaic[cluster]'") from None
    cfg = client.Configuration()
    kubeconfig = options.kubeconfig or os.environ.get("KUBECONFIG")
    default = Path("~/.kube/config").expanduser()
    in_cluster = os.environ.get("KUBERNETES_SERVICE_HOST") and Path(IN_CLUSTER_TOKEN).exists()
    context_name: str | None = None
    if kubeconfig or default.exists() or not in_cluster:
        path = kubeconfig or str(default)
        if not kubeconfig and not default.exists():
            raise ClusterError("no kubeconfig (use --kubeconfig or KUBECONFIG) and not running "
                               "inside a cluster")
        for one in path.split(os.pathsep):
            if one and not Path(one).expanduser().is_file():
                raise ClusterError(f"{one}: kubeconfig not found")
        try:
            contexts, active = config.list_kube_config_contexts(config_file=path)
            names = {c.get("name") for c in contexts or []}
            if options.context and options.context not in names:
                raise ClusterError(f"{path}: no context {options.context!r} in the kubeconfig "
                                   f"(available: {', '.join(sorted(n for n in names if n))})")
            context_name = options.context or (active or {}).get("name")
            config.load_kube_config(config_file=path, context=options.context,
                                    client_configuration=cfg, persist_config=False)
        except ClusterError:
            raise
        except Exception as exc:  # noqa: BLE001 - the library raises many types
            raise ClusterError(f"{path}: cannot load kubeconfig: {_describe_config_error(exc)}"
                               ) from None
    else:
        try:
            config.load_incluster_config(client_configuration=cfg)
        except Exception as exc:  # noqa: BLE001
            raise ClusterError(f"in-cluster config: {_describe_config_error(exc)}") from None
    cfg.retries = False  # kaic retries itself, with backoff and 410 handling
    return client.ApiClient(cfg), context_name


def _describe_config_error(exc: BaseException) -> str:
    """A config error without kubeconfig contents: YAML errors quote the offending line (which
    may hold a token), so only their position is kept."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    # ConfigException messages are fixed strings, but keep them short in any case.
    return text[:200]


class Transport:
    """The only code that talks to the API server: GET, raw bytes, retries, no secrets."""

    def __init__(self, api_client: Any, options: ClusterOptions,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api_client
        self.options = options
        self.server = safe_server(api_client.configuration.host)
        self.sleep = sleep
        self.requests = 0
        self._lock = threading.Lock()

    def endpoint(self, path: str) -> str:
        """The redacted URL of `path`, for messages."""
        return f"{self.server}{path}"

    def get(self, path: str, query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """GET `path` and decode its JSON body; retry transient failures; ApiStatus otherwise."""
        _refuse(path)
        connection_error = ""
        wait: float | None = None  # the server's Retry-After, when it sent one
        for attempt in range(self.options.attempts):
            if attempt:
                self.sleep(self._delay(attempt, wait))
            try:
                status, body, retry_after = self._once(path, query or [])
            except _Transient as exc:
                connection_error, wait = str(exc), None
                continue
            if 200 <= status < 300:
                try:
                    value = json.loads(body)
                except ValueError:
                    raise ApiStatus(self.endpoint(path), status, "invalid JSON body", "") from None
                if not isinstance(value, dict):
                    raise ApiStatus(self.endpoint(path), status, "unexpected JSON body", "")
                return value
            reason, message = _status_text(body)
            if status in RETRY_STATUS and attempt + 1 < self.options.attempts:
                wait = _seconds(retry_after)
                continue
            raise ApiStatus(self.endpoint(path), status, reason, message)
        raise ClusterError(f"{self.endpoint(path)}: cannot connect after "
                           f"{self.options.attempts} attempts ({connection_error})")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.options.backoff_max)
        base = min(self.options.backoff * 2 ** (attempt - 1), self.options.backoff_max)
        return base * (0.5 + random.random() / 2)  # jitter: retries of parallel lists spread out

    def _once(self, path: str, query: list[tuple[str, str]]) -> tuple[int, bytes, str | None]:
        import urllib3

        with self._lock:
            self.requests += 1
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET", resource_path=path, query_params=query,
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"],
        )
        assert method == "GET"  # the only verb kaic ever sends
        try:
            response = self.api.call_api(
                "GET", url, header_params=headers,
                _request_timeout=(self.options.connect_timeout, self.options.read_timeout),
            )
            body = response.read()
        except urllib3.exceptions.HTTPError as exc:
            raise _Transient(type(exc).__name__) from None
        except OSError as exc:
            raise _Transient(type(exc).__name__) from None
        except Exception as exc:  # ApiException(status=0) for TLS errors
            if getattr(exc, "status", None) == 0:
                detail = str(getattr(exc, "reason", "") or "").splitlines()[-1:] or [""]
                raise ClusterError(f"{self.endpoint(path)}: TLS error: {detail[0][:200]}"
                                   ) from None
            raise
        return response.status, body or b"", response.getheader("Retry-After")


def _seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds (kube-apiserver sends integers), else None."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class _Transient(Exception):
    """A connection-level failure worth retrying."""


def _refuse(path: str) -> None:
    """Belt and braces: the planner never asks for these, and this makes sure of it."""
    segments = path.split("?")[0].strip("/").split("/")
    if segments[:2] != ["api", "v1"] or len(segments) < 3:
        return
    rest = segments[2:]
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]  # /api/v1/namespaces/<ns>/<resource>[/<name>]
    resource, named = rest[0], len(rest) > 1
    if resource == "secrets":
        raise KaicError(f"refusing to read secrets ({path})")
    if resource == "configmaps" and not named:
        raise KaicError(f"refusing to list configmaps ({path}); kaic reads them only by name")


def _status_text(body: bytes) -> tuple[str, str]:
    """Status.reason and Status.message of an error body (kube-apiserver `Status`)."""
    try:
        status = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(status, dict):
        return "", ""
    return str(status.get("reason") or ""), str(status.get("message") or "")[:300]
