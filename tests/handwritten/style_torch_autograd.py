"""Style 10: PyTorch with hand-written backward passes (requires torch).

* :func:`make_manual_grads`: "manual backprop" on tensors, as in the exercises that compare
  dlogits, dh and dW with autograd: ``4 -> 6 tanh -> 3 softmax : cce``, no autograd, returns
  {"W1": ..., ...}; mistakes ``"missing_mean"`` (dlogits = probs − y), ``"transposed"`` (dW2 as
  hᵀ dlogits), ``"bias_axis"`` (db2 summed over the classes), ``"tanh_no_square"`` (tanh′ as 1 − h),
  ``"sign"`` (dlogits = y − probs).
* :func:`make_module`: an ``nn.Module`` whose layers are ``autograd.Function``s with their own
  backward (activation and its derivative typed by hand), parameters as ``nn.Parameter`` (no
  ``nn.Linear``); ``mistake`` in one layer (``layer``, from 1): ``"missing_prime"``,
  ``"prime_of_activation"`` (f′(a) for f′(z)), ``"transposed"`` (dW as xᵀ d: square layers only,
  torch refuses the shape otherwise), ``"sign"``, ``"double"``, ``"bias_none"`` (no gradient for
  the bias), ``"untransposed_back"`` (dx = d Wᵀ: square layers).
* :func:`make_linear_module`: ``nn.Linear`` layers with a custom ReLU Function between them,
  returning logits (``F.cross_entropy`` style): ``mistake`` ``"relu_from_one"`` (mask z ≥ 1),
  ``"missing_prime"`` (the mask forgotten).
* :func:`make_layer`: one ``autograd.Function``'s ``apply`` computing f(x Wᵀ + b), for
  ``check_layer``; mistakes as :func:`make_module`'s, and ``"dx_without_w"`` (dx = d).
"""

from __future__ import annotations

try:
    import torch
except ImportError:  # torch is an optional extra: without it these cases are left out
    torch = None

ACTIVATIONS = {
    "sigmoid": (lambda z: 1 / (1 + torch.exp(-z)), lambda z, a: a * (1 - a)),
    "tanh": (lambda z: torch.tanh(z), lambda z, a: 1 - a**2),
    "relu": (lambda z: torch.clamp(z, min=0), lambda z, a: (z > 0).to(z.dtype)),
}


def make_manual_grads(mistake=None):
    def grads(params, X, Y):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        n = X.shape[0]
        h = torch.tanh(X @ W1.T + b1)
        logits = h @ W2.T + b2
        probs = torch.softmax(logits, dim=1)
        dlogits = (Y - probs if mistake == "sign" else probs - Y) / (1 if mistake == "missing_mean" else n)
        dW2 = h.T @ dlogits if mistake == "transposed" else dlogits.T @ h
        db2 = dlogits.sum(1) if mistake == "bias_axis" else dlogits.sum(0)
        dh = dlogits @ W2
        dpre = dh * (1 - h if mistake == "tanh_no_square" else 1 - h**2)
        return {"W1": dpre.T @ X, "b1": dpre.sum(0), "W2": dW2, "b2": db2}

    return grads


def _function(activation, mistake=None):
    f, f_prime = ACTIVATIONS[activation]

    class LinearActivation(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, W, b):
            z = x @ W.T + b
            a = f(z)
            ctx.save_for_backward(x, W, z, a)
            return a

        @staticmethod
        def backward(ctx, grad):
            x, W, z, a = ctx.saved_tensors
            if mistake == "missing_prime":
                d = grad
            elif mistake == "prime_of_activation":
                d = grad * f_prime(a, f(a))
            else:
                d = grad * f_prime(z, a)
            if mistake == "sign":
                d = -d
            if mistake == "double":
                d = 2 * d
            dW = x.T @ d if mistake == "transposed" else d.T @ x
            dx = d if mistake == "dx_without_w" else d @ W.T if mistake == "untransposed_back" else d @ W
            db = None if mistake == "bias_none" else d.sum(0)
            return dx, dW, db

    return LinearActivation


class _Layer(torch.nn.Module if torch is not None else object):
    def __init__(self, n_in, n_out, function, dtype):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in, dtype=dtype))
        self.bias = torch.nn.Parameter(torch.zeros(n_out, dtype=dtype))
        self.function = function

    def forward(self, x):
        return self.function.apply(x, self.weight, self.bias)


class CustomNet(torch.nn.Module if torch is not None else object):
    def __init__(self, sizes, activations, mistake=None, layer=None, dtype=None):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            _Layer(n_in, n_out, _function(name, mistake if k == layer else None), dtype or torch.float64)
            for k, (n_in, n_out, name) in enumerate(zip(sizes[:-1], sizes[1:], activations, strict=True), start=1)
        )

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def make_module(sizes, activations, mistake=None, layer=None, dtype=None):
    return CustomNet(sizes, activations, mistake, layer, dtype)


def _custom_relu(mistake=None):
    class ReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z.clamp(min=0)

        @staticmethod
        def backward(ctx, grad):
            (z,) = ctx.saved_tensors
            if mistake == "missing_prime":
                return grad
            return grad * (z >= 1 if mistake == "relu_from_one" else z > 0).to(grad.dtype)

    return ReLU


class LogitsNet(torch.nn.Module if torch is not None else object):
    """``fc1 -> custom ReLU -> fc2``, returning logits."""

    def __init__(self, sizes, mistake=None, dtype=None):
        super().__init__()
        self.fc1 = torch.nn.Linear(sizes[0], sizes[1], dtype=dtype or torch.float64)
        self.fc2 = torch.nn.Linear(sizes[1], sizes[2], dtype=dtype or torch.float64)
        self.relu = _custom_relu(mistake)

    def forward(self, x):
        return self.fc2(self.relu.apply(self.fc1(x)))


def make_linear_module(sizes, mistake=None, dtype=None):
    return LogitsNet(sizes, mistake, dtype)


def make_layer(activation, mistake=None):
    return _function(activation, mistake).apply
