"""Style: a softmax classifier whose labels are class indices y (m,), as course notebooks write it.

``scores = X @ W1 + b1`` (W (in, out), b (n,)); the softmax + cross-entropy gradient subtracts 1
at each sample's class: ``dscores[range(m), y] -= 1``. ``make_grads(mistake=None)`` returns
``grads(params, X, y)`` for a ReLU hidden layer and a softmax output.
"""

from __future__ import annotations

import numpy as np


def make_grads(mistake=None):
    def grads(params, X, y):
        m = X.shape[0]
        hidden = np.maximum(0.0, X @ params["W1"] + params["b1"])
        scores = hidden @ params["W2"] + params["b2"]
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        dscores = probs.copy()
        dscores[np.arange(m), y] -= 1
        if mistake == "output_without_target":
            dscores = probs.copy()
        dscores /= m
        dhidden = (dscores @ params["W2"].T) * (hidden > 0)
        return {
            "dW1": X.T @ dhidden,
            "db1": dhidden.sum(axis=0),
            "dW2": hidden.T @ dscores,
            "db2": dscores.sum(axis=0),
        }

    return grads
