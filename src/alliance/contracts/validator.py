"""The allow-list validator: a contract's AST is accepted construct by construct, or refused.

Theory of operation
-------------------
Every AST node type a contract may contain has a checker method here (``_stmt_<type>`` for
statements, ``_expr_<type>`` for expressions); a node type without one is refused, so a construct
Python adds in a later version is refused until someone decides it is safe. A refusal is an
``InvalidContract`` naming the line and the construct.

Scopes: the module holds only the API import, constant assignments and function definitions; a
function holds statements. Names: a loaded name must be bound somewhere in the contract (module
constants and functions, arguments and assignments of the function it is in), be an imported API
name, an allowed builtin or exception; names starting with ``_`` and the forbidden builtins are
refused with a reason; the API and builtin names cannot be rebound. The API names have fixed forms
(``ctx.sender``, ``storage[k]``, ``storage.get(k)``, ``k in storage``, ``require(c, r)`` as a
statement...), which lets the metering pass rewrite them into direct calls of the engine.

Decisions recorded in docs/decisions/011-contract-sandbox.md: all classes are refused (a contract
keeps data in dicts and tuples; classes bring dunder methods, descriptors and metaclasses), as are
``lambda``, generator expressions (lazy, each carries a frame), the walrus, ``match``, ``assert``
(stripped under ``python -O``, so nodes could differ), ``del`` of a name, ``except ... as e``
(the exception object carries a traceback, and with it frames), ``*args``/``**kwargs`` and
keyword-only arguments, and slice assignment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from alliance.contracts import language
from alliance.contracts.abi import TypeSpec, type_of
from alliance.contracts.errors import InvalidContract
from alliance.contracts.values import INT_LIMIT

SOURCE_BYTES_MAX = 128 * 1024
AST_DEPTH_MAX = 64
AST_NODES_MAX = 50_000
ARGS_MAX = 16

_FLOAT_REASON = "floats round differently across platforms; contracts compute with int"
_RESERVED = (
    language.API_NAMES
    | language.BUILTIN_NAMES
    | language.EXCEPTION_NAMES
    | frozenset(language.FORBIDDEN_NAMES)
    | {"None", "True", "False"}
)
_CALL_ONLY = frozenset({"emit", "call", "revert"})


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    kind: str | None  # "init", "public", "view", or None for a helper
    params: list[tuple[str, TypeSpec]]
    returns: TypeSpec | None
    line: int


@dataclass
class ContractShape:
    """What validation learnt: the functions (ABI ones with types), constants and imported names."""

    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    constants: list[str] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)


def refuse(node: ast.AST, message: str) -> InvalidContract:
    return InvalidContract(getattr(node, "lineno", 0), message)


def parse(source: str, filename: str) -> ast.Module:
    """Parse with the grammar of Python 3.11 (so every node version accepts the same contracts)."""
    size = len(source.encode("utf-8", errors="replace"))
    if size > SOURCE_BYTES_MAX:
        raise InvalidContract(0, f"the source is {size} bytes, over the bound of {SOURCE_BYTES_MAX}")
    try:
        tree = ast.parse(source, filename, feature_version=(3, 11))
    except SyntaxError as exc:
        raise InvalidContract(exc.lineno or 0, f"syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise InvalidContract(0, f"the source cannot be parsed: {type(exc).__name__}") from None
    _check_size(tree)
    return tree


def _check_size(tree: ast.AST) -> None:
    """Bound nesting and node count without recursion, before any recursive pass runs."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > AST_DEPTH_MAX:
            raise refuse(node, f"code nested more than {AST_DEPTH_MAX} levels deep")
        if count > AST_NODES_MAX:
            raise refuse(node, f"the contract has more than {AST_NODES_MAX} syntax nodes")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def validate(tree: ast.Module) -> ContractShape:
    """Check the whole contract; return its shape or raise ``InvalidContract``."""
    shape = ContractShape()
    module_names = _module_level(tree, shape)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            _FunctionChecker(shape, module_names, node).check()
    return shape


# --- module level ----------------------------------------------------------------------------------


