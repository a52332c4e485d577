"""The metering pass: RestrictedPython's guarded AST in, the engine's metered AST out.

Theory of operation
-------------------
It runs after RestrictedPython's transformer, whose guard hooks (``_getattr_``, ``_getitem_``,
``_write_``, ``_getiter_``, ``_inplacevar_``, ``_unpack_sequence_``...) mark every attribute
access, item access and store, iteration and augmented assignment. Each hook is replaced by a
direct call of the engine's helper for that case (a method call becomes ``_m_<name>(_g_, obj,
...)``, ``storage[k]`` becomes ``_sload_(_inv_, k)``, ``ctx.sender`` becomes ``_inv_.sender``), and
so is every operator and comparison whose cost grows with its operands (``runtime``). ``_g_`` is
the gas meter, ``_inv_`` the running invocation, ``_rt_`` the thread's frames; contract code cannot
name them (the validator refuses names starting with ``_``).

Gas: each statement list (a basic block) starts with

    _g_.used += N
    if _g_.used > _g_.limit: _oog_(_g_, N)

N being ``STATEMENT_GAS`` per statement plus ``CALL_GAS`` per call its statements make outside
nested blocks and ``ELEMENT_GAS`` per list, tuple or dict display and element (a ``while`` body
also pays for its test). A comprehension's iterable becomes
``_citer_(_g_, it, per_item)``, charging every item up front. Each function counts its frame on
``_rt_.depth`` (a ``try/finally`` the engine adds; contracts cannot write one) and stops past
``DEPTH_MAX``. After the pass no guard hook is left: every ``_`` name must be one the runtime binds.
"""

from __future__ import annotations

import ast
from typing import TypeVar

from alliance.contracts import gas as schedule
from alliance.contracts import language
from alliance.contracts.api import DEPTH_MAX
from alliance.types import fail_invariant, invariant

GAS = "_g_"
INVOCATION = "_inv_"
FRAMES = "_rt_"
OUT_OF_GAS = "_oog_"
DEPTH_EXCEEDED = "_deep_"

_BINARY = {
    ast.Add: "_add_",
    ast.Sub: "_sub_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
    ast.FloorDiv: "_floordiv_",
    ast.BitOr: "_or_",
    ast.BitAnd: "_and_",
    ast.BitXor: "_xor_",
}
_INPLACE = {
    "+=": "_iadd_",
    "-=": "_sub_",
    "*=": "_imul_",
    "**=": "_pow_",
    "<<=": "_lshift_",
    "%=": "_mod_",
    "//=": "_floordiv_",
    "|=": "_or_",
    "&=": "_and_",
    "^=": "_xor_",
}
_COMPARE = {
    ast.Eq: "_eq_",
    ast.NotEq: "_ne_",
    ast.Lt: "_lt_",
    ast.LtE: "_le_",
    ast.Gt: "_gt_",
    ast.GtE: "_ge_",
    ast.In: "_in_",
    ast.NotIn: "_notin_",
}
_ITERATION_GUARDS = frozenset({"_getiter_", "_iter_unpack_sequence_", "_unpack_sequence_"})
_API_CALLS = {"revert": ("_revert_", False), "emit": ("_emit_", True), "call": ("_call_", True)}

N = TypeVar("N", bound=ast.AST)


