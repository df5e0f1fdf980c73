"""The architecture as a checker: floors import only downward, domains never import each other, the ground floor
imports nothing of ours, only `assets/` imports dagster, and nothing imports `assets/` or the top floor.

Kept apart from the test so its own unit test can run it on small planted trees (tests/unit/test_architecture.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Bottom to top; a module may import its own floor and the floors below it.
FLOORS = ("lakehouse", "stack", "ingest", "pipelines", "features", "models", "serving", "assets", "entrypoints")
GROUND, TOP = FLOORS[0], FLOORS[-1]
# The packages that hold one folder per domain (or model), beside a `core/` kit.
LAYERED = ("ingest", "pipelines", "assets")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name (the module itself when `from package import module`)
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse_tree(root: Path, packages: Iterable[str] = FLOORS) -> dict[str, list[Import]]:
    """Every module under ``packages`` and what it imports (anywhere in the file, lazy imports included)."""
    files = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    modules = {module_name(root, path): path for path in files}
    found: dict[str, list[Import]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        imports: list[Import] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imports += [Import(name, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node.module, node.level)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    imports.append(Import(name, submodule if submodule in modules else base, node.lineno))
        found[name] = imports
    return found


def _absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    parts = importer.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join([*anchor, module] if module else anchor)


def ours(target: str) -> bool:
    return target.split(".")[0] in FLOORS


def floor(module: str) -> int:
    return FLOORS.index(module.split(".")[0])


def owner(module: str, domains: Iterable[str]) -> str | None:
    """The domain a module belongs to (``ingest.chat.app`` → chat), or None for kits and shared code."""
    parts = module.split(".")
    return parts[1] if parts[0] in LAYERED and len(parts) > 1 and parts[1] in set(domains) else None


def wire_contracts(tree: Mapping[str, list[Import]]) -> set[str]:
    """Modules named ``contract`` whose package chain and own code import nothing of ours: callable by anyone."""
    contracts = set()
    for name, imports in tree.items():
        if name.split(".")[-1] != "contract" or any(ours(i.target) for i in imports):
            continue
        parents = [".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)]
        if all(not any(ours(i.target) for i in tree.get(parent, [])) for parent in parents):
            contracts.add(name)
    return contracts


def violations(tree: Mapping[str, list[Import]], domains: Iterable[str]) -> list[str]:
    """Each broken rule once per import, as ``module:line imports target (why)``."""
    domains = tuple(domains)
    contracts = wire_contracts(tree)
    found = []
    for imp in (imp for imports in tree.values() for imp in imports):
        why = _broken_rule(imp, domains, contracts)
        if why:
            found.append(f"{imp.importer}:{imp.line} imports {imp.target} ({why})")
    return found


def _broken_rule(imp: Import, domains: tuple[str, ...], contracts: set[str]) -> str | None:
    importer, target = imp.importer, imp.target
    if target.split(".")[0] == "dagster" and importer.split(".")[0] != "assets":
        return "only assets/ imports dagster"
    if not ours(target) or target.split(".")[0] == importer.split(".")[0] == GROUND:
        return _cross_domain(importer, target, domains, contracts) if ours(target) else None
    if importer.split(".")[0] == GROUND:
        return "the ground floor imports nothing of ours"
    if target in contracts:
        return None
    if target.split(".")[0] in ("assets", TOP) and importer.split(".")[0] != target.split(".")[0]:
        return f"nothing imports {target.split('.')[0]}/"
    if floor(target) > floor(importer):
        return f"upward: {FLOORS[floor(importer)]} is below {FLOORS[floor(target)]}"
    return _cross_domain(importer, target, domains, contracts)


def _cross_domain(importer: str, target: str, domains: tuple[str, ...], contracts: set[str]) -> str | None:
    mine, theirs = owner(importer, domains), owner(target, domains)
    if theirs is None or theirs == mine or target in contracts:
        return None
    if importer.split(".")[1:2] == ["core"]:
        return f"a kit never imports a domain ({theirs})"
    if mine is not None:
        return f"domain {mine} imports domain {theirs}"
    return None
