"""Style: the classic tutorial loop; each sample a column x (n, 1), W (out, in), b (n, 1).

Sigmoid layers with the quadratic cost C = ½‖a − y‖² (symbackprop's ``half_sse``), the gradient
of each sample summed in ``nabla_w``/``nabla_b`` over the loop and averaged at the end.
``make_grads(depth, mistake=None, layer=None)`` returns ``grads(params, X, Y)`` with X (n_0, m).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def make_grads(depth, mistake=None, layer=None):
    def grads(params, X, Y):
        weights = [params[f"W{k}"] for k in range(1, depth + 1)]
        biases = [params[f"b{k}"] for k in range(1, depth + 1)]
        nabla_w = [np.zeros(w.shape, w.dtype) for w in weights]
        nabla_b = [np.zeros(b.shape, b.dtype) for b in biases]
        m = X.shape[1]
        for s in range(m):
            x, y = X[:, [s]], Y[:, [s]]
            activation, activations, zs = x, [x], []
            for w, b in zip(weights, biases, strict=True):
                z = w @ activation + b
                zs.append(z)
                activation = sigmoid(z)
                activations.append(activation)
            delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
            if mistake == "derivative_of_output" and layer == depth:
                delta = (activations[-1] - y) * sigmoid_prime(activations[-1])
            nabla_b[-1] += delta
            nabla_w[-1] += delta @ activations[-2].T
            for back in range(2, depth + 1):
                k = depth - back + 1  # the layer, counted from 1
                passed_back = weights[-back + 1].T @ delta
                delta = passed_back * sigmoid_prime(zs[-back])
                if mistake == "derivative_of_output" and layer == k:
                    delta = passed_back * sigmoid_prime(activations[-back])
                if mistake == "missing_derivative" and layer == k:
                    delta = passed_back
                nabla_b[-back] += delta
                nabla_w[-back] += delta @ activations[-back - 1].T
        if mistake != "missing_mean":
            nabla_w = [nw / m for nw in nabla_w]
            nabla_b = [nb / m for nb in nabla_b]
        g = {f"dW{k}": nabla_w[k - 1] for k in range(1, depth + 1)}
        g.update({f"db{k}": nabla_b[k - 1] for k in range(1, depth + 1)})
        return g

    return grads
