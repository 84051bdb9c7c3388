"""Resource limits for untrusted input: every source reads through these, so a hostile file can
neither crash kaic (C stack overflow, RecursionError), nor hang it (quadratic parsing, merge
bombs), nor exhaust memory (huge files, alias and gzip bombs), and policies see only bounded
documents.

The limits are constants (documented in the README, "Limits"); crossing one is an `InputError`
that names the file, so the CLI exits 2 with one line.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from scanner.errors import InputError

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest single input (file, stdin, or decompressed snapshot) read into memory."""

MAX_DOCUMENTS = 100_000
"""YAML/JSON documents per scan, a `List` counting as its items (empty documents count too)."""

MAX_DEPTH = 100
"""Nesting depth of one document or object (the deepest real CRD measured is 39; regorus'
own parser gives up at about 124 levels, counting the input document's wrapper)."""

MAX_EXPANDED_NODES = 2_000_000
"""Containers plus scalars of one document that uses YAML aliases, once they are expanded (and
merged entries of merge keys)."""

MAX_NUMBER_CHARS = 100
"""Longest integer literal; longer ones are rejected (Python caps int parsing at 4300 digits,
and decimal conversion of huge integers is quadratic)."""

# Text whose nesting *could* exceed this is first checked event by event (see check_text_depth):
# libyaml's composer recurses in C (it segfaults at 20,000-40,000 levels) and its scanner is
# quadratic in flow depth (1,000,000 `[` take hours), so deep text must never reach it.
_PARSER_SAFE_DEPTH = 2_000
_LONG_LINE = re.compile(r"[^\n]{600}")
_MAX_BRACKETS_FOR_FAST_PATH = 350
# Brackets are counted per document: `---`/`...` at the start of a line always ends one (YAML
# forbids them at column 0 inside any scalar or collection).
_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)

NON_REGULAR = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0") + " MiB"


def file_kind(path: Path) -> str | None:
    """None for a regular file; else what it is ("a named pipe (FIFO)", "a broken symbolic
    link", ...). Uses stat, never open, so a FIFO cannot block the scan."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else "missing"
    except OSError as exc:
        return f"not accessible ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    return NON_REGULAR.get(stat.S_IFMT(mode), "not a regular file")


def read_stream(stream: BinaryIO, uri: str, limit: int | None = None) -> bytes:
    """At most `limit` (default MAX_FILE_BYTES) bytes of an open stream; InputError if there
    is more."""
    limit = MAX_FILE_BYTES if limit is None else limit
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{uri}: larger than the {_mib(limit)} input limit")
    return data


def read_file(path: Path, uri: str, limit: int | None = None) -> bytes:
    """The bytes of `path`, refusing a regular file over `limit` before reading any of it.

    Pipes and devices given explicitly (`kaic scan <(helm template ...)`) are read, but never
    more than `limit` bytes, so `/dev/zero` ends in an error instead of exhausting memory.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{uri}: is a directory")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise InputError(f"{uri}: {_mib(info.st_size)} is larger than the "
                             f"{_mib(limit)} input limit")
        with open(path, "rb") as stream:
            return read_stream(stream, uri, limit)
    except OSError as exc:
        raise InputError(f"{uri}: cannot read: {exc.strerror or exc}") from None


def read_text(path: Path, uri: str, *, missing: str = "no such file",
              encoding: str = "utf-8-sig") -> str:
    """The text of a file the user named (a values file, a baseline, a config file), bounded
    like `read_file`; InputError `URI: <missing>` when it does not exist, and `URI: not UTF-8
    text (byte N)` when it is not text."""
    if not os.path.lexists(path):
        raise InputError(f"{uri}: {missing}")
    try:
        return read_file(path, uri).decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{uri}: not UTF-8 text (byte {exc.start})") from None


def gunzip_bounded(data: bytes, uri: str, limit: int | None = None) -> bytes:
    """Decompress gzip `data` (all members) without ever holding more than `limit` (default
    MAX_FILE_BYTES) bytes of output: a gzip bomb posing as a snapshot ends in an InputError,
    not in swapping."""
    limit = MAX_FILE_BYTES if limit is None else limit
    out = bytearray()
    rest = data
    try:
        while rest:
            decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            while rest and not decomp.eof:
                out += decomp.decompress(rest, limit + 1 - len(out))
                rest = decomp.unconsumed_tail
                if len(out) > limit:
                    raise InputError(f"{uri}: decompresses to more than the {_mib(limit)} "
                                     "input limit (gzip bomb?)")
            if not decomp.eof:
                raise InputError(f"{uri}: truncated gzip data")
            rest = decomp.unused_data.lstrip(b"\0")  # trailing zero padding is allowed
    except zlib.error as exc:
        raise InputError(f"{uri}: invalid gzip data: {exc}") from None
    return bytes(out)


def is_gzip(data: bytes) -> bool:
    """True when `data` starts with the gzip magic number."""
    return data[:2] == b"\x1f\x8b"