def _module_level(tree: ast.Module, shape: ContractShape) -> frozenset[str]:
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            _check_import(node, shape)
        elif _is_docstring(node):
            continue
        elif isinstance(node, ast.Import):
            names = ", ".join(alias.name for alias in node.names)
            raise refuse(node, f"import of {names!r}: a contract imports only from {language.API_MODULE}")
        elif isinstance(node, ast.Assign):
            name = _check_constant(node, shape, defined)
            defined.add(name)
            shape.constants.append(name)
        elif isinstance(node, ast.FunctionDef):
            _bind(node, node.name, defined, "function")
            defined.add(node.name)
            shape.functions[node.name] = _signature(node, shape)
        else:
            raise refuse(
                node,
                f"{_construct(node)} at module level: a contract's module holds only the "
                "import, constant assignments and function definitions",
            )
    return frozenset(defined)


def _construct(node: ast.AST) -> str:
    names = {
        "ClassDef": "class definition",
        "Import": "import",
        "ImportFrom": "import",
        "AsyncFunctionDef": "async function",
        "Expr": "expression statement",
        "For": "for loop",
        "While": "while loop",
        "If": "if statement",
        "With": "with statement",
        "Try": "try statement",
        "Global": "global statement",
        "AugAssign": "augmented assignment",
        "AnnAssign": "annotated assignment",
    }
    return names.get(type(node).__name__, type(node).__name__)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _check_import(node: ast.ImportFrom, shape: ContractShape) -> None:
    if node.module != language.API_MODULE or node.level:
        raise refuse(
            node, f"import of {node.module or '.'!r}: a contract imports only from {language.API_MODULE}"
        )
    for alias in node.names:
        if alias.name == "*":
            raise refuse(node, f"star import from {language.API_MODULE}: name the imported names")
        if alias.name not in language.API_NAMES:
            raise refuse(
                node,
                f"{alias.name!r} is not part of {language.API_MODULE} "
                f"({', '.join(sorted(language.API_NAMES))})",
            )
        if alias.asname is not None:
            raise refuse(node, f"import of {alias.name} as {alias.asname}: API names are not renamed")
        shape.imported.add(alias.name)


def _bind(node: ast.AST, name: str, defined: set[str], what: str) -> None:
    _check_binding(node, name)
    if name in defined:
        raise refuse(node, f"{what} {name!r} is defined twice")


def _check_binding(node: ast.AST, name: str) -> None:
    if name.startswith("_"):
        raise refuse(node, f"name {name!r}: names starting with '_' are not allowed")
    if name in _RESERVED:
        raise refuse(node, f"name {name!r} is reserved (a builtin or part of the contract API)")


def _check_constant(node: ast.Assign, shape: ContractShape, defined: set[str]) -> str:
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
        raise refuse(node, "module-level assignment: assign one constant to one name")
    name = node.targets[0].id
    _bind(node, name, defined, "constant")
    if name in shape.functions:
        raise refuse(node, f"constant {name!r} has the name of a function")
    _ConstantChecker(frozenset(shape.constants), shape).expr(node.value)
    return name


def _signature(node: ast.FunctionDef, shape: ContractShape) -> FunctionInfo:
    kind = _kind(node, shape)
    args = node.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg:
        raise refuse(
            node,
            f"function {node.name!r}: only plain positional parameters are allowed "
            "(no *args, **kwargs, keyword-only or positional-only)",
        )
    if len(args.args) > ARGS_MAX:
        raise refuse(node, f"function {node.name!r} has more than {ARGS_MAX} parameters")
    names: set[str] = set()
    for arg in args.args:
        _bind(arg, arg.arg, names, "parameter")
        names.add(arg.arg)
    _check_defaults(node, kind)
    if kind is None:
        _check_helper_hints(node)
        return FunctionInfo(node.name, None, [], None, node.lineno)
    return _abi_signature(node, kind)


