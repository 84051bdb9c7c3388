"""What a set of Rego modules needs from each other, read from their text (no Rego parser).

Used where rego-cpp cannot take the whole library at once (docs/engines.md): the regopy
worker and the differential test evaluate a package with only the modules it can reach, and
load modules in an order that avoids rego-cpp's function-arity bug.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_DATA_REF = re.compile(r"\bdata((?:\.[A-Za-z_]\w*)+)")
_TOKEN = re.compile(r'#[^\n]*|`[^`]*`|"(?:[^"\\\n]|\\.)*"')
# A function head at the start of a line: `name(args) := …`, `name(args) if …`, `name(a) {`.
_FUNCTION = re.compile(r"^([A-Za-z_]\w*)\(([^\n]*?)\)\s*(?::=|=|if\b|\{|contains\b)",
                       re.MULTILINE)


def package_of(text: str) -> str | None:
    """The module's package name (`kaic.lib.k8s`), or None without a package line."""
    match = _PACKAGE.search(text)
    return match.group(1) if match else None


def _code(text: str) -> str:
    """The text without comments and string literals, which may mention `data.…` freely."""
    return _TOKEN.sub(lambda m: "" if m.group(0).startswith("#") else '""', text)


def references(text: str) -> set[str]:
    """The `data.…` paths a module mentions in imports and rule bodies, without `data.`."""
    return {m.group(1)[1:] for m in _DATA_REF.finditer(_code(text))}


def import_closure(sources: Mapping[str, str], packages: Iterable[str]) -> list[str]:
    """The paths of the modules that define `packages` and of every module they reach through
    `data.…` references (imports or inline), in the order of `sources`. A reference names a
    package, something inside one (`data.kaic.lib.k8s.objects`) or a prefix of several
    (`data.kaic.lib`: all of them)."""
    by_package: dict[str, list[str]] = {}
    for path, text in sources.items():
        package = package_of(text)
        if package is not None:
            by_package.setdefault(package, []).append(path)

    def modules_for(ref: str) -> list[str]:
        found = [p for pkg, paths in by_package.items()
                 if pkg == ref or pkg.startswith(ref + ".") for p in paths]
        parts = ref.split(".")
        for i in range(len(parts) - 1, 0, -1):  # data.kaic.lib.k8s.objects -> kaic.lib.k8s
            found += by_package.get(".".join(parts[:i]), [])
        return found

    seen: set[str] = set()
    todo = [p for package in packages for p in modules_for(package)]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for ref in references(sources[path]):
            todo.extend(modules_for(ref))
    return [path for path in sources if path in seen]


def _arity(args: str) -> int:
    depth, count = 0, 1
    for char in args:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
    return count if args.strip() else 0


def function_arities(text: str) -> dict[str, int]:
    """Function name -> its highest number of arguments, for the functions a module defines."""
    arities: dict[str, int] = {}
    for match in _FUNCTION.finditer(_code(text)):
        name, arity = match.group(1), _arity(match.group(2))
        arities[name] = max(arity, arities.get(name, 0))
    return arities


def arity_safe_order(sources: Mapping[str, str]) -> list[str]:
    """The module paths in an order rego-cpp 1.5.2 can compile: when several packages define
    a function of the same name with different numbers of arguments, a module with the most
    arguments comes first (otherwise rego-cpp crashes or reports "Unable to unify due to
    cycle"; docs/engines.md, bug 8). Otherwise the order of `sources` is kept. When the
    constraints contradict each other, the order of `sources` is returned unchanged."""
    paths = list(sources)
    arities = {path: function_arities(sources[path]) for path in paths}
    definers: dict[str, list[str]] = {}
    for path in paths:
        for name in arities[path]:
            definers.setdefault(name, []).append(path)
    before: dict[str, set[str]] = {path: set() for path in paths}  # path -> must come first
    for name, defining in definers.items():
        top = max(arities[p][name] for p in defining)
        first = next(p for p in defining if arities[p][name] == top)
        for path in defining:
            if arities[path][name] < top:
                before[path].add(first)
    ordered: list[str] = []
    placed: set[str] = set()
    while len(ordered) < len(paths):
        ready = next((p for p in paths if p not in placed and before[p] <= placed), None)
        if ready is None:  # contradictory constraints: nothing better to offer
            return paths
        ordered.append(ready)
        placed.add(ready)
    return ordered
