"""Style 5: float32 code with PyTorch's parameter names ("fc1.weight", "fc1.bias", ...).

The parameters come in a ``state_dict``-like dict keyed as ``nn.Linear`` layers name them (W (out,
in), b (n,)); the code computes in float32 whatever it is given, as ``torch.from_numpy(x).float()``
does.

* :func:`make_numpy_grads`: NumPy in float32, ``fc1 -> relu -> fc2 -> softmax`` with
  cross-entropy (``4 -> 8 relu -> 3 softmax : cce``); returns {"fc1.weight": ..., ...}.
* :func:`make_torch_grads`: torch tensors in float32, no autograd, ``fc1 -> ELU(alpha) -> fc2 ->
  tanh -> fc3`` with ``F.mse_loss`` (mean over every element): ``3 -> 6 elu(0.5) -> 5 tanh -> 2
  identity : mse``; returns {"fc1.weight.grad": ..., ...}, as ``p.grad`` would be read.

``mistake`` (None for the correct code): numpy: ``"missing_mean"`` (dlogits = probs − y, not / N),
``"transposed"`` (fc2's gradient as hᵀ dlogits); torch: ``"missing_derivative"`` (tanh′ left out),
``"half"`` (the mse gradient (ŷ − y)/numel, without its 2), ``"prime_of_activation"`` (tanh′ taken
at the tanh's output: 1 − tanh(h)²).
"""

from __future__ import annotations

import numpy as np

try:
    import torch
except ImportError:  # torch is an optional extra: without it the tensor implementations are left out
    torch = None

NAMES_2 = {"W1": "fc1.weight", "b1": "fc1.bias", "W2": "fc2.weight", "b2": "fc2.bias"}
NAMES_3 = {**NAMES_2, "W3": "fc3.weight", "b3": "fc3.bias"}
GRAD_NAMES_3 = {ours: f"{theirs}.grad" for ours, theirs in NAMES_3.items()}


def make_numpy_grads(mistake=None):
    def grads(state, X, Y):
        f32 = np.float32
        x, y = np.asarray(X, dtype=f32), np.asarray(Y, dtype=f32)
        w1, b1 = state["fc1.weight"].astype(f32), state["fc1.bias"].astype(f32)
        w2, b2 = state["fc2.weight"].astype(f32), state["fc2.bias"].astype(f32)
        n = x.shape[0]
        h_pre = x @ w1.T + b1
        h = np.maximum(h_pre, 0)
        logits = h @ w2.T + b2
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        dlogits = probs - y
        if mistake != "missing_mean":
            dlogits /= n
        g = {"fc2.weight": dlogits.T @ h, "fc2.bias": dlogits.sum(0)}
        if mistake == "transposed":
            g["fc2.weight"] = h.T @ dlogits
        dh = dlogits @ w2
        dh[h_pre <= 0] = 0
        g["fc1.weight"] = dh.T @ x
        g["fc1.bias"] = dh.sum(0)
        return g

    return grads


def make_torch_grads(alpha=0.5, mistake=None):
    def grads(state, X, Y):
        p = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in state.items()}
        x = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(Y, dtype=torch.float32)
        z1 = x @ p["fc1.weight"].T + p["fc1.bias"]
        h1 = torch.where(z1 > 0, z1, alpha * (torch.exp(z1) - 1))
        z2 = h1 @ p["fc2.weight"].T + p["fc2.bias"]
        h2 = torch.tanh(z2)
        out = h2 @ p["fc3.weight"].T + p["fc3.bias"]
        # F.mse_loss(out, y): the mean over every element
        dout = 2 * (out - y) / out.numel()
        if mistake == "half":
            dout = (out - y) / out.numel()
        g = {"fc3.weight.grad": dout.T @ h2, "fc3.bias.grad": dout.sum(0)}
        dh2 = dout @ p["fc3.weight"]
        if mistake == "missing_derivative":
            dz2 = dh2
        elif mistake == "prime_of_activation":
            dz2 = dh2 * (1 - torch.tanh(h2) ** 2)
        else:
            dz2 = dh2 * (1 - h2**2)
        g["fc2.weight.grad"] = dz2.T @ h1
        g["fc2.bias.grad"] = dz2.sum(0)
        dh1 = dz2 @ p["fc2.weight"]
        dz1 = dh1 * torch.where(z1 > 0, torch.ones_like(z1), alpha * torch.exp(z1))
        g["fc1.weight.grad"] = dz1.T @ x
        g["fc1.bias.grad"] = dz1.sum(0)
        return g

    return grads