def _kind(node: ast.FunctionDef, shape: ContractShape) -> str | None:
    if not node.decorator_list:
        if node.name == language.INIT_METHOD:
            raise refuse(node, "init must be @public: it is the initialiser the host calls at deploy")
        return None
    [decorator, *rest] = node.decorator_list
    if rest or not isinstance(decorator, ast.Name) or decorator.id not in language.DECORATORS:
        raise refuse(decorator, f"decorator {ast.unparse(decorator)!r}: only @public or @view")
    if decorator.id not in shape.imported:
        raise refuse(decorator, f"decorator @{decorator.id} is not imported from {language.API_MODULE}")
    if node.name == language.INIT_METHOD:
        if decorator.id != "public":
            raise refuse(node, "init must be @public: it is the initialiser the host calls at deploy")
        return "init"
    return decorator.id


def _check_defaults(node: ast.FunctionDef, kind: str | None) -> None:
    for default in node.args.defaults:
        if kind is not None:
            raise refuse(default, f"default value in {node.name!r}: ABI methods take every argument")
        if not _is_immutable_literal(default):
            raise refuse(
                default, f"default value in {node.name!r}: only int, str, bytes, bool or None literals"
            )


def _is_immutable_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, str, bytes, bool, type(None))


def _check_helper_hints(node: ast.FunctionDef) -> None:
    hints = [a.annotation for a in node.args.args if a.annotation is not None]
    if node.returns is not None:
        hints.append(node.returns)
    for hint in hints:
        for part in ast.walk(hint):
            if not isinstance(
                part, ast.Name | ast.Subscript | ast.Tuple | ast.Constant | ast.BinOp | ast.BitOr | ast.Load
            ):
                raise refuse(part, f"type hint {ast.unparse(hint)!r} is not a type")
            if isinstance(part, ast.Name) and part.id.startswith("_"):
                raise refuse(part, f"name {part.id!r}: names starting with '_' are not allowed")


def _abi_signature(node: ast.FunctionDef, kind: str) -> FunctionInfo:
    params = []
    for arg in node.args.args:
        if arg.annotation is None:
            raise refuse(arg, f"parameter {arg.arg!r} of {kind} method {node.name!r} has no type hint")
        params.append((arg.arg, type_of(arg.annotation)))
    if node.returns is None:
        raise refuse(
            node, f"{kind} method {node.name!r} has no return type hint (write -> None if it returns nothing)"
        )
    returns = type_of(node.returns, is_return=True)
    return FunctionInfo(node.name, kind, params, returns, node.lineno)


# --- expressions -----------------------------------------------------------------------------------


