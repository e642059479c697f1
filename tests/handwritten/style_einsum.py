"""Style 7: einsum everywhere, losses summed over the batch (no 1/m anywhere).

Samples as rows (index m), W (out, in) (indices i, j), b (n,): ``z = einsum('ij,mj->mi', W, a) + b``,
``dW = einsum('mi,mj->ij', d, a_prev)``, ``db = einsum('mi->i', d)``, ``back = einsum('mi,ij->mj',
d, W)``. The loss is the sum over the samples, and the gradients are those of that sum.

* :func:`make_regression`: ``3 -> 4 tanh -> 2 identity : sse``, returns ``(loss, grads)``;
* :func:`make_classifier`: ``4 -> 4 softplus -> 4 softmax : cce``, returns grads only (checked with
  reduction="sum");
* :func:`make_deep`: ``3 -> 5 gelu_tanh -> 5 sigmoid -> 2 sigmoid : bce``, returns
  ``(loss, grads)``; GELU in its tanh form, its derivative typed by hand.

``mistake`` (None for the correct code): regression: ``"half"`` (dŷ = ŷ − y, the 2 dropped),
``"bias_everything"`` (db1 = einsum('mi->', d1), one number), ``"stray_offset"`` (a stray
``+ 1e-3`` on db1), ``"three_for_two"`` (dŷ = 3(ŷ − y)); classifier: ``"extra_mean"`` (the gradients
divided by m although the loss is summed), ``"transposed"`` (dW1 as einsum('mi,mj->ji')); deep:
``"a1_for_a2"`` (dW3 = einsum('mi,mj->ij', d3, a1)), ``"gelu_power_rule"`` (GELU′ with
0.044715·x² where the power rule gives 3·0.044715·x²).
"""

from __future__ import annotations

import numpy as np

C = np.sqrt(2 / np.pi)
K = 0.044715


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(C * (x + K * x**3)))


def gelu_tanh_prime(x, power_rule=True):
    u = C * (x + K * x**3)
    du = C * (1 + 3 * K * x**2) if power_rule else C * (1 + K * x**2)
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * (1 - np.tanh(u) ** 2) * du


def make_regression(mistake=None):
    def grads(p, X, Y):
        z1 = np.einsum("ij,mj->mi", p["W1"], X) + p["b1"]
        a1 = np.tanh(z1)
        yhat = np.einsum("ij,mj->mi", p["W2"], a1) + p["b2"]
        loss = np.einsum("mi,mi->", yhat - Y, yhat - Y)
        factor = {"half": 1.0, "three_for_two": 3.0}.get(mistake, 2.0)
        d2 = factor * (yhat - Y)
        d1 = np.einsum("mi,ij->mj", d2, p["W2"]) * (1 - a1**2)
        g = {
            "dW2": np.einsum("mi,mj->ij", d2, a1),
            "db2": np.einsum("mi->i", d2),
            "dW1": np.einsum("mi,mj->ij", d1, X),
            "db1": np.einsum("mi->i", d1),
        }
        if mistake == "bias_everything":
            g["db1"] = np.einsum("mi->", d1)
        if mistake == "stray_offset":
            g["db1"] = np.einsum("mi->i", d1) + 1e-3
        return loss, g

    return grads


def make_classifier(mistake=None):
    def grads(p, X, Y):
        m = X.shape[0]
        z1 = np.einsum("ij,mj->mi", p["W1"], X) + p["b1"]
        a1 = np.logaddexp(0, z1)  # softplus
        z2 = np.einsum("ij,mj->mi", p["W2"], a1) + p["b2"]
        e = np.exp(z2 - z2.max(axis=1, keepdims=True))
        yhat = e / np.einsum("mi->m", e)[:, None]
        d2 = yhat - Y
        d1 = np.einsum("mi,ij->mj", d2, p["W2"]) * _sigmoid(z1)
        g = {
            "dW2": np.einsum("mi,mj->ij", d2, a1),
            "db2": np.einsum("mi->i", d2),
            "dW1": np.einsum("mi,mj->ij", d1, X),
            "db1": np.einsum("mi->i", d1),
        }
        if mistake == "transposed":
            g["dW1"] = np.einsum("mi,mj->ji", d1, X)
        if mistake == "extra_mean":
            g = {key: value / m for key, value in g.items()}
        return g

    return grads


def make_deep(mistake=None):
    def grads(p, X, Y):
        z1 = np.einsum("ij,mj->mi", p["W1"], X) + p["b1"]
        a1 = gelu_tanh(z1)
        z2 = np.einsum("ij,mj->mi", p["W2"], a1) + p["b2"]
        a2 = _sigmoid(z2)
        z3 = np.einsum("ij,mj->mi", p["W3"], a2) + p["b3"]
        a3 = _sigmoid(z3)
        loss = -np.einsum("mi->", Y * np.log(a3) + (1 - Y) * np.log(1 - a3))
        d3 = a3 - Y
        d2 = np.einsum("mi,ij->mj", d3, p["W3"]) * a2 * (1 - a2)
        d1 = np.einsum("mi,ij->mj", d2, p["W2"]) * gelu_tanh_prime(z1, power_rule=mistake != "gelu_power_rule")
        g = {
            "dW3": np.einsum("mi,mj->ij", d3, a2 if mistake != "a1_for_a2" else a1),
            "db3": np.einsum("mi->i", d3),
            "dW2": np.einsum("mi,mj->ij", d2, a1),
            "db2": np.einsum("mi->i", d2),
            "dW1": np.einsum("mi,mj->ij", d1, X),
            "db1": np.einsum("mi->i", d1),
        }
        return loss, g

    return grads
