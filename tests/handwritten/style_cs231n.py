"""Style 6: CS231n (assignment 1, ``TwoLayerNet.loss``): class-index labels y (N,).

``scores = X.dot(W1) + b1`` (W (in, out), b (n,)), the softmax loss of the correct class
``-log(probs[np.arange(N), y])``, and its gradient ``dscores[np.arange(N), y] -= 1``. The
function returns ``(loss, grads)`` as the assignment's does, the loss averaged over N (no
regularisation). :func:`make_two_layer` is ``D -> H relu -> C softmax : cce``;
:func:`make_three_layer` is ``D -> H1 leaky_relu(alpha) -> H2 tanh -> C softmax : cce``.

``mistake`` (None for the correct code): two-layer: ``"softmax_diagonal"`` (the loss's gradient
-1/p at the class, through the softmax's own derivative p(1 − p) as if it were elementwise),
``"missing_mean"`` (dscores not divided by N), ``"missing_relu_mask"`` (dhidden not masked);
three-layer: ``"without_target"`` (dscores = probs, the −1 forgotten), ``"bias_axis"``
(db3 = np.sum(dscores, axis=1)), ``"tanh_no_square"`` (tanh′ = 1 − tanh(z)).
"""

from __future__ import annotations

import numpy as np


def _softmax_loss(scores, y):
    N = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    return loss, probs


def make_two_layer(mistake=None):
    def loss(params, X, y):
        W1, b1 = params["W1"], params["b1"]
        W2, b2 = params["W2"], params["b2"]
        N = X.shape[0]
        hidden = np.maximum(0, X.dot(W1) + b1)
        scores = hidden.dot(W2) + b2
        data_loss, probs = _softmax_loss(scores, y)
        grads = {}
        if mistake == "softmax_diagonal":
            dprobs = np.zeros_like(probs)
            dprobs[np.arange(N), y] = -1.0 / probs[np.arange(N), y]
            dscores = dprobs * probs * (1 - probs) / N
        else:
            dscores = probs.copy()
            dscores[np.arange(N), y] -= 1
            if mistake != "missing_mean":
                dscores /= N
        grads["W2"] = hidden.T.dot(dscores)
        grads["b2"] = np.sum(dscores, axis=0)
        dhidden = dscores.dot(W2.T)
        if mistake != "missing_relu_mask":
            dhidden[hidden <= 0] = 0
        grads["W1"] = X.T.dot(dhidden)
        grads["b1"] = np.sum(dhidden, axis=0)
        return data_loss, grads

    return loss


def make_three_layer(alpha=0.1, mistake=None):
    def loss(params, X, y):
        N = X.shape[0]
        z1 = X.dot(params["W1"]) + params["b1"]
        h1 = np.where(z1 > 0, z1, alpha * z1)
        z2 = h1.dot(params["W2"]) + params["b2"]
        h2 = np.tanh(z2)
        scores = h2.dot(params["W3"]) + params["b3"]
        data_loss, probs = _softmax_loss(scores, y)
        dscores = probs.copy()
        if mistake != "without_target":
            dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W3": h2.T.dot(dscores), "b3": np.sum(dscores, axis=0)}
        if mistake == "bias_axis":
            grads["b3"] = np.sum(dscores, axis=1)
        dh2 = dscores.dot(params["W3"].T)
        dtanh = 1 - np.tanh(z2) if mistake == "tanh_no_square" else 1 - h2**2
        dz2 = dh2 * dtanh
        grads["W2"] = h1.T.dot(dz2)
        grads["b2"] = np.sum(dz2, axis=0)
        dh1 = dz2.dot(params["W2"].T)
        dz1 = dh1 * np.where(z1 > 0, 1.0, alpha)
        grads["W1"] = X.T.dot(dz1)
        grads["b1"] = np.sum(dz1, axis=0)
        return data_loss, grads

    return loss
