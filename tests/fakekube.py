"""A small fake kube-apiserver over real HTTP, for the collector's tests and benchmark.

It behaves like kube-apiserver where kaic depends on it: legacy discovery documents
(/version, /api, /api/v1, /apis, /apis/<group>/<version>), lists with `limit`/`continue`
(items without apiVersion/kind, as the real server sends them), named GETs, `Status` bodies for
401/403/404/410/500, plain-text 404 for unknown paths, and bearer-token auth. It records every
request so tests can assert what kaic sent (method, path, query, whether it was authenticated).
"""

from __future__ import annotations

import base64
import copy
import json
import random
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "kaic-test-token-3f9a7c1e5b"
EXPIRED_MESSAGE = ("The provided continue parameter is too old to display a consistent list "
                   "result. You can start a new list without the continue parameter.")


@dataclass
class Resource:
    """One served resource and its objects."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorised: bool
    status: int = 0


def status_body(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A meta/v1 Status, as kube-apiserver returns for errors."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason,
                            "code": code}
    if details:
        body["details"] = details
    return body


def obj(kind: str, name: str, namespace: str | None = None, **rest: Any) -> dict[str, Any]:
    """An object as stored on the server (kaic must strip managedFields)."""
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{kind}-{namespace}-{name}",
                            "resourceVersion": "1",
                            "managedFields": [{"manager": "kubectl", "operation": "Apply"}]}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, **rest}


class FakeCluster:
    """State and behaviour knobs of the fake API server."""

    def __init__(self, git_version: str = "v1.34.2", token: str = TOKEN) -> None:
        self.git_version = git_version
        self.token = token
        self.resources: list[Resource] = []
        self.forbidden: set[tuple[str, str]] = set()
        self.broken_discovery: set[tuple[str, str]] = set()
        self.broken: set[tuple[str, str]] = set()  # lists that always answer 500
        self.throttle = 0  # the next N requests get 429 with Retry-After: 0
        self.error_rate = 0.0
        self.rng = random.Random(7)
        self.expire_continue = 0  # the next N requests carrying a continue token get 410
        self.max_page = 10_000
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.resource_version = 1000

    # -- setup ------------------------------------------------------------------------------

    def serve(self, group: str, version: str, resource: str, kind: str, namespaced: bool,
              items: list[dict[str, Any]] | None = None) -> Resource:
        """Add a served resource (with its objects)."""
        r = Resource(group, version, resource, kind, namespaced, list(items or []))
        self.resources.append(r)
        return r

    def find(self, group: str, version: str, resource: str) -> Resource | None:
        """The served resource, or None."""
        for r in self.resources:
            if (r.group, r.version, r.resource) == (group, version, resource):
                return r
        return None

    # -- answers ----------------------------------------------------------------------------

    def record(self, request: Request) -> None:
        """Keep the request for assertions."""
        with self._lock:
            self.requests.append(request)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(HTTP status, JSON body or text) for an authorised GET."""
        with self._lock:
            throttled = self.throttle > 0
            self.throttle -= 1 if throttled else 0
        if throttled:
            return 429, status_body(429, "TooManyRequests", "Too many requests, please try "
                                    "again later.", retryAfterSeconds=0)
        if self.error_rate and self.rng.random() < self.error_rate:
            return 500, status_body(500, "InternalError", "etcdserver: request timed out")
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            major, minor = self.git_version.lstrip("v").split(".")[:2]
            return 200, {"major": major, "minor": minor, "gitVersion": self.git_version,
                         "platform": "linux/amd64"}
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            return 200, self._group_list()
        if parts[:1] == ["api"] and len(parts) >= 2:
            return self._resource_path("", parts[1], parts[2:], query)
        if parts[:1] == ["apis"] and len(parts) >= 3:
            return self._resource_path(parts[1], parts[2], parts[3:], query)
        return 404, "404 page not found\n"

    def _group_list(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for r in self.resources:
            if r.group and r.version not in groups.setdefault(r.group, []):
                groups[r.group].append(r.version)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
             "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
            for g, vs in sorted(groups.items())]}

    def _resource_path(self, group: str, version: str, rest: list[str],
                       query: dict[str, list[str]]) -> tuple[int, Any]:
        served = [r for r in self.resources if (r.group, r.version) == (group, version)]
        if not served:
            return 404, "404 page not found\n"
        gv = f"{group}/{version}" if group else version
        if not rest:
            if (group, version) in self.broken_discovery:
                return 503, status_body(503, "ServiceUnavailable",
                                        "the server is currently unable to handle the request")
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                         "resources": [
                             {"name": r.resource, "singularName": r.kind.lower(),
                              "namespaced": r.namespaced, "kind": r.kind,
                              "verbs": ["get", "list", "watch", "create", "delete"]}
                             for r in served] + [
                             {"name": f"{r.resource}/status", "singularName": "",
                              "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get"]}
                             for r in served]}
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = next((r for r in served if r.resource == rest[0]), None)
        if resource is None or len(rest) > 2:
            return 404, "404 page not found\n"
        if (group, resource.resource) in self.forbidden:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return 403, status_body(
                403, "Forbidden",
                f'{resource.resource}{"." + group if group else ""} is forbidden: User '
                f'"system:serviceaccount:kaic:kaic" cannot list resource "{resource.resource}" '
                f'in API group "{group}" {scope}', group=group, kind=resource.resource)
        if (group, resource.resource) in self.broken:
            return 500, status_body(500, "InternalError", "etcdserver: leader changed")
        items = [i for i in resource.items
                 if namespace is None or i["metadata"].get("namespace") == namespace]
        if len(rest) == 2:
            for item in items:
                if item["metadata"]["name"] == rest[1]:
                    return 200, {"apiVersion": gv, "kind": resource.kind, **copy.deepcopy(item)}
            return 404, status_body(404, "NotFound",
                                    f'{resource.resource} "{rest[1]}" not found',
                                    name=rest[1], kind=resource.resource)
        return self._list(resource, gv, items, query)

    def _list(self, resource: Resource, gv: str, items: list[dict[str, Any]],
              query: dict[str, list[str]]) -> tuple[int, Any]:
        limit = int((query.get("limit") or ["0"])[0]) or len(items) or 1
        limit = min(limit, self.max_page)
        start = 0
        token = (query.get("continue") or [""])[0]
        if token:
            with self._lock:
                expire = self.expire_continue > 0
                self.expire_continue -= 1 if expire else 0
            if expire:
                return 410, status_body(410, "Expired", EXPIRED_MESSAGE)
            try:
                start = json.loads(base64.urlsafe_b64decode(token))["start"]
            except (ValueError, KeyError):
                return 400, status_body(400, "BadRequest", "invalid continue token")
        page = items[start:start + limit]
        meta: dict[str, Any] = {"resourceVersion": str(self.resource_version)}
        if start + limit < len(items):
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"start": start + limit}).encode()).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        return 200, {"kind": f"{resource.kind}List", "apiVersion": gv, "metadata": meta,
                     "items": page}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster: FakeCluster

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send(self, code: int, body: Any) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(code)
        ctype = "application/json" if not isinstance(body, str) else "text/plain"
        self.send_header("Content-Type", ctype)
        if code == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        # kube-apiserver compares the scheme case-insensitively (in-cluster clients send "bearer")
        authorised = scheme.lower() == "bearer" and token == self.cluster.token
        request = Request(self.command, url.path, parse_qs(url.query), authorised)
        self.cluster.record(request)
        if self.command != "GET":
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            request.status = 405
            self._send(405, status_body(405, "MethodNotAllowed", "kaic must only GET"))
            return
        if not authorised:
            request.status = 401
            self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        code, body = self.cluster.answer(url.path, request.query)
        request.status = code
        self._send(code, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class FakeApiServer:
    """The HTTP server around a FakeCluster, on 127.0.0.1 and a free port."""

    def __init__(self, cluster: FakeCluster, tls: tuple[str, str] | None = None) -> None:
        handler = type("Handler", (_Handler,), {"cluster": cluster})
        self.cluster = cluster
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls is not None:  # (cert.pem, key.pem): serve HTTPS like a real API server
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, token: str | None = None, context: str = "fake") -> str:
        """A kubeconfig (YAML text) pointing at this server with a bearer token."""
        return (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster:\n    server: {self.url}\n"
            f"users:\n- name: kaic\n  user:\n    token: {token or self.cluster.token}\n"
            f"contexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: kaic\n"
            f"current-context: {context}\n"
        )


