"""The layers of the code base, enforced (README "Where to change what"): the rules and the services never speak to
a messenger, directly or through another module of ours; nothing the bot runs in production imports the
development package (emulators, demo, simulated users, sample and synthetic data); the rules are pure; the report
builders are pure.

Imports are read from the source with `ast` — every `import` and `from … import`, also those inside functions
(a lazy import is still an import) — and followed through the project's own modules, so `services → texts →
telegram` counts as `services → telegram`. No third-party tool: a checker of a few dozen lines whose own
self-tests below show that it finds a direct, a transitive and a lazy violation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "models", "reports")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(source: str, module: str, is_package: bool) -> set[str]:
    """Every module name `source` imports (absolute; relative imports resolved against `module`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            # `from bot.services import outbox` imports the module bot.services.outbox
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def project_graph() -> dict[str, set[str]]:
    """Module → the modules it imports (ours by full name, third-party ones too)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = _module_name(path)
            graph[name] = _imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module reachable from `start` (ours and third-party), each with one import chain that reaches it."""
    chains: dict[str, list[str]] = {start: [start]}
    todo = [start]
    while todo:
        current = todo.pop()
        for imported in sorted(graph.get(current, ())):
            if imported in chains:
                continue
            chains[imported] = chains[current] + [imported]
            if imported in graph:
                todo.append(imported)
    return chains


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(graph: dict[str, set[str]], sources: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    """One line per module under `sources` that reaches a module under `forbidden`: the chain that does."""
    out = []
    for module in sorted(graph):
        if not _under(module, sources):
            continue
        for reached, chain in sorted(reachable(graph, module).items()):
            if reached != module and _under(reached, forbidden):
                out.append(" → ".join(chain))
                break
    return out


# The contracts. Shared infrastructure (configuration, database, texts, models, report builders) sits below the
# services, so it is held to the services' contract too.
SERVICES_AND_BELOW = ("bot.rules", "bot.services", "bot.config", "bot.db", "bot.texts", "models", "reports")
# (bot.cli is left out on purpose: `python -m bot demo` starts the development package, lazily, in that command.)
PRODUCTION = SERVICES_AND_BELOW + ("bot.runtime", "handlers")
CONTRACTS = {
    "rules and services never speak to a messenger": (SERVICES_AND_BELOW, ("telegram",)),
    "production code never imports the development package": (PRODUCTION, ("bot.devtools",)),
    "services never reach into the runtime or the handlers": (SERVICES_AND_BELOW, ("bot.runtime", "handlers")),
    "rules are pure: no database, no services": (("bot.rules",), ("sqlalchemy", "models", "bot.services", "bot.db")),
    "report builders are pure: plain data in, bytes out": (("reports",), ("sqlalchemy", "models", "bot.services",
                                                                         "bot.db", "bot.runtime")),
    # SPEC §11: a messenger adapter knows only the normalised events and actions, so 飞书 or 企业微信 can be added
    # beside it without touching the bridge, the handlers or the services — and it never speaks the Bot API.
    "a messenger adapter knows only the bridge's normalised interface": (
        ("bot.runtime.dingtalk",), ("telegram", "handlers", "bot.services", "models", "sqlalchemy",
                                    "bot.runtime.platform.bridge", "bot.runtime.platform.store", "bot.runtime.app")),
    "the bridge is messenger-neutral": (("bot.runtime.platform",), ("bot.runtime.dingtalk", "handlers")),
}


@pytest.mark.parametrize("contract", sorted(CONTRACTS))
def test_layer_contract_holds(contract):
    sources, forbidden = CONTRACTS[contract]
    assert violations(project_graph(), sources, forbidden) == []


def test_the_layers_exist_as_packages():
    graph = project_graph()
    for package in ("bot.rules", "bot.services", "bot.runtime", "bot.devtools"):
        assert package in graph and any(m.startswith(package + ".") for m in graph), package
    # the runtime really is where the messenger is spoken to: the checker looks at real imports
    assert any("telegram" in imports for module, imports in graph.items() if module.startswith("bot.runtime."))


# --- the checker's own tests: each contract above could fail ---------------------------------------------------

def test_checker_finds_a_direct_import():
    graph = {"bot.services.a": {"telegram"}}
    assert violations(graph, ("bot.services",), ("telegram",)) == ["bot.services.a → telegram"]


def test_checker_finds_an_import_through_another_module():
    graph = {"bot.services.a": {"bot.texts"}, "bot.texts": {"bot.texts.x"}, "bot.texts.x": {"telegram.ext"}}
    assert violations(graph, ("bot.services",), ("telegram",)) == [
        "bot.services.a → bot.texts → bot.texts.x → telegram.ext"]


def test_checker_reads_lazy_and_relative_imports():
    source = "def f():\n    from bot.devtools import demo\n    from . import sibling\n"
    found = _imports(source, "bot.runtime.app", is_package=False)
    assert {"bot.devtools.demo", "bot.runtime.sibling"} <= found


def test_checker_passes_a_clean_graph():
    graph = {"bot.services.a": {"sqlalchemy", "bot.rules.b"}, "bot.rules.b": {"hashlib"}}
    assert violations(graph, ("bot.services", "bot.rules"), ("telegram", "bot.devtools")) == []


# --- no private attributes of other objects (PTB's above all: they change without notice) -----------------------

def private_attribute_uses(source: str, filename: str) -> list[str]:
    """`obj._name` where obj is not self/cls: reaching into another object's (or library's) private state."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if ast.unparse(node.value) not in ("self", "cls"):
                found.append(f"{filename}:{node.lineno} {ast.unparse(node)}")
    return found


def test_production_code_uses_no_private_attributes():
    found = []
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "devtools" not in path.parts:
                found += private_attribute_uses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []


def test_private_attribute_check_finds_one():
    source = "def f(conv, key):\n    return key in conv._conversations or self._ok\n"
    assert private_attribute_uses(source, "x.py") == ["x.py:2 conv._conversations"]