class _ExpressionChecker:
    """Checks expressions against the allow-list; subclasses say which names are known."""

    def __init__(self, known: frozenset[str], shape: ContractShape) -> None:
        self.known = known
        self.shape = shape

    def expr(self, node: ast.expr) -> None:
        checker = getattr(self, f"_expr_{type(node).__name__.lower()}", None)
        if checker is None:
            raise refuse(node, f"{_expression_name(node)} is not allowed in a contract")
        checker(node)

    def exprs(self, nodes: Iterable[ast.expr | None]) -> None:
        for node in nodes:
            if node is not None:
                self.expr(node)

    def _expr_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, float | complex):
            raise refuse(node, f"float literal {ast.unparse(node)}: {_FLOAT_REASON}")
        if value is ...:
            raise refuse(node, "'...' is not allowed outside type hints")
        if type(value) is int and value >= INT_LIMIT:
            raise refuse(node, "int literal over 4096 bits")

    def _expr_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            raise refuse(node, f"name {name!r}: names starting with '_' are not allowed")
        if name in language.FORBIDDEN_NAMES:
            raise refuse(node, f"{name!r} is not allowed: {language.FORBIDDEN_NAMES[name]}")
        if name in language.METERED_BUILTINS:
            raise refuse(node, f"{name!r} can only be called directly, not passed as a value")
        if name in language.API_NAMES:
            self._api_name(node)
        elif (
            name not in self.known
            and name not in language.BUILTIN_NAMES
            and name not in language.EXCEPTION_NAMES
        ):
            raise refuse(node, f"unknown name {name!r}")

    def _api_name(self, node: ast.Name) -> None:
        name = node.id
        if name not in self.shape.imported:
            raise refuse(node, f"{name!r} is used but not imported from {language.API_MODULE}")
        forms = {
            "ctx": "ctx.sender, ctx.contract, ctx.height or ctx.time_ms",
            "storage": "storage[key], storage.get(key, default) or key in storage",
            "require": "a statement: require(condition, reason)",
            "public": "a decorator",
            "view": "a decorator",
            "emit": "a call",
            "call": "a call",
            "revert": "a call",
        }
        if name in forms:
            raise refuse(node, f"{name!r} may only be used as {forms[name]}")

    def _expr_attribute(self, node: ast.Attribute) -> None:
        _check_attribute_name(node)
        if isinstance(node.value, ast.Name) and node.value.id == "ctx":
            self._ctx_attribute(node)
            return
        raise refuse(
            node,
            f"attribute {node.attr!r}: methods must be called (obj.{node.attr}(...)); "
            "other attributes are not allowed",
        )

    def _ctx_attribute(self, node: ast.Attribute) -> None:
        if "ctx" not in self.shape.imported:
            raise refuse(node, f"'ctx' is used but not imported from {language.API_MODULE}")
        if node.attr not in language.CTX_ATTRIBUTES:
            raise refuse(node, f"ctx.{node.attr}: ctx has {', '.join(sorted(language.CTX_ATTRIBUTES))}")
        if not isinstance(node.ctx, ast.Load):
            raise refuse(node, "ctx cannot be changed")

    def _expr_call(self, node: ast.Call) -> None:
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise refuse(arg, "*args in a call is not allowed")
        for keyword in node.keywords:
            if keyword.arg is None:
                raise refuse(keyword, "**kwargs in a call is not allowed")
            if keyword.arg.startswith("_"):
                raise refuse(keyword, f"keyword {keyword.arg!r}: names starting with '_' are not allowed")
        func = node.func
        if isinstance(func, ast.Name):
            self._call_name(node, func)
        elif isinstance(func, ast.Attribute):
            self._call_method(node, func)
        else:
            raise refuse(node, f"call of {ast.unparse(func)!r}: call a function or method by name")
        self.exprs(node.args)
        self.exprs(k.value for k in node.keywords)

    def _call_name(self, node: ast.Call, func: ast.Name) -> None:
        name = func.id
        arity = {"revert": 1, "call": 3, "Address": 1}
        if name in _CALL_ONLY or name == "Address":
            if name not in self.shape.imported:
                raise refuse(func, f"{name!r} is used but not imported from {language.API_MODULE}")
            positional = 1 if name == "emit" else arity[name]
            if len(node.args) != positional or (node.keywords and name != "emit"):
                shape = (
                    "emit(name, **fields)" if name == "emit" else f"{name}() with {positional} argument(s)"
                )
                raise refuse(node, f"{name} takes {shape}")
            return
        if name in language.EXCEPTION_NAMES:
            raise refuse(node, f"{name}(...) outside a raise statement is not allowed")
        if name not in language.METERED_BUILTINS:
            self._expr_name(func)

    def _call_method(self, node: ast.Call, func: ast.Attribute) -> None:
        _check_attribute_name(func)
        target = func.value
        if isinstance(target, ast.Name) and target.id == "storage":
            if func.attr != "get" or not 1 <= len(node.args) <= 2 or node.keywords:
                raise refuse(node, "storage methods: storage.get(key) or storage.get(key, default)")
            if "storage" not in self.shape.imported:
                raise refuse(node, f"'storage' is used but not imported from {language.API_MODULE}")
            return
        if func.attr not in language.METHOD_NAMES:
            raise refuse(
                func,
                f"method {func.attr!r} is not allowed (allowed: {', '.join(sorted(language.METHOD_NAMES))})",
            )
        self.expr(target)

    def _expr_binop(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Div):
            raise refuse(node, f"true division '/': {_FLOAT_REASON}; use '//'")
        if isinstance(node.op, ast.MatMult):
            raise refuse(node, "the '@' operator is not allowed")
        if isinstance(node.op, ast.Pow) and _is_negative_literal(node.right):
            raise refuse(node, f"'**' with a negative exponent makes a float: {_FLOAT_REASON}")
        self.exprs((node.left, node.right))

    def _expr_unaryop(self, node: ast.UnaryOp) -> None:
        self.expr(node.operand)

    def _expr_boolop(self, node: ast.BoolOp) -> None:
        self.exprs(node.values)

    def _expr_ifexp(self, node: ast.IfExp) -> None:
        self.exprs((node.test, node.body, node.orelse))

    def _expr_compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.Is | ast.IsNot) and not (_is_singleton(left) or _is_singleton(right)):
                raise refuse(
                    node,
                    "'is' compares identities, which differ between nodes: "
                    "use it only with None, True or False, and '==' otherwise",
                )
        storage_at = [i for i, o in enumerate(operands) if isinstance(o, ast.Name) and o.id == "storage"]
        if storage_at:
            if storage_at != [1] or len(node.ops) != 1 or not isinstance(node.ops[0], ast.In | ast.NotIn):
                raise refuse(node, "storage may only be compared as 'key in storage' or 'key not in storage'")
            if "storage" not in self.shape.imported:
                raise refuse(node, f"'storage' is used but not imported from {language.API_MODULE}")
            operands = operands[:1]
        self.exprs(operands)

    def _expr_subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.value, ast.Name) and node.value.id == "storage":
            if "storage" not in self.shape.imported:
                raise refuse(node, f"'storage' is used but not imported from {language.API_MODULE}")
            if isinstance(node.slice, ast.Slice):
                raise refuse(node, "storage cannot be sliced")
        else:
            self.expr(node.value)
        if isinstance(node.slice, ast.Slice):
            if not isinstance(node.ctx, ast.Load):
                raise refuse(node, "slice assignment and deletion are not allowed")
            self.exprs((node.slice.lower, node.slice.upper, node.slice.step))
        else:
            self.expr(node.slice)

    def _expr_list(self, node: ast.List) -> None:
        self._elements(node.elts)

    def _expr_tuple(self, node: ast.Tuple) -> None:
        self._elements(node.elts)

    def _elements(self, elements: list[ast.expr]) -> None:
        for element in elements:
            if isinstance(element, ast.Starred):
                raise refuse(element, "unpacking with * in a display is not allowed")
        self.exprs(elements)

    def _expr_dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            if key is None:
                raise refuse(node, "unpacking with ** in a dict display is not allowed")
        self.exprs(node.keys)
        self.exprs(node.values)

    def _expr_joinedstr(self, node: ast.JoinedStr) -> None:
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                if part.conversion != -1:
                    raise refuse(
                        part,
                        f"f-string conversion !{chr(part.conversion)}: it calls repr, str or ascii "
                        "on any object; write {value} alone",
                    )
                if part.format_spec is not None:
                    raise refuse(part, "f-string format spec: it calls __format__; write {value} alone")
                self.expr(part.value)
            elif not isinstance(part, ast.Constant):
                raise refuse(part, f"{_expression_name(part)} in an f-string")

    def _expr_slice(self, node: ast.Slice) -> None:  # only reached through a Subscript's checker
        raise refuse(node, "a slice outside a subscript")


