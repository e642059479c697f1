"""Style: a function on a dict of arrays; samples as rows, W (out, in), b (n,), batch mean.

``make_grads(activations, loss, mistake=None, layer=None)`` returns ``grads(params, X, Y)``; each
``if mistake == ...`` line is the buggy twin of the line above it, in layer ``layer``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def gelu_exact(z):
    return 0.5 * z * erfc(-z / np.sqrt(2.0))


def gelu_exact_prime(z):
    return 0.5 * erfc(-z / np.sqrt(2.0)) + z * np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)


def gelu_inner(z):
    return np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3)


def gelu_prime(z):
    t = np.tanh(gelu_inner(z))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t**2) * np.sqrt(2.0 / np.pi) * (1.0 + 3 * 0.044715 * z**2)


def mish(z):
    return z * np.tanh(np.logaddexp(0.0, z))


def mish_prime(z):
    t = np.tanh(np.logaddexp(0.0, z))
    return t + z * (1.0 - t**2) * sigmoid(z)


# f and f' of every activation of symbackprop, written by hand (f' in terms of z, and of a where
# a student would use it), at the registry's default parameters.
FUNCTIONS = {
    "tanh": (np.tanh, lambda z, a: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "sigmoid": (sigmoid, lambda z, a: sigmoid(z) * (1.0 - sigmoid(z))),
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z, a: np.where(z > 0, 1.0, 0.01)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(z)), lambda z, a: np.where(z > 0, 1.0, np.exp(z))),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z, a: sigmoid(z)),
    "silu": (lambda z: z * sigmoid(z), lambda z, a: sigmoid(z) * (1.0 + z * (1.0 - sigmoid(z)))),
    "gelu": (gelu_exact, lambda z, a: gelu_exact_prime(z)),
    "gelu_tanh": (lambda z: 0.5 * z * (1.0 + np.tanh(gelu_inner(z))), lambda z, a: gelu_prime(z)),
    "mish": (mish, lambda z, a: mish_prime(z)),
    "softmax": (softmax, None),
}


def forward(params, X, activations, mistake=None):
    A, Z = [X], [X]
    for k, name in enumerate(activations, start=1):
        z = A[-1] @ params[f"W{k}"].T + params[f"b{k}"]
        a = FUNCTIONS[name][0](z)
        if mistake == "forward_without_output_activation" and k == len(activations):
            a = z
        Z.append(z)
        A.append(a)
    return Z, A


def make_forward(activations, mistake=None):
    def network_forward(params, X):
        return forward(params, X, activations, mistake)[1][-1]

    return network_forward


def make_grads(activations, loss, mistake=None, layer=None):
    L = len(activations)

    def fprime(k, z, a):
        return FUNCTIONS[activations[k - 1]][1](z, a)

    def grads(params, X, Y):
        m = X.shape[0]
        Z, A = forward(params, X, activations)
        Y_hat = A[L]
        if loss in ("bce", "cce"):
            D = Y_hat - Y
            if mistake == "output_without_target":
                D = Y_hat
            if mistake == "extra_output_derivative":
                D = (Y_hat - Y) * fprime(L, Z[L], A[L])
        else:  # sse
            D = 2 * (Y_hat - Y) * fprime(L, Z[L], A[L])
            if mistake == "output_not_through_activation":
                D = 2 * (Y_hat - Y)
            if mistake == "half":
                D = (Y_hat - Y) * fprime(L, Z[L], A[L])
            if mistake == "derivative_of_output" and layer == L:
                D = 2 * (Y_hat - Y) * fprime(L, A[L], None)
        if mistake == "sign":
            D = -D
        D = D / m
        if mistake == "missing_mean":
            D = D * m
        g = {}
        for k in range(L, 0, -1):
            g[f"dW{k}"] = D.T @ A[k - 1]
            if mistake == "this_layer_activation" and k == layer:
                g[f"dW{k}"] = D.T @ A[k]
            if mistake == "preactivation_input" and k == layer:
                g[f"dW{k}"] = D.T @ Z[k - 1]
            if mistake == "double" and k == layer:
                g[f"dW{k}"] = 2 * D.T @ A[k - 1]
            if mistake == "extra_mean" and k == layer:
                g[f"dW{k}"] = D.T @ A[k - 1] / m
            g[f"db{k}"] = D.sum(axis=0)
            if mistake == "bias_over_units" and k == layer:
                g[f"db{k}"] = D.sum(axis=1)
            if mistake == "bias_over_everything" and k == layer:
                g[f"db{k}"] = D.sum()
            if mistake == "bias_not_summed" and k == layer:
                g[f"db{k}"] = D
            if k > 1:
                dA = D @ params[f"W{k}"]
                if mistake == "neighbour_weights" and k - 1 == layer:
                    dA = D @ params[f"W{k - 1}"].T
                D = dA * fprime(k - 1, Z[k - 1], A[k - 1])
                if mistake == "missing_derivative" and k - 1 == layer:
                    D = dA
                if mistake == "derivative_of_output" and k - 1 == layer:
                    D = dA * fprime(k - 1, A[k - 1], None)
                if mistake == "other_layer_derivative" and k - 1 == layer:  # the output layer's f′, copied
                    D = dA * fprime(L, Z[k - 1], A[k - 1])
        return g

    return grads