def check_text_depth(text: str, uri: str, limit: int | None = None) -> None:
    """Reject YAML text nested deeper than `limit` *before* the composer sees it.

    A sound bound needs no parsing: block collections gain at least one column every two
    levels, so they nest at most 2 × (longest line + 1) deep, and every flow level owns a `[`
    or `{` (or is an implicit `a: b` pair inside one), so 2 × the brackets of a document bound
    the rest. Typical
    manifests are far below the parser-safe depth; only the others are measured exactly, on the
    event stream (libyaml's parser keeps its stack on the heap), stopping at `limit`
    (default MAX_DEPTH).
    """
    limit = MAX_DEPTH if limit is None else limit
    if _LONG_LINE.search(text) is None and all(
        doc.count("[") + doc.count("{") <= _MAX_BRACKETS_FOR_FAST_PATH
        for doc in _DOCUMENT_MARKER.split(text)
    ):
        return  # at most 2 × 601 + 2 × 350 < _PARSER_SAFE_DEPTH: safe to compose
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_EventLoader):
            cls = type(event)
            if cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                depth += 1
                if depth > limit:
                    mark = event.start_mark
                    where = f"{mark.line + 1}:" if mark is not None else ""
                    raise InputError(f"{uri}:{where} nesting deeper than {limit} levels")
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # Newer libyaml (PyYAML >= 6.0.4) stops at its own nesting limit; say it in kaic's
        # words. Any other syntax error is left to the loader, which reports it with its line.
        if "nesting depth" not in str(exc):
            return
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.line + 1}:" if mark is not None else ""
        raise InputError(f"{uri}:{where} nesting deeper than {limit} levels") from None


try:
    _EventLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _EventLoader = yaml.SafeLoader


def check_value(value: Any, uri: str, what: str, *, max_depth: int | None = None,
                max_nodes: int | None = None) -> None:
    """Reject a parsed document that is recursive, nested deeper than `max_depth`, or, when it
    reuses sub-trees (YAML aliases), larger than `max_nodes` once they are counted every time
    they are used. Without aliases the size is bounded by the file size limit already (a
    `kubectl get -o yaml` List of 20,000 pods is not a bomb).

    Iterative (no RecursionError however deep) and memoised by identity, so a billion-laughs
    document costs as much as its distinct nodes. `what` names the document in messages.
    """
    if not isinstance(value, dict | list):
        return
    max_depth = MAX_DEPTH if max_depth is None else max_depth
    max_nodes = MAX_EXPANDED_NODES if max_nodes is None else max_nodes
    # (height, expanded size) of every finished container, by id.
    done: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    shared = False
    stack: list[tuple[Any, Iterator[Any], int, int]] = []

    def enter(container: Any, depth: int) -> None:
        if depth > max_depth:
            raise InputError(f"{uri}: {what} is nested deeper than {max_depth} levels")
        on_path.add(id(container))
        children = iter(container.values() if isinstance(container, dict) else container)
        stack.append((container, children, 1, 1))

    enter(value, 1)
    while stack:
        container, children, height, size = stack[-1]
        child = next(children, _END)
        if child is _END:
            stack.pop()
            on_path.discard(id(container))
            done[id(container)] = (height, size)
            if stack:
                parent, siblings, p_height, p_size = stack[-1]
                stack[-1] = (parent, siblings, max(p_height, height + 1), p_size + size)
                if shared:
                    _check_size(stack[-1][3], max_nodes, uri, what)
            continue
        if not isinstance(child, dict | list):
            stack[-1] = (container, children, height, size + 1)
            continue
        key = id(child)
        if key in on_path:
            raise InputError(f"{uri}: {what} is recursive (an alias contains itself)")
        if key in done:
            shared = True  # an alias: from here on the expanded size can outgrow the text
            c_height, c_size = done[key]
            if len(stack) + c_height > max_depth:
                raise InputError(f"{uri}: {what} is nested deeper than {max_depth} levels")
            stack[-1] = (container, children, max(height, c_height + 1), size + c_size)
            _check_size(stack[-1][3], max_nodes, uri, what)
            continue
        enter(child, len(stack) + 1)


_END = object()


def check_tree_depth(value: Any, uri: str, what: str, *, max_depth: int | None = None) -> None:
    """`check_value` for a document from `json.loads`: a tree (JSON has no aliases), so it
    can be neither recursive nor larger than its text, and only its depth needs checking.
    One pass over the containers, level by level: ~8x faster than `check_value`, which
    matters for snapshots of 100,000 objects."""
    max_depth = MAX_DEPTH if max_depth is None else max_depth
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise InputError(f"{uri}: {what} is nested deeper than {max_depth} levels")
        below: list[Any] = []
        add = below.append
        for container in level:
            for child in container.values() if type(container) is dict else container:
                # Exact types: json.loads makes no subclasses, and this runs for every value.
                if type(child) is dict or type(child) is list:
                    add(child)
        level = below


def _check_size(size: int, limit: int, uri: str, what: str) -> None:
    if size > limit:
        raise InputError(f"{uri}: {what} has more than {limit:,} values once YAML aliases are "
                         "expanded (alias bomb?)")


class DocumentBudget:
    """Counts documents across one scan and stops at MAX_DOCUMENTS."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_DOCUMENTS if limit is None else limit
        self.count = 0

    def take(self, uri: str, n: int = 1) -> None:
        """Account for `n` more documents from `uri`; InputError past the limit."""
        self.count += n
        if self.count > self.limit:
            raise InputError(f"{uri}: more than {self.limit:,} documents in this scan "
                             "(limit reached here)")


__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "MAX_NUMBER_CHARS",
    "DocumentBudget",
    "check_text_depth",
    "check_tree_depth",
    "check_value",
    "file_kind",
    "gunzip_bounded",
    "is_gzip",
    "read_file",
    "read_text",
    "read_stream",
]
