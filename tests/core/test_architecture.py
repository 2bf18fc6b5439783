"""The architecture ARCHITECTURE.md draws, kept by tests: the layers (import-linter), no
private name imported across modules, one owner for the run folder's file names and for the
environment."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
CORE = ROOT / "resnet_core"
UI = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def python_files(*roots: Path) -> list[Path]:
    files = []
    for root in roots:
        files += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return files


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_the_layers_contract_holds():
    """A module imports only from its own layer or those below it; no cycles in a wing."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    result = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_no_private_name_is_imported_across_modules():
    found = []
    for path in python_files(CORE, *UI):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("resnet_core"):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")
                          and a.name != "_"]  # gettext's name for "translate this" (i18n._)
    assert found == []


def string_constants(path: Path) -> list[str]:
    """The string literals of a file that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in docstrings]


def test_the_run_folders_file_names_are_written_only_in_the_runs_package():
    names = ("checkpoints", "metrics.jsonl", "summary.json", "job.json")
    # torch hub keeps downloaded weights in <hub>/checkpoints: torch's folder, not a run's.
    allowed = {("resnet_core/training/transfer.py", "checkpoints")}
    found = []
    for path in python_files(CORE, *UI):
        rel = str(path.relative_to(ROOT))
        if rel.startswith("resnet_core/runs/"):
            continue
        for text in string_constants(path):
            for name in names:
                if name in text.split("/") and (rel, name) not in allowed:
                    found.append(f"{rel}: {text!r}")
    assert found == []


def test_only_settings_reads_the_environments_workbench_variables():
    found = [f"{path.relative_to(ROOT)}: {text}" for path in python_files(CORE, *UI)
             if path != CORE / "settings.py"
             for text in string_constants(path) if text.startswith("RESNET_WORKBENCH_")]
    assert found == []


WINGS = ("analysis", "classroom", "data", "interop", "runs", "serving", "sweeps", "training")


def test_the_ui_uses_the_core_through_the_wings_public_names():
    """Pages import about ten core names (the wings, the front door, TrainConfig, the errors,
    settings), and every ``wing.name`` they use is in that wing's PUBLIC table."""
    import importlib

    imported, unknown = set(), []
    for path in UI:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "resnet_core.i18n":
                continue  # _, N_ and ngettext: gettext's own names for "translate this" (issue 39)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("resnet_core"):
                assert node.module in ("resnet_core", "resnet_core.settings"), \
                    f"{path.name}: from {node.module} import ... (use a wing's public names)"
                imported |= {f"{node.module}.{a.name}" for a in node.names}
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in WINGS):
                public = importlib.import_module(f"resnet_core.{node.value.id}").PUBLIC
                if node.attr not in public:
                    unknown.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert unknown == []
    assert len(imported) <= 15, sorted(imported)  # the sweeps wing made it 14, i18n (issue 39) 15


def test_no_module_of_the_core_imports_the_bare_package():
    """``from resnet_core import X`` inside the core runs back up every layer (the package's
    ``__init__`` names everything): a module imports what it needs from the module that
    defines it (issue 36: training's loop imported the version that way)."""
    found = []
    for path in python_files(CORE):
        if path == CORE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "resnet_core" and node.level == 0:
                found.append(f"{path.relative_to(ROOT)}: from resnet_core import "
                             + ", ".join(a.name for a in node.names))
            if isinstance(node, ast.Import):
                found += [f"{path.relative_to(ROOT)}: import resnet_core" for a in node.names
                          if a.name == "resnet_core"]
    assert found == []


def test_the_stubs_say_what_the_public_tables_say_and_every_name_exists():
    """Editors and type checkers read each package's ``__init__.pyi`` (the names load lazily,
    so the module itself shows them nothing): generated from the tables, kept equal here, and
    every name in them is defined where the table says."""
    import importlib

    for path, text in stubs().items():
        assert path.is_file() and path.read_text() == text, \
            f"{path} is out of date: run python tests/core/test_architecture.py"
        for node in ast.parse(text).body:
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                assert all(hasattr(module, a.name) for a in node.names), node.module


def test_no_public_name_is_also_a_module_of_its_wing():
    """Importing ``wing.x`` (the module) sets the wing's attribute ``x`` to it, shadowing the
    lazy public name ``x``: a page then called a module (``classroom.lesson_runs`` once)."""
    import importlib
    import pkgutil

    clashes = []
    for info in pkgutil.iter_modules([str(CORE)]):
        if not info.ispkg:
            continue
        wing = importlib.import_module(f"resnet_core.{info.name}")
        modules = {m.name for m in pkgutil.iter_modules(wing.__path__)}
        clashes += [f"{info.name}.{name}" for name in getattr(wing, "PUBLIC", {}) if name in modules]
    import resnet_core

    top = {m.name for m in pkgutil.iter_modules(resnet_core.__path__)}
    clashes += [name for name in resnet_core._EXPORTS if name in top]
    assert clashes == []


def test_a_module_over_about_450_lines_says_at_its_top_why_it_is_one():
    """The style rule (ARCHITECTURE.md): a long module is a choice, written where it is read."""
    import ast as ast_module

    long = []
    for path in python_files(CORE, *UI):
        lines = path.read_text().count("\n")
        if lines > 470:
            doc = ast_module.get_docstring(ast_module.parse(path.read_text())) or ""
            if "Why one module" not in doc:
                long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert long == []


def test_every_benchmark_states_its_last_measured_result_and_machine():
    """airbench's habit: a benchmark's header says what it measured, where and when, so a
    reader knows the figure to expect before running it (RESULTS.md has the detail)."""
    missing = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")) + [ROOT / "benchmarks" / "gpu.sh"]:
        if "Last measured (" not in path.read_text()[:3000]:
            missing.append(path.name)
    assert missing == []


def stubs() -> dict[Path, str]:
    """{each package's ``__init__.pyi``: its text}, from the package's table."""
    import importlib
    import pkgutil

    import resnet_core
    from resnet_core.lazy import stub_text

    out = {CORE / "__init__.pyi": stub_text(
        "resnet_core", {**resnet_core._EXPORTS, "__version__": "resnet_core.version"},
        table_name="_EXPORTS", extra=("MOVED: dict[str, str]", "__all__: list[str]"))}
    for info in pkgutil.iter_modules([str(CORE)]):
        wing = importlib.import_module(f"resnet_core.{info.name}") if info.ispkg else None
        if hasattr(wing, "PUBLIC"):
            out[CORE / info.name / "__init__.pyi"] = stub_text(wing.__name__, wing.PUBLIC)
    return out


if __name__ == "__main__":  # python tests/core/test_architecture.py: write the stubs
    for stub_path, stub in stubs().items():
        stub_path.write_text(stub)
        print(stub_path.relative_to(ROOT))
