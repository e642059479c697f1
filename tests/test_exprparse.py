"""Tests of the safe expression parser for user-defined activations."""

from __future__ import annotations

import ast
import builtins
import inspect
import time

import pytest
import sympy
import sympy.parsing.sympy_parser

from symbackprop import exprparse
from symbackprop.errors import ExpressionError, SpecError
from symbackprop.exprparse import X, parse_activation_definition, parse_expression

x = X


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x/(1+abs(x))", x / (1 + sympy.Abs(x))),
        ("x^2", x**2),
        ("x**2", x**2),
        ("x^2+1", x**2 + 1),  # "^" has the precedence of "**", not of Python's xor
        ("-x^2", -(x**2)),
        ("x^2^3", x**8),  # right-associative, as in math
        ("0.1*x", sympy.Rational(1, 10) * x),
        ("x*1e-3", x / 1000),
        (".5*x + 2.*x + 1E+2*x", x / 2 + 2 * x + 100 * x),
        ("3*x", 3 * x),
        ("+x - -x", 2 * x),
        ("sigmoid(x)", 1 / (1 + sympy.exp(-x))),
        ("softplus(x)", sympy.log(1 + sympy.exp(x))),
        ("max(0, x)", sympy.Piecewise((0, x <= 0), (x, True))),
        ("min(0, x)", sympy.Piecewise((0, x >= 0), (x, True))),
        ("x*sigmoid(x)", x / (1 + sympy.exp(-x))),
        ("tanh(softplus(x))*x", x * sympy.tanh(sympy.log(1 + sympy.exp(x)))),
        ("0.5*x*(1+erf(x/sqrt(2)))", x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2),
        (
            "exp(-x^2) + log(1+x^2) + sin(x)*cos(x)/tan(x)",
            sympy.exp(-(x**2)) + sympy.log(1 + x**2) + sympy.sin(x) * sympy.cos(x) / sympy.tan(x),
        ),
        ("sinh(x) - cosh(x) + atan(x)", sympy.sinh(x) - sympy.cosh(x) + sympy.atan(x)),
        ("pi*x + e^x", sympy.pi * x + sympy.exp(x)),
        ("  x + 1  ", x + 1),
    ],
)
def test_valid_expressions(text: str, expected: sympy.Expr) -> None:
    result = parse_expression(text)
    assert result == expected
    assert result.free_symbols == {X}


def test_decimal_literals_are_exact_rationals() -> None:
    coeff = parse_expression("0.1*x").coeff(X)
    assert isinstance(coeff, sympy.Rational) and coeff == sympy.Rational(1, 10)
    assert not parse_expression("0.1*x + 2.5").atoms(sympy.Float)
    assert isinstance(parse_expression("7*x").coeff(X), sympy.Integer)


def test_x_is_real() -> None:
    assert X.name == "x" and X.is_real
    assert parse_expression("abs(x)") == sympy.Abs(X)


def test_max_tie_takes_first_branch_so_relu_derivative_at_zero_is_zero() -> None:
    relu = parse_expression("max(0, x)")
    assert sympy.diff(relu, X).subs(X, 0) == 0
    assert relu.subs(X, -2) == 0 and relu.subs(X, 3) == 3
    assert sympy.diff(parse_expression("max(x, 0)"), X).subs(X, 0) == 1
    assert parse_expression("min(x, 1)").subs(X, 5) == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('ls')", "attribute access is not allowed"),
        ("__import__", "unknown name '__import__'"),
        ("x.__class__", "attribute access is not allowed"),
        ("lambda: 1", "lambda expressions are not allowed"),
        ("[x][0]", "subscripts (indexing) are not allowed"),
        ("[x]", "lists are not allowed"),
        ("'abc'", "string literals are not allowed"),
        ("b'abc'", "bytes literals are not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("x if x else 1", "conditional expressions"),
        ("x < 1", "comparisons are not allowed"),
        ("x and 1", "boolean operators"),
        ("not x", "the operator 'not' is not allowed"),
        ("[x for x in 1]", "comprehensions are not allowed"),
        ("(y := x)", "assignment expressions"),
        ("True*x", "booleans are not allowed"),
        ("None", "None is not allowed"),
        ("x % 2", "the operator '%' is not allowed"),
        ("x // 2", "the operator '//' is not allowed"),
        ("f(x)", "unknown name 'f' at column 1"),
        (
            "x + tanhh(x)",
            "unknown name 'tanhh' at column 5 in 'x + tanhh(x)'; did you mean 'tanh'?",
        ),
        ("exp(x, 2)", "exp() takes 1 argument, got 2"),
        ("max(x)", "max() takes 2 arguments, got 1"),
        ("exp(x=1)", "keyword arguments are not allowed"),
        ("exp(*x)", "starred arguments are not allowed"),
        ("(x)(1)", "'x' is not a function"),
        ("(x+1)(2)", "only named functions can be called"),
        ("exp + x", "'exp' is a function"),
        ("y", "unknown name 'y'"),
        ("E*x", "did you mean 'e'?"),
        ("1j", "complex numbers are not allowed"),
        ("()", "tuples are not allowed"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("x +", "syntax error"),
        ("(x", "syntax error ('(' was never closed) at column 1"),
        ("x^^2", "syntax error"),
        ("x**1000", "exponent too large '1000'"),
        ("x^-65", "exponent too large"),
        ("((x+1)^64)^64", "exponent too large"),
        ("x^64*x^64", "exponent too large"),
        ("999999**999999", "exponent too large"),
        ("9" * 50, "number too large"),
        ("1000001*x", "number too large"),
        ("1e400*x", "number"),
        ("1e-99999999*x", "number out of range"),
        ("(999999^64)^64*x", "number too large or too precise"),
        ("(" * 500 + "x" + ")" * 500, "too long"),
        ("(" * 150 + "x" + ")" * 150, "nested too deeply"),
        ("-" * 500 + "x", "nested too deeply"),
        ("exp(" * 101 + "x" + ")" * 101, "nested too deeply"),
        ("x" * 1001, "too long"),
        ("x\x00", "invalid character '\\x00' at column 2"),
        ("x\n+1", "invalid character"),
        ("x # comment", "invalid character '#'"),
        ("\uff58", "invalid character"),  # fullwidth x, which Python would NFKC-normalize to x
        ("1/0", "'1/0' is infinite or undefined"),
        ("x + 0/0", "infinite or undefined"),
        ("x + log(0)", "infinite or undefined"),
        ("x + sqrt(-1)", "'sqrt(-1)' is not real"),
        ("2+3", "does not depend on x"),
        ("x - x", "does not depend on x"),
        ("0x10*x", "'0x10' is not a decimal number (write numbers like 16, 0.5 or 1e-3) at column 1"),
        ("x + 0o17", "'0o17' is not a decimal number"),
        ("0b101*x", "'0b101' is not a decimal number"),
        ("1_000*x", "'1_000' is not a decimal number"),
        ("x*1_0.5", "'1_0.5' is not a decimal number"),
    ],
)
def test_rejected_expressions(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, where="--activation-def")
    message = str(info.value)
    assert message.startswith("--activation-def: ")
    assert fragment in message