def load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def call(name: str, args: list[ast.expr], keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.Call(load(name), args, keywords or [])


def located(new: N, old: ast.AST) -> N:
    return ast.fix_missing_locations(ast.copy_location(new, old))


def _is_call_of(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _is_storage(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "storage"


def static_gas(node: ast.AST) -> int:
    """What running ``node`` once costs besides its statement: ``CALL_GAS`` per call and
    ``ELEMENT_GAS`` per display (and per element of it: a tuple display allocates each time it
    runs). A comprehension's items are paid by ``_citer_``: only its first iterable counts here."""
    if isinstance(node, ast.ListComp | ast.DictComp):
        return schedule.CALL_GAS + static_gas(node.generators[0].iter)
    if isinstance(node, ast.Call):
        total = schedule.CALL_GAS
    elif isinstance(node, ast.List | ast.Tuple):
        total = schedule.ELEMENT_GAS * (1 + len(node.elts))
    elif isinstance(node, ast.Dict):
        total = schedule.ELEMENT_GAS * (1 + 2 * len(node.keys))
    else:
        total = 0
    for child in ast.iter_child_nodes(node):
        total += static_gas(child)
    return total


def _header_gas(statement: ast.stmt) -> int:
    if isinstance(statement, ast.If | ast.While):
        return static_gas(statement.test)
    if isinstance(statement, ast.For):
        return static_gas(statement.iter)
    if isinstance(statement, ast.Try | ast.FunctionDef):
        return 0
    return static_gas(statement)


def charged(statements: list[ast.stmt], extra_gas: int = 0) -> list[ast.stmt]:
    """``statements`` with their block's gas charge in front."""
    if not statements:
        return statements
    amount = extra_gas + schedule.STATEMENT_GAS * len(statements)
    amount += sum(_header_gas(s) for s in statements)
    used = ast.Attribute(load(GAS), "used", ast.Load())
    add = ast.AugAssign(ast.Attribute(load(GAS), "used", ast.Store()), ast.Add(), ast.Constant(amount))
    over = ast.Compare(used, [ast.Gt()], [ast.Attribute(load(GAS), "limit", ast.Load())])
    stop = ast.If(over, [ast.Expr(call(OUT_OF_GAS, [load(GAS), ast.Constant(amount)]))], [])
    return [located(add, statements[0]), located(stop, statements[0]), *statements]


class Metering(ast.NodeTransformer):
    """Rewrites guards, operators and API forms; adds block charges and frame counting."""

    # --- statement lists -------------------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> ast.Module:
        self.generic_visit(node)
        node.body = charged(node.body)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        depth = ast.Attribute(load(FRAMES), "depth", ast.Load())
        enter = ast.AugAssign(ast.Attribute(load(FRAMES), "depth", ast.Store()), ast.Add(), ast.Constant(1))
        leave = ast.AugAssign(ast.Attribute(load(FRAMES), "depth", ast.Store()), ast.Sub(), ast.Constant(1))
        too_deep = ast.If(
            ast.Compare(depth, [ast.Gt()], [ast.Constant(DEPTH_MAX)]),
            [ast.Expr(call(DEPTH_EXCEEDED, []))],
            [],
        )
        body = [located(too_deep, node), *charged(node.body)]
        frame = ast.Try(body=body, handlers=[], orelse=[], finalbody=[located(leave, node)])
        node.body = [located(enter, node), located(frame, node)]
        return node

    def visit_If(self, node: ast.If) -> ast.If:
        self.generic_visit(node)
        node.body, node.orelse = charged(node.body), charged(node.orelse)
        return node

    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        node.body, node.orelse = charged(node.body), charged(node.orelse)
        return node

    def visit_While(self, node: ast.While) -> ast.While:
        self.generic_visit(node)
        test_gas = schedule.STATEMENT_GAS + static_gas(node.test)
        node.body, node.orelse = charged(node.body, test_gas), charged(node.orelse)
        return node

    def visit_Try(self, node: ast.Try) -> ast.Try:
        self.generic_visit(node)
        node.body, node.orelse = charged(node.body), charged(node.orelse)
        for handler in node.handlers:
            handler.body = charged(handler.body)
        return node

    # --- stores ----------------------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> ast.stmt:
        [target, *rest] = node.targets
        if not rest and isinstance(target, ast.Subscript) and self._writes_storage(target):
            store = call("_sstore_", [load(INVOCATION), self.visit(target.slice), self.visit(node.value)])
            return located(ast.Expr(store), node)
        self.generic_visit(node)
        return node

    def visit_Delete(self, node: ast.Delete) -> ast.stmt:
        [target] = node.targets
        if isinstance(target, ast.Subscript) and self._writes_storage(target):
            return located(ast.Expr(call("_sdel_", [load(INVOCATION), self.visit(target.slice)])), node)
        self.generic_visit(node)
        return node

    @staticmethod
    def _writes_storage(target: ast.Subscript) -> bool:
        return _is_call_of(target.value, "_write_") and _is_storage(target.value.args[0])  # type: ignore[attr-defined]

    def visit_Subscript(self, node: ast.Subscript) -> ast.Subscript:
        # Loads are already _getitem_ calls; this is a store or delete target, _write_(obj)[key].
        invariant(_is_call_of(node.value, "_write_"), "an item store that RestrictedPython did not guard")
        self.generic_visit(node)
        node.slice = located(call("_key_", [load(GAS), node.slice]), node.slice)
        return node

    # --- calls and guards ------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> ast.expr:
        func = node.func
        if _is_call_of(func, "_getattr_"):
            return self._method_call(node, func)  # type: ignore[arg-type]
        if isinstance(func, ast.Name):
            rewritten = self._guard_or_api(node, func.id)
            if rewritten is not None:
                return located(rewritten, node)
        self.generic_visit(node)
        return node

    def _method_call(self, node: ast.Call, attribute: ast.Call) -> ast.expr:
        receiver, name = attribute.args
        invariant(isinstance(name, ast.Constant) and isinstance(name.value, str), "a method name not a str")
        method = name.value  # type: ignore[attr-defined]
        args = [self.visit(arg) for arg in node.args]
        keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
        if _is_storage(receiver):
            return located(call("_sget_", [load(INVOCATION), *args]), node)
        invariant(method in language.METHOD_NAMES, f"method {method!r} passed validation")
        return located(call(f"_m_{method}", [load(GAS), self.visit(receiver), *args], keywords), node)

    def _guard_or_api(self, node: ast.Call, name: str) -> ast.expr | None:
        args = node.args
        if name == "_getattr_":  # an attribute load that is not a method call: only ctx.<attr>
            receiver, attr = args
            invariant(isinstance(receiver, ast.Name) and receiver.id == "ctx", "attribute load outside ctx")
            return ast.Attribute(load(INVOCATION), attr.value, ast.Load())  # type: ignore[attr-defined]
        if name == "_getitem_":
            receiver, key = args
            if _is_storage(receiver):
                return call("_sload_", [load(INVOCATION), self.visit(key)])
            return call("_getitem_", [load(GAS), self.visit(receiver), self.visit(key)])
        if name == "_inplacevar_":
            operator, target, value = args
            op = operator.value  # type: ignore[attr-defined]
            if op == ">>=":
                return ast.BinOp(target, ast.RShift(), self.visit(value))
            return call(_INPLACE[op], [load(GAS), target, self.visit(value)])
        if name in _ITERATION_GUARDS:
            return call("_getiter_", [self.visit(args[0])])
        if name in _API_CALLS:
            helper, takes_invocation = _API_CALLS[name]
            keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
            prefix = [load(INVOCATION)] if takes_invocation else []
            return call(helper, [*prefix, *(self.visit(a) for a in args)], keywords)
        if name in language.METERED_BUILTINS:
            keywords = [ast.keyword(k.arg, self.visit(k.value)) for k in node.keywords]
            return call(f"_b_{name}", [load(GAS), *(self.visit(a) for a in args)], keywords)
        return None

    # --- operators -------------------------------------------------------------------------------

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        helper = _BINARY.get(type(node.op))
        if helper is None:
            return node  # >>: an int only shrinks
        return located(call(helper, [load(GAS), node.left, node.right]), node)

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and _is_storage(node.comparators[0])
        ):
            has: ast.expr = call("_shas_", [load(INVOCATION), self.visit(node.left)])
            if isinstance(node.ops[0], ast.NotIn):
                has = ast.UnaryOp(ast.Not(), has)
            return located(has, node)
        self.generic_visit(node)
        if len(node.ops) == 1:
            helper = _COMPARE.get(type(node.ops[0]))
            if helper is None:
                return node  # is / is not, against None, True or False only
            return located(call(helper, [load(GAS), node.left, node.comparators[0]]), node)
        node.left = self._weighed(node.left)
        node.comparators = [self._weighed(c) for c in node.comparators]
        return node

    @staticmethod
    def _weighed(operand: ast.expr) -> ast.expr:
        if isinstance(operand, ast.Constant):
            return operand
        return located(call("_cw_", [load(GAS), operand]), operand)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.FormattedValue:
        self.generic_visit(node)
        node.value = located(call("_str_", [load(GAS), node.value]), node.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        self.generic_visit(node)
        node.keys = [k if k is None or isinstance(k, ast.Constant) else self._key(k) for k in node.keys]
        return node

    @staticmethod
    def _key(key: ast.expr) -> ast.expr:
        return located(call("_key_", [load(GAS), key]), key)

    # --- comprehensions --------------------------------------------------------------------------

    def visit_ListComp(self, node: ast.ListComp) -> ast.ListComp:
        self.generic_visit(node)
        self._meter_generators(node.generators, [node.elt])
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.DictComp:
        self.generic_visit(node)
        node.key = self._key(node.key)
        self._meter_generators(node.generators, [node.key, node.value])
        return node

    def _meter_generators(self, generators: list[ast.comprehension], element: list[ast.expr]) -> None:
        for index, generator in enumerate(generators):
            guard = generator.iter
            invariant(_is_call_of(guard, "_getiter_"), "a comprehension iterable that was not guarded")
            then = [generators[index + 1].iter] if index + 1 < len(generators) else element
            per_item = schedule.ITERATION_GAS + sum(static_gas(n) for n in [*generator.ifs, *then])
            iterable = guard.args[0]  # type: ignore[attr-defined]
            generator.iter = located(call("_citer_", [load(GAS), iterable, ast.Constant(per_item)]), guard)


def check_names(tree: ast.AST, bound: frozenset[str]) -> None:
    """After the pass every name starting with ``_`` must be one the runtime binds."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("_") and node.id not in bound:
            fail_invariant(f"metering left the name {node.id!r} (line {getattr(node, 'lineno', 0)}) unbound")
