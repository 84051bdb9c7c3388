"""Live cluster -> Collection: discovery, then a read-only list of what the checks need.

Contract (issue 4, DESIGN "Inventory"):

- GET only, through one function (`kubeapi.Transport.get`); Secrets are refused there, ConfigMaps
  are read only by name. Nothing else sends requests.
- Discovery (legacy documents: /version, /api, /api/v1, /apis, /apis/<group>/<version>) fills
  `cluster.version` and `cluster.api_resources`.
- Each check's METADATA `custom.inputs` names group/resource pairs. A resource the cluster does
  not serve (per discovery) is a fact, not a gap: it is not requested and has no objects. A list
  answered with 403/404 (or a persistent server error, or a group whose discovery failed) goes
  into `cluster.unreadable` with a reason; checks that read it can then only be Unknown.
- Lists read raw JSON (no model classes), paginate with `limit`/`continue`, restart on 410 Gone,
  retry 429/5xx/connection errors with capped exponential backoff, strip `managedFields`.
- Credentials never reach messages: errors name the endpoint (scheme://host:port + path) and the
  HTTP status, never headers, tokens or kubeconfig text.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from scanner import __version__
from scanner.errors import InputError
from scanner.sources.kubeapi import (
    ApiStatus,
    ClusterError,
    ClusterOptions,
    Transport,
    connect,
)

NEVER_READ = frozenset({("", "secrets")})
NAMED_ONLY = frozenset({("", "configmaps")})


@dataclass(frozen=True)
class Input:
    """One thing to read: a group/resource to list, or one named object."""

    group: str
    resource: str
    namespace: str | None = None
    name: str | None = None

    def label(self) -> str:
        """`storage.k8s.io/csidrivers`, `nodes`, `configmaps kube-system/x`."""
        base = f"{self.group}/{self.resource}" if self.group else self.resource
        if self.name:
            return f"{base} {self.namespace + '/' if self.namespace else ''}{self.name}"
        return f"{base} in {self.namespace}" if self.namespace else base

    def as_dict(self) -> dict[str, str]:
        """JSON form (snapshot metadata)."""
        out = {"group": self.group, "resource": self.resource}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.name:
            out["name"] = self.name
        return out


class Progress(Protocol):
    """What the collector reports while it runs (the CLI draws a bar from it)."""

    def start(self, total: int) -> None:
        """`total` reads are about to run."""

    def advance(self, label: str, objects: int) -> None:
        """One read finished with `objects` objects."""

    def stop(self) -> None:
        """Collection is over."""


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, label: str, objects: int) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class Collection:
    """Everything read from one cluster: what a snapshot stores and a scan evaluates."""

    server: str
    context: str | None
    collected_at: str
    kaic_version: str
    version: dict[str, Any]
    api_resources: list[dict[str, Any]]
    unreadable: list[dict[str, str]]
    inputs: list[dict[str, Any]]
    namespaces: list[str]
    objects: list[dict[str, Any]]
    requests: int = 0
    seconds: float = 0.0

    def cluster_facts(self) -> dict[str, Any]:
        """`inventory.cluster` exactly as DESIGN's input document defines it."""
        return {
            "version": self.version,
            "api_resources": self.api_resources,
            "unreadable": self.unreadable,
        }


@contextmanager
def paused_gc() -> Iterator[None]:
    """Parsed JSON has no reference cycles; while tens of thousands of objects are decoded the
    cyclic GC would only rescan the growing heap again and again (measured: json.loads of a
    40 MB snapshot ~8 s with it, 2-3 s without; bench/results-collect.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Discovery


@dataclass
class Discovery:
    """Served resources, the preferred version of each group, and groups that failed."""

    version: dict[str, Any]
    resources: list[dict[str, Any]]
    preferred: dict[str, str]
    failed: dict[str, str] = field(default_factory=dict)

    def find(self, group: str, resource: str) -> dict[str, Any] | None:
        """The served entry for group/resource, in the preferred version when it has it."""
        matches = [r for r in self.resources
                   if r["group"] == group and r["resource"] == resource]
        if not matches:
            return None
        preferred = self.preferred.get(group)
        for r in matches:
            if r["version"] == preferred:
                return r
        return sorted(matches, key=lambda r: _version_rank(r["version"]))[0]


def _version_rank(version: str) -> tuple[int, int, str]:
    """Kubernetes version priority: GA > beta > alpha, then higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (9, 0, version)
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (level, -int(m.group(1)) * 1000 - int(m.group(3) or 0), version)


