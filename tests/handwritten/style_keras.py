"""Style 3: Keras-style (in, out) weights and (1, n) biases: ``Z = A @ W + b``.

Samples as rows, W (in, out), b (1, n), ``db = dZ.sum(axis=0, keepdims=True)``; the activations
and their derivatives in a small table, the forward pass caching (Z, A) per layer and the backward
pass walking it in reverse. ``make_grads(activations, loss, mistake=None, layer=None)`` returns
``grads(params, X, Y)``; an activation is a name or ``(name, alpha)``.

``mistake`` (None for the correct code), at ``layer`` where it is a single layer's:

* ``"leaky_slope_default"``: LeakyReLU′ typed with the default slope 0.01 whatever α is;
* ``"mse_without_outputs"``: the mse gradient 2(ŷ − y)/m, without its 1/n_L;
* ``"bias_axis"``: db = dZ.sum(axis=1, keepdims=True) at ``layer``;
* ``"relu_from_one"``: ReLU′ taken as (Z >= 1);
* ``"missing_mean"``: the output dZ not divided by m;
* ``"transposed"``: dW = dZ.T @ A_prev at ``layer``;
* ``"prime_of_activation"``: f′ evaluated at the cached A instead of Z at ``layer``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def activation_functions(activation, mistake=None):
    """(f, f′) for an activation name or (name, alpha)."""
    name, alpha = (activation, None) if isinstance(activation, str) else activation
    if name == "relu":
        if mistake == "relu_from_one":
            return (lambda z: np.maximum(0, z)), (lambda z: (z >= 1).astype(z.dtype))
        return (lambda z: np.maximum(0, z)), (lambda z: (z > 0).astype(z.dtype))
    if name == "leaky_relu":
        slope = 0.01 if mistake == "leaky_slope_default" else alpha
        return (lambda z: np.where(z > 0, z, alpha * z)), (lambda z: np.where(z > 0, 1.0, slope))
    if name == "elu":
        return (lambda z: np.where(z > 0, z, alpha * (np.exp(z) - 1))), (
            lambda z: np.where(z > 0, 1.0, alpha * np.exp(z))
        )
    if name == "tanh":
        return np.tanh, (lambda z: 1 - np.tanh(z) ** 2)
    if name == "sigmoid":
        return _sigmoid, (lambda z: _sigmoid(z) * (1 - _sigmoid(z)))
    if name == "identity":
        return (lambda z: z), (lambda z: np.ones_like(z))
    raise ValueError(name)


def make_grads(activations, loss, mistake=None, layer=None):
    L = len(activations)
    table = [activation_functions(a, mistake) for a in activations]
    output = activations[-1] if isinstance(activations[-1], str) else activations[-1][0]

    def forward(params, X):
        cache = [(None, X)]
        A = X
        for k, (f, _) in enumerate(table, start=1):
            Z = A @ params[f"W{k}"] + params[f"b{k}"]
            A = f(Z)
            cache.append((Z, A))
        return A, cache

    def grads(params, X, Y):
        m = X.shape[0]
        A, cache = forward(params, X)
        if loss == "bce" and output == "sigmoid":
            dZ = A - Y  # sigmoid + binary cross-entropy
            dA = None
        elif loss == "mse":
            n_out = Y.shape[1]
            dA = 2 * (A - Y) / n_out if mistake != "mse_without_outputs" else 2 * (A - Y)
        else:
            raise ValueError(loss)
        grads = {}
        for k in range(L, 0, -1):
            Z, A = cache[k]
            A_prev = cache[k - 1][1]
            if dA is None:
                pass  # the fused output dZ above
            elif mistake == "prime_of_activation" and layer == k:
                dZ = dA * table[k - 1][1](A)
            else:
                dZ = dA * table[k - 1][1](Z)
            if k == L and mistake != "missing_mean":
                dZ = dZ / m
            grads[f"dW{k}"] = A_prev.T @ dZ
            if mistake == "transposed" and layer == k:
                grads[f"dW{k}"] = dZ.T @ A_prev
            grads[f"db{k}"] = dZ.sum(axis=0, keepdims=True)
            if mistake == "bias_axis" and layer == k:
                grads[f"db{k}"] = dZ.sum(axis=1, keepdims=True)
            dA = dZ @ params[f"W{k}"].T
        return grads

    return grads
