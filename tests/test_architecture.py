"""The layout's rules, read from the source with ``ast`` (nothing is imported): pages render, services decide, the
data layer stores, the planning math stays pure; modules stay small, uniquely named and free of import cycles.

Every failure names the file, the line and the rule, e.g.
``views/supply.py:12: [page-imports] imports sop_core.db (pages call the services)``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "sop_core" / "db" / "migrations"
MAX_LINES = 600

#: The allowed order of the services: a module may import only modules of a LOWER tier (never its own tier or a
#: higher one). A new services module must be added here.
SERVICE_TIERS: dict[str, int] = {
    # who may do what: below every service that writes
    "permissions": -2,
    # the audit trail as the audit page reads it
    "audit_trail": -1,
    # figures computed once per data version, below every stage that computes them
    "figures": -1,
    # the data each stage reads: masters and imports, price response, forecast runs, KPI definitions
    "data": 0, "pricing": 0, "forecasting": 0, "kpi_targets": 0, "kpi_measures": 0, "forecast_backends": 0,
    # accounts: passwords (hashing, policy), then user administration and sign-in
    "passwords": 0, "users": 1, "sign_in": 1,
    # where the charts put their marks (event spans, labels, a waterfall's axis, status symbols)
    "chart_marks": 0,
    # demand review
    "demand": 1, "overrides": 2, "demand_accuracy": 2,
    # supply review
    "supply": 2, "suppliers": 3, "inventory_policy": 4, "policy_backtest": 5, "supply_review": 5,
    # reconciliation and KPI monitoring
    "plan": 5, "kpi": 5, "monitor": 5, "whatif": 6, "scenarios": 6, "snapshot": 6, "kpi_review": 6,
    # the cycle: states and gates, plan changes, reproduce, sign-off, decisions
    "cycle": 6, "plan_changes": 7, "reproduce": 7, "signoff": 8, "decisions": 8,
    # executive review
    "executive": 9,
    # the figures the pages open with, stored ahead; the first start (schema, demo company, its cycles)
    "page_figures": 10, "bootstrap": 11,
}  # fmt: skip

#: Planning modules that may touch files, and why: Prophet fits through Stan (cmdstanpy), which writes its input
#: and output files to a temporary folder; the engine gives every fit a private folder and deletes it.
PLANNING_FILE_EXCEPTIONS: dict[str, frozenset[str]] = {
    "sop_core/planning/forecast/prophet_engine.py": frozenset({"shutil", "tempfile", "pathlib"}),
}

#: What the pure planning math never imports: other layers, the user interface, databases, files and networks.
PLANNING_FORBIDDEN = (
    "sop_core.db", "sop_core.services", "sop_core.io", "sop_core.cli", "views", "streamlit", "sqlalchemy",
    "psycopg", "psycopg2", "alembic",
    # file and network I/O
    "os", "io", "pathlib", "shutil", "tempfile", "glob", "fileinput", "pickle", "shelve", "csv", "sqlite3",
    "socket", "ssl", "urllib", "http", "ftplib", "smtplib", "requests", "httpx", "aiohttp", "subprocess",
    "openpyxl", "xlsxwriter", "pptx",
)  # fmt: skip


@dataclass(frozen=True)
class Imported:
    """One imported module: its dotted name, the line, whether at module level (outside functions and
    ``if TYPE_CHECKING:``), and whether inside a function body."""

    module: str
    line: int
    module_level: bool
    in_function: bool


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """True when ``dotted`` names a module or package of this project (``sop_core.planning.inventory``)."""
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _production_files() -> list[Path]:
    files = [p for p in (ROOT / "sop_core").rglob("*.py") if MIGRATIONS not in p.parents]
    return sorted([*files, *(ROOT / "views").rglob("*.py"), ROOT / "app.py"])


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from … import`` (relative imports resolved against ``path``)."""
    if not node.level:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


@functools.cache
def imports_of(path: Path) -> tuple[Imported, ...]:
    """Every module ``path`` imports: ``from pkg import name`` counts as ``pkg.name`` when that is a module of
    this project, else as ``pkg``."""
    found: list[Imported] = []

    def visit(node: ast.AST, module_level: bool, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Imported(a.name, child.lineno, module_level, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(path, child)
                for a in child.names:
                    full = f"{base}.{a.name}"
                    target = full if a.name != "*" and _is_module(full) else base
                    found.append(Imported(target, child.lineno, module_level, in_function))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False, True)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), False, in_function)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), module_level, in_function)
            else:
                visit(child, module_level, in_function)

    visit(_tree(path), True, False)
    return tuple(dict.fromkeys(found))


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _report(violations: list[str]) -> None:
    assert not violations, f"{len(violations)} violation(s):\n" + "\n".join(violations)


def _forbidden(paths: list[Path], forbidden: tuple[str, ...], rule: str, why: str) -> list[str]:
    out = []
    for path in paths:
        for imp in imports_of(path):
            hit = next((f for f in forbidden if _is_under(imp.module, f)), None)
            if hit:
                out.append(f"{_rel(path)}:{imp.line}: [{rule}] imports {imp.module} ({why})")
    return out


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


# ------------------------------------------------------------------------------------------------ layers
def test_pages_use_only_the_services() -> None:
    pages = [*_files("views"), ROOT / "app.py"]
    _report(_forbidden(pages, ("sop_core.db", "sop_core.planning"), "page-imports",
                       "pages call the services, never the data layer or the planning math"))


