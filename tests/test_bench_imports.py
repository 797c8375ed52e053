"""The benchmark scripts are not run by the suite (they take minutes), so check that everything
they import from core/ still exists: a moved function must not silently break a benchmark."""
from __future__ import annotations

import ast
import importlib

from tests.conftest import ROOT


def test_bench_scripts_import_only_what_core_has():
    missing = []
    for script in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                module = importlib.import_module(node.module)
                missing += [f"{script.name}: {node.module}.{alias.name}" for alias in node.names
                            if not hasattr(module, alias.name)
                            and importlib.util.find_spec(f"{node.module}.{alias.name}") is None]
    assert not missing, missing