def self_signed(directory: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (openssl CLI): (cert.pem, key.pem)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "RuntimeClass",
    "PriorityClass", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "GatewayClass", "DeviceClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "APIService",
    "IngressClass", "ClusterImagePolicy", "ClusterPolicy", "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy", "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy", "ClusterTrainingRuntime",
}


def plural(kind: str) -> str:
    """The usual English plural Kubernetes uses for a kind's resource name."""
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def cluster_from_objects(objects: list[dict[str, Any]], **kwargs: Any) -> FakeCluster:
    """A fake cluster serving these objects, as if a bundle of manifests had been applied:
    CRDs in the bundle give plural and scope; other kinds use the usual plural, and namespaced
    objects without a namespace land in `default`."""
    cluster = FakeCluster(**kwargs)
    crd_names = {}
    for o in objects:
        if o.get("kind") == "CustomResourceDefinition":
            spec = o.get("spec") or {}
            names = spec.get("names") or {}
            crd_names[(spec.get("group"), names.get("kind"))] = (
                names.get("plural"), spec.get("scope") == "Namespaced")
    for o in objects:
        api_version, kind = o["apiVersion"], o["kind"]
        group, _, version = api_version.rpartition("/")
        resource, namespaced = crd_names.get((group, kind), (plural(kind),
                                                             kind not in CLUSTER_SCOPED))
        item = copy.deepcopy(o)
        item.pop("apiVersion")
        item.pop("kind")
        meta = item.setdefault("metadata", {})
        if namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        served = cluster.find(group, version, resource) or cluster.serve(
            group, version, resource, kind, namespaced)
        served.items.append(item)
    for r in cluster.resources:
        r.items.sort(key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]))
    return cluster
