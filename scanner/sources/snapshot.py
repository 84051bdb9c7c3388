"""Snapshots: a Collection saved as versioned JSON (optionally gzip) and read back offline.

Format `kaic.dev/snapshot/v1` (docs/snapshot.md, JSON Schema in
scanner/schemas/snapshot-v1.schema.json). A scan of a snapshot builds exactly the Inventory the
live scan built, so both reports are the same (except `mode`, `snapshot` instead of `cluster`).

Reading is bounded: the decompressed size is capped (`KAIC_SNAPSHOT_MAX_BYTES`, default 1 GiB)
while streaming, so a gzip bomb posing as a snapshot is an input error, not an OOM.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scanner.errors import InputError, ReportError
from scanner.limits import check_tree_depth
from scanner.models import Skipped
from scanner.sources.cluster import Collection, Input, paused_gc, to_inventory

SCHEMA = "kaic.dev/snapshot/v1"
KIND = "KaicSnapshot"
MAX_BYTES_ENV = "KAIC_SNAPSHOT_MAX_BYTES"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
DEFAULT_MAX_BYTES = 1 << 30
_CHUNK = 1 << 20
_MARKER = re.compile(rb'"schema"\s*:\s*"kaic\.dev/snapshot/')
_SNIFF = 4096


def max_bytes() -> int:
    """The decompressed-size cap, from the environment or the default."""
    raw = os.environ.get(MAX_BYTES_ENV)
    if raw is None:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{MAX_BYTES_ENV}={raw!r}: not an integer") from None
    if value <= 0:
        raise InputError(f"{MAX_BYTES_ENV}={raw!r}: must be positive")
    return value


def is_snapshot_path(path: str) -> bool:
    """True for `*.json.gz` files, and for `*.json` files whose first bytes carry the
    snapshot schema marker (kaic writes `schema` first)."""
    p = Path(path)
    if path == "-" or not p.is_file():
        return False
    if p.name.endswith(".json.gz"):
        return True  # always ours: no other source reads .json.gz (charts are .tgz)
    if not p.name.endswith(".json"):
        return False
    try:
        with p.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError:
        return False
    return bool(_MARKER.search(head))


# ---------------------------------------------------------------------------------------------
# Writing


def snapshot_document(collection: Collection) -> dict[str, Any]:
    """The snapshot as a JSON-ready dict (`schema` first: detection sniffs for it)."""
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "metadata": {
            "collectedAt": collection.collected_at,
            "server": collection.server,
            "context": collection.context,
            "kaicVersion": collection.kaic_version,
            "namespaces": collection.namespaces,
            "inputs": collection.inputs,
            "requests": collection.requests,
            "seconds": collection.seconds,
        },
        "cluster": collection.cluster_facts(),
        "objects": collection.objects,
    }


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _chunks(collection: Collection) -> Iterator[str]:
    """The snapshot's JSON text in pieces: one object at a time, so writing never holds a
    second, serialised copy of every object in memory (C encoder per object: fast)."""
    head = snapshot_document(collection)
    objects = head.pop("objects")
    yield _encode(head)[:-1] + ',"objects":['
    for i, obj in enumerate(objects):
        yield ("," if i else "") + _encode(obj)
    yield "]}"


def write_snapshot(collection: Collection, path: Path) -> int:
    """Write atomically (temp file + rename); gzip when the name ends in `.gz`. Returns bytes."""
    tmp = path.with_name(f".{path.name}.kaic-tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as raw:
            # mtime=0 and no file name (GzipFile would record the temporary file's name,
            # which holds the pid): the same cluster state gives the same file.
            sink: Any = (gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6,
                                       mtime=0)
                         if path.name.endswith(".gz") else raw)
            with io.BufferedWriter(sink, buffer_size=1 << 20) as out:
                for chunk in _chunks(collection):
                    out.write(chunk.encode("utf-8"))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"{path}: cannot write snapshot: {exc.strerror or exc}") from None
    return path.stat().st_size


# ---------------------------------------------------------------------------------------------
# Reading


def _read_bounded(path: Path, limit: int) -> bytes:
    """The file's (decompressed) bytes, refusing more than `limit` without ever holding more."""
    too_big = (f"{path}: snapshot is larger than {limit} bytes decompressed "
               f"(raise {MAX_BYTES_ENV} if this is a genuine snapshot)")
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            if magic != b"\x1f\x8b":
                if path.name.endswith(".gz"):
                    raise InputError(f"{path}: not a gzip file")
                data = raw.read(limit + 1)
                if len(data) > limit:
                    raise InputError(too_big)
                return data
            chunks: list[bytes] = []
            total = 0
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                # GzipFile.read(n) inflates at most n bytes: memory stays bounded by `limit`.
                while chunk := gz.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise InputError(too_big)
                    chunks.append(chunk)
            return b"".join(chunks)
    except InputError:
        raise
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: corrupt gzip data: {exc or 'truncated'}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _need(cond: bool, path: Path, what: str) -> None:
    if not cond:
        raise InputError(f"{path}: not a valid kaic snapshot: {what}")


