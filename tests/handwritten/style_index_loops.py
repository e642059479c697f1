"""Style 8: index notation, one explicit loop per index (no matrix products).

z_i = b_i + Σ_j w_ij a_j, a_i = f(z_i); δ_i of the output layer from ∂L/∂ŷ_i; the hidden
δ_j = f′(z_j) Σ_i w_ij δ_i; ∂L/∂w_ij += δ_i a_j and ∂L/∂b_i += δ_i, summed over the samples s and
divided by m at the end. Samples as rows, W (out, in) read as W[i][j], b (n,), scalar math.
``make_grads(activations, loss, mistake=None, layer=None)`` returns ``grads(params, X, Y)``; an
activation is a name or ``(name, alpha)``; the losses are bce (with a sigmoid output, δ_i = ŷ_i − y_i)
and half_sse.

``mistake`` (None for the correct code), at ``layer`` where it is a single layer's:

* ``"leaky_slope_default"``: LeakyReLU′ typed with the slope 0.01 whatever α is;
* ``"untransposed"``: the hidden δ_j = f′(z_j) Σ_i w_ji δ_i (row and column of W swapped) at
  ``layer`` (runs only when the widths agree);
* ``"prime_of_activation"``: f′(a_j) instead of f′(z_j) at ``layer``;
* ``"swapped_indices"``: ∂L/∂w_ij += δ_j a_i at ``layer`` (runs only when the widths agree);
* ``"db1_left_zero"``: the bias loop starts at layer 2, db1 stays at zero;
* ``"double"``: ∂L/∂ŷ_i = 2(ŷ_i − y_i) for half_sse (the ½ forgotten).
"""

from __future__ import annotations

import math

import numpy as np


def _scalar_functions(activation, mistake):
    name, alpha = (activation, None) if isinstance(activation, str) else activation
    if name == "sigmoid":

        def f(z):
            return 1.0 / (1.0 + math.exp(-z))

        return f, (lambda z: f(z) * (1.0 - f(z)))
    if name == "tanh":
        return math.tanh, (lambda z: 1.0 - math.tanh(z) ** 2)
    if name == "identity":
        return (lambda z: z), (lambda z: 1.0)
    if name == "leaky_relu":
        slope = 0.01 if mistake == "leaky_slope_default" else alpha
        return (lambda z: z if z > 0 else alpha * z), (lambda z: 1.0 if z > 0 else slope)
    raise ValueError(name)


def make_grads(activations, loss, mistake=None, layer=None):
    functions = [_scalar_functions(a, mistake) for a in activations]
    L = len(activations)

    def grads(params, X, Y):
        m = len(X)
        n = [len(X[0])] + [len(params["b" + str(k)]) for k in range(1, L + 1)]
        W = {k: params["W" + str(k)] for k in range(1, L + 1)}
        b = {k: params["b" + str(k)] for k in range(1, L + 1)}
        gW = {k: [[0.0] * n[k - 1] for _ in range(n[k])] for k in range(1, L + 1)}
        gb = {k: [0.0] * n[k] for k in range(1, L + 1)}
        for s in range(m):
            a = {0: [float(v) for v in X[s]]}
            z = {}
            for k in range(1, L + 1):
                f = functions[k - 1][0]
                z[k] = [b[k][i] + sum(W[k][i][j] * a[k - 1][j] for j in range(n[k - 1])) for i in range(n[k])]
                a[k] = [f(z[k][i]) for i in range(n[k])]
            delta = {}
            if loss == "bce":
                delta[L] = [a[L][i] - Y[s][i] for i in range(n[L])]
            else:  # half_sse
                factor = 2.0 if mistake == "double" else 1.0
                fprime = functions[L - 1][1]
                delta[L] = [factor * (a[L][i] - Y[s][i]) * fprime(z[L][i]) for i in range(n[L])]
            for k in range(L - 1, 0, -1):
                fprime = functions[k - 1][1]
                delta[k] = []
                for j in range(n[k]):
                    if mistake == "untransposed" and layer == k:
                        total = sum(W[k + 1][j][i] * delta[k + 1][i] for i in range(n[k + 1]))
                    else:
                        total = sum(W[k + 1][i][j] * delta[k + 1][i] for i in range(n[k + 1]))
                    if mistake == "prime_of_activation" and layer == k:
                        delta[k].append(total * fprime(a[k][j]))
                    else:
                        delta[k].append(total * fprime(z[k][j]))
            for k in range(1, L + 1):
                for i in range(n[k]):
                    for j in range(n[k - 1]):
                        if mistake == "swapped_indices" and layer == k:
                            gW[k][i][j] += delta[k][j] * a[k - 1][i]
                        else:
                            gW[k][i][j] += delta[k][i] * a[k - 1][j]
            for k in range(2 if mistake == "db1_left_zero" else 1, L + 1):
                for i in range(n[k]):
                    gb[k][i] += delta[k][i]
        result = {}
        for k in range(1, L + 1):
            result["dW" + str(k)] = np.array([[gW[k][i][j] / m for j in range(n[k - 1])] for i in range(n[k])])
            result["db" + str(k)] = np.array([gb[k][i] / m for i in range(n[k])])
        return result

    return grads