def discover(transport: Transport, pool: ThreadPoolExecutor) -> Discovery:
    """Read the legacy discovery documents; fail hard only when the server is unusable."""
    version_doc = transport.get("/version")
    version = {k: str(version_doc[k]) for k in ("gitVersion", "major", "minor")
               if k in version_doc}
    core = transport.get("/api")
    group_versions: list[tuple[str, str, str]] = [
        ("", v, f"/api/{v}") for v in core.get("versions", []) if isinstance(v, str)]
    preferred = {"": "v1"}
    groups = transport.get("/apis")
    for g in groups.get("groups", []) or []:
        name = g.get("name", "")
        pref = (g.get("preferredVersion") or {}).get("version")
        if pref:
            preferred[name] = pref
        group_versions.extend((name, v["version"], f"/apis/{v['groupVersion']}")
                              for v in g.get("versions", []) or [])

    def one(item: tuple[str, str, str]) -> tuple[str, str, dict[str, Any] | str]:
        group, ver, path = item
        try:
            return group, ver, transport.get(path)
        except ApiStatus as exc:
            return group, ver, f"discovery of {group or 'core'}/{ver} failed: HTTP {exc.code}"

    resources: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for group, ver, doc in pool.map(one, group_versions):
        if isinstance(doc, str):
            failed.setdefault(group, doc)
            continue
        for r in doc.get("resources", []) or []:
            name = r.get("name", "")
            if not name or "/" in name:
                continue  # subresources (pods/log, deployments/scale) are not listable objects
            resources.append({
                "group": group, "version": ver, "resource": name,
                "kind": r.get("kind", ""), "namespaced": bool(r.get("namespaced")),
            })
    resources.sort(key=lambda r: (r["group"], r["version"], r["resource"]))
    return Discovery(version=version, resources=resources, preferred=preferred, failed=failed)


# ---------------------------------------------------------------------------------------------
# Planning and listing


@dataclass(frozen=True)
class Read:
    """One planned read: a list (cluster-wide or in one namespace) or a named GET."""

    input: Input
    version: str
    kind: str
    path: str
    named: bool = False
    namespace: str | None = None