def test_errors_are_spec_errors_with_default_where() -> None:
    with pytest.raises(SpecError, match=r"^expression: unknown name 'q'"):
        parse_expression("q")


def test_hostile_inputs_are_rejected_quickly() -> None:
    hostile = [
        "(999999^64)^64^64*x",
        "((x+1)^64)^64^64",
        "1e-9999999999*x",
        "-" * 999 + "x",
        "x" + "*x" * 499,
        "exp(" * 100 + "x" + ")" * 100,
    ]
    for text in hostile:
        start = time.perf_counter()
        with pytest.raises(ExpressionError):
            parse_expression(text)
        assert time.perf_counter() - start < 30, text  # a hang guard, not a speed goal


def test_parsing_does_not_use_eval_or_sympify(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the parser must not evaluate text")

    monkeypatch.setattr(sympy, "sympify", forbidden)
    monkeypatch.setattr(sympy, "parse_expr", forbidden, raising=False)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert parse_expression("x/(1+abs(x)) + max(0, x)^2 + 0.25") == (
        x / (1 + sympy.Abs(x)) + sympy.Piecewise((0, x <= 0), (x**2, True)) + sympy.Rational(1, 4)
    )
    assert parse_activation_definition("swish=x*sigmoid(x)")[0] == "swish"


def test_module_source_calls_no_evaluator() -> None:
    calls = [node.func for node in ast.walk(ast.parse(inspect.getsource(exprparse))) if isinstance(node, ast.Call)]
    bare = {func.id for func in calls if isinstance(func, ast.Name)}
    methods = {func.attr for func in calls if isinstance(func, ast.Attribute)}  # re.compile is fine
    assert not bare & {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "S"}
    assert not methods & {"sympify", "parse_expr", "S", "literal_eval", "eval"}


def test_allowed_functions_have_fixed_arity() -> None:
    assert set(exprparse.ALLOWED_FUNCTIONS) >= {
        "exp",
        "log",
        "sqrt",
        "abs",
        "sigmoid",
        "max",
        "min",
    }
    assert "where" not in exprparse.ALLOWED_FUNCTIONS
    assert exprparse.ARITY["max"] == 2 and exprparse.ARITY["exp"] == 1
    with pytest.raises(TypeError):
        exprparse.ALLOWED_FUNCTIONS["eval"] = eval  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("softsign=x/(1+abs(x))", "softsign", x / (1 + sympy.Abs(x))),
        (" relu_2 = max(0, x)^2", "relu_2", sympy.Piecewise((0, x <= 0), (x**2, True))),
        ("a" * 32 + "=x", "a" * 32, x),
        ("g1=0.5*x", "g1", x / 2),
    ],
)
def test_activation_definition(text: str, name: str, expected: sympy.Expr) -> None:
    assert parse_activation_definition(text) == (name, expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("softsign", "missing '='"),
        ("=x", "empty activation name"),
        ("  =x", "empty activation name"),
        ("softsign=", "empty expression"),
        ("Softsign=x", "invalid activation name 'Softsign'"),
        ("1relu=x", "invalid activation name '1relu'"),
        ("soft-sign=x", "invalid activation name"),
        ("soft sign=x", "invalid activation name"),
        ("_relu=x", "invalid activation name"),
        ("a" * 33 + "=x", "invalid activation name"),
        ("__import__=x", "invalid activation name"),
        (
            "ok=x+tanhh(x)",
            "unknown name 'tanhh' at column 6 in 'ok=x+tanhh(x)'; did you mean 'tanh'?",
        ),
        ("ok=2", "does not depend on x"),
        ("a=b=x", "syntax error"),
    ],
)
def test_bad_activation_definitions(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_activation_definition(text)
    assert str(info.value).startswith("--activation-def: ")
    assert fragment in str(info.value)