def test_planning_math_is_pure() -> None:
    out = [
        problem
        for problem in _forbidden(_files("sop_core/planning"), PLANNING_FORBIDDEN, "planning-pure",
                                  "the planning math has no database, user interface, file or network I/O")
        if problem.split(" imports ")[1].split(" ")[0] not in PLANNING_FILE_EXCEPTIONS.get(problem.split(":")[0], ())
    ]
    for path in _files("sop_core/planning"):
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                out.append(f"{_rel(path)}:{node.lineno}: [planning-pure] calls open() (no file I/O in the planning math)")
    _report(out)


def test_services_and_io_never_touch_the_user_interface() -> None:
    files = [*_files("sop_core/services"), *_files("sop_core/io")]
    _report(_forbidden(files, ("streamlit", "views"), "no-ui-below-pages", "only pages render"))


def test_data_layer_imports_no_higher_layer() -> None:
    files = [p for p in _files("sop_core/db") if MIGRATIONS not in p.parents]
    higher = ("sop_core.services", "sop_core.io", "sop_core.cli", "views", "sop_core.planning")
    _report(_forbidden(files, higher, "db-layer", "the data layer stores; it calls no higher layer"))


# ------------------------------------------------------------------------------------------------ probing
def _module_names(path: Path) -> set[str]:
    """Names bound to modules in ``path``: ``import x`` / ``import x as y`` and ``from pkg import module``."""
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(path, node)
            names |= {a.asname or a.name for a in node.names if _is_module(f"{base}.{a.name}")}
    return names


def _probes(path: Path) -> Iterator[tuple[int, str]]:
    modules = _module_names(path)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module in {"importlib", "pkgutil"}:
            for a in node.names:
                if a.name in {"import_module", "iter_modules"}:
                    yield node.lineno, f"imports {node.module}.{a.name}"
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in {("importlib", "import_module"), ("pkgutil", "iter_modules")}:
                yield node.lineno, f"calls {func.value.id}.{func.attr}()"
        elif isinstance(func, ast.Name) and func.id in {"__import__", "import_module", "iter_modules"}:
            yield node.lineno, f"calls {func.id}()"
        elif (
            isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) == 3
            and isinstance(node.args[0], ast.Name) and node.args[0].id in modules
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
        ):  # fmt: skip
            yield node.lineno, f"probes module {node.args[0].id} with getattr(…, {node.args[1].value!r}, default)"


def test_no_import_probing() -> None:
    files = [p for p in _production_files() if p != ROOT / "app.py"]
    out = [f"{_rel(p)}:{line}: [import-probing] {what} (import plainly at the top)" for p in files
           for line, what in _probes(p)]
    _report(out)


def test_services_import_at_the_top() -> None:
    out = [f"{_rel(p)}:{imp.line}: [services-lazy-import] imports {imp.module} inside a function (import at the top)"
           for p in _files("sop_core/services") for imp in imports_of(p) if imp.in_function]
    _report(out)


# ------------------------------------------------------------------------------------------------ size, names
def test_production_modules_stay_under_the_line_limit() -> None:
    out = []
    for path in _production_files():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out.append(f"{_rel(path)}:{n}: [line-limit] {n} lines > {MAX_LINES} (split it by topic)")
    _report(out)


def test_module_names_are_unique() -> None:
    seen: dict[str, list[Path]] = {}
    for path in _files("sop_core"):
        if MIGRATIONS not in path.parents and path.stem not in {"__init__", "__main__"}:
            seen.setdefault(path.stem, []).append(path)
    out = [f"{_rel(paths[1])}:1: [unique-names] {name}.py also in {', '.join(_rel(p) for p in paths if p != paths[1])}"
           for name, paths in sorted(seen.items()) if len(paths) > 1]
    _report(out)


# ------------------------------------------------------------------------------------------------ import graph
def _graph() -> dict[str, dict[str, int]]:
    """sop_core module → {imported sop_core module: line}, module-level imports only."""
    files = {_module_name(p): p for p in _files("sop_core") if MIGRATIONS not in p.parents}
    graph: dict[str, dict[str, int]] = {m: {} for m in files}
    for name, path in files.items():
        for imp in imports_of(path):
            if imp.module_level and imp.module in files and imp.module != name:
                graph[name].setdefault(imp.module, imp.line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_no_import_cycles() -> None:
    graph = _graph()
    out = []
    for comp in _cycles(graph):
        members = set(comp)
        edges = [f"{_rel(ROOT / (a.replace('.', '/') + '.py')) if _is_file(a) else a}:{line} → {b}"
                 for a in comp for b, line in graph[a].items() if b in members]
        out.append(f"{edges[0].split(' → ')[0]}: [import-cycle] {' ↔ '.join(comp)} ({'; '.join(edges)})")
    _report(out)


def _is_file(module: str) -> bool:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py").is_file()


def test_services_import_only_lower_tiers() -> None:
    out = []
    for path in _files("sop_core/services"):
        if path.stem == "__init__":
            continue
        tier = SERVICE_TIERS.get(path.stem)
        if tier is None:
            out.append(f"{_rel(path)}:1: [service-tiers] not in SERVICE_TIERS of tests/test_architecture.py (add it)")
            continue
        for imp in imports_of(path):
            if not _is_under(imp.module, "sop_core.services") or imp.module == "sop_core.services":
                continue
            other = imp.module.split(".")[2]
            other_tier = SERVICE_TIERS.get(other)
            if other_tier is not None and other_tier >= tier:
                out.append(f"{_rel(path)}:{imp.line}: [service-tiers] {path.stem} (tier {tier}) imports {other} "
                           f"(tier {other_tier}): a service imports only lower tiers")
    _report(out)


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b": 1}, "b": {"a": 2}, "c": {"a": 3}}) == [["a", "b"]]