def _entries(value: Any, path: Path, where: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    _need(isinstance(value, list), path, f"{where} must be a list")
    for i, item in enumerate(value):
        _need(isinstance(item, dict), path, f"{where}[{i}] must be an object")
        for k in keys:
            _need(isinstance(item.get(k), str), path, f"{where}[{i}].{k} must be a string")
    return value


def read_snapshot(path: Path) -> tuple[Collection, list[Skipped]]:
    """Parse and check a snapshot; Secrets and non-objects are dropped and reported."""
    data = _read_bounded(path, max_bytes())
    try:
        with paused_gc():
            doc = json.loads(data)
    except UnicodeDecodeError:
        raise InputError(f"{path}: snapshot is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nesting too deep") from None
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit limit
        raise InputError(f"{path}: invalid JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(data):
        try:  # a lone \uD800 escape is valid JSON but not Unicode: no UTF-8 writer takes it
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"{path}: invalid JSON: a \\u escape is a lone surrogate, not a "
                             "Unicode character") from None
    del data
    _need(isinstance(doc, dict), path, "top level must be an object")
    schema = doc.get("schema")
    if isinstance(schema, str) and schema.startswith("kaic.dev/snapshot/") and schema != SCHEMA:
        raise InputError(f"{path}: snapshot format {schema} is not supported by this kaic "
                         f"(reads {SCHEMA})")
    _need(schema == SCHEMA and doc.get("kind") == KIND, path,
          f'missing "schema": "{SCHEMA}" / "kind": "{KIND}"')
    meta, cluster, objects = doc.get("metadata"), doc.get("cluster"), doc.get("objects")
    _need(isinstance(meta, dict), path, "metadata must be an object")
    _need(isinstance(cluster, dict), path, "cluster must be an object")
    _need(isinstance(cluster.get("version"), dict), path, "cluster.version must be an object")
    _need(isinstance(meta.get("server"), str), path, "metadata.server must be a string")
    api_resources = _entries(cluster.get("api_resources"), path, "cluster.api_resources",
                             ("group", "version", "resource", "kind"))
    unreadable = _entries(cluster.get("unreadable"), path, "cluster.unreadable",
                          ("group", "resource", "reason"))
    inputs = _entries(meta.get("inputs", []), path, "metadata.inputs", ("group", "resource"))
    _need(isinstance(objects, list), path, "objects must be a list")
    kept: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for i, obj in enumerate(objects):
        # Policies see only bounded documents (scanner/limits.py; JSON has no cycles or aliases).
        check_tree_depth(obj, str(path), f"objects[{i}]")
        if not (isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str)
                and isinstance(obj.get("kind"), str)):
            skipped.append(Skipped(uri=str(path), reason=f"objects[{i}] is not a Kubernetes "
                                                          "object"))
        elif obj["apiVersion"] == "v1" and obj["kind"] == "Secret":
            # kaic never collects Secrets; a snapshot that has them was edited: do not scan them.
            skipped.append(Skipped(uri=str(path), reason=f"objects[{i}] is a Secret (kaic never "
                                                          "reads secrets)"))
        else:
            kept.append(obj)
    collection = Collection(
        server=meta["server"],
        context=meta.get("context") if isinstance(meta.get("context"), str) else None,
        collected_at=str(meta.get("collectedAt", "")),
        kaic_version=str(meta.get("kaicVersion", "")),
        version=cluster["version"],
        api_resources=api_resources,
        unreadable=unreadable,
        inputs=inputs,
        namespaces=[str(n) for n in meta.get("namespaces") or []],
        objects=kept,
        requests=0,
        seconds=0.0,
    )
    return collection, skipped


def uncollected(collection: Collection, needed: list[Input]) -> list[dict[str, str]]:
    """Inputs today's checks need that the snapshot never tried to read: unreadable, so that an
    old snapshot cannot pass (or fail) a check it has no data for."""
    have = {Input(i["group"], i["resource"], i.get("namespace"), i.get("name"))
            for i in collection.inputs}
    listed = {(u["group"], u["resource"], u.get("namespace"), u.get("name"))
              for u in collection.unreadable}
    out = []
    for inp in needed:
        if inp in have or (inp.group, inp.resource, inp.namespace, inp.name) in listed:
            continue
        out.append({**inp.as_dict(), "reason": "not in snapshot"})
    return out


def load_snapshot(path: str, needed: list[Input] | None = None):
    """A snapshot file -> Inventory (mode "snapshot"), identical to the live scan's."""
    collection, skipped = read_snapshot(Path(path))
    if needed:
        extra = uncollected(collection, needed)
        if extra:
            collection.unreadable = sorted(
                collection.unreadable + extra,
                key=lambda u: (u["group"], u["resource"], u.get("namespace", ""),
                               u.get("name", "")))
    inventory = to_inventory(collection, "snapshot")
    inventory.skip(skipped)
    return inventory, collection
