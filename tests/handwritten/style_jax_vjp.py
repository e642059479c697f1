"""Style 11: JAX with hand-written gradients and custom VJPs (requires jax).

* :func:`make_grads`: ``grads(params, X, Y)`` on JAX arrays, ``3 -> 5 sigmoid -> 2 sigmoid : bce``
  written by hand; mistakes ``"missing_mean"``, ``"prime_of_activation"`` (σ′(a) in layer 1),
  ``"transposed"`` (dW1 as Xᵀ d1, returned (in, out)).
* :func:`make_loss`: ``loss_fn(params, X, Y)`` whose activation is a ``jax.custom_vjp`` with its
  own backward: ``3 -> 6 tanh -> 4 tanh -> 2 identity : mse``; mistakes ``"missing_prime"``
  (the bwd returns g), ``"prime_of_activation"`` (1 − tanh(a)²), ``"sign"``, ``"no_square"``
  (1 − a).
* :func:`make_softmax_loss`: a softmax cross-entropy with a custom VJP on the logits,
  ``4 -> 5 relu -> 3 softmax : cce``; mistakes ``"missing_mean"`` (bwd: p − y, the 1/m forgotten),
  ``"without_target"`` (bwd: p/m).
* :func:`make_layer`: a ``custom_vjp`` layer f(x Wᵀ + b) for ``check_layer``; mistakes
  ``"missing_prime"``, ``"transposed"`` (dW as xᵀ d: square layers), ``"bias_not_summed"`` (db = d:
  JAX refuses its shape), ``"half"`` (d/2).
"""

from __future__ import annotations

try:
    import jax
    import jax.numpy as jnp
except ImportError:  # jax is an optional extra: without it these cases are left out
    jax = jnp = None


def _sigmoid(z):
    return 1 / (1 + jnp.exp(-z))


def make_grads(mistake=None):
    def grads(params, X, Y):
        m = X.shape[0]
        a1 = _sigmoid(X @ params["W1"].T + params["b1"])
        a2 = _sigmoid(a1 @ params["W2"].T + params["b2"])
        d2 = (a2 - Y) / (1 if mistake == "missing_mean" else m)  # σ + bce: ∂L/∂z2
        prime = _sigmoid(a1) * (1 - _sigmoid(a1)) if mistake == "prime_of_activation" else a1 * (1 - a1)
        d1 = (d2 @ params["W2"]) * prime
        dW1 = X.T @ d1 if mistake == "transposed" else d1.T @ X
        return {"dW1": dW1, "db1": d1.sum(0), "dW2": d2.T @ a1, "db2": d2.sum(0)}

    return grads


def _tanh(mistake):
    @jax.custom_vjp
    def tanh(z):
        return jnp.tanh(z)

    def forward(z):
        a = jnp.tanh(z)
        return a, a

    def backward(a, g):
        if mistake == "missing_prime":
            return (g,)
        if mistake == "prime_of_activation":
            return (g * (1 - jnp.tanh(a) ** 2),)
        if mistake == "no_square":
            return (g * (1 - a),)
        if mistake == "sign":
            return (-g * (1 - a**2),)
        return (g * (1 - a**2),)

    tanh.defvjp(forward, backward)
    return tanh


def make_loss(mistake=None, layer=2):
    hidden = [_tanh(mistake if k == layer else None) for k in (1, 2)]

    def loss_fn(params, X, Y):
        a1 = hidden[0](X @ params["W1"].T + params["b1"])
        a2 = hidden[1](a1 @ params["W2"].T + params["b2"])
        out = a2 @ params["W3"].T + params["b3"]
        return jnp.mean((out - Y) ** 2)

    return loss_fn


def _softmax_cross_entropy(mistake):
    @jax.custom_vjp
    def cross_entropy(logits, Y):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
        return -jnp.sum(Y * log_p) / logits.shape[0]

    def forward(logits, Y):
        return cross_entropy(logits, Y), (jax.nn.softmax(logits, axis=1), Y)

    def backward(saved, g):
        p, Y = saved
        m = p.shape[0]
        if mistake == "missing_mean":
            return g * (p - Y), None
        if mistake == "without_target":
            return g * p / m, None
        return g * (p - Y) / m, None

    cross_entropy.defvjp(forward, backward)
    return cross_entropy


def make_softmax_loss(mistake=None):
    cross_entropy = _softmax_cross_entropy(mistake)

    def loss_fn(params, X, Y):
        h = jnp.maximum(X @ params["W1"].T + params["b1"], 0)
        return cross_entropy(h @ params["W2"].T + params["b2"], Y)

    return loss_fn


def make_layer(activation, mistake=None):
    f, f_prime = {
        "sigmoid": (_sigmoid, lambda z, a: a * (1 - a)),
        "tanh": (jnp.tanh, lambda z, a: 1 - a**2),
    }[activation]

    @jax.custom_vjp
    def layer(x, W, b):
        return f(x @ W.T + b)

    def forward(x, W, b):
        z = x @ W.T + b
        a = f(z)
        return a, (x, W, z, a)

    def backward(saved, g):
        x, W, z, a = saved
        d = g if mistake == "missing_prime" else g * f_prime(z, a)
        if mistake == "half":
            d = d / 2
        dW = x.T @ d if mistake == "transposed" else d.T @ x
        db = d if mistake == "bias_not_summed" else d.sum(0)
        return d @ W, dW, db

    layer.defvjp(forward, backward)
    return layer
