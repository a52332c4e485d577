"""From contract source to a code object: validate, desugar, restrict, meter, compile.

Theory of operation
-------------------
1. ``validator.parse`` and ``validator.validate``: the allow-list (the language is what it accepts).
2. Desugar the API forms that need no engine state: the import goes (the sandbox provides the
   names), as do decorators (the validator recorded each function's kind) and type hints (the ABI
   has them; never evaluated); ``require(c, r)`` becomes ``if not c: revert(r)``, so the reason is
   only built when the call fails; ``d[k] op= v`` becomes ``d[k] = d[k] op v``.
3. RestrictedPython's ``RestrictingNodeTransformer``: a second, independent check of names and
   attributes (it refuses ``_`` names, frame and generator attributes, ``exec``/``eval``...) that
   turns every attribute access, item access and store, iteration and augmented assignment into a
   guard hook. What we add to it, and why: RestrictedPython is a policy toolkit, not a sandbox (its
   own documentation says so): it bounds neither time nor memory, allows floats, sets, classes,
   ``try/finally``, generators and formatting, and leaves the guards' meaning to its user. The
   validator's allow-list closes the language; ``metering`` gives each guard an implementation
   that checks types and charges gas, and meters operators, statements and loops.
4. ``metering.Metering``: gas, sizes, depth, the API's direct calls.
5. ``compile`` with ``optimize=0`` (the same code on every node, whatever its ``-O``).
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from types import CodeType

from RestrictedPython.transformer import RestrictingNodeTransformer

from alliance.contracts import metering, validator
from alliance.contracts.errors import InvalidContract
from alliance.contracts.validator import ContractShape

_RP_LINE = re.compile(r"^Line (\d+): (.*)$", re.DOTALL)


@dataclass(frozen=True)
class CompiledContract:
    code: CodeType
    shape: ContractShape
    filename: str


def compile_contract(source: str, filename: str, runtime_names: frozenset[str]) -> CompiledContract:
    """Validate and compile ``source``; ``runtime_names`` are the ``_`` names the sandbox binds."""
    tree = validator.parse(source, filename)
    shape = validator.validate(tree)
    tree = _Desugar().visit(tree)
    _restrict(tree)
    tree = metering.Metering().visit(tree)
    metering.check_names(tree, runtime_names)
    try:
        code = compile(tree, filename, "exec", dont_inherit=True, optimize=0)
    except SyntaxError as exc:  # e.g. "too many statically nested blocks"
        raise InvalidContract(exc.lineno or 0, f"cannot compile: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InvalidContract(0, f"cannot compile: {type(exc).__name__}") from None
    return CompiledContract(code, shape, filename)


def _restrict(tree: ast.Module) -> None:
    errors: list[str] = []
    RestrictingNodeTransformer(errors, [], {}).visit(tree)
    if errors:
        match = _RP_LINE.match(errors[0])
        line, message = (int(match.group(1)), match.group(2)) if match else (0, errors[0])
        raise InvalidContract(line, f"refused by RestrictedPython: {message}")


class _Desugar(ast.NodeTransformer):
    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = [s for s in node.body if not isinstance(s, ast.ImportFrom)]
        self.generic_visit(node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.decorator_list = []
        node.returns = None
        for arg in node.args.args:
            arg.annotation = None
        self.generic_visit(node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "require":
            condition, reason = value.args
            revert = ast.Expr(ast.Call(ast.Name("revert", ast.Load()), [reason], []))
            return metering.located(ast.If(ast.UnaryOp(ast.Not(), condition), [revert], []), node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        target = node.target
        if not isinstance(target, ast.Subscript):
            return node
        container, key = target.value, target.slice  # a plain name and a name or constant (validated)
        loaded = ast.Subscript(copy.deepcopy(container), copy.deepcopy(key), ast.Load())
        stored = ast.Subscript(container, key, ast.Store())
        return metering.located(ast.Assign([stored], ast.BinOp(loaded, node.op, node.value)), node)
