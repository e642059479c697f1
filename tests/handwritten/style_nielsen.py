"""Style 1: Nielsen's per-sample loop ("Neural Networks and Deep Learning", network.py).

Each sample is a column vector x (n, 1); W is (out, in) and each bias a column (n, 1). Sigmoid
layers throughout; ``backprop(x, y)`` returns one sample's ``(nabla_b, nabla_w)`` and the caller
sums them over the batch. ``make_grads(...)`` returns ``grads(params, X, Y)`` with samples as rows
(``for x, y in zip(X, Y)``, as the book zips its training data) or as columns (``X[:, [j]]``),
averaged over the batch or summed (as the book's ``backprop`` is, the mean being taken in
``update_mini_batch``).

``mistake`` (None for the correct code):

* ``"sigmoid_prime_plus"``: σ′(z) typed as σ(z)(1 + σ(z)), used in every layer;
* ``"output_without_prime"``: the output δ is the cost derivative alone, not times σ′(z);
* ``"missing_mean"``: the summed gradients are returned although the mean was meant;
* ``"prime_of_activation"``: the last hidden layer takes ``sigmoid_prime(activations[-l])``;
* ``"delta_of_next_layer"``: in the backward loop, nabla_b[-l]/nabla_w[-l] are stored before δ
  is moved down a layer, so layer l gets δ of layer l + 1 (runs only when the widths agree);
* ``"layers_swapped"``: the gradients of layers 2 and 3 are returned under each other's keys;
* ``"accumulating"``: the running sums live outside the function and are never reset.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def sigmoid_prime_plus(z):
    """The slip: s(1 + s) where s(1 - s) belongs."""
    return sigmoid(z) * (1 + sigmoid(z))


def make_grads(depth, *, cost="half_sse", samples="rows", average=True, mistake=None):
    prime = sigmoid_prime_plus if mistake == "sigmoid_prime_plus" else sigmoid_prime
    num_layers = depth + 1
    running = {}  # for "accumulating": kept across calls by mistake

    def cost_derivative(output_activations, y):
        """Partial derivatives dC/da of the cost of one sample."""
        if cost == "half_sse":
            return output_activations - y
        return 2 * (output_activations - y)  # sse

    def backprop(weights, biases, x, y):
        nabla_b = [np.zeros(b.shape) for b in biases]
        nabla_w = [np.zeros(w.shape) for w in weights]
        # feedforward
        activation = x
        activations = [x]  # list to store all the activations, layer by layer
        zs = []  # list to store all the z vectors, layer by layer
        for b, w in zip(biases, weights, strict=True):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # backward pass
        delta = cost_derivative(activations[-1], y) * prime(zs[-1])
        if mistake == "output_without_prime":
            delta = cost_derivative(activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, num_layers):  # noqa: E741 (the book's name)
            z = zs[-l]
            sp = prime(z)
            if mistake == "prime_of_activation" and l == 2:
                sp = prime(activations[-l])
            if mistake == "delta_of_next_layer":
                nabla_b[-l] = delta
                nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
                delta = np.dot(weights[-l + 1].transpose(), delta) * sp
            else:
                delta = np.dot(weights[-l + 1].transpose(), delta) * sp
                nabla_b[-l] = delta
                nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def grads(params, X, Y):
        weights = [params[f"W{k}"] for k in range(1, num_layers)]
        biases = [params[f"b{k}"] for k in range(1, num_layers)]
        if samples == "rows":
            batch = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y, strict=True)]
        else:
            batch = [(X[:, [j]], Y[:, [j]]) for j in range(X.shape[1])]
        nabla_b = [np.zeros(b.shape) for b in biases]
        nabla_w = [np.zeros(w.shape) for w in weights]
        for x, y in batch:
            delta_nabla_b, delta_nabla_w = backprop(weights, biases, x, y)
            if mistake == "accumulating":  # the sums of an earlier call are kept
                nabla_b = running.setdefault("b", nabla_b)
                nabla_w = running.setdefault("w", nabla_w)
            for k in range(len(biases)):
                nabla_b[k] += delta_nabla_b[k]
                nabla_w[k] += delta_nabla_w[k]
        if average and mistake != "missing_mean":
            nabla_b = [nb / len(batch) for nb in nabla_b]
            nabla_w = [nw / len(batch) for nw in nabla_w]
        if mistake == "layers_swapped":
            nabla_w[1], nabla_w[2] = nabla_w[2], nabla_w[1]
            nabla_b[1], nabla_b[2] = nabla_b[2], nabla_b[1]
        result = {f"dW{k}": np.copy(nabla_w[k - 1]) for k in range(1, num_layers)}
        result.update({f"db{k}": np.copy(nabla_b[k - 1]) for k in range(1, num_layers)})
        return result

    return grads
