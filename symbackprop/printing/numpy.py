"""NumPy code from registry expressions and derivation results, for a batch with samples as rows.

Contract
--------
:class:`BatchNumPyPrinter` prints the per-sample, index-form expressions of
:mod:`symbackprop.equations` and :mod:`symbackprop.derive` as NumPy code over a batch:

* an indexed quantity with one index, ``a3[p]``, ``z1[i]``, ``y[p]``, ``delta2[p]``,
  ``dLda1[p]``, is the whole batch array ``A3``, ``Z1``, ``Y``, ``D2``, ``dL_dA1`` (one row per
  sample, one column per unit); elementwise arithmetic on them is NumPy broadcasting;
* a sum over units of a product with a weight, ``Σⱼ w⁽ᵏ⁾ᵢⱼ a⁽ᵏ⁻¹⁾ⱼ`` or ``Σᵢ δ⁽ᵏ⁺¹⁾ᵢ w⁽ᵏ⁺¹⁾ᵢₚ``,
  is a matrix product, ``A0 @ W1.T`` or ``D2 @ W2``; any other sum over units is
  ``numpy.sum(..., axis=1, keepdims=True)`` (one value per sample);
* :meth:`BatchNumPyPrinter.batch_sum` prints a per-sample gradient (``a0[q]*delta1[p]``,
  ``delta1[p]``) summed over the samples of the batch: ``D1.T @ A0``, ``numpy.sum(D1, axis=0)``;
  a term that reads parameters alone (the L2 term ``L2*w1[p, q]``) is the same for every sample
  and is added once: ``D1.T @ A0 + L2*W1``.

Numerically stable forms are rules keyed on the SymPy structure, so they apply wherever the
structure occurs, whichever registry entry or derivative produced it:

* ``1/(1 + exp(-u))`` (the logistic function) prints as ``exp(min(u, 0)) / (1 + exp(-|u|))``;
* ``log(1 + exp(u))`` (softplus) prints as ``max(u, 0) + log1p(exp(-|u|))``;

  both exponentials have arguments ≤ 0, so neither overflows, and both tails keep their
  relative accuracy; ``numpy.logaddexp`` would do the same but is not vectorised and costs
  about ten times as much per element (it dominated the training step);
* ``eᵘ·σ(−u)`` (softplus′ = eᵘ/(1 + eᵘ)) is ``σ(u)``, and ``exp(−u)`` beside ``σ(u)`` becomes
  ``(1 − σ(u))/σ(u)`` where no division remains, so no exponential is left to overflow;
* sums that cancel print as the function that does not: ``c·eᵘ − c`` as ``c·expm1(u)``,
  ``c ± c·erf(u)`` as ``c·erfc(∓u)``, ``c ± c·tanh(u)`` as ``2c·σ(±2u)``, ``c − c·tanh²(u)`` as
  ``4c·σ(2u)σ(−2u)``, and ``log(1 + v)`` as ``log1p(v)``;
* ``c·exp(u)`` inside ``tanh`` or ``σ`` reads u clipped where the function is flat in float64;
* ``log(Σⱼ exp(uⱼ))`` prints as ``_logsumexp(U)`` and ``exp(uᵢ)/Σⱼ exp(uⱼ)`` (softmax) as
  ``exp(U - _logsumexp(U))``; the helpers a printout uses are listed by
  :attr:`BatchNumPyPrinter.support` and their source is in :mod:`.numpy_snippets`;
* a ``Piecewise`` prints as nested ``numpy.where`` and each branch is evaluated on its own side
  of every kink (a comparison of a variable with a constant) that bounds it (``u <= 0`` makes
  ``u`` read ``numpy.minimum(u, 0)`` inside that branch), so a branch that is not taken cannot
  overflow; ``(0, u <= 0), (u, True)`` is ``numpy.maximum(u, 0)``.

The dtype of the operands is kept: numbers print as Python floats (NumPy treats them as weak), a
step with values 0 and 1 prints as a boolean mask only as a factor of a product with an array,
and anything else built from constants alone is cast to the dtype of an array it reads (a mask
plus 0.5, or ``numpy.where`` of two numbers, would be float64). erf and erfc have no NumPy form
and print as ``scipy.special`` calls; :attr:`BatchNumPyPrinter.modules` lists such imports.

What remains can underflow to zero (``exp(-1e4)``), which is the exact intended result; the
generated module ignores underflow, and only underflow, around the code printed here.
A structure the printer does not know raises ``NotImplementedError`` naming it.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator

import numpy
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from .. import naming
from ..naming import parse_name
from .stable import Erfc, Logistic, is_step, kink, logistic_argument, prepare, sides_taken, step_condition

#: Quantities that are not numbered by layer: the target, and the predictions a loss reads.
_PLAIN_ARRAYS = {naming.TARGET: naming.TARGETS, naming.PREDICTIONS: naming.PREDICTIONS}
_CALL = re.compile(r"^numpy\.(\w+)\(")
#: Why a module imports SciPy: NumPy has no error function.
_SCIPY_SPECIAL = "the error function erf and erfc = 1 - erf, which NumPy lacks"


def array_name(base: sp.IndexedBase) -> str:
    """The batch array that holds an indexed quantity: ``a3`` → ``A3``, ``y`` → ``Y``."""
    name = base.label.name
    if name in _PLAIN_ARRAYS:
        return _PLAIN_ARRAYS[name]
    parsed = parse_name(name)
    if parsed is None:
        raise NotImplementedError(f"no batch array is known for the indexed quantity '{name}'")
    return naming.array(*parsed)


def _exp_sum_argument(expr: sp.Expr) -> tuple[sp.Expr, sp.Symbol] | None:
    """``(u[j], j)`` when expr is ``Σⱼ exp(u[j])`` over the units of one layer."""
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1 and isinstance(expr.function, sp.exp):
        return expr.function.args[0], expr.limits[0][0]
    return None


class BatchNumPyPrinter(NumPyPrinter):
    """Prints index-form expressions as NumPy code over a batch (see the module docstring)."""

    printmethod = "_batch_numpycode"

    def __init__(self, settings: dict[str, object] | None = None, *, share: bool = False) -> None:
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        #: Names of the support helpers (:mod:`.numpy_snippets`) used by the printouts so far.
        self.support: set[str] = set()
        #: Whether the parts of the stable forms (a log-sum-exp, exp(-|u|)) print as variables computed
        #: once, so that an activation and the loss read from it share them (the training step).
        self.share = share
        #: The variable holding each shared part, by the call that computes it.
        self.shared: dict[str, str] = {}
        #: Statements defining shared variables that the printouts since :meth:`take_pending` use.
        self.pending: list[str] = []
        #: Modules beyond NumPy that the printouts so far call, with what they are called for.
        self.modules: dict[str, str] = {}
        #: Steps that may print as a bare boolean mask: factors of the product being printed, beside
        #: an array that gives the product its dtype (a mask added to a number would be float64).
        self.masks: set[sp.Piecewise] = set()

    def take_pending(self) -> list[str]:
        """The statements that must run before the last printouts, each returned once."""
        pending, self.pending = self.pending, []
        return pending

    def doprint(self, expr: sp.Expr, assign_to: object = None) -> str:
        return super().doprint(prepare(expr), assign_to)

    # -- symbols -------------------------------------------------------------------------
    def _print_Indexed(self, expr: sp.Indexed) -> str:
        # Element (p, q) (or (i, j)) of a weight matrix over its own two indices is the matrix
        # itself, as in the L2 term λw_pq of ∂L/∂w_pq; any other use belongs in a matrix product.
        if len(expr.indices) != 1 and expr.indices not in ((naming.P, naming.Q), (naming.I, naming.J)):
            raise NotImplementedError(f"{expr}: a weight can only appear inside a sum that forms a matrix product")
        return array_name(expr.base)

    def _print_Rational(self, expr: sp.Rational) -> str:
        # A float literal keeps the array's dtype (NumPy treats Python scalars as weak).
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(int(expr))

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    # -- sums over units -----------------------------------------------------------------
    def _print_Sum(self, expr: sp.Sum) -> str:
        if len(expr.limits) != 1:
            raise NotImplementedError(f"a sum over several indices has no batch form: {expr}")
        product = self._matrix_product(expr)
        if product is not None:
            return product
        return f"numpy.sum({self._print(expr.function)}, axis=1, keepdims=True)"

    def _matrix_product(self, expr: sp.Sum) -> str | None:
        index = expr.limits[0][0]
        factors = sp.Mul.make_args(expr.function)
        weights = [f for f in factors if isinstance(f, sp.Indexed) and len(f.indices) == 2]
        vectors = [f for f in factors if isinstance(f, sp.Indexed) and len(f.indices) == 1]
        if len(factors) != 2 or len(weights) != 1 or len(vectors) != 1 or vectors[0].indices[0] != index:
            return None
        weight, vector = weights[0], vectors[0]
        name = array_name(weight.base)
        if weight.indices[1] == index:  # Σⱼ wᵢⱼ aⱼ: rows of W against each sample
            return f"{array_name(vector.base)} @ {name}.T"
        if weight.indices[0] == index:  # Σᵢ δᵢ wᵢₚ: columns of W against each sample
            return f"{array_name(vector.base)} @ {name}"
        return None

    def batch_sum(self, expr: sp.Expr) -> str:
        """A per-sample gradient summed over the samples of the batch (rows); with the 1/m of the
        mean in Δ that is the batch mean, and a term of parameters alone (λw) is its own mean,
        added once."""
        summed, once = _split_once(expr)
        text = self._batch_sum(summed)
        return f"{text} + {self._print(once)}" if once != 0 else text

    def _batch_sum(self, expr: sp.Expr) -> str:
        factors = sp.Mul.make_args(expr)
        indexed = [f for f in factors if isinstance(f, sp.Indexed)]
        if len(factors) == 1 and len(indexed) == 1:
            return f"numpy.sum({array_name(indexed[0].base)}, axis=0)"
        if len(factors) == 2 and len(indexed) == 2:
            from ..naming import P, Q

            by_index = {f.indices[0]: f for f in indexed}
            if set(by_index) == {P, Q}:
                return f"{array_name(by_index[P].base)}.T @ {array_name(by_index[Q].base)}"
        raise NotImplementedError(f"no batch-sum form is known for the gradient {expr}")

    # -- stable forms --------------------------------------------------------------------
    def _print_BatchTotal(self, expr: BatchTotal) -> str:
        return f"numpy.sum({self._print(expr.args[0])})"

    def _print_Logistic(self, expr: Logistic) -> str:
        u = self._saturated(expr.args[0], _LOGISTIC_SATURATION, flat_below=False)
        return f"numpy.divide(numpy.exp(numpy.minimum({self._print(u)}, 0.0)), 1.0 + {self._exp_negative_abs(u)})"

    @contextlib.contextmanager
    def _masks(self, steps: set[sp.Piecewise]) -> Iterator[None]:
        """While printing inside: these steps (and no others) may print as bare boolean masks."""
        saved, self.masks = self.masks, steps
        try:
            yield
        finally:
            self.masks = saved

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        with self._masks(set()):  # a mask to a power would be an integer array
            return self._print_power(expr, rational)

    def _print_power(self, expr: sp.Pow, rational: bool) -> str:
        base, exponent = expr.args
        if exponent == -1:
            if _exp_sum_argument(base) is not None:
                return f"numpy.exp(-{self._logsumexp(base)})"
            return f"1.0 / {self.parenthesize(base, PRECEDENCE['Mul'])}"
        if exponent.is_Integer and exponent > 0:
            return f"{self.parenthesize(base, PRECEDENCE['Pow'])}**{int(exponent)}"
        return super()._print_Pow(expr, rational=rational)

    def _print_Mul(self, expr: sp.Mul) -> str:
        with self._masks(self.masks | _steps_beside_an_array(expr)):
            return self._print_product(expr)

    def _print_product(self, expr: sp.Mul) -> str:
        sums = {f: sp.Symbol(f"({self._print(f)})") for f in sp.Mul.make_args(expr) if isinstance(f, sp.Sum)}
        if sums and not any(_exp_sum_argument(f) for f in sums):
            # A matrix product binds like *, so it is parenthesised inside a product.
            return self._print(expr.xreplace(sums))
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient.is_Rational and not coefficient.is_Integer:
            return f"{float(coefficient)!r}*{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        factors = list(sp.Mul.make_args(expr))
        for position, factor in enumerate(factors):
            if isinstance(factor, sp.Pow) and factor.exp == -1:
                exp_sum = _exp_sum_argument(factor.base)
                if exp_sum is None:
                    continue
                argument, index = exp_sum
                # exp(uᵢ)/Σⱼ exp(uⱼ): softmax, as exp(U − logsumexp U).
                for other, numerator in enumerate(factors):
                    if isinstance(numerator, sp.exp) and _same_quantity(numerator.args[0], argument, index):
                        rest = [f for n, f in enumerate(factors) if n not in (position, other)]
                        softmax = f"numpy.exp({self._print(numerator.args[0])} - {self._logsumexp(factor.base)})"
                        if not rest:
                            return softmax
                        return f"{self.parenthesize(sp.Mul(*rest), 50)} * {softmax}"
        return super()._print_Mul(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        with self._masks(set()):  # a mask plus a number would be float64
            return self._print_sum(expr, order)

    def _print_sum(self, expr: sp.Add, order: str | None) -> str:
        terms = sp.Add.make_args(expr)
        products = [t for t in terms if isinstance(t, sp.Sum)]
        if products and len(products) < len(terms):
            # z = W a + b reads in the order of the equation: the product first.
            rest = sp.Add(*[t for t in terms if not isinstance(t, sp.Sum)])
            return f"{' + '.join(self._print(t) for t in products)} + {self._print(rest)}"
        return super()._print_Add(expr, order=order)

    def _saturated(self, argument: sp.Expr, saturation: float, *, flat_below: bool) -> sp.Expr:
        """``c·exp(u)`` with u clipped where |c|·exp(u) exceeds ``saturation`` (the function it feeds is
        flat there), so that exp cannot overflow; any other argument unchanged. ``flat_below`` says
        whether the function is also flat for large negative arguments (tanh → −1; σ → 0 is not
        flat: its small values matter, times eᵘ in a derivative)."""
        coefficient, rest = argument.as_coeff_Mul()
        if not isinstance(rest, sp.exp) or not coefficient.is_Number or coefficient == 0:
            return argument
        if coefficient < 0 and not flat_below:
            return argument
        bound = math.log(saturation / abs(float(coefficient)))
        u = rest.args[0]
        clipped = sp.Symbol(f"numpy.minimum({self._print(u)}, {bound!r})")
        return coefficient * sp.exp(clipped)

    def _print_tanh(self, expr: sp.tanh) -> str:
        return f"numpy.tanh({self._print(self._saturated(expr.args[0], _TANH_SATURATION, flat_below=True))})"

    def _print_erf(self, expr: sp.erf) -> str:
        self.modules["scipy.special"] = _SCIPY_SPECIAL
        return f"scipy.special.erf({self._print(expr.args[0])})"

    def _print_Erfc(self, expr: Erfc) -> str:
        self.modules["scipy.special"] = _SCIPY_SPECIAL
        return f"scipy.special.erfc({self._print(expr.args[0])})"

    def _print_log(self, expr: sp.log) -> str:
        argument = expr.args[0]
        softplus = logistic_argument(argument)
        if softplus is not None:
            u = -softplus
            return f"numpy.add(numpy.maximum({self._print(u)}, 0.0), numpy.log1p({self._exp_negative_abs(u)}))"
        if _exp_sum_argument(argument) is not None:
            return self._logsumexp(argument)
        if isinstance(argument, sp.Add) and sp.S.One in argument.args:
            return f"numpy.log1p({self._print(argument - 1)})"
        return f"numpy.log({self._print(argument)})"

    def _logsumexp(self, total: sp.Sum) -> str:
        self.support.add("_logsumexp")
        argument, _ = _exp_sum_argument(total)  # type: ignore[misc]
        printed = self._print(argument)
        return self._shared(f"_logsumexp({printed})", "LSE", printed)

    def _exp_negative_abs(self, u: sp.Expr) -> str:
        """exp(−|u|), in (0, 1]: the one exponential of the stable σ and softplus (|−u| is |u|)."""
        printed = self._print(-u if u.could_extract_minus_sign() else u)
        return self._shared(f"numpy.exp(-numpy.abs({printed}))", "EXP_NEG_ABS", printed)

    def _shared(self, call: str, stem: str, argument: str) -> str:
        """call itself, or with sharing on the variable that holds it (defined in :attr:`pending`)."""
        if not self.share:
            return call
        if call not in self.shared:
            name = f"{stem}_{argument}" if argument.isidentifier() else f"{stem}{len(self.shared) + 1}"
            self.shared[call] = name
            self.pending.append(f"{name} = {call}")
        return self.shared[call]

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        pieces = list(expr.args)
        if pieces[-1].cond != sp.true:
            raise NotImplementedError(f"a Piecewise without an 'otherwise' branch has no value everywhere: {expr}")
        if len(pieces) == 2:
            (below, condition), (above, _) = pieces
            edge = kink(condition)
            if edge is not None and edge[1] == 0 and edge[2] == "below" and below == 0 and above == edge[0]:
                return f"numpy.maximum({self._print(edge[0])}, 0.0)"
            step = step_condition(expr)
            if step is not None:
                mask = f"({self._print(step)})"
                if expr in self.masks:
                    return mask
                return self._cast(mask, condition)
        # Each branch reads a variable compared with a constant clipped to its own side of every
        # kink that bounds the branch, so that a branch not taken cannot overflow (numpy.where
        # evaluates them all); a branch that cannot be taken is clipped onto a point of its kinks.
        refused = [sp.Not(condition) for _, condition in pieces[:-1]]
        text = self._side(pieces[-1].expr, refused)
        # numpy.where of numbers alone makes a float64 (or int64) array whatever the operands'
        # dtype, so such a part is cast before it meets an array of theirs, or at the end.
        arrays, constant_array = _carries_array(pieces[-1].expr), False
        for position in range(len(pieces) - 2, -1, -1):
            branch, condition = pieces[position]
            if _carries_array(branch) and constant_array:
                text, constant_array = self._cast(text, expr), False
            side = self._side(branch, [condition, *refused[:position]])
            text = f"numpy.where({self._print(condition)}, {side}, {text})"
            arrays = arrays or _carries_array(branch)
            constant_array = not arrays
        return self._cast(text, expr) if constant_array else text

    def _cast(self, text: str, expr: sp.Basic) -> str:
        return f"{text}.astype({self._dtype_source(expr)}.dtype)"

    def _dtype_source(self, expr: sp.Basic) -> str:
        """An array of expr's whose dtype a result built from constants must take."""
        arrays = sorted((e for e in expr.atoms(sp.Indexed) if len(e.indices) == 1), key=sp.default_sort_key)
        if not arrays:
            raise NotImplementedError(f"no array fixes the dtype of {expr}")
        return array_name(arrays[0].base)

    def _side(self, branch: sp.Expr, conditions: list[sp.Basic]) -> str:
        """branch printed with the variable of each kink among ``conditions`` (all hold where the
        branch is taken) clipped to the kink's side, where the branch could overflow."""
        fragile = branch.has(sp.exp, expm1, sp.sinh, sp.cosh, sp.log) or any(
            not power.exp.is_Integer for power in branch.atoms(sp.Pow)
        )
        if not fragile:  # nothing that can overflow or leave its domain on the other side
            return self._print(branch)
        clipped: dict[sp.Expr, str] = {}
        for variable, constant, side in sides_taken(conditions):
            if not branch.has(variable):
                continue
            inner = clipped.get(variable, self._print(variable))
            clip = "minimum" if side == "below" else "maximum"
            clipped[variable] = f"numpy.{clip}({inner}, {self._print(sp.Float(constant))})"
        return self._print(branch.xreplace({v: sp.Symbol(text) for v, text in clipped.items()}))

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        left = self.parenthesize(expr.lhs, PRECEDENCE["Add"])
        right = self.parenthesize(expr.rhs, PRECEDENCE["Add"])
        return f"{left} {expr.rel_op} {right}"

    _print_LessThan = _print_GreaterThan = _print_StrictLessThan = _print_StrictGreaterThan = _print_Relational

    def _print_And(self, expr: sp.And) -> str:
        return self._connective(expr, "logical_and", deciding=lambda edge: edge)

    def _print_Or(self, expr: sp.Or) -> str:
        return self._connective(expr, "logical_or", deciding=sp.Not)

    def _connective(self, expr: sp.Boolean, function: str, deciding: Callable[[sp.Basic], sp.Basic]) -> str:
        """``and`` or ``or`` of the parts, read in SymPy's order as if it short-circuited (any order
        is sound, the connective commutes): each part matters only where the parts before it have
        not decided the result (where they hold for and, fail for or), so it is printed on that
        side of their kinks, where it must not overflow either."""
        parts: list[str] = []
        guards: list[sp.Basic] = []
        for part in expr.args:
            parts.append(self._side(part, guards))
            if kink(part) is not None:
                guards.append(deciding(part))
        return f"numpy.{function}.reduce([{', '.join(parts)}])"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return expr.name

    def _print_Function(self, expr: sp.Function) -> str:
        raise NotImplementedError(f"no NumPy form is known for the function {expr.func}")

    # -- output into a preallocated buffer -----------------------------------------------
    def print_into(self, expr: sp.Expr, out: str, *, in_place: bool = False) -> list[str]:
        """Statements that write expr into the existing array ``out`` with as few temporaries as
        the top of the tree allows: a matrix product and the last ufunc call take ``out=``.
        With ``in_place`` (``out`` is none of expr's arrays) a product or sum is built up in
        ``out`` one operand at a time, so that a chain like ``(1 - A**2) * G`` allocates nothing."""
        expr = prepare(expr)
        # A product's other array gives it its dtype, however its operands are grouped into calls.
        with self._masks(self.masks | _steps_beside_an_array(expr)):
            return self._print_into(expr, out, in_place)

    def _print_into(self, expr: sp.Expr, out: str, in_place: bool) -> list[str]:
        if in_place and _chainable(expr):
            return self._chain_into(expr, out)
        if isinstance(expr, sp.Sum) and self._matrix_product(expr) is not None:
            left, right = self._matrix_product(expr).split(" @ ")  # type: ignore[union-attr]
            return [f"numpy.matmul({left}, {right}, out={out})"]
        if isinstance(expr, sp.Add):
            products = [t for t in expr.args if isinstance(t, sp.Sum) and self._matrix_product(t) is not None]
            if len(products) == 1:
                rest = expr - products[0]
                return [*self.print_into(products[0], out), f"numpy.add({out}, {self._print(rest)}, out={out})"]
        text = self._print(expr)
        call = _CALL.match(text)
        if call and _closes_at_end(text, call.end() - 1) and isinstance(getattr(numpy, call.group(1)), numpy.ufunc):
            return [f"{text[:-1]}, out={out})"]
        if isinstance(expr, sp.Mul) and not any(isinstance(f, sp.Sum) for f in expr.args):
            head, last = _split_last(expr, sp.Mul)
            return [f"numpy.multiply({self._print(head)}, {self._print(last)}, out={out})"]
        if isinstance(expr, sp.Add):
            head, last = _split_last(expr, sp.Add)
            if last.could_extract_minus_sign():
                return [f"numpy.subtract({self._print(head)}, {self._print(-last)}, out={out})"]
            return [f"numpy.add({self._print(head)}, {self._print(last)}, out={out})"]
        return [f"numpy.copyto({out}, {text})"]

    def _chain_into(self, expr: sp.Expr, out: str) -> list[str]:
        """expr (a product, sum or square, see :func:`_chainable`) evaluated inside ``out``: its
        one chainable operand first, recursively, then each other operand applied in place."""
        if isinstance(expr, sp.Pow):
            if _chainable(expr.base):
                return [*self._chain_into(expr.base, out), f"numpy.square({out}, out={out})"]
            return [f"numpy.square({self._print(expr.base)}, out={out})"]
        is_product = isinstance(expr, sp.Mul)
        operands = list(expr.as_ordered_factors() if is_product else expr.as_ordered_terms())
        constants = [o for o in operands if o.is_Number or isinstance(o, sp.Symbol)]
        arrays = [o for o in operands if o not in constants]
        constant = (sp.Mul if is_product else sp.Add)(*constants)
        chained = [o for o in arrays if _chainable(o)]
        first = max(chained, key=sp.count_ops) if chained else arrays[0]
        rest = [o for o in arrays if o is not first]
        if is_product:
            if chained:
                statements = self._chain_into(first, out)
            elif rest:
                statements = [f"numpy.multiply({self._print(first)}, {self._print(rest.pop(0))}, out={out})"]
            else:
                statements, constant = [f"numpy.multiply({self._print(first)}, {self._print(constant)}, out={out})"], 1
            statements += [f"numpy.multiply({out}, {self._print(o)}, out={out})" for o in rest]
            if constant == -1:
                statements.append(f"numpy.negative({out}, out={out})")
            elif constant != 1:
                statements.append(f"numpy.multiply({out}, {self._print(constant)}, out={out})")
            return statements
        # A sum: a chain built first (a negated one built positive, then subtracted from the next
        # term: 1 - A**2), else two terms at once, starting from one that needs no negation.
        terms = [*arrays, *([constant] if constant != 0 else [])]
        if chained:
            terms = [t for t in terms if t is not first]
            if not negated_term(first):
                statements = self._chain_into(first, out)
            else:
                statements = self._chain_into(-first, out) if _chainable(-first) else self.print_into(-first, out)
                if not terms:
                    return [*statements, f"numpy.negative({out}, out={out})"]
                statements.append(f"numpy.subtract({self._print(terms.pop(0))}, {out}, out={out})")
        else:
            start = next((t for t in terms if not negated_term(t)), terms[0])
            terms = [t for t in terms if t is not start]
            statements = [self._combine(self._print(start), terms.pop(0), out)]
        return [*statements, *(self._combine(out, term, out) for term in terms)]

    def _combine(self, left: str, term: sp.Expr, out: str) -> str:
        """left + term into out, as a subtraction when term is negated."""
        if negated_term(term):
            return f"numpy.subtract({left}, {self._print(-term)}, out={out})"
        return f"numpy.add({left}, {self._print(term)}, out={out})"

    def batch_sum_into(
        self, expr: sp.Expr, out: str, ones: str, *, transposed_out: bool = False, once_scale: sp.Expr = sp.S.One
    ) -> str:
        """:meth:`batch_sum` written into ``out``; a sum over rows is a product with ``ones``.
        With ``transposed_out`` (``out`` is a transposed view of a contiguous buffer) a gradient
        ``D.T @ A`` is computed as its transpose ``A.T @ D`` straight into that buffer. A term of
        parameters alone (λw) is multiplied by ``once_scale`` (the factor Δ carries times m, which
        makes the gradient an update) and added in the same statement."""
        summed, once = _split_once(expr)
        text = self._batch_sum(summed)
        if text.startswith("numpy.sum("):
            rows = text[len("numpy.sum(") : -len(", axis=0)")]
            if once == 0:
                return f"numpy.matmul({ones}, {rows}, out={out})"
            return f"numpy.add({ones} @ {rows}, {self._print(once * once_scale)}, out={out})"
        left, right = text.split(" @ ")
        if once != 0:
            term = self._print(once * once_scale)
            if transposed_out:
                return f"numpy.add({right}.T @ {left.removesuffix('.T')}, ({term}).T, out={out}.T)"
            return f"numpy.add({text}, {term}, out={out})"
        if transposed_out:
            return f"numpy.matmul({right}.T, {left.removesuffix('.T')}, out={out}.T)"
        return f"numpy.matmul({left}, {right}, out={out})"