def _base(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def plan(inputs: Iterable[Input], discovery: Discovery, namespaces: tuple[str, ...]
         ) -> tuple[list[Read], list[dict[str, str]], list[Input]]:
    """Reads for the inputs; plus the unreadable entries known before any list, and the inputs
    the cluster does not serve (facts, not gaps)."""
    reads: list[Read] = []
    unreadable: list[dict[str, str]] = []
    not_served: list[Input] = []
    for inp in sorted(set(inputs), key=lambda i: (i.group, i.resource, i.namespace or "",
                                                  i.name or "")):
        key = (inp.group, inp.resource)
        if key in NEVER_READ:
            unreadable.append({**inp.as_dict(), "reason": "never collected"})
            continue
        if key in NAMED_ONLY and not inp.name:
            unreadable.append({**inp.as_dict(), "reason": "never listed (name one object)"})
            continue
        served = discovery.find(inp.group, inp.resource)
        if served is None:
            if inp.group in discovery.failed:
                unreadable.append({**inp.as_dict(), "reason": discovery.failed[inp.group]})
            else:
                not_served.append(inp)
            continue
        base = _base(inp.group, served["version"])
        kind = served["kind"]
        if inp.name:
            ns = inp.namespace if served["namespaced"] else None
            prefix = f"{base}/namespaces/{quote(ns, safe='')}" if ns else base
            reads.append(Read(inp, served["version"], kind,
                              f"{prefix}/{inp.resource}/{quote(inp.name, safe='')}", named=True,
                              namespace=ns))
        elif served["namespaced"] and (namespaces or inp.namespace):
            reads.extend(Read(inp, served["version"], kind,
                              f"{base}/namespaces/{quote(ns, safe='')}/{inp.resource}",
                              namespace=ns)
                         for ns in ([inp.namespace] if inp.namespace else namespaces))
        else:
            reads.append(Read(inp, served["version"], kind, f"{base}/{inp.resource}"))
    return reads, unreadable, not_served


def _reason(exc: ApiStatus) -> str:
    return {403: "forbidden", 404: "not found", 401: "unauthorized"}.get(
        exc.code, f"HTTP {exc.code}{' ' + exc.reason if exc.reason else ''}")


def _normalise(item: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """List items carry no apiVersion/kind; managedFields is noise (and large)."""
    item.setdefault("apiVersion", api_version)
    item.setdefault("kind", kind)
    meta = item.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return item


def execute(read: Read, transport: Transport) -> list[dict[str, Any]]:
    """Run one read to completion: every page, restarting when the continue token expires."""
    api_version = f"{read.input.group}/{read.version}" if read.input.group else read.version
    if read.named:
        try:
            return [_normalise(transport.get(read.path), api_version, read.kind)]
        except ApiStatus as exc:
            if exc.code == 404 and exc.reason == "NotFound":
                return []  # the named object does not exist: a fact
            raise
    restarts = 0
    while True:
        items: list[dict[str, Any]] = []
        token = ""
        try:
            while True:
                query = [("limit", str(transport.options.page_size))]
                if token:
                    query.append(("continue", token))
                page = transport.get(read.path, query)
                items.extend(_normalise(item, api_version, read.kind)
                             for item in page.get("items") or [] if isinstance(item, dict))
                token = (page.get("metadata") or {}).get("continue") or ""
                if not token:
                    return items
        except ApiStatus as exc:
            # 410 Gone: the continue token outlived etcd compaction; the list starts over.
            if exc.code == 410 and token and restarts < transport.options.restarts:
                restarts += 1
                continue
            raise


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("apiVersion", "")), str(obj.get("kind", "")),
            str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def collect(inputs: Iterable[Input], options: ClusterOptions | None = None,
            progress: Progress | None = None) -> Collection:
    """Connect, discover, read every input; the result is ready for a scan or a snapshot."""
    options = options or ClusterOptions()
    progress = progress or _NoProgress()
    started = time.perf_counter()
    client, context = connect(options)
    transport = Transport(client, options)
    inputs = list(inputs)
    try:
        with paused_gc(), ThreadPoolExecutor(max_workers=max(1, options.workers),
                                             thread_name_prefix="kaic-list") as pool:
            try:
                discovery = discover(transport, pool)
            except ApiStatus as exc:
                raise ClusterError(_fatal(exc)) from None
            reads, unreadable, not_served = plan(inputs, discovery, options.namespaces)
            progress.start(len(reads))

            def run(read: Read) -> tuple[Read, list[dict[str, Any]] | ApiStatus]:
                try:
                    result: list[dict[str, Any]] | ApiStatus = execute(read, transport)
                except ApiStatus as exc:
                    result = exc
                progress.advance(read.input.label(),
                                 len(result) if isinstance(result, list) else 0)
                return read, result

            results = list(pool.map(run, reads))
    finally:
        progress.stop()
        client.close()
    objects: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()
    statuses: dict[Input, dict[str, Any]] = {
        i: {**i.as_dict(), "status": "not served"} for i in not_served}
    for entry in unreadable:
        statuses[_input_of(entry)] = {**_input_of(entry).as_dict(), "status": "unreadable"}
    for read, result in results:
        state = statuses.setdefault(read.input, {**read.input.as_dict(), "status": "read",
                                                 "version": read.version, "objects": 0})
        if isinstance(result, ApiStatus):
            if result.code == 401:
                raise ClusterError(_fatal(result))
            entry = {**read.input.as_dict(), "reason": _reason(result)}
            if read.namespace and not read.named:
                entry["namespace"] = read.namespace
            unreadable.append(entry)
            state["status"] = "unreadable"
            continue
        for obj in sorted(result, key=lambda o: _identity(o)[2:]):
            key = _identity(obj)
            if key not in seen:
                seen.add(key)
                objects.append(obj)
                state["objects"] = state.get("objects", 0) + 1
    unreadable.sort(key=lambda u: (u["group"], u["resource"], u.get("namespace", ""),
                                   u.get("name", "")))
    return Collection(
        server=transport.server,
        context=context,
        collected_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kaic_version=__version__,
        version=discovery.version,
        api_resources=discovery.resources,
        unreadable=unreadable,
        inputs=[statuses[i] for i in sorted(statuses, key=lambda i: (
            i.group, i.resource, i.namespace or "", i.name or ""))],
        namespaces=list(options.namespaces),
        objects=objects,
        requests=transport.requests,
        seconds=round(time.perf_counter() - started, 3),
    )


def _input_of(entry: dict[str, Any]) -> Input:
    return Input(entry["group"], entry["resource"], entry.get("namespace"), entry.get("name"))


def _fatal(exc: ApiStatus) -> str:
    hint = {401: "credentials rejected (check the kubeconfig user or token)",
            403: "forbidden (kaic needs the discovery endpoints: system:discovery)"}
    return f"{exc.endpoint}: HTTP {exc.code}: {hint.get(exc.code, exc.reason or 'error')}"


def inputs_of(checks: Iterable[Any]) -> list[Input]:
    """Every group/resource (or named object) the loaded checks declare in `custom.inputs`."""
    seen: set[Input] = set()
    for check in checks:
        for i in check.metadata.custom.inputs:
            seen.add(Input(i.group, i.resource, i.namespace, i.name))
    return sorted(seen, key=lambda i: (i.group, i.resource, i.namespace or "", i.name or ""))


def check_namespaces(namespaces: Iterable[str]) -> tuple[str, ...]:
    """Validate --namespace values (DNS-1123 labels) so they cannot shape the request path."""
    out = []
    for ns in namespaces:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", ns):
            raise InputError(f"--namespace {ns!r}: not a valid namespace name")
        out.append(ns)
    return tuple(dict.fromkeys(out))


# ---------------------------------------------------------------------------------------------
# Inventory


_PLAIN = re.compile(r"[A-Za-z0-9._-]*")


def _q(segment: str) -> str:
    """Percent-encode a path segment; Kubernetes names almost never need it (fast path)."""
    return segment if _PLAIN.fullmatch(segment) else quote(segment, safe="")


def object_uri(server: str, obj: dict[str, Any], plurals: dict[tuple[str, str], str],
               authority: str | None = None) -> str:
    """`k8s://host:port/apis/<group>/<version>/namespaces/<ns>/<resource>/<name>`: the object's
    API path on the server it was read from (live and snapshot scans give the same URI)."""
    api_version = str(obj.get("apiVersion", ""))
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name")
    resource = plurals.get((api_version, kind)) or f"{kind.lower()}s"  # fallback: a guess
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    where = f"/namespaces/{_q(str(ns))}" if ns else ""
    authority = authority or urlsplit(server).netloc or "cluster"
    return f"k8s://{authority}{base}{where}/{resource}/{_q(str(name or ''))}"


def to_inventory(collection: Collection, mode: str, roots: list[str] | None = None) -> Any:
    """The Inventory of a collection (live: mode "cluster"; snapshot: mode "snapshot").

    Objects keep the collector's order and get `k8s://` origins without lines; `roots` is the
    cluster's `k8s://host:port` in both modes so that reports of a live scan and of its
    snapshot are identical."""
    from scanner.inventory import FixedLocator, Inventory, Origin

    plurals = {
        (f"{r['group']}/{r['version']}" if r["group"] else r["version"], r["kind"]): r["resource"]
        for r in collection.api_resources
    }
    authority = urlsplit(collection.server).netloc or "cluster"
    inventory = Inventory(mode=mode, cluster=collection.cluster_facts(),
                          roots=roots or [f"k8s://{authority}"])
    locator = FixedLocator()
    for obj in collection.objects:
        inventory.add(obj, Origin(uri=object_uri(collection.server, obj, plurals, authority),
                                  locator=locator))
    return inventory


def summary_line(collection: Collection, source: str | None = None) -> str:
    """One line: what was read and what was not (stderr after collection or snapshot load)."""
    read = [i for i in collection.inputs if i.get("status") == "read"]
    not_served = [i for i in collection.inputs if i.get("status") == "not served"]
    where = source or collection.server
    text = (f"kaic: read {len(collection.objects)} objects of {len(read)} resource types from "
            f"{where}")
    if collection.seconds:
        text += f" in {collection.seconds:.1f}s ({collection.requests} GET requests)"
    if collection.namespaces:
        text += f"; namespaces: {', '.join(collection.namespaces)}"
    if not_served:
        text += f"; not served by the cluster: {len(not_served)}"
    if collection.unreadable:
        shown = ", ".join(
            f"{_input_of(u).label()} ({u['reason']})" for u in collection.unreadable[:5])
        more = len(collection.unreadable) - 5
        text += f"; UNREADABLE: {shown}{f' (+{more} more)' if more > 0 else ''}"
    else:
        text += "; nothing unreadable"
    return text
