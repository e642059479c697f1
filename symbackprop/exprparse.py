"""A safe parser for user-written activation functions.

Users define activations as text, e.g. ``--activation-def "softsign=x/(1+abs(x))"``. That text is
untrusted, so it never reaches ``eval``, ``exec``, ``compile``, ``sympy.sympify`` or
``parse_expr``: it is turned into a syntax tree by ``ast.parse(text, mode="eval")`` (which only
parses) and the tree is walked with a strict whitelist that builds SymPy objects directly.

Grammar; anything else is rejected with an :class:`~symbackprop.errors.ExpressionError`::

    expr   := number | "x" | "pi" | "e" | "(" expr ")" | ("+" | "-") expr
            | expr ("+" | "-" | "*" | "/" | "**" | "^") expr | name "(" expr ["," expr] ")"
    number := decimal digits, an optional fraction and exponent (2, 0.5, .5, 1e-3), |value| <= 1e6,
              converted exactly (0.1 -> Rational(1, 10)); no 0x10, 0o7, 0b1 or 1_000
    name   := a key of ALLOWED_FUNCTIONS, called with exactly its number of arguments

``^`` means power with the precedence of ``**``, as in math: ``x^2+1`` is ``x**2 + 1``.
``max(a, b)`` and ``min(a, b)`` become ``Piecewise`` where a tie takes the FIRST argument's branch:
``max(0, x) == Piecewise((0, x <= 0), (x, True))``, while ``max(x, 0)`` puts the tie in the x
branch. A custom activation made from either is then normalised by
:func:`symbackprop.admission.admit` so that every kink takes its left derivative (both are relu).

Guarantees: the result depends on the real symbol :data:`X` and contains no ``zoo``, ``nan``,
``oo`` or ``I``, no number wider than 1024 bits and no numeric exponent above 64 in absolute value.
Text over 1000 characters, characters other than printable ASCII and tab, nesting deeper than
100 levels and max or min nested more than 3 deep are rejected before the tree is built. Every
error names ``where``, quotes the offending piece and, where there is one, gives its 1-based
column in the text.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import NoReturn

import sympy

from symbackprop.errors import ExpressionError
from symbackprop.naming import X

MAX_LENGTH = 1000
MAX_DEPTH = 100
MAX_KINK_NESTING = 3
MAX_LITERAL = 10**6
MAX_EXPONENT = 64
MAX_NUMBER_BITS = 1024
# Fraction("1e-99999999") would build a 332-million-bit integer before any size check could run.
_MAX_LITERAL_EXPONENT = 300
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_EXPONENT_RE = re.compile(r"[eE]([+-]?\d+)")
_DECIMAL_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _max(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    # A tie takes the first branch so that max(0, x) is the usual ReLU with derivative 0 at 0.
    return sympy.Piecewise((a, sympy.Le(b, a)), (b, True))


def _min(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return sympy.Piecewise((a, sympy.Le(a, b)), (b, True))


# Wrappers with fixed parameters, because SymPy's own classes take *args and hide their arity.
ALLOWED_FUNCTIONS: Mapping[str, Callable[..., sympy.Expr]] = MappingProxyType(
    {
        "exp": lambda a: sympy.exp(a),
        "log": lambda a: sympy.log(a),
        "sqrt": lambda a: sympy.sqrt(a),
        "abs": lambda a: sympy.Abs(a),
        "tanh": lambda a: sympy.tanh(a),
        "sinh": lambda a: sympy.sinh(a),
        "cosh": lambda a: sympy.cosh(a),
        "sin": lambda a: sympy.sin(a),
        "cos": lambda a: sympy.cos(a),
        "tan": lambda a: sympy.tan(a),
        "atan": lambda a: sympy.atan(a),
        "erf": lambda a: sympy.erf(a),
        "sigmoid": lambda a: sympy.Pow(sympy.Add(1, sympy.exp(sympy.Mul(-1, a))), -1),
        "softplus": lambda a: sympy.log(sympy.Add(1, sympy.exp(a))),
        "max": _max,
        "min": _min,
    }
)
# The number of arguments each function takes, read from the wrappers' signatures.
ARITY: Mapping[str, int] = MappingProxyType(
    {name: len(inspect.signature(fn).parameters) for name, fn in ALLOWED_FUNCTIONS.items()}
)
_CONSTANTS: Mapping[str, sympy.Expr] = MappingProxyType({"x": X, "pi": sympy.pi, "e": sympy.E})
#: The names an expression can use (the variable, the constants, the functions): no activation may
#: take one, or "exp" would mean two things in the documents and code made from the expressions.
RESERVED_NAMES: frozenset[str] = frozenset({*_CONSTANTS, *ALLOWED_FUNCTIONS})

_BINARY: dict[type[ast.operator], Callable[[sympy.Expr, sympy.Expr], sympy.Expr]] = {
    ast.Add: lambda a, b: sympy.Add(a, b),
    ast.Sub: lambda a, b: sympy.Add(a, sympy.Mul(-1, b)),
    ast.Mult: lambda a, b: sympy.Mul(a, b),
    ast.Div: lambda a, b: sympy.Mul(a, sympy.Pow(b, -1)),
    ast.Pow: lambda a, b: sympy.Pow(a, b),
}
_OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
}
_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts (indexing) are not allowed",
    ast.Slice: "slices are not allowed",
    ast.Lambda: "lambda expressions are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "boolean operators ('and', 'or') are not allowed",
    ast.IfExp: "conditional expressions ('... if ... else ...') are not allowed",
    ast.NamedExpr: "assignment expressions (':=') are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Starred: "starred arguments are not allowed",
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "comprehensions are not allowed"),
    **dict.fromkeys((ast.Await, ast.Yield, ast.YieldFrom), "'await' and 'yield' are not allowed"),
}
_LITERALS: dict[type, str] = {
    str: "string literals are",
    bytes: "bytes literals are",
    complex: "complex numbers are",
    bool: "booleans are",
    type(None): "None is",
    type(...): "'...' is",
}
_DEEP = f"nested too deeply (more than {MAX_DEPTH} levels)"
_BIG_EXPONENT = f"(at most {MAX_EXPONENT} in absolute value)"
_BIG_NUMBER = f"(over {MAX_NUMBER_BITS} bits)"


def _quote(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name.lower(), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Parser:
    """Parses ``full[base:]``; errors quote ``full`` and give columns in it."""

    def __init__(self, full: str, base: int, where: str) -> None:
        self.full, self.base, self.where = full, base, where
        self.index: list[int] = []  # position in the rewritten text -> position in ``full``

    def fail(self, template: str, start: int | None = None, end: int | None = None, hint: str = "") -> NoReturn:
        at = ""
        if start is not None:
            # str.replace, not str.format: the quoted piece is user text and may contain braces.
            template = template.replace("{piece}", _quote(self.full[start:end]))
            at = f" at column {start + 1}"
        raise ExpressionError(f"{self.where}: {template}{at} in {_quote(self.full)}{hint}")

    def fail_at(self, node: ast.AST, template: str, hint: str = "") -> NoReturn:
        start = node.col_offset  # type: ignore[attr-defined]
        stop = max(start + 1, node.end_col_offset or 0)  # type: ignore[attr-defined]
        self.fail(template, self.index[start], self.index[stop - 1] + 1, hint)

    def parse(self) -> sympy.Expr:
        body = self.full[self.base :]
        if len(body) > MAX_LENGTH:
            self.fail(f"expression too long ({len(body)} characters, at most {MAX_LENGTH})")
        depth = 0
        for i, ch in enumerate(body, self.base):
            # Printable ASCII keeps col_offset (UTF-8 bytes) equal to columns and rules out NFKC
            # tricks like "\uff45\uff58\uff50"; "#" would start a comment that drops the rest.
            if ch == "#" or (ch != "\t" and not " " <= ch <= "~"):
                self.fail("invalid character {piece}", i, i + 1)
            depth += (ch in "([{") - (ch in ")]}")
            if depth > MAX_DEPTH:  # the tokenizer's own limit (200) gives a vaguer error
                self.fail(_DEEP, i, i + 1)
        if not body.strip():
            self.fail("empty expression")
        start = self.base + len(body) - len(body.lstrip())  # ast.parse rejects leading blanks
        for i, ch in enumerate(self.full[start:], start):
            self.index.extend([i, i] if ch == "^" else [i])
        self.index.append(len(self.full))
        # "^" -> "**" before parsing (not BitXor -> Pow after), so that x^2+1 means x**2 + 1.
        source = self.full[start:].replace("^", "**")
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            if exc.lineno == 1 and exc.offset and exc.offset > 0:
                col = self.index[min(exc.offset - 1, len(self.index) - 1)]
                self.fail(f"syntax error ({exc.msg})", col, col + 1)
            self.fail(f"syntax error ({exc.msg}; the expression seems incomplete)")
        except (RecursionError, MemoryError, ValueError):
            self.fail("expression could not be parsed (too complex or invalid)")
        stack: list[tuple[ast.AST, int, int]] = [(tree.body, 1, 0)]
        while stack:  # before the recursive walk, so that it cannot exhaust the stack
            node, level, kinks = stack.pop()
            if level > MAX_DEPTH:
                self.fail_at(node, _DEEP)
            called = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else ""
            if ALLOWED_FUNCTIONS.get(called) in (_max, _min):
                kinks += 1
                if kinks > MAX_KINK_NESTING:
                    # SymPy folds every inner max into the conditions of the outer one, at a cost
                    # that grows exponentially with this nesting.
                    self.fail_at(node, f"max and min nested more than {MAX_KINK_NESTING} deep: {{piece}}")
            children = ast.iter_child_nodes(node)
            stack.extend((c, level + 1, kinks) for c in children if isinstance(c, ast.expr))
        result = self.build(tree.body)
        if X not in result.free_symbols:
            self.fail(f"expression does not depend on x (it is {result})")
        return result

    def build(self, node: ast.AST) -> sympy.Expr:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            if node.id in ALLOWED_FUNCTIONS:
                self.fail_at(node, f"{{piece}} is a function; call it, e.g. {node.id}(x)")
            names = [*_CONSTANTS, *ALLOWED_FUNCTIONS]
            self.fail_at(node, "unknown name {piece}", _suggest(node.id, names))
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.UAdd, ast.USub)):
                self.bad_operator(node, node.op)
            operand = self.build(node.operand)
            negate = isinstance(node.op, ast.USub)
            return self.checked(node, lambda: sympy.Mul(-1, operand) if negate else operand)
        if isinstance(node, ast.BinOp):
            combine = _BINARY.get(type(node.op)) or self.bad_operator(node, node.op)
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Pow) and right.is_Number and abs(right) > MAX_EXPONENT:
                # Checked before Pow() evaluates 999999**999999.
                self.fail_at(node.right, f"exponent too large {{piece}} {_BIG_EXPONENT}")
            return self.checked(node, lambda: combine(left, right))
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _CONSTRUCTS.get(type(node), f"{type(node).__name__} is not allowed")
        self.fail_at(node, what + ": {piece}")

    def bad_operator(self, node: ast.AST, op: ast.AST) -> NoReturn:
        self.fail_at(node, f"the operator '{_OPERATOR_TEXT[type(op)]}' is not allowed: {{piece}}")

    def call(self, node: ast.Call) -> sympy.Expr:
        func = node.func
        if not isinstance(func, ast.Name):
            what = _CONSTRUCTS.get(type(func), "only named functions can be called")
            self.fail_at(func, what + ": {piece}")
        if func.id not in ALLOWED_FUNCTIONS:
            if func.id in _CONSTANTS:
                self.fail_at(func, "{piece} is not a function")
            self.fail_at(func, "unknown name {piece}", _suggest(func.id, ALLOWED_FUNCTIONS))
        if node.keywords:
            self.fail_at(node.keywords[0], "keyword arguments are not allowed: {piece}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail_at(arg, "starred arguments are not allowed: {piece}")
        arity, got = ARITY[func.id], len(node.args)
        if got != arity:
            plural = "argument" if arity == 1 else "arguments"
            self.fail_at(node, f"{func.id}() takes {arity} {plural}, got {got}: {{piece}}")
        args = [self.build(arg) for arg in node.args]
        return self.checked(node, lambda: ALLOWED_FUNCTIONS[func.id](*args))

    def number(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if type(value) not in (int, float):  # type(), not isinstance(): bool is an int
            self.fail_at(node, f"{_LITERALS.get(type(value), 'this is')} not allowed: {{piece}}")
        stop = node.end_col_offset or node.col_offset + 1
        literal = self.full[self.index[node.col_offset] : self.index[stop - 1] + 1]
        if not _DECIMAL_RE.fullmatch(literal):
            # Python would read 0x10 as 16 and 1_0 as 10; in a formula they are more likely typos.
            self.fail_at(node, "{piece} is not a decimal number (write numbers like 16, 0.5 or 1e-3)")
        power = _EXPONENT_RE.search(literal)
        if power and abs(int(power.group(1))) > _MAX_LITERAL_EXPONENT:
            self.fail_at(node, "number out of range {piece} (exponent too large)")
        exact = Fraction(literal)  # from the text, not the float, so that 0.1 is exactly 1/10
        if abs(exact) > MAX_LITERAL:
            self.fail_at(node, f"number too large {{piece}} (at most {MAX_LITERAL:.0e})")
        return self.checked(node, lambda: sympy.Rational(exact.numerator, exact.denominator))

    def checked(self, node: ast.AST, make: Callable[[], sympy.Expr]) -> sympy.Expr:
        """Build one node and reject it at once, so the column points at the culprit."""
        try:
            result = make()
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            self.fail_at(node, f"cannot evaluate {{piece}} ({type(exc).__name__})")
        if result.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            self.fail_at(node, "{piece} is infinite or undefined")
        if result.has(sympy.I):
            self.fail_at(node, "{piece} is not real")
        # Checking every node bounds the work: each Pow starts from numbers of at most 1024 bits.
        for r in result.atoms(sympy.Rational):
            if max(abs(r.p), r.q).bit_length() > MAX_NUMBER_BITS:
                self.fail_at(node, f"number too large or too precise in {{piece}} {_BIG_NUMBER}")
        for p in result.atoms(sympy.Pow):  # SymPy merges (x^64)^64 and x^64*x^64 into one Pow
            if p.exp.is_Number and abs(p.exp) > MAX_EXPONENT:
                self.fail_at(node, f"exponent too large in {{piece}} {_BIG_EXPONENT}")
        return result


def parse_expression(text: str, *, where: str = "expression") -> sympy.Expr:
    """Parse untrusted ``text`` into a SymPy expression in :data:`X`; see the module docstring."""
    if not isinstance(text, str):
        raise ExpressionError(f"{where}: expected a string, got {type(text).__name__}")
    return _Parser(text, 0, where).parse()


def parse_activation_definition(text: str, *, where: str = "--activation-def") -> tuple[str, sympy.Expr]:
    """Parse ``NAME=EXPRESSION`` into ``(name, expression)``.

    NAME must match ``[a-z][a-z0-9_]*`` and have at most 32 characters; the columns in errors
    count from the start of the whole definition.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{where}: expected a string, got {type(text).__name__}")
    name, sep, _ = text.partition("=")
    if not sep:
        raise ExpressionError(
            f"{where}: missing '=' in {_quote(text)}; expected NAME=EXPRESSION, e.g. 'softsign=x/(1+abs(x))'"
        )
    parser = _Parser(text, len(name) + 1, where)
    if not name.strip():
        parser.fail("empty activation name before '='")
    if not _NAME_RE.fullmatch(name.strip()):
        rule = "a lowercase letter, then lowercase letters, digits or '_', at most 32 characters"
        start = len(name) - len(name.lstrip())
        parser.fail(f"invalid activation name {{piece}} (use {rule})", start, len(name.rstrip()))
    return name.strip(), parser.parse()
