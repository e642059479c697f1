"""Back-propagation written by hand, as a student writes it, with one mistake left in on purpose.

The network is ``3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce`` with samples as rows, W (out, in) and
the batch mean. ``my_grads`` forgets to multiply layer 2's δ by ReLU's derivative; ``fixed_grads``
has the line right. symbackprop's checker finds the mistake and names it:

    symbackprop check examples/my_backprop.py:my_grads --spec "3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce"
    symbackprop check examples/my_backprop.py:fixed_grads --spec "3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce"
"""

from __future__ import annotations

import numpy as np


def _backprop(params, X, Y, *, relu_derivative: bool):
    m = X.shape[0]
    Z1 = X @ params["W1"].T + params["b1"]
    A1 = np.tanh(Z1)
    Z2 = A1 @ params["W2"].T + params["b2"]
    A2 = np.maximum(Z2, 0.0)
    Z3 = A2 @ params["W3"].T + params["b3"]
    A3 = 1.0 / (1.0 + np.exp(-Z3))

    D3 = (A3 - Y) / m  # sigmoid + binary cross-entropy, averaged over the batch
    D2 = D3 @ params["W3"]
    if relu_derivative:
        D2 = D2 * (Z2 > 0)
    D1 = (D2 @ params["W2"]) * (1.0 - A1**2)
    return {
        "dW1": D1.T @ X,
        "db1": D1.sum(axis=0),
        "dW2": D2.T @ A1,
        "db2": D2.sum(axis=0),
        "dW3": D3.T @ A2,
        "db3": D3.sum(axis=0),
    }


def my_grads(params, X, Y):
    """The gradients with the mistake."""
    return _backprop(params, X, Y, relu_derivative=False)


def fixed_grads(params, X, Y):
    """The gradients with layer 2's δ multiplied by ReLU's derivative."""
    return _backprop(params, X, Y, relu_derivative=True)