class BatchTotal(sp.Function):
    """Σ over every sample and unit of the batch: the outer sum of a loss, before the mean."""

    nargs = 1


def _split_once(gradient: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(the terms that read a per-sample quantity, the terms that read parameters alone)."""
    once = [
        term
        for term in sp.Add.make_args(gradient)
        if all((parse_name(e.base.label.name) or ("",))[0] in ("w", "b") for e in term.atoms(sp.Indexed))
        and term.atoms(sp.Indexed)
    ]
    return gradient - sp.Add(*once), sp.Add(*once)


def negated_term(term: sp.Expr) -> bool:
    """Whether a term of a sum prints with a leading minus (−y, −2a), so it is best subtracted."""
    return bool(term.could_extract_minus_sign())


def _chainable(expr: sp.Expr) -> bool:
    """Whether :meth:`BatchNumPyPrinter.print_into` may build expr up in place: a square, a sum
    with an array, or a product of two arrays or more, holding no division, no sum over units or
    the batch and no softmax (those print as a whole, by their own rules)."""
    if isinstance(expr, sp.Pow):
        return expr.exp == 2
    if not isinstance(expr, sp.Mul | sp.Add):
        return False
    operands = expr.args
    if any(isinstance(o, sp.Sum | BatchTotal) or (isinstance(o, sp.Pow) and o.exp.is_negative) for o in operands):
        return False
    arrays = [o for o in operands if not (o.is_Number or isinstance(o, sp.Symbol))]
    if isinstance(expr, sp.Mul):  # a scaled array (2*A, -Y) is one call, not a chain
        return len(arrays) >= 2 or any(_chainable(o) for o in arrays)
    return bool(arrays)


#: tanh(v) is 1 in float64 from v ≈ 19.1 on, σ(v) from v ≈ 36.7: an exponential inside them larger
#: than this changes nothing but can overflow.
_TANH_SATURATION = 20.0
_LOGISTIC_SATURATION = 40.0


def _steps_beside_an_array(expr: sp.Expr) -> set[sp.Piecewise]:
    """The steps among the factors of a product that also has a factor other than a number or a
    step: that factor fixes the product's dtype, so the steps may multiply it as boolean masks."""
    if not isinstance(expr, sp.Mul):
        return set()
    steps = {f for f in expr.args if isinstance(f, sp.Piecewise) and is_step(f)}
    if all(f.is_number or f in steps for f in expr.args):
        return set()
    return steps


def _carries_array(expr: sp.Basic) -> bool:
    """Whether expr's value is an array of the operands' dtype: it reads an array outside the
    conditions of a Piecewise (a Piecewise of numbers is numbers, whatever its conditions read)."""
    if isinstance(expr, sp.Indexed):
        return True
    if isinstance(expr, sp.Piecewise):
        return any(_carries_array(branch) for branch, _ in expr.args)
    return any(_carries_array(argument) for argument in expr.args)


def _split_last(expr: sp.Expr, kind: type[sp.Mul] | type[sp.Add]) -> tuple[sp.Expr, sp.Expr]:
    """(everything but the last operand, the last operand), in printing order, with numbers first."""
    operands = list(expr.as_ordered_factors() if kind is sp.Mul else expr.as_ordered_terms())
    scalars = [o for o in operands if o.is_Number or isinstance(o, sp.Symbol)]
    others = [o for o in operands if not (o.is_Number or isinstance(o, sp.Symbol))]
    if kind is sp.Mul and scalars and others:
        # Scalar factors go last so the array expression is evaluated once, then scaled.
        return kind(*others), kind(*scalars)
    return kind(*operands[:-1]), operands[-1]


def _same_quantity(first: sp.Expr, second: sp.Expr, index: sp.Symbol) -> bool:
    """Whether uᵢ and uⱼ name the same layer quantity (they differ only in the unit index)."""
    if not (isinstance(first, sp.Indexed) and isinstance(second, sp.Indexed)):
        return False
    return first.base == second.base and second.indices == (index,)


def _closes_at_end(text: str, opening: int) -> bool:
    depth = 0
    for position in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        if depth == 0:
            return position == len(text) - 1
    return False


def numpy_code(expr: sp.Expr, printer: BatchNumPyPrinter | None = None) -> str:
    """expr printed as batch NumPy code (a fresh printer unless one is given)."""
    return (printer or BatchNumPyPrinter()).doprint(expr)
