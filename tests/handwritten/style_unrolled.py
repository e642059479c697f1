"""Style 9: one line per layer, hand-unrolled (no loops).

Samples as rows, W (out, in), b (n,): ``Z2 = A1 @ W2.T + b2`` and so on, each δ and each gradient
on its own line.

* :func:`make_square`: ``4 -> 4 tanh -> 4 tanh -> 4 sigmoid : bce`` (every W is 4 × 4, so many
  slips still run);
* :func:`make_deep`: ``3 -> 5 leaky_relu(0.1) -> 4 elu(0.5) -> 3 tanh -> 2 sigmoid : bce``;
* :func:`make_sigmoid_mse`: ``3 -> 4 sigmoid -> 4 sigmoid -> 2 sigmoid : mse``.

``mistake`` (None for the correct code): square: ``"delta_of_next_layer"`` (dW2, db2 from D3 and
dW1, db1 from D2), ``"layers_swapped"`` (layer 2's gradients returned as layer 3's and the other
way round), ``"own_weights"`` (D2 = (D3 @ W2) * ..., W2 where W3 belongs), ``"a1_for_a2"``
(dW3 = D3.T @ A1); deep: ``"elu_without_alpha"`` (ELU′ = eᶻ for z ≤ 0), ``"tanh_no_square"``
(tanh′ = 1 − tanh(z)); sigmoid_mse: ``"sigmoid_prime_plus"`` (σ′ = s(1 + s) in every layer).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def make_square(mistake=None):
    def grads(params, X, Y):
        W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
        m = X.shape[0]
        A1 = np.tanh(X @ W1.T + b1)
        A2 = np.tanh(A1 @ W2.T + b2)
        A3 = sigmoid(A2 @ W3.T + b3)
        D3 = (A3 - Y) / m
        D2 = (D3 @ (W2 if mistake == "own_weights" else W3)) * (1 - A2**2)
        D1 = (D2 @ W2) * (1 - A1**2)
        if mistake == "delta_of_next_layer":
            return {"dW3": D3.T @ A2, "db3": D3.sum(0), "dW2": D3.T @ A1, "db2": D3.sum(0),
                    "dW1": D2.T @ X, "db1": D2.sum(0)}  # fmt: skip
        if mistake == "layers_swapped":
            return {"dW3": D2.T @ A1, "db3": D2.sum(0), "dW2": D3.T @ A2, "db2": D3.sum(0),
                    "dW1": D1.T @ X, "db1": D1.sum(0)}  # fmt: skip
        dW3 = D3.T @ (A1 if mistake == "a1_for_a2" else A2)
        return {"dW3": dW3, "db3": D3.sum(0), "dW2": D2.T @ A1, "db2": D2.sum(0), "dW1": D1.T @ X, "db1": D1.sum(0)}

    return grads


def make_deep(mistake=None):
    def grads(params, X, Y):
        m = X.shape[0]
        Z1 = X @ params["W1"].T + params["b1"]
        A1 = np.where(Z1 > 0, Z1, 0.1 * Z1)
        Z2 = A1 @ params["W2"].T + params["b2"]
        A2 = np.where(Z2 > 0, Z2, 0.5 * (np.exp(Z2) - 1))
        Z3 = A2 @ params["W3"].T + params["b3"]
        A3 = np.tanh(Z3)
        Z4 = A3 @ params["W4"].T + params["b4"]
        A4 = sigmoid(Z4)
        D4 = (A4 - Y) / m
        D3 = (D4 @ params["W4"]) * ((1 - np.tanh(Z3)) if mistake == "tanh_no_square" else (1 - A3**2))
        D2 = (D3 @ params["W3"]) * np.where(
            Z2 > 0, 1, np.exp(Z2) if mistake == "elu_without_alpha" else 0.5 * np.exp(Z2)
        )
        D1 = (D2 @ params["W2"]) * np.where(Z1 > 0, 1, 0.1)
        return {
            "dW4": D4.T @ A3, "db4": D4.sum(0),
            "dW3": D3.T @ A2, "db3": D3.sum(0),
            "dW2": D2.T @ A1, "db2": D2.sum(0),
            "dW1": D1.T @ X, "db1": D1.sum(0),
        }  # fmt: skip

    return grads


def make_sigmoid_mse(mistake=None):
    def sigmoid_prime(a):  # in terms of the output a = σ(z)
        return a * (1 + a) if mistake == "sigmoid_prime_plus" else a * (1 - a)

    def grads(params, X, Y):
        m, n_out = X.shape[0], Y.shape[1]
        A1 = sigmoid(X @ params["W1"].T + params["b1"])
        A2 = sigmoid(A1 @ params["W2"].T + params["b2"])
        A3 = sigmoid(A2 @ params["W3"].T + params["b3"])
        D3 = 2 * (A3 - Y) / (m * n_out) * sigmoid_prime(A3)
        D2 = (D3 @ params["W3"]) * sigmoid_prime(A2)
        D1 = (D2 @ params["W2"]) * sigmoid_prime(A1)
        return {
            "dW3": D3.T @ A2, "db3": D3.sum(0),
            "dW2": D2.T @ A1, "db2": D2.sum(0),
            "dW1": D1.T @ X, "db1": D1.sum(0),
        }  # fmt: skip

    return grads
