"""The package's type stubs list its public API, and everything public has a docstring."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

needlesim = pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")

PKG = Path(needlesim.__file__).parent


def stub_names(path: Path) -> dict[str, set[str]]:
    """Top-level names of a .pyi, and for each class the names it defines."""
    tree = ast.parse(path.read_text())
    out: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            members = set()
            if isinstance(node, ast.ClassDef):
                for n in node.body:
                    if isinstance(n, ast.FunctionDef):
                        members.add(n.name)
                    elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
                        members.add(n.target.id)
            out[node.name] = members
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = set()
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = set()
    return out


def public_members(cls: type) -> set[str]:
    return {n for n in vars(cls) if not n.startswith("_") or n in ("__init__",)}


def test_the_stubs_are_shipped_and_cover_the_api():
    assert (PKG / "py.typed").exists() and (PKG / "__init__.pyi").exists() and (PKG / "_core.pyi").exists()
    stubs = stub_names(PKG / "__init__.pyi")
    missing = [n for n in needlesim.__all__ if n not in stubs]
    assert not missing, f"not in __init__.pyi: {missing}"
    for name in needlesim.__all__:
        obj = getattr(needlesim, name)
        if inspect.isclass(obj) and obj.__module__.startswith("needlesim._api"):
            undeclared = public_members(obj) - stubs[name]
            assert not undeclared, f"{name}: {undeclared} not in __init__.pyi"


def test_the_compiled_module_matches_its_stub():
    stubs = stub_names(PKG / "_core.pyi")
    core = needlesim._core
    for name in dir(core):
        if name.startswith("__"):
            continue
        assert name in stubs, f"_core.{name} is not in _core.pyi"
        obj = getattr(core, name)
        if inspect.isclass(obj):
            methods = {n for n in vars(obj) if not n.startswith("__")}
            assert methods <= stubs[name] | {"from_toml", "from_path", "from_dict"}, (name, methods - stubs[name])


def test_everything_public_has_a_docstring():
    undocumented = []
    for name in needlesim.__all__:
        obj = getattr(needlesim, name)
        if name.startswith("__"):
            continue
        if not (obj.__doc__ or "").strip():
            undocumented.append(name)
        if inspect.isclass(obj):
            for m, v in vars(obj).items():
                if m.startswith("_") and m not in ("__init__", "__getitem__", "__setitem__", "__delitem__"):
                    continue
                if callable(v) or isinstance(v, (property, classmethod, staticmethod)):
                    if not (getattr(v, "__doc__", None) or "").strip():
                        undocumented.append(f"{name}.{m}")
    for name in dir(needlesim._core):
        obj = getattr(needlesim._core, name)
        if callable(obj) and not name.startswith("__") and not (obj.__doc__ or "").strip():
            undocumented.append(f"_core.{name}")
    assert not undocumented, f"no docstring: {undocumented}"
