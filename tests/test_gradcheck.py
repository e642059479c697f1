"""The gradient checker against hand-written back-propagation with known mistakes.

Every entry of the catalogue is made, deliberately, in at least one of the coding styles of
tests/handwritten/ and must be caught and named; the correct implementation of every style must
pass in float64 and float32.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from covering import covering_triples
from handwritten import class_in_out, class_indices, column_loop, rows_dict

import symbackprop as sb
from symbackprop.testing import (
    CheckError,
    GradientMismatch,
    ObjectAdapter,
    assert_gradients,
    check_gradients,
)
from symbackprop.testing.adapters import parse_path
from symbackprop.testing.reference import make_probe, reference_for

BCE_NET = sb.Network([3, 5, 4, 2], ["tanh", "relu", "sigmoid"], "bce")
SSE_NET = sb.Network([3, 5, 4, 2], ["tanh", "relu", "sigmoid"], "sse")
#: W1ᵀ has the shape of W2, so passing δ back through the wrong layer's weights still runs.
NEIGHBOUR_NET = sb.Network([3, 5, 3, 2], ["tanh", "tanh", "sigmoid"], "bce")
SOFTMAX_NET = sb.Network([4, 6, 3], ["relu", "softmax"], "cce")
COLUMN_NET = sb.Network([3, 5, 2], ["sigmoid", "sigmoid"], "half_sse")


def rows_code(network, mistake=None, layer=None):
    return rows_dict.make_grads([f.name for f in network.activations], network.loss.name, mistake, layer)


def class_code(network, mistake=None, layer=None, dtype=np.float64):
    return class_in_out.TwoLayerNet(*network.sizes, mistake=mistake, dtype=dtype)


def column_code(network, mistake=None, layer=None):
    return column_loop.make_grads(network.depth, mistake, layer)


#: (style, network, mistake, layer where it sits): each must be caught and named.
MISTAKES = [
    (rows_code, BCE_NET, "output_without_target", 3),
    (rows_code, BCE_NET, "extra_output_derivative", 3),
    (rows_code, BCE_NET, "sign", 3),
    (rows_code, BCE_NET, "missing_mean", 3),
    (rows_code, BCE_NET, "extra_mean", 2),
    (rows_code, BCE_NET, "double", 1),
    (rows_code, BCE_NET, "this_layer_activation", 2),
    (rows_code, BCE_NET, "preactivation_input", 2),
    (rows_code, BCE_NET, "bias_over_units", 1),
    (rows_code, BCE_NET, "bias_over_everything", 2),
    (rows_code, BCE_NET, "bias_not_summed", 3),
    (rows_code, BCE_NET, "missing_derivative", 2),
    (rows_code, BCE_NET, "derivative_of_output", 1),
    (rows_code, BCE_NET, "other_layer_derivative", 1),
    (rows_code, BCE_NET, "other_layer_derivative", 2),
    (rows_code, SSE_NET, "output_not_through_activation", 3),
    (rows_code, SSE_NET, "half", 3),
    (rows_code, SSE_NET, "derivative_of_output", 3),
    (rows_code, NEIGHBOUR_NET, "neighbour_weights", 1),
    (class_code, SOFTMAX_NET, "output_without_target", 2),
    (class_code, SOFTMAX_NET, "transposed", 2),
    (class_code, SOFTMAX_NET, "accumulating", 2),
    (column_code, COLUMN_NET, "missing_mean", 2),
    (column_code, COLUMN_NET, "derivative_of_output", 2),
    (column_code, COLUMN_NET, "derivative_of_output", 1),
    (column_code, COLUMN_NET, "missing_derivative", 1),
]


@pytest.mark.parametrize(
    ("style", "network", "mistake", "layer"),
    MISTAKES,
    ids=[f"{style.__name__}-{mistake}-{layer}" for style, _, mistake, layer in MISTAKES],
)
def test_each_mistake_is_caught_and_named(style, network, mistake, layer):
    report = check_gradients(network, style(network, mistake, layer))
    assert report.verdict == "fail"
    first = report.first_failure
    assert (first.mistake, first.layer) == (mistake, layer), report.table()
    assert first.diagnosis in report.table()


def test_a_forward_bug_is_reported_as_such_before_the_gradients():
    names = [f.name for f in BCE_NET.activations]
    forward = rows_dict.make_forward(names, mistake="forward_without_output_activation")
    report = check_gradients(BCE_NET, rows_code(BCE_NET), forward=forward)
    first = report.first_failure
    assert (first.name, first.mistake) == ("forward ŷ", "forward_without_output_activation")
    assert all(row.ok for row in report.rows if row.layer > 0)


def test_code_that_changes_the_parameters_is_reported():
    report = check_gradients(SOFTMAX_NET, class_code(SOFTMAX_NET, "changed_parameters"))
    assert report.verdict == "fail"
    assert [finding.split(" (")[0] for finding in report.findings] == ["your code changed W1"]
    assert all(row.ok for row in report.rows)


CORRECT = [(rows_code, BCE_NET), (rows_code, SSE_NET), (rows_code, SOFTMAX_NET), (column_code, COLUMN_NET)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("style", "network"), CORRECT, ids=[f"{s.__name__}-{n.compact}" for s, n in CORRECT])
def test_correct_function_styles_pass(style, network, dtype):
    report = assert_gradients(network, style(network), dtype=dtype)
    assert report.tolerance.dtype == np.dtype(dtype).name
    assert report.verdict == "pass"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_correct_class_style_passes_in_its_own_dtype(dtype):
    model = class_code(SOFTMAX_NET, dtype=dtype)
    report = assert_gradients(SOFTMAX_NET, ObjectAdapter(model, loss="loss"))
    assert report.tolerance.dtype == np.dtype(dtype).name
    assert "W (in, out), b (1, n)" in report.layout
    assert report.row("loss").ok


def test_the_layouts_are_detected_from_the_shapes():
    column = check_gradients(COLUMN_NET, column_code(COLUMN_NET))
    assert column.layout.startswith("samples as columns, W (out, in), b (n, 1)")
    rows = check_gradients(BCE_NET, rows_code(BCE_NET))
    assert rows.layout.startswith("samples as rows, W (out, in), b (n,)")


def test_a_summed_gradient_passes_when_declared_and_is_named_otherwise():
    summed = column_code(COLUMN_NET, "missing_mean")
    assert check_gradients(COLUMN_NET, summed, reduction="sum").verdict == "pass"
    report = check_gradients(COLUMN_NET, summed)
    assert {row.mistake for row in report.rows} == {"missing_mean"}
    assert 'pass reduction="sum" (--reduction sum)' in report.table()
    assert "reduction" not in check_gradients(COLUMN_NET, column_code(COLUMN_NET)).table()


def test_square_layers_take_the_weight_layout_the_gradients_agree_with():
    """Correct code on square layers is read in the one weight layout under which its gradients
    agree with the reference; buggy code, which agrees under neither, must say which it uses."""
    square = sb.Network([4, 4, 4], ["tanh", "sigmoid"], "bce")
    out_in = rows_code(square)

    def in_out(params, X, Y):
        # Written for W (in, out): the (out, in) code above on transposed weights and gradients.
        grads = out_in({k: v.T if k.startswith("W") else v for k, v in params.items()}, X, Y)
        return {k: v.T if k.startswith("dW") else v for k, v in grads.items()}

    assert "W (in, out)" in check_gradients(square, in_out).layout
    assert "W (out, in)" in check_gradients(square, out_in).layout
    buggy = rows_code(square, "missing_derivative", 1)
    with pytest.raises(CheckError, match='weight_layout="out_in"[|]"in_out" [(]--weight-layout out_in[|]in_out[)]$'):
        check_gradients(square, buggy)
    assert check_gradients(square, in_out, weight_layout="in_out").verdict == "pass"
    assert check_gradients(square, out_in, weight_layout="out_in").verdict == "pass"
    assert check_gradients(square, in_out, weight_layout="out_in").verdict == "fail"


def counting(code):
    """``code``, recording the shape of X of each call."""
    shapes = []

    def counted(params, X, Y):
        shapes.append(X.shape)
        return code(params, X, Y)

    return counted, shapes


def test_correct_code_in_the_first_layout_tried_is_called_once_per_batch():
    counted, shapes = counting(rows_code(BCE_NET))
    assert check_gradients(BCE_NET, counted).verdict == "pass"
    assert shapes == [(7, 3), (14, 3)]


def test_code_that_agrees_with_the_reference_in_no_layout_is_tried_under_the_others():
    counted, shapes = counting(rows_code(BCE_NET, "double", 1))
    assert check_gradients(BCE_NET, counted).verdict == "fail"
    assert (3, 7) in shapes  # samples as columns were tried too


def test_correct_code_on_square_layers_is_tried_under_the_other_weight_layout():
    square = sb.Network([4, 4, 4], ["tanh", "sigmoid"], "bce")
    counted, shapes = counting(rows_code(square))
    assert check_gradients(square, counted).verdict == "pass"
    assert shapes.count((7, 4)) == 2  # samples as rows, W (out, in) and W (in, out)


def test_the_mismatch_is_an_assertion_error_whose_message_is_the_table():
    with pytest.raises(AssertionError) as caught:
        assert_gradients(BCE_NET, rows_code(BCE_NET, "missing_derivative", 2))
    assert isinstance(caught.value, GradientMismatch)
    message = str(caught.value)
    assert message == caught.value.report.table()
    assert "layer 2 misses f′(z)" in message
    assert message.splitlines()[4].split() == [
        "parameter",
        "shape",
        "rel.",
        "error",
        "worst",
        "element:",
        "expected,",
        "got",
        "verdict",
        "diagnosis",
    ]


def test_finite_differences_agree_with_the_reference():
    report = check_gradients(BCE_NET, rows_code(BCE_NET), finite_differences=True)
    assert report.verdict == "pass"
    assert all(row.finite_difference_error < 1e-6 for row in report.rows)


def test_missing_gradient_keys_are_a_clear_error():
    def incomplete(params, X, Y):
        return {"dW1": np.zeros((5, 3))}

    with pytest.raises(CheckError, match="no gradient of b1 among the keys"):
        check_gradients(BCE_NET, incomplete)


def test_the_probe_keeps_every_preactivation_away_from_zero_and_tells_batches_apart():
    probe = make_probe(BCE_NET)
    m, twice = (batch.size for batch in probe.batches)
    assert twice == 2 * m and m not in BCE_NET.sizes and all(m % d for d in range(2, m))
    assert probe.margin > 1e-3
    reference = reference_for(BCE_NET)
    for batch in probe.batches:
        cache = reference.forward(probe.params, batch)
        for k in range(1, BCE_NET.depth + 1):
            z = cache.Z[k]
            assert np.min(np.abs(z)) >= probe.margin
            assert np.all((z > 0).any(axis=0) & (z < 0).any(axis=0)), f"a unit of layer {k} sees one sign only"


def _networks_of_the_registry():
    """A covering set of the registry (tests/covering.py): every hidden activation and every
    accepted (output activation, loss) pair at least once, instead of every activation with every
    loss."""
    for hidden, output, loss in covering_triples((3, 4, 2)):
        yield sb.Network([3, 4, 2], [hidden, output], loss)


@pytest.mark.parametrize("network", list(_networks_of_the_registry()), ids=str)
def test_the_unchanged_backprop_pieces_equal_the_generated_backward(network):
    reference = reference_for(network)
    probe = make_probe(network)
    for batch in probe.batches:
        expected = reference.gradients(probe.params, batch)
        pieces = reference.backprop(probe.params, reference.forward(probe.params, batch))
        for name, value in expected.items():
            np.testing.assert_allclose(pieces[name], value, rtol=1e-12, atol=1e-14)


def test_user_names_for_parameters_and_gradients():
    correct = rows_code(BCE_NET)
    ours = {f"{kind}{k}": f"{'weights' if kind == 'W' else 'bias'}_{k}" for k in (1, 2, 3) for kind in "Wb"}

    def renamed(params, X, Y):
        grads = correct({name: params[user] for name, user in ours.items()}, X, Y)
        return {f"grad_of_{ours[name[1:]]}": value for name, value in grads.items()}

    grad_names = {name: f"grad_of_{user}" for name, user in ours.items()}
    assert check_gradients(BCE_NET, renamed, names=ours, grad_names=grad_names).verdict == "pass"


class ListsModel:
    """Parameters and gradients in lists, the layer counted from 0 (paths with {i})."""

    def __init__(self, network):
        self.activations = [f.name for f in network.activations]
        self.loss = network.loss.name
        self.weights = [np.zeros((n, p)) for p, n in zip(network.sizes, network.sizes[1:], strict=False)]
        self.biases = [np.zeros(n) for n in network.sizes[1:]]

    def forward(self, X):
        self.X = X
        params = self._params()
        return rows_dict.make_forward(self.activations)(params, X)

    def backward(self, Y):
        grads = rows_dict.make_grads(self.activations, self.loss)(self._params(), self.X, Y)
        self.weight_grads = [grads[f"dW{k}"] for k in range(1, len(self.weights) + 1)]
        self.bias_grads = [grads[f"db{k}"] for k in range(1, len(self.weights) + 1)]

    def _params(self):
        params = {f"W{k}": W for k, W in enumerate(self.weights, start=1)}
        params.update({f"b{k}": b for k, b in enumerate(self.biases, start=1)})
        return params


def test_an_object_adapter_reads_lists_by_path():
    adapter = ObjectAdapter(
        ListsModel(BCE_NET),
        weights="weights[{i}]",
        biases="biases[{i}]",
        weight_grads="weight_grads[{i}]",
        bias_grads="bias_grads[{i}]",
    )
    report = check_gradients(BCE_NET, adapter)
    assert report.verdict == "pass"
    assert report.row("forward ŷ").ok


def test_a_bad_attribute_path_is_a_clear_error():
    with pytest.raises(CheckError, match="has no 'coefs\\[0\\]'"):
        check_gradients(BCE_NET, ObjectAdapter(ListsModel(BCE_NET), weights="coefs[{i}]", biases="biases[{i}]"))


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("W1", [("attr", "W1")]),
        ("weights[0]", [("attr", "weights"), ("index", 0)]),
        ("params['W1']", [("attr", "params"), ("key", "W1")]),
        ("layers[2].weight", [("attr", "layers"), ("index", 2), ("attr", "weight")]),
    ],
)
def test_attribute_paths_are_parsed_not_evaluated(path, steps):
    assert parse_path(path) == steps


@pytest.mark.parametrize("path", [".W1", "a..b", "1a", "a[0]b", "[0]", "__import__('os')"])
def test_malformed_attribute_paths_are_refused(path):
    with pytest.raises(CheckError, match="is not an attribute path"):
        parse_path(path)


def test_float32_gradients_from_float64_inputs_get_float32_tolerances():
    correct = rows_code(BCE_NET)

    def in_float32(params, X, Y):
        as32 = {name: value.astype(np.float32) for name, value in params.items()}
        return correct(as32, X.astype(np.float32), Y.astype(np.float32))

    report = check_gradients(BCE_NET, in_float32)
    assert report.verdict == "pass"
    assert report.tolerance.dtype == "float32"
    assert "returned float32 gradients" in report.table()


def test_finite_differences_on_a_sample_of_elements():
    report = check_gradients(BCE_NET, rows_code(BCE_NET), finite_differences=True, finite_difference_elements=3)
    assert all(row.finite_difference_error < 1e-6 for row in report.rows)


def test_accumulation_is_named_in_every_row_not_inherited_through_delta():
    report = check_gradients(SOFTMAX_NET, class_code(SOFTMAX_NET, "accumulating"))
    failing = [row for row in report.rows if not row.ok]
    assert {row.name for row in failing} == {"dW1", "db1", "dW2", "db2"}
    for row in failing:
        assert row.mistake == "accumulating"
        assert "through δ" not in row.diagnosis, row.diagnosis


def test_code_that_raises_everywhere_is_one_line_naming_the_error_and_where():
    def crashes(params, X, Y):
        return {"dW1": params["weights1"]}

    with pytest.raises(CheckError) as caught:
        check_gradients(BCE_NET, crashes)
    line = crashes.__code__.co_firstlineno + 1
    assert str(caught.value) == (
        f"crashes raised KeyError: 'weights1' (at test_gradcheck.py:{line}, in crashes) under every layout tried;"
        " if 'weights1' is one of your parameters, say which of W1, b1, W2, b2, W3, b3 it is:"
        " names={'W1': 'weights1'} (--names W1=weights1)"
    )


def test_code_that_raises_differently_by_layout_lists_each_with_where():
    def crashes_on_columns(params, X, Y):
        if X.shape[0] == BCE_NET.sizes[0]:
            raise ValueError("columns")
        raise TypeError("rows")

    with pytest.raises(CheckError) as caught:
        check_gradients(BCE_NET, crashes_on_columns)
    lines = str(caught.value).splitlines()
    assert lines[0] == "crashes_on_columns raised under every layout tried:", lines
    assert all("test_gradcheck.py:" in line for line in lines[1:])
    assert any("samples as rows" in line and "TypeError: rows" in line for line in lines)
    assert any("samples as columns" in line and "ValueError: columns" in line for line in lines)


class LayersModel(ListsModel):
    """Parameters where PyTorch keeps them: layers[i].weight (out, in) and layers[i].bias."""

    def __init__(self, network, depth=None):
        super().__init__(network)
        self.layers = [types.SimpleNamespace(weight=W, bias=b) for W, b in zip(self.weights, self.biases, strict=True)]
        self.layers = self.layers[:depth]


def test_parameters_not_where_the_adapter_looks_name_the_option_to_give():
    with pytest.raises(CheckError) as caught:
        check_gradients(BCE_NET, LayersModel(BCE_NET))
    message = str(caught.value)
    assert message.startswith("LayersModel has no 'W1' (failed at 'W1'): weights='W{k}' does not lead to")
    assert "ObjectAdapter(model, weights=...)" in message and "'layers[{i}].weight'" in message


def test_a_parameter_missing_beyond_the_first_layer_is_an_error_not_a_new_attribute():
    model = LayersModel(BCE_NET, depth=2)
    adapter = ObjectAdapter(model, weights="layers[{i}].weight", biases="layers[{i}].bias")
    with pytest.raises(CheckError, match=r"has no 'layers\[2\].weight' \(failed at 2\): weights="):
        check_gradients(BCE_NET, adapter)


def test_class_index_labels_are_detected_and_their_mistakes_named():
    report = assert_gradients(SOFTMAX_NET, class_indices.make_grads())
    assert report.layout.startswith("samples as rows, W (in, out), b (n,), y as class indices (m,)")
    buggy = check_gradients(SOFTMAX_NET, class_indices.make_grads("output_without_target"))
    assert (buggy.first_failure.mistake, buggy.first_failure.layer) == ("output_without_target", 2)
    assert assert_gradients(SOFTMAX_NET, class_indices.make_grads(), targets="indices").ok


def test_one_hot_code_is_not_given_indices_and_indices_need_a_one_hot_loss():
    assert "class indices" not in check_gradients(SOFTMAX_NET, rows_code(SOFTMAX_NET)).layout
    refused = r"targets='indices' \(--targets indices\) needs one-hot targets; those of bce are binary"
    with pytest.raises(CheckError, match=refused):
        check_gradients(BCE_NET, rows_code(BCE_NET), targets="indices")
    with pytest.raises(CheckError, match=r"targets: 'labels' is not one of one-hot, indices"):
        check_gradients(SOFTMAX_NET, rows_code(SOFTMAX_NET), targets="labels")


def test_the_hand_written_functions_cover_every_activation():
    assert set(rows_dict.FUNCTIONS) == set(sb.ACTIVATIONS)


def _invisible_on_the_probe(network, mistake, k):
    """Whether the hand-written mistake changes nothing on the probe (f′ = 1, f′(a) = f′(z), or
    the output layer's f′ is the same function)."""
    reference, probe = reference_for(network), make_probe(network)
    derivative = rows_dict.FUNCTIONS[network.activations[k - 1].name][1]
    output_derivative = rows_dict.FUNCTIONS[network.activations[-1].name][1]
    for batch in probe.batches:
        cache = reference.forward(probe.params, batch)
        right = derivative(cache.Z[k], None)
        if mistake == "derivative_of_output":
            wrong = derivative(cache.A[k], None)
        elif mistake == "other_layer_derivative":
            wrong = output_derivative(cache.Z[k], None)
        else:  # f′ left out
            wrong = np.ones_like(right)
        if not np.allclose(right, wrong, rtol=1e-12, atol=0.0):
            return False
    return True


ELEMENTWISE = [activation.name for activation in sb.ACTIVATIONS.values() if activation.jacobian.diagonal]


@pytest.mark.parametrize("mistake", ["missing_derivative", "derivative_of_output", "other_layer_derivative"])
@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_a_hidden_derivative_mistake_is_named_for_every_activation(activation, mistake):
    network = sb.Network([3, 5, 4, 2], ["tanh", activation, "sigmoid"], "bce")
    report = check_gradients(network, rows_code(network, mistake, 2))
    if _invisible_on_the_probe(network, mistake, 2):
        assert report.verdict == "pass", report.table()
    else:
        assert (report.first_failure.mistake, report.first_failure.layer) == (mistake, 2), report.table()


@pytest.mark.parametrize("mistake", ["output_not_through_activation", "derivative_of_output"])
@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_an_output_derivative_mistake_is_named_for_every_activation(activation, mistake):
    network = sb.Network([3, 5, 2], ["tanh", activation], "sse")
    report = check_gradients(network, rows_code(network, mistake, 2))
    if _invisible_on_the_probe(network, mistake, 2):
        assert report.verdict == "pass", report.table()
    else:
        assert (report.first_failure.mistake, report.first_failure.layer) == (mistake, 2), report.table()


def test_code_that_updates_every_parameter_is_one_finding_naming_them_all():
    correct = rows_code(BCE_NET)

    def with_update_step(params, X, Y):
        grads = correct(params, X, Y)
        for name in params:
            params[name] -= 0.1 * grads[f"d{name}"]
        return grads

    report = check_gradients(BCE_NET, with_update_step)
    assert [finding.split(" (")[0] for finding in report.findings] == ["your code changed W1, b1, W2, b2, W3, b3"]


def test_a_loss_that_is_not_one_number_is_a_clear_error():
    with pytest.raises(CheckError, match=r"the loss function's result has shape \(2,\); expected one number"):
        check_gradients(BCE_NET, rows_code(BCE_NET), loss=lambda params, X, Y: np.ones(2))


class LossAndGradients(class_in_out.TwoLayerNet):
    """backward returns (loss, grads), as a FunctionAdapter's grads may."""

    def backward(self, Y):
        return self.loss(self.probs, Y), super().backward(Y)


def test_an_object_whose_backward_returns_loss_and_gradients():
    report = assert_gradients(SOFTMAX_NET, LossAndGradients(*SOFTMAX_NET.sizes))
    assert report.row("loss").ok


def test_an_object_that_keeps_its_gradients_is_told_how_to_say_where():
    class KeepsThem(class_in_out.TwoLayerNet):
        def backward(self, Y):
            self.kept = super().backward(Y)

    with pytest.raises(CheckError, match=r"returned NoneType; .* tell ObjectAdapter\(model, weight_grads="):
        check_gradients(SOFTMAX_NET, KeepsThem(*SOFTMAX_NET.sizes))
    kept = ObjectAdapter(KeepsThem(*SOFTMAX_NET.sizes), weight_grads="kept['W{k}']", bias_grads="kept['b{k}']")
    assert check_gradients(SOFTMAX_NET, kept).ok


@pytest.mark.parametrize("dtype", ["float16", "foo", int])
def test_a_dtype_other_than_float32_or_float64_is_refused(dtype):
    with pytest.raises(CheckError, match="is not float32 or float64"):
        check_gradients(BCE_NET, rows_code(BCE_NET), dtype=dtype)


@pytest.mark.parametrize("weights", ["weights[{j}]", "W{k.real}", "W{0}", "{k}"])
def test_a_path_template_with_another_field_is_refused(weights):
    adapter = ObjectAdapter(ListsModel(BCE_NET), weights=weights, biases="biases[{i}]")
    with pytest.raises(CheckError, match="is not an attribute path"):
        check_gradients(BCE_NET, adapter)


def _perturbed(relative, names=None):
    """The correct gradients with a relative noise of ``relative`` in ``names`` (all by default)."""
    correct = rows_code(BCE_NET)

    def grads(params, X, Y):
        rng = np.random.default_rng(1)
        return {
            key: value * (1 + relative * rng.standard_normal(value.shape)) if names is None or key in names else value
            for key, value in correct(params, X, Y).items()
        }

    return grads


def test_a_gradient_slightly_off_is_inconclusive_and_not_blamed_on_another_parameter_s_mistake():
    report = check_gradients(BCE_NET, _perturbed(1e-6))
    assert report.verdict == "inconclusive"
    for row in report.rows:
        assert (row.verdict, row.mistake) == ("inconclusive", ""), report.table()
        assert row.diagnosis.startswith(f"{row.name} is close to the correct gradient but off by"), row.diagnosis


def test_an_unexplained_gradient_names_no_mistake_of_another_parameter():
    report = check_gradients(BCE_NET, _perturbed(1e-2, names={"dW2"}))
    row = report.row("dW2")
    assert (row.verdict, row.mistake) == ("fail", ""), report.table()
    assert row.diagnosis == "no known mistake explains it"
    assert all(other.ok for other in report.rows if other.name != "dW2")


def test_function_options_given_for_an_object_point_to_the_adapter_options():
    with pytest.raises(CheckError, match=r"^names: these are for a function .* ObjectAdapter\(model, forward='method'"):
        check_gradients(SOFTMAX_NET, class_code(SOFTMAX_NET), names={"W1": "weights"})


def test_a_factor_that_changes_with_the_batch_points_at_a_fixed_batch_size():
    correct = rows_code(BCE_NET)
    m = make_probe(BCE_NET).batches[0].size

    def fixed_batch_size(params, X, Y):
        return {key: value * X.shape[0] / m for key, value in correct(params, X, Y).items()}

    report = check_gradients(BCE_NET, fixed_batch_size)
    assert report.row("dW3").diagnosis == (
        f"dW3 is 1 times on the batch of {m} and 2 times on the batch of {2 * m}: a factor that depends on the batch"
        " (is the batch size fixed in the code, rather than read from X?)"
    )


def test_something_neither_function_nor_object_is_refused():
    with pytest.raises(CheckError, match="^3 is neither a function grads"):
        check_gradients(BCE_NET, 3)


def test_a_mistake_plus_noise_names_the_mistake_as_closest_and_a_far_mutant_is_not_named():
    buggy = rows_code(BCE_NET, "missing_derivative", 2)

    def noisy(params, X, Y):
        rng = np.random.default_rng(2)
        grads = buggy(params, X, Y)
        return {key: value * (1 + 1e-3 * rng.standard_normal(value.shape)) for key, value in grads.items()}

    row = check_gradients(BCE_NET, noisy).row("dW2")
    assert row.mistake == ""
    assert row.diagnosis.startswith("no known mistake explains it; the closest is: layer 2 misses f′(z)"), row.diagnosis
    # Layer 2 (elu) multiplied by gelu′, an activation the network does not have: no mutant is
    # near, and none is named (the nearest would blame layer 1's f′ for dW1).
    network = sb.Network([3, 5, 4, 2], ["tanh", "elu", "sigmoid"], "bce")
    elu_with_gelu_prime = (rows_dict.FUNCTIONS["elu"][0], rows_dict.FUNCTIONS["gelu"][1])
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(rows_dict.FUNCTIONS, "elu_with_gelu_prime", elu_with_gelu_prime)
        far = check_gradients(network, rows_dict.make_grads(["tanh", "elu_with_gelu_prime", "sigmoid"], "bce"))
    assert {row.diagnosis for row in far.rows if not row.ok} == {"no known mistake explains it"}


def test_code_that_takes_its_parameters_as_a_list_is_told_they_come_as_a_dict():
    def by_position(params, X, Y):
        return {"dW1": params[0]}

    told = r"KeyError: 0 .*; the parameters come as a dict keyed W1, b1, W2, b2, not as a list"
    with pytest.raises(CheckError, match=told):
        check_gradients(COLUMN_NET, by_position)


#: Tanh hidden layers and a sigmoid output with binary cross-entropy; square (every W 4 x 4,
#: where the weight layout must be given; samples against columns is told by the batch size) and not.
SQUARE_NET = sb.Network([4, 4, 4, 4], ["tanh", "tanh", "sigmoid"], "bce")
TANH_NET = sb.Network([3, 5, 4, 2], ["tanh", "tanh", "sigmoid"], "bce")
LAYOUTS = [
    (samples, weights, biases)
    for samples in ("rows", "columns")
    for weights in ("out_in", "in_out")
    for biases in ("flat", "column", "row")
]


def layout_code(samples, weights, biases, summed=False):
    """Correct back-propagation of TANH_NET's and SQUARE_NET's kind, written the way a user of this
    layout writes it: Z = A Wᵀ + b (samples as rows) or Z = W A + b (columns), the bias broadcast
    as that layout needs (b, b.T or b[:, None]) and its gradient returned in the bias's own shape."""
    rows = samples == "rows"
    # The (n,)-shaped sum of dZ over the samples, as this layout's bias (the keepdims a user writes).
    shaped = {"flat": lambda s: s, "column": lambda s: s[:, None], "row": lambda s: s[None, :]}[biases]
    if rows:
        broadcast = {"flat": lambda b: b, "row": lambda b: b, "column": lambda b: b.T}[biases]
    else:
        broadcast = {"column": lambda b: b, "flat": lambda b: b[:, None], "row": lambda b: b.T}[biases]

    def affine(W, A, b):
        if rows:
            return A @ (W.T if weights == "out_in" else W) + broadcast(b)
        return (W if weights == "out_in" else W.T) @ A + broadcast(b)

    def grads(params, X, Y):
        L = len(params) // 2
        m = X.shape[0] if rows else X.shape[1]
        activations = [X]
        for k in range(1, L + 1):
            Z = affine(params[f"W{k}"], activations[-1], params[f"b{k}"])
            activations.append(1 / (1 + np.exp(-Z)) if k == L else np.tanh(Z))
        dZ = (activations[L] - Y) / (1 if summed else m)  # sigmoid with binary cross-entropy
        out = {}
        for k in range(L, 0, -1):
            A_prev, W = activations[k - 1], params[f"W{k}"]
            if rows:
                dW = dZ.T @ A_prev if weights == "out_in" else A_prev.T @ dZ
                out[f"db{k}"] = shaped(dZ.sum(axis=0))
                dA = dZ @ (W if weights == "out_in" else W.T)
            else:
                dW = dZ @ A_prev.T if weights == "out_in" else A_prev @ dZ.T
                out[f"db{k}"] = shaped(dZ.sum(axis=1))
                dA = (W.T if weights == "out_in" else W) @ dZ
            out[f"dW{k}"] = dW
            dZ = dA * (1 - A_prev**2)
        return out

    return grads


def described(samples, weights, biases):
    from symbackprop.testing.adapters import Layout

    return Layout(samples, weights, biases).describe()


@pytest.mark.parametrize("network", [SQUARE_NET, TANH_NET], ids=["square", "not-square"])
@pytest.mark.parametrize(("samples", "weights", "biases"), LAYOUTS, ids=["-".join(layout) for layout in LAYOUTS])
def test_correct_code_passes_in_every_layout_the_readme_lists(network, samples, weights, biases):
    # Only the weight layout of square layers is given: the shapes and the returned gradients tell
    # the rest (a (n,) bias broadcasts where (1, n) or (n, 1) is meant, but the gradients then come
    # back in another shape).
    options = {"weight_layout": weights} if network is SQUARE_NET else {}
    report = check_gradients(network, layout_code(samples, weights, biases), **options)
    assert report.verdict == "pass", report.table()
    assert report.layout.startswith(described(samples, weights, biases) + ";"), report.layout


@pytest.mark.parametrize(
    ("right", "summed"), [("rows", False), ("columns", False), ("columns", True)], ids=["rows", "columns", "summed"]
)
def test_of_layouts_whose_gradients_fit_the_one_that_agrees_with_the_reference_is_kept(right, summed):
    correct = layout_code(right, "out_in", "column" if right == "columns" else "flat", summed=summed)

    def right_in_one_sample_layout(params, X, Y):
        given = "rows" if X.shape[1] == TANH_NET.sizes[0] else "columns"
        if given == right:
            return correct(params, X, Y)
        # Gradients of the parameters' shapes, but not the gradients (the code's bug in this layout).
        return {f"d{name}": np.full_like(value, 0.5) for name, value in params.items()}

    options = {"reduction": "sum"} if summed else {}
    report = check_gradients(TANH_NET, right_in_one_sample_layout, **options)
    assert report.layout.startswith(f"samples as {right}, W (out, in)"), report.layout
    assert report.verdict == "pass", report.table()


def test_when_no_fitting_layout_agrees_with_the_reference_the_options_that_tell_them_apart_are_asked():
    wrong = layout_code("columns", "out_in", "column")

    def wrong_everywhere(params, X, Y):
        if X.shape[1] == TANH_NET.sizes[0]:
            return {f"d{name}": np.full_like(value, 0.5) for name, value in params.items()}
        return {key: -value for key, value in wrong(params, X, Y).items()}  # the sign flipped

    asked = r'several layouts .*: samples="rows"[|]"columns" [(]--samples rows[|]columns[)], '
    with pytest.raises(CheckError, match=asked):
        check_gradients(TANH_NET, wrong_everywhere)
    assert check_gradients(TANH_NET, wrong_everywhere, samples="columns").verdict == "fail"


@pytest.mark.filterwarnings("error")
def test_tensors_returned_as_gradients_are_read_without_a_numpy_warning():
    torch = pytest.importorskip("torch")
    correct = rows_code(BCE_NET)

    def as_tensors(params, X, Y):
        return {key: torch.tensor(value, requires_grad=True) for key, value in correct(params, X, Y).items()}

    assert check_gradients(BCE_NET, as_tensors).verdict == "pass"