class _ConstantChecker(_ExpressionChecker):
    """Module-level constant expressions: literals, arithmetic on them, earlier constants, Address."""

    _ALLOWED = (ast.Constant, ast.UnaryOp, ast.BinOp, ast.Tuple, ast.List, ast.Dict, ast.Name, ast.Call)

    def expr(self, node: ast.expr) -> None:
        if not isinstance(node, self._ALLOWED):
            raise refuse(
                node,
                f"{_expression_name(node)} in a module-level constant: constants are literals, "
                "arithmetic on them, earlier constants or Address('0x...')",
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name)
            and node.func.id == "Address"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            raise refuse(node, "the only call allowed in a module-level constant is Address('0x...')")
        super().expr(node)


class _FunctionChecker(_ExpressionChecker):
    """One module-level function: its statements, with its own bound names known."""

    def __init__(self, shape: ContractShape, module_names: frozenset[str], node: ast.FunctionDef) -> None:
        super().__init__(module_names | _bound_names(node), shape)
        self.node = node
        self.in_handler = 0

    def check(self) -> None:
        body = self.node.body
        start = 1 if body and _is_docstring(body[0]) and len(body) > 1 else 0
        self.stmts(body[start:])

    def stmts(self, nodes: list[ast.stmt]) -> None:
        for node in nodes:
            checker = getattr(self, f"_stmt_{type(node).__name__.lower()}", None)
            if checker is None:
                raise refuse(node, f"{_statement_name(node)} is not allowed in a contract")
            checker(node)

    def _stmt_expr(self, node: ast.Expr) -> None:
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "require":
            if "require" not in self.shape.imported:
                raise refuse(node, f"'require' is used but not imported from {language.API_MODULE}")
            if len(value.args) != 2 or value.keywords or any(isinstance(a, ast.Starred) for a in value.args):
                raise refuse(node, "require takes (condition, reason)")
            self.exprs(value.args)
            return
        self.expr(value)

    def _stmt_assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, single=len(node.targets) == 1)
        self.expr(node.value)

    def _target(self, target: ast.expr, *, single: bool) -> None:
        if isinstance(target, ast.Name):
            _check_binding(target, target.id)
        elif isinstance(target, ast.Subscript):
            if isinstance(target.value, ast.Name) and target.value.id == "storage" and not single:
                raise refuse(target, "a storage write takes one target: storage[key] = value")
            self._expr_subscript(target)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                if not isinstance(element, ast.Name):
                    raise refuse(element, "unpacking assigns to plain names only (a, b = ...)")
                _check_binding(element, element.id)
        elif isinstance(target, ast.Attribute):
            raise refuse(
                target, f"assignment to attribute {target.attr!r}: contract values have no attributes to set"
            )
        else:
            raise refuse(target, f"assignment to {_expression_name(target)}")

    def _stmt_augassign(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, ast.Div):
            raise refuse(node, f"true division '/=': {_FLOAT_REASON}; use '//='")
        if isinstance(node.op, ast.MatMult):
            raise refuse(node, "the '@=' operator is not allowed")
        target = node.target
        if isinstance(target, ast.Subscript):
            if not isinstance(target.value, ast.Name) or not isinstance(
                target.slice, ast.Name | ast.Constant
            ):
                raise refuse(
                    node,
                    "augmented assignment to an item takes a plain name and key "
                    "(d[k] += v); write d[k] = d[k] + v otherwise",
                )
        elif not isinstance(target, ast.Name):
            raise refuse(node, f"augmented assignment to {_expression_name(target)}")
        self._target(target, single=True)
        self.expr(node.value)

    def _stmt_return(self, node: ast.Return) -> None:
        self.exprs((node.value,))

    def _stmt_if(self, node: ast.If) -> None:
        self.expr(node.test)
        self.stmts(node.body)
        self.stmts(node.orelse)

    def _stmt_for(self, node: ast.For) -> None:
        self._target(node.target, single=True)
        if isinstance(node.target, ast.Subscript):
            raise refuse(node.target, "a for loop assigns to names only")
        self.expr(node.iter)
        self.stmts(node.body)
        self.stmts(node.orelse)

    def _stmt_while(self, node: ast.While) -> None:
        self.expr(node.test)
        self.stmts(node.body)
        self.stmts(node.orelse)

    def _stmt_break(self, node: ast.Break) -> None:
        pass

    def _stmt_continue(self, node: ast.Continue) -> None:
        pass

    def _stmt_pass(self, node: ast.Pass) -> None:
        pass

    def _stmt_raise(self, node: ast.Raise) -> None:
        if node.cause is not None:
            raise refuse(node, "raise ... from ...: chained exceptions are not allowed")
        exc = node.exc
        if exc is None:
            if not self.in_handler:
                raise refuse(node, "a bare raise outside an except clause")
            return
        func = exc.func if isinstance(exc, ast.Call) else exc
        if not isinstance(func, ast.Name) or func.id not in language.EXCEPTION_NAMES:
            raise refuse(
                node,
                f"raise {ast.unparse(exc)}: raise one of {', '.join(sorted(language.EXCEPTION_NAMES))}"
                " (or use revert(reason))",
            )
        if isinstance(exc, ast.Call):
            if exc.keywords or any(isinstance(a, ast.Starred) for a in exc.args):
                raise refuse(node, "an exception takes positional arguments only")
            self.exprs(exc.args)

    def _stmt_try(self, node: ast.Try) -> None:
        if node.finalbody:
            raise refuse(node, "try/finally: a finally clause would run while the engine stops the call")
        self.stmts(node.body)
        for handler in node.handlers:
            self._handler(handler)
        self.stmts(node.orelse)

    def _handler(self, handler: ast.ExceptHandler) -> None:
        kinds = handler.type
        if kinds is None:
            raise refuse(handler, "bare except: name the exceptions (ValueError, KeyError, ...)")
        names = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
        for name in names:
            if not isinstance(name, ast.Name) or name.id not in language.EXCEPTION_NAMES:
                raise refuse(
                    name,
                    f"except {ast.unparse(name)}: only "
                    f"{', '.join(sorted(language.EXCEPTION_NAMES))} may be caught",
                )
        if handler.name is not None:
            raise refuse(
                handler,
                f"except ... as {handler.name}: the exception object is not available "
                "(it carries a traceback)",
            )
        self.in_handler += 1
        self.stmts(handler.body)
        self.in_handler -= 1

    def _stmt_delete(self, node: ast.Delete) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Subscript):
            raise refuse(node, "del takes one item (del d[k]); deleting names is not allowed")
        self._expr_subscript(node.targets[0])

    def _expr_listcomp(self, node: ast.ListComp) -> None:
        self._generators(node.generators)
        self.expr(node.elt)

    def _expr_dictcomp(self, node: ast.DictComp) -> None:
        self._generators(node.generators)
        self.exprs((node.key, node.value))

    def _generators(self, generators: list[ast.comprehension]) -> None:
        for generator in generators:
            if generator.is_async:
                raise refuse(generator.iter, "async comprehension")
            self._target(generator.target, single=True)
            if isinstance(generator.target, ast.Subscript):
                raise refuse(generator.target, "a comprehension assigns to names only")
            self.expr(generator.iter)
            self.exprs(generator.ifs)


