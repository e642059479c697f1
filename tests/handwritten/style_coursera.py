"""Style 4: Coursera (deeplearning.ai, "Building your Deep Neural Network: Step by Step").

Samples as columns: X is (n_x, m), Y (n_y, m); W (out, in), b (n, 1). The forward pass keeps a
cache ((A_prev, W, b), Z) per layer; ``linear_backward`` takes dW = 1/m dZ A_prevᵀ and
db = 1/m Σ dZ over axis 1; ``L_model_backward`` starts from dAL (sigmoid + bce, not fused) or
from dZL = AL − Y (softmax + cce). ``make_grads(activations, mistake=None, layer=None)`` returns
``grads(parameters, X, Y)``.

``mistake`` (None for the correct code):

* ``"sign"``: dAL = Y/AL − (1 − Y)/(1 − AL), the minus sign dropped;
* ``"transposed"``: dW = 1/m A_prev dZᵀ at ``layer``;
* ``"bias_axis"``: db = 1/m Σ dZ over axis 0 (keepdims), in linear_backward (every layer);
* ``"extra_mean"``: dA_prev = 1/m Wᵀ dZ in linear_backward (every layer);
* ``"missing_derivative"``: dZ = dA at ``layer``, the tanh_backward call left out;
* ``"own_weights"``: dA_prev taken with the weights of the layer below (W⁽ˡ⁻¹⁾ᵀ dZ⁽ˡ⁾, the
  cache of the wrong layer); runs only when the widths agree.
"""

from __future__ import annotations

import numpy as np


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z


def relu(Z):
    return np.maximum(0, Z), Z


def tanh(Z):
    return np.tanh(Z), Z


def softmax(Z):
    e = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True), Z


def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def tanh_backward(dA, cache):
    Z = cache
    return dA * (1 - np.tanh(Z) ** 2)


FORWARD = {"sigmoid": sigmoid, "relu": relu, "tanh": tanh, "softmax": softmax}
BACKWARD = {"sigmoid": sigmoid_backward, "relu": relu_backward, "tanh": tanh_backward}


def make_grads(activations, mistake=None, layer=None):
    L = len(activations)

    def linear_activation_forward(A_prev, W, b, activation):
        Z = np.dot(W, A_prev) + b
        linear_cache = (A_prev, W, b)
        A, activation_cache = FORWARD[activation](Z)
        return A, (linear_cache, activation_cache)

    def L_model_forward(X, parameters):
        caches = []
        A = X
        for l in range(1, L + 1):  # noqa: E741 (the course's name)
            A, cache = linear_activation_forward(
                A, parameters["W" + str(l)], parameters["b" + str(l)], activations[l - 1]
            )
            caches.append(cache)
        return A, caches

    def linear_backward(dZ, cache, l):  # noqa: E741
        A_prev, W, b = cache
        m = A_prev.shape[1]
        dW = 1 / m * np.dot(dZ, A_prev.T)
        if mistake == "transposed" and layer == l:
            dW = 1 / m * np.dot(A_prev, dZ.T)
        db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        if mistake == "bias_axis":
            db = 1 / m * np.sum(dZ, axis=0, keepdims=True)
        dA_prev = np.dot(W.T, dZ)
        if mistake == "extra_mean":
            dA_prev = 1 / m * np.dot(W.T, dZ)
        return dA_prev, dW, db

    def grads(parameters, X, Y):
        AL, caches = L_model_forward(X, parameters)
        gradients = {}
        if activations[-1] == "softmax":
            dZ = AL - Y
        else:
            if mistake == "sign":
                dAL = np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)
            else:
                dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
            dZ = BACKWARD[activations[-1]](dAL, caches[L - 1][1])
        linear_cache = caches[L - 1][0]
        dA_prev, gradients["dW" + str(L)], gradients["db" + str(L)] = linear_backward(dZ, linear_cache, L)
        if mistake == "own_weights":
            dA_prev = np.dot(caches[L - 2][0][1].T, dZ)
        for l in reversed(range(1, L)):  # noqa: E741
            gradients["dA" + str(l)] = dA_prev
            linear_cache, activation_cache = caches[l - 1]
            if mistake == "missing_derivative" and layer == l:
                dZ = dA_prev
            else:
                dZ = BACKWARD[activations[l - 1]](dA_prev, activation_cache)
            dA_prev, gradients["dW" + str(l)], gradients["db" + str(l)] = linear_backward(dZ, linear_cache, l)
            if mistake == "own_weights" and l > 1:
                dA_prev = np.dot(caches[l - 2][0][1].T, dZ)
        return gradients

    return grads
