"""The network spec: the ways of writing one give equal objects; each bad spec gets one message
that names the problem and its place; hostile custom activations never reach an evaluator."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symbackprop.exprparse
from symbackprop import ACTIVATIONS, LOSSES, ExpressionError, Network, SpecError, load_toml, parse_compact
from symbackprop.spec import MAX_TOML_BYTES, MAX_WIDTH, from_cli, parse_sizes

SOFTSIGN = {"softsign": "x/(1+abs(x))"}


def _toml(tmp_path: Path, text: str, name: str = "net.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _from_cli_arguments(text: str) -> Network:
    words = shlex.split(text)
    network, options = words[0], dict(zip(words[1::2], words[2::2], strict=True))
    definitions = [value for key, value in zip(words[1::2], words[2::2], strict=True) if key == "--activation-def"]
    return from_cli(network, options["--activations"], options["--loss"], definitions)


def test_the_four_forms_give_equal_networks(tmp_path: Path) -> None:
    python = Network(sizes=[2, 4, 3, 1], activations=["relu", "relu", "sigmoid"], loss="bce")
    cli = from_cli("2-4-3-1", "relu,relu,sigmoid", "bce")
    toml = load_toml(_toml(tmp_path, 'sizes = [2, 4, 3, 1]\nactivations = ["relu", "relu", "sigmoid"]\nloss = "bce"\n'))
    compact = parse_compact("2 -> 4 relu -> 3 relu -> 1 sigmoid : bce")
    toml_compact = load_toml(_toml(tmp_path, 'spec = "2 -> 4 relu -> 3 relu -> 1 sigmoid : bce"\n', "c.toml"))
    assert python == cli == toml == compact == toml_compact
    assert from_cli(str(tmp_path / "net.toml")) == python
    assert from_cli("2 -> 4 relu -> 3 relu -> 1 sigmoid : bce") == python


def test_one_activation_name_serves_every_layer() -> None:
    assert Network([2, 3, 3, 1], "tanh", "mse") == Network([2, 3, 3, 1], ["tanh"] * 3, "mse")
    assert from_cli("2-3-3-1", "tanh", "mse") == Network([2, 3, 3, 1], "tanh", "mse")
    assert Network([2, 3, 1], ACTIVATIONS["tanh"], LOSSES["mse"]) == Network([2, 3, 1], "tanh", "mse")


def test_parameters_and_custom_activations_in_every_form(tmp_path: Path) -> None:
    python = Network([2, 3, 3, 2], ["leaky_relu(0.2)", "softsign", "identity"], "mse", custom_activations=SOFTSIGN)
    cli = from_cli("2-3-3-2", "leaky_relu(0.2),softsign,identity", "mse", ["softsign=x/(1+abs(x))"])
    compact = parse_compact("2 -> 3 leaky_relu(0.2) -> 3 softsign -> 2 identity : mse", custom_activations=SOFTSIGN)
    toml = load_toml(
        _toml(
            tmp_path,
            """