def _bound_names(node: ast.FunctionDef) -> frozenset[str]:
    """Every name the function binds anywhere (arguments, targets, loop and comprehension variables)."""
    names = {arg.arg for arg in node.args.args}
    for child in _walk_function(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
    return frozenset(names)


def _walk_function(node: ast.FunctionDef) -> Iterator[ast.AST]:
    for statement in node.body:
        yield from ast.walk(statement)


def _check_attribute_name(node: ast.Attribute) -> None:
    if node.attr.startswith("_"):
        raise refuse(node, f"attribute {node.attr!r}: names starting with '_' are not allowed")


def _is_negative_literal(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int)
        and node.operand.value > 0
    )


def _is_singleton(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (
        node.value is None or node.value is True or node.value is False
    )


_EXPRESSION_NAMES = {
    "Lambda": "lambda",
    "GeneratorExp": "a generator expression",
    "SetComp": "a set comprehension",
    "Set": "a set display",
    "NamedExpr": "the walrus operator ':='",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield from",
    "Starred": "unpacking with *",
    "ListComp": "a comprehension",
    "DictComp": "a comprehension",
    "FormattedValue": "a formatted value",
}
_STATEMENT_NAMES = {
    "ClassDef": "a class definition",
    "FunctionDef": "a nested function definition",
    "Global": "global",
    "Nonlocal": "nonlocal",
    "With": "with",
    "AsyncWith": "async with",
    "AsyncFor": "async for",
    "AsyncFunctionDef": "an async function",
    "Import": "import",
    "ImportFrom": "import",
    "Assert": "assert (use require)",
    "Match": "match",
    "TryStar": "try/except*",
    "AnnAssign": "an annotated assignment",
}


def _expression_name(node: ast.AST) -> str:
    return _EXPRESSION_NAMES.get(type(node).__name__, type(node).__name__)


def _statement_name(node: ast.AST) -> str:
    return _STATEMENT_NAMES.get(type(node).__name__, type(node).__name__)
