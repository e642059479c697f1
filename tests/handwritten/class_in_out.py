"""Style: a class with forward/backward in the (in, out) layout; b (1, n); self.grads.

A two-layer ReLU + softmax classifier with cross-entropy, as course notebooks write it:
``scores = X @ W1 + b1``. ``backward(Y)`` fills ``self.grads`` and returns it.
"""

from __future__ import annotations

import numpy as np


class TwoLayerNet:
    def __init__(self, n_in, n_hidden, n_out, mistake=None, dtype=np.float64, seed=1):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0, 0.1, (n_in, n_hidden)).astype(dtype)
        self.b1 = np.zeros((1, n_hidden), dtype)
        self.W2 = rng.normal(0, 0.1, (n_hidden, n_out)).astype(dtype)
        self.b2 = np.zeros((1, n_out), dtype)
        self.mistake = mistake
        self.grads = {name: np.zeros_like(value) for name, value in self.parameters().items()}

    def parameters(self):
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def forward(self, X):
        self.X = X
        self.h = np.maximum(0, X @ self.W1 + self.b1)
        scores = self.h @ self.W2 + self.b2
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        self.probs = exp / exp.sum(axis=1, keepdims=True)
        return self.probs

    def loss(self, probs, Y):
        return -np.sum(Y * np.log(probs)) / Y.shape[0]

    def backward(self, Y):
        m = Y.shape[0]
        dscores = (self.probs - Y) / m
        if self.mistake == "output_without_target":
            dscores = self.probs / m
        grads = {
            "W2": self.h.T @ dscores,
            "b2": dscores.sum(axis=0, keepdims=True),
        }
        if self.mistake == "transposed":
            grads["W2"] = dscores.T @ self.h
        dh = dscores @ self.W2.T
        dh[self.h <= 0] = 0
        grads["W1"] = self.X.T @ dh
        grads["b1"] = dh.sum(axis=0, keepdims=True)
        if self.mistake == "accumulating":
            for name in grads:
                self.grads[name] += grads[name]
        else:
            self.grads = grads
        if self.mistake == "changed_parameters":
            self.W1 -= 0.1 * grads["W1"]
        return self.grads