sizes = [2, 3, 3, 2]
activations = ["leaky_relu(0.2)", "softsign", "identity"]
loss = "mse"
[custom_activations]
softsign = "x/(1+abs(x))"
""",
        )
    )
    assert python == cli == compact == toml
    assert python.activations[0].parameters[0][1] == sp.Rational(1, 5)


@pytest.mark.parametrize(
    "network",
    [
        Network([2, 4, 3, 1], ["relu", "relu", "sigmoid"], "bce"),
        Network([3, 5, 4], ["elu(2)", "softmax"], "cce"),
        Network([1, 1], "identity", "half_sse"),
        Network([2, 3, 2], ["softsign", "cube"], "sse", custom_activations={**SOFTSIGN, "cube": "x^3 + max(0, x)"}),
    ],
    ids=str,
)
def test_compact_and_command_line_forms_read_back(network: Network) -> None:
    custom = {f.name: f for f in network.activations if f.definition is not None}
    assert parse_compact(network.compact, custom_activations=custom) == network
    assert _from_cli_arguments(network.cli_arguments) == network


def test_compact_form_allows_any_spacing() -> None:
    expected = parse_compact("2 -> 3 relu -> 1 sigmoid : bce")
    assert parse_compact("2->3 relu->1 sigmoid:bce") == expected
    assert parse_compact("  2 ->\t3\trelu ->   1   sigmoid :  bce ") == expected


def test_compact_grammar_is_documented() -> None:
    import symbackprop.spec

    assert 'network    := width ("->" width activation)+ ":" loss' in symbackprop.spec.__doc__


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Network([2, 0, 1], "sigmoid", "bce"), "sizes[1] (layer 1): width must be positive, got 0"),
        (lambda: Network([2, 3, -4], "sigmoid", "bce"), "sizes[2] (layer 2): width must be positive, got -4"),
        (lambda: Network([0, 3], "sigmoid", "bce"), "sizes[0] (input): width must be positive, got 0"),
        (lambda: Network([2, 2.5], "sigmoid", "bce"), "sizes[1] (layer 1): width 2.5 is not an integer"),
        (lambda: Network([2, True], "sigmoid", "bce"), "sizes[1] (layer 1): width True is not an integer"),
        (lambda: Network([2, MAX_WIDTH + 1], "sigmoid", "bce"), f"sizes[1] (layer 1): width {MAX_WIDTH + 1} exceeds"),
        (lambda: Network([2], "sigmoid", "bce"), "sizes: need an input width and at least one layer"),
        (lambda: Network("2-3", "sigmoid", "bce"), "sizes: expected a list of layer widths"),
        (lambda: Network([2, 3, 1], ["relu"], "bce"), "activations: 1 given for 2 layer(s)"),
        (lambda: Network([2, 3, 1], ["relu"] * 3, "bce"), "activations: 3 given for 2 layer(s)"),
        (
            lambda: Network([2, 3, 1], ["relu", "sigmoyd"], "bce"),
            "activations[1] (layer 2): unknown activation 'sigmoyd'; did you mean 'sigmoid'?",
        ),
        (
            lambda: Network([2, 3, 1], ["reLU", "sigmoid"], "bce"),
            "activations[0] (layer 1): unknown activation 'reLU'; did you mean 'relu'?",
        ),
        (lambda: Network([2, 3, 1], ["relu", 7], "bce"), "activations[1] (layer 2): expected an activation name"),
        (lambda: Network([2, 3, 1], "sigmoid", "bce_loss"), "loss: unknown loss 'bce_loss'; did you mean 'bce'?"),
        (
            lambda: Network([2, 3, 3], ["softmax", "softmax"], "cce"),
            "activations[0] (layer 1): softmax is only allowed on the output layer (layer 2)",
        ),
        (
            lambda: Network([2, 3, 3], ["relu", "softmax"], "mse"),
            "loss: a softmax output needs the categorical cross-entropy loss 'cce', not 'mse'",
        ),
        (lambda: Network([2, 3, 3], ["relu", "sigmoid"], "cce"), "loss: 'cce' needs a softmax output layer"),
        (lambda: Network([2, 3, 1], ["relu", "softmax"], "cce"), "sizes[2] (layer 2): softmax over one output"),
        (
            lambda: Network([2, 3, 1], ["relu", "relu"], "bce"),
            "loss: 'bce' needs predictions in (0, 1), but the output activation relu gives values in [0, ∞),"
            " where the loss's logarithms are undefined",
        ),
        (lambda: Network([2, 3, 1], ["relu", "tanh"], "bce"), "output activation tanh gives values in (-1, 1)"),
        (lambda: Network([2, 3, 1], ["relu", "silu"], "bce"), "the range of the output activation silu is not known"),
        (lambda: from_cli("2-3-1", None, "bce"), "--activations: missing"),
        (lambda: from_cli("2-3-1", "relu,sigmoid", None), f"--loss: missing; one of {', '.join(LOSSES)}"),
        (lambda: from_cli("2x3-1", "relu", "mse"), "sizes: '2x3-1' is not a list of widths"),
        (lambda: from_cli("2-0-1", "relu,sigmoid", "bce"), "sizes[1] (layer 1): width must be positive"),
        (lambda: from_cli("2-3-1", "relu,,sigmoid", "bce"), "activations: 3 given for 2 layer(s)"),
        (lambda: from_cli("2 -> 1 sigmoid : bce", "relu", None), "not allowed with the compact form"),
        (lambda: parse_compact("2 -> 3 relu -> 1 sigmoid"), "compact spec: '2 -> 3 relu -> 1 sigmoid' has no ': loss'"),
        (
            lambda: parse_compact("2 -> 3 relu -> 1 : bce"),
            "compact spec: layer 2 is '1'; write it as 'width activation'",
        ),
        (lambda: parse_compact("x -> 1 sigmoid : bce"), "compact spec: the input width 'x' is not a positive integer"),
        (lambda: parse_compact("2 : bce"), "compact spec: '2' needs at least 'inputs -> width activation'"),
        (lambda: parse_compact("2 -> 0 relu -> 1 sigmoid : bce"), "compact spec: sizes[1] (layer 1): width must be"),
        (
            lambda: parse_compact("2 -> 3 rleu -> 1 sigmoid : bce"),
            "compact spec: activations[0] (layer 1): unknown activation 'rleu'; did you mean 'relu'?",
        ),
        (lambda: parse_sizes("2-"), "sizes: '2-' is not a list of widths"),
        # Thousands of digits: refused by length, before int() raises or a file-name check fails.
        (lambda: from_cli("9" * 5000 + "-1", "relu", "mse"), "sizes[0] (input): width 99999999999999999999... exceeds"),
        (lambda: from_cli("2-99999999-1", "relu", "mse"), "sizes[1] (layer 1): width 99999999 exceeds 1000000"),
        (lambda: parse_compact("2 -> " + "9" * 5000 + " relu : mse"), "compact spec: sizes[1] (layer 1): width 9999"),
    ],
)
def test_bad_specs_get_one_clear_message(make, message: str) -> None:
    with pytest.raises(SpecError) as error:
        make()
    text = str(error.value)
    assert message in text
    assert "\n" not in text


def test_bce_with_several_outputs_is_documented_as_independent_labels() -> None:
    # The issue allows bce over more than one output when documented: each is its own binary label.
    assert "independent" in LOSSES["bce"].description
    assert Network([2, 3, 4], ["relu", "sigmoid"], "bce").derive().verify().ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sizes = [2, 3, 1]\nactivations = "relu"\n', "missing key(s) loss"),
        ('sizes = [2, 3, 1]\nactivations = "relu"\nloss = "mse"\nlearning_rate = 1\n', "unknown key(s) learning_rate"),
        ('spec = "2 -> 1 sigmoid : bce"\nloss = "bce"\n', "give either 'spec' or 'sizes'/'activations'/'loss'"),
        ("spec = 3\n", "spec: expected a string"),
        ('spec = "2 -> 1 sigmod : bce"\n', "compact spec: activations[0] (layer 1): unknown activation 'sigmod'"),
        ('sizes = [2, 3, 1]\nactivations = "relu"\nloss = 1\n', 'loss: expected a loss name like "bce", got 1'),
        ('sizes = [2, 0, 1]\nactivations = "relu"\nloss = "mse"\n', "sizes[1] (layer 1): width must be positive"),
        ("sizes = [2, 3, 1\n", "not valid TOML"),
        (
            'sizes = [2, 1]\nactivations = "c"\nloss = "mse"\ncustom_activations = 1\n',
            "custom_activations: expected a table",
        ),
        (
            'sizes = [2, 1]\nactivations = "c"\nloss = "mse"\n[custom_activations]\nc = "x.real"\n',
            "custom activation 'c': attribute access is not allowed",
        ),
    ],
)
def test_bad_toml_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(SpecError) as error:
        load_toml(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_missing_and_unreadable_toml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_toml(tmp_path / "absent.toml")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(SpecError, match="folder.toml is a folder, not a TOML file"):
        load_toml(tmp_path / "folder.toml")
    path = _toml(tmp_path, 'spec = "2 -> 1 sigmoid : bce"\n')
    with pytest.raises(SpecError, match="not allowed with a TOML file"):
        from_cli(str(path), "relu", None)
    with pytest.raises(SpecError, match="put custom activations in the TOML file"):
        from_cli(str(path), None, None, ["c=x"])


HOSTILE_DEFINITIONS = [
    "c=__import__('os').system('touch /tmp/pwned')",
    "c=x.__class__.__mro__",
    "c=(lambda: x)()",
    "c=exec('x')",
    "c=eval('x')",
    "c=getattr(x, 'real')",
    "c=x if x else 1",
    "c=[x][0]",
    "c='__builtins__'",
    "c=x; import os",
    "c=x\nimport os",
    "c=Symbol('y')",
    "c=sympify('x')",
    "c=9**9**9**9",
    "c=x**10**100",
    "c=" + "(" * 200 + "x" + ")" * 200,
    "c=x" + "+x" * 1000,
    "c=\uff45\uff58\uff50(x)",
    "c=x # comment",
    "__class__=x",
    "c=",
]


@pytest.mark.parametrize("definition", HOSTILE_DEFINITIONS, ids=range(len(HOSTILE_DEFINITIONS)))
def test_hostile_activation_definitions_are_rejected_without_evaluation(
    definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*arguments: object, **options: object) -> None:
        raise AssertionError("an evaluator was called on user text")

    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sp, "parse_expr", forbidden)
    monkeypatch.setattr(symbackprop.exprparse.sympy, "sympify", forbidden)
    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr("builtins.exec", forbidden)
    with pytest.raises(ExpressionError) as error:
        from_cli("2-3-1", "c,identity", "mse", [definition])
    assert str(error.value).startswith("--activation-def")
    assert not Path("/tmp/pwned").exists()


def test_custom_activation_names_cannot_shadow_built_ins() -> None:
    with pytest.raises(SpecError, match="'relu' is a built-in activation"):
        from_cli("2-3-1", "relu,identity", "mse", ["relu=x"])
    with pytest.raises(SpecError, match="did you mean 'softsign'"):
        from_cli("2-3-1", "softsgn,identity", "mse", ["softsign=x/(1+abs(x))"])


def test_a_custom_activation_is_defined_once() -> None:
    with pytest.raises(SpecError, match="--activation-def 'c': defined twice"):
        from_cli("2-3-1", "c,identity", "mse", ["c=x", "c=x^2"])


def test_custom_activation_has_no_known_range_so_bce_refuses_it() -> None:
    with pytest.raises(SpecError, match="range of the output activation softsign is not known"):
        Network([2, 1], "softsign", "bce", custom_activations=SOFTSIGN)


def test_network_is_frozen() -> None:
    network = Network([2, 1], "sigmoid", "bce")
    with pytest.raises(AttributeError):
        network.sizes = (3, 1)  # type: ignore[misc]
    assert network.depth == 1
    assert str(network) == "2 -> 1 sigmoid : bce"
    assert network.cli_arguments == "2-1 --activations sigmoid --loss bce"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"activations": 5}, "activations: expected an activation name or a list of one name per layer"),
        ({"activations": None}, "activations: expected an activation name or a list"),
        ({"activations": {"relu": 1}}, "activations: expected an activation name or a list"),
        ({"activations": b"relu"}, "activations: expected an activation name or a list"),
        ({"loss": 5}, 'loss: expected a loss name like "bce", got 5'),
        ({"loss": None}, 'loss: expected a loss name like "bce", got None'),
        ({"loss": ["bce"]}, "loss: expected a loss name like \"bce\", got ['bce']"),
        ({"sizes": {2: 1, 1: 1}}, "sizes: expected a list of layer widths like [2, 4, 1], got {2: 1, 1: 1}"),
        ({"sizes": None}, "sizes: expected a list of layer widths"),
        ({"sizes": [2, "3"]}, "sizes[1] (layer 1): width '3' is not an integer"),
        ({"sizes": [2] * 1002}, "sizes: more than 1000 layers"),
        ({"custom_activations": 5}, 'custom_activations: expected a table of name = "expression in x", got 5'),
        ({"custom_activations": {5: "x"}}, "custom_activations: a name must be a string, got 5"),
        ({"custom_activations": {"c": 5}}, "custom activation 'c': expected an expression in x as a string"),
    ],
)
def test_python_arguments_of_the_wrong_type_are_spec_errors(arguments: dict[str, object], message: str) -> None:
    given: dict[str, object] = {"sizes": [2, 1], "activations": "sigmoid", "loss": "bce", **arguments}
    with pytest.raises(SpecError) as error:
        Network(**given)  # type: ignore[arg-type]
    assert str(error.value).startswith(message)


def test_numpy_integers_and_iterables_are_accepted() -> None:
    expected = Network([2, 3, 1], ["relu", "sigmoid"], "bce")
    assert Network(np.array([2, 3, 1]), ("relu", "sigmoid"), "bce") == expected
    assert Network(iter([2, 3, 1]), iter(["relu", "sigmoid"]), "bce") == expected
    assert all(type(width) is int for width in Network(np.array([2, 3, 1]), "sigmoid", "bce").sizes)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_compact(None), "compact spec: expected a string like '2 -> 1 sigmoid : bce', got None"),
        (lambda: parse_compact(5), "compact spec: expected a string like '2 -> 1 sigmoid : bce', got 5"),
        (lambda: parse_compact(b"2 -> 1 sigmoid : bce"), "compact spec: expected a string like"),
        (lambda: load_toml(None), "load_toml: expected the path of a TOML file (a str or Path), got None"),
        (lambda: load_toml(5), "load_toml: expected the path of a TOML file (a str or Path), got 5"),
    ],
)
def test_the_text_and_the_path_of_a_spec_must_be_strings(call: object, message: str) -> None:
    with pytest.raises(SpecError) as error:
        call()  # type: ignore[operator]
    assert str(error.value).startswith(message)


def test_a_deeply_nested_or_huge_toml_file_is_a_spec_error(tmp_path: Path) -> None:
    nested = _toml(tmp_path, "sizes = " + "[" * 50_000 + "]" * 50_000 + '\nactivations = "relu"\nloss = "mse"\n')
    with pytest.raises(SpecError, match=r"not valid TOML \(arrays or tables nested too deeply\)$"):
        load_toml(nested)
    huge = _toml(tmp_path, "sizes = [" + "2, " * 400_000 + '1]\nactivations = "relu"\nloss = "mse"\n', "huge.toml")
    with pytest.raises(SpecError, match=f"huge.toml: larger than {MAX_TOML_BYTES} bytes"):
        load_toml(huge)


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ("٢-١", "sizes: '٢-١' is not a list of widths"),
        ("２-１", "sizes: '２-１' is not a list of widths"),
        ("2-¹", "sizes: '2-¹' is not a list of widths"),
        ("٢ -> 1 sigmoid : bce", "compact spec: the input width '٢' is not a positive integer"),
        ("2 -> ١ sigmoid : bce", "compact spec: layer 1 is '١ sigmoid'"),
    ],
)
def test_widths_are_ascii_digits_only(network: str, message: str) -> None:
    activations, loss = ("sigmoid", "bce") if "->" not in network else (None, None)
    with pytest.raises(SpecError, match=re.escape(message)):
        from_cli(network, activations, loss)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_as_a_toml_file_without_reading_it(path: str) -> None:
    with pytest.raises(SpecError, match=f"^{path} is a character device, not a TOML file$"):
        load_toml(path)
    with pytest.raises(SpecError, match=f"^{path} is a character device, not a TOML file$"):
        from_cli(path)


def test_a_fifo_is_refused_as_a_toml_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "spec.toml")
    with pytest.raises(SpecError, match=r"spec.toml is a FIFO \(named pipe\), not a TOML file"):
        load_toml(tmp_path / "spec.toml")
