"""Style 2: classes with forward/backward and caches.

* :class:`ThreeLayerNet`: parameters as attributes W1, b1, ... (W (out, in), b (n,)), the forward
  pass caches z and a on ``self``; ``backward(Y)`` returns a dict {"W1": ..., "b1": ...}. Written
  for ``3 -> 5 tanh -> 4 relu -> 2 sigmoid : bce``; checked as it is (an object with forward and
  backward methods).
* :class:`LayeredNet`: a list of ``Dense`` layers (W (in, out), b (1, n), float32) with an ELU
  between them and a softmax + cross-entropy head; each layer caches its input and keeps its
  gradients in ``dW``/``db``. Written for ``n_in -> n_hidden elu(alpha) -> n_out softmax : cce``;
  checked through ``ObjectAdapter(model, weights="dense[{i}].W", ...)``.

``mistake`` (None for the correct code), ThreeLayerNet: ``"sign"`` (δ3 = y − ŷ), ``"db_left_zero"``
(the gradients start as zeros and db2 is never written), ``"tanh_no_square"`` (tanh′ = 1 − tanh(z));
LayeredNet: ``"accumulating"`` (dW += ..., never zeroed), ``"extra_mean"`` (Dense divides dW by m,
though the head's gradient already holds 1/m), ``"elu_without_alpha"`` (ELU′ = eᶻ for z ≤ 0).
"""

from __future__ import annotations

import numpy as np

from symbackprop.testing import ObjectAdapter


class ThreeLayerNet:
    def __init__(self, n_in=3, n_h1=5, n_h2=4, n_out=2, mistake=None, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0, 0.5, (n_h1, n_in))
        self.b1 = np.zeros(n_h1)
        self.W2 = rng.normal(0, 0.5, (n_h2, n_h1))
        self.b2 = np.zeros(n_h2)
        self.W3 = rng.normal(0, 0.5, (n_out, n_h2))
        self.b3 = np.zeros(n_out)
        self.mistake = mistake

    def forward(self, X):
        self.X = X
        self.z1 = X @ self.W1.T + self.b1
        self.a1 = np.tanh(self.z1)
        self.z2 = self.a1 @ self.W2.T + self.b2
        self.a2 = np.maximum(0, self.z2)
        self.z3 = self.a2 @ self.W3.T + self.b3
        self.a3 = 1 / (1 + np.exp(-self.z3))
        return self.a3

    def backward(self, Y):
        m = Y.shape[0]
        grads = {name: np.zeros_like(getattr(self, name)) for name in ("W1", "b1", "W2", "b2", "W3", "b3")}
        dz3 = (self.a3 - Y) / m  # sigmoid + BCE
        if self.mistake == "sign":
            dz3 = (Y - self.a3) / m
        grads["W3"] = dz3.T @ self.a2
        grads["b3"] = dz3.sum(axis=0)
        da2 = dz3 @ self.W3
        dz2 = da2 * (self.z2 > 0)
        grads["W2"] = dz2.T @ self.a1
        if self.mistake != "db_left_zero":
            grads["b2"] = dz2.sum(axis=0)
        da1 = dz2 @ self.W2
        dtanh = 1 - np.tanh(self.z1) if self.mistake == "tanh_no_square" else 1 - np.tanh(self.z1) ** 2
        dz1 = da1 * dtanh
        grads["W1"] = dz1.T @ self.X
        grads["b1"] = dz1.sum(axis=0)
        return grads


class Dense:
    def __init__(self, n_in, n_out, rng, mistake=None):
        self.W = (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        self.b = np.zeros((1, n_out), dtype=np.float32)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.mistake = mistake

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        if self.mistake == "accumulating":
            self.dW += self.x.T @ dout
            self.db += dout.sum(axis=0, keepdims=True)
        elif self.mistake == "extra_mean":
            self.dW = self.x.T @ dout / self.x.shape[0]
            self.db = dout.sum(axis=0, keepdims=True)
        else:
            self.dW = self.x.T @ dout
            self.db = dout.sum(axis=0, keepdims=True)
        return dout @ self.W.T


class ELU:
    def __init__(self, alpha=1.0, mistake=None):
        self.alpha = alpha
        self.mistake = mistake

    def forward(self, z):
        self.z = z
        return np.where(z > 0, z, self.alpha * (np.exp(z) - 1)).astype(z.dtype)

    def backward(self, dout):
        if self.mistake == "elu_without_alpha":
            return dout * np.where(self.z > 0, 1.0, np.exp(self.z)).astype(dout.dtype)
        return dout * np.where(self.z > 0, 1.0, self.alpha * np.exp(self.z)).astype(dout.dtype)


class LayeredNet:
    def __init__(self, n_in=5, n_hidden=7, n_out=3, alpha=0.5, mistake=None, seed=0):
        rng = np.random.default_rng(seed)
        self.dense = [Dense(n_in, n_hidden, rng, mistake), Dense(n_hidden, n_out, rng, mistake)]
        self.act = ELU(alpha, mistake)

    def forward(self, X):
        X = X.astype(np.float32)
        h = self.act.forward(self.dense[0].forward(X))
        scores = self.dense[1].forward(h)
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        self.probs = e / e.sum(axis=1, keepdims=True)
        return self.probs

    def backward(self, Y):
        dscores = (self.probs - Y.astype(np.float32)) / Y.shape[0]
        dh = self.dense[1].backward(dscores)
        self.dense[0].backward(self.act.backward(dh))


def layered_adapter(mistake=None):
    """The LayeredNet behind the ObjectAdapter that says where its arrays are."""
    return ObjectAdapter(
        LayeredNet(mistake=mistake),
        weights="dense[{i}].W",
        biases="dense[{i}].b",
        weight_grads="dense[{i}].dW",
        bias_grads="dense[{i}].db",
    )
