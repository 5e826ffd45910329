"""Safe arithmetic over registry ids, for ``derived`` parameters.

A formula such as ``demand.ex_china_multiple_5y ** (1 / demand.ex_china_multiple_horizon) - 1``
is parsed with :mod:`ast` and evaluated by walking the tree: only numbers, registry ids,
``+ - * / **``, unary minus and a few functions are allowed, so a registry file can never run code.
The same evaluator works on floats, numpy arrays (sampled ensembles) and pint quantities (unit checks).
"""
from __future__ import annotations

import ast
import operator
import re
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    "min": np.minimum, "max": np.maximum, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
}


class FormulaError(ValueError):
    """A formula that does not parse or uses something not allowed."""


_ID = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)")


@lru_cache(maxsize=1024)
def _substitute(formula: str) -> tuple[str, tuple[str, ...]]:
    """Replace each registry id with a placeholder (ids may contain keywords like 'yield')."""
    ids: list[str] = []

    text = formula.strip()

    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name in _FUNCS and text[m.end():].lstrip().startswith("("):
            return name
        if name not in ids:
            ids.append(name)
        return f"_v{ids.index(name)}"

    return _ID.sub(repl, text), tuple(ids)


@lru_cache(maxsize=1024)
def parse(formula: str) -> ast.Expression:
    """Parse and vet a formula once; raise FormulaError for anything outside the grammar."""
    expr, _ = _substitute(formula)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"formula does not parse: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load)):
            continue
        if isinstance(node, tuple(_BINOPS)):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            continue
        if isinstance(node, ast.Name) and (node.id.startswith("_v") or node.id in _FUNCS):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
            continue
        raise FormulaError(f"'{ast.unparse(node)}' is not allowed "
                           f"(only numbers, ids, + - * / ** and {', '.join(sorted(_FUNCS))}())")
    return tree


def names(formula: str) -> list[str]:
    """Registry ids a formula refers to, in order of first use."""
    parse(formula)
    return list(_substitute(formula)[1])


def evaluate(formula: str, values: Mapping[str, Any]) -> Any:
    """Evaluate ``formula`` with ``values`` (id -> float, array or quantity)."""
    tree = parse(formula)
    ids = _substitute(formula)[1]

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])  # type: ignore[attr-defined]
        if isinstance(node, ast.Name) and node.id.startswith("_v"):
            name = ids[int(node.id[2:])]
            if name not in values:
                raise FormulaError(f"unknown id '{name}' in formula")
            return values[name]
        raise FormulaError(f"cannot evaluate '{ast.unparse(node)}'")

    return ev(tree.body)
