"""Hand-written back-propagation, as people write it, with deliberate mistakes: test data.

These modules play the user of :mod:`symbackprop.testing`. Each is written in one coding style,
independently of symbackprop (its activations and their derivatives are typed by hand, as a
student would), and takes a ``mistake`` naming one entry of
:data:`symbackprop.testing.CATALOGUE` (with the layer it sits in), or ``None`` for the correct
implementation. The tests check that every mistake is caught and named, and that the correct
implementations pass in float64 and float32.

* :mod:`.rows_dict`: a function ``grads(params, X, Y)`` on a dict of arrays, samples as rows,
  W (out, in), b (n,), any depth, every activation of the registry (f and f′ typed by hand);
* :mod:`.class_in_out`: a class with ``forward(X)``/``backward(Y)`` in the (in, out) layout of
  many course notebooks, b (1, n), gradients kept in ``self.grads``;
* :mod:`.class_indices`: a softmax classifier taking class indices y (m,) instead of one-hot
  targets, W (in, out), b (n,);
* :mod:`.column_loop`: the classic tutorial loop over samples, each a column vector x (n, 1),
  W (out, in), b (n, 1), gradients summed over the loop, then averaged.
"""
