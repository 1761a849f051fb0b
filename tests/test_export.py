"""export_onnx: the graph in onnxruntime gives what predict gives, missing steps included."""

import re
import sys

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

import skattn
from skattn import (
    AttentionLSTMClassifier,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    export_onnx,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RTOL, ATOL = 1e-4, 1e-5
N_TIMESTEPS, N_FEATURES = 6, 2
FAST = {"hidden_size": 8, "max_epochs": 2, "batch_size": 32, "random_state": 0,
        "n_features": N_FEATURES}


def windows(n_windows=150, seed=0):
    """Windows of an AR series (feature 0) and a driver (feature 1), the next
    value of the series, and a label for it."""
    rng = np.random.default_rng(seed)
    driver = rng.normal(size=n_windows + N_TIMESTEPS)
    series = np.zeros(n_windows + N_TIMESTEPS + 1)
    for t in range(2, len(series)):
        series[t] = 1.3 * series[t - 1] - 0.5 * series[t - 2] + driver[t - 2] + 5.0 / len(series)
    X = np.stack([np.lib.stride_tricks.sliding_window_view(values[:n_windows + N_TIMESTEPS - 1],
                                                           N_TIMESTEPS)
                  for values in (series[:-1], driver)], axis=-1)[:n_windows]
    y = series[N_TIMESTEPS:N_TIMESTEPS + n_windows]
    return X.astype(np.float32), y


def with_gaps(X):
    """The first rows with missing values: whole steps in the middle, only the
    newest step observed, only the oldest, one value, one feature throughout."""
    X = X.copy()
    X[0, 1:4] = np.nan
    X[1, :-1] = np.nan
    X[2, 1:] = np.nan
    X[3, 2, 1] = np.nan
    X[4, :, 1] = np.nan
    return X


def missing_steps(X):
    return np.isnan(X).all(axis=2)


def run(path, X):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X}), strict=True))


def attention_of(model, inputs, method="predict_attention", **params):
    if isinstance(model, Pipeline):
        model, inputs = model[-1], model[:-1].transform(inputs)
    return getattr(model, method)(inputs, **params)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def lag_frame(X):
    """2-D windows as a DataFrame with lag-named columns, feature-major (the
    model puts them in time order inside the graph)."""
    columns = {f"{name}_lag{N_TIMESTEPS - 1 - step}": X[:, step, feature]
               for feature, name in enumerate(["level", "driver"])
               for step in range(N_TIMESTEPS)}
    return pd.DataFrame(columns)


# (id, estimator, make the input, target, export options, level-free form expected).
# Every cell with and without bidirectional, every attention kind with both
# kinds of values, and each end of the graph once.
CONFIGS = [
    ("lstm-temporal-inputs-lag_names", dict(cell="lstm", num_layers=2), lag_frame,
     "y", {}, True),
    ("lstm-bi-temporal-states-2_outputs-robust_maxabs",
     dict(bidirectional=True, attention_values="states"),
     "flat", "2y", {"scalers": [RobustScaler(), "passthrough", MaxAbsScaler()]}, True),
    ("gru-per_feature-inputs-quantiles", dict(cell="gru", attention="per_feature",
                                              quantiles=(0.1, 0.25, 0.9), early_stopping=True),
     "flat", "2y", {"coverage": 0.8}, True),
    ("gru-bi-per_feature-states-linear_skip",
     dict(cell="gru", bidirectional=True, attention="per_feature", attention_values="states",
          single_attention_vector=True, linear_skip=True, window_norm="last"),
     "flat", "y", {}, True),
    ("rnn-dual-inputs-standard_scaler", dict(cell="rnn", attention="dual", target_feature=None),
     "flat", "y", {"scalers": [StandardScaler()]}, False),
    ("rnn-bi-dual-states-minmax_scaler",
     dict(cell="rnn", bidirectional=True, attention="dual", attention_values="states"),
     "flat", "y", {"scalers": [MinMaxScaler(clip=True)]}, True),
    ("lstm-multihead-inputs-classifier", dict(attention="multihead", n_heads=2),
     "flat", "labels", {}, False),
    ("gru-bi-multihead-states-3d", dict(cell="gru", bidirectional=True, attention="multihead",
                                        attention_values="states"),
     "3d", "y", {"flat": False}, True),
    ("rnn-feature-classifier-3_classes", dict(cell="rnn", attention="feature"),
     "flat", "classes", {}, False),
    ("lstm-bi-none-newest_first", dict(bidirectional=True, attention="none",
                                       time_order="newest_first"),
     "newest_first", "y", {}, True),
]


def make_input(kind, X):
    if callable(kind):
        return kind(X)
    if kind == "3d":
        return X
    if kind == "newest_first":
        X = X[:, ::-1]
    return np.ascontiguousarray(X.reshape(len(X), -1))


def make_target(kind, y):
    if kind == "2y":
        return np.column_stack([y, -2 * y])
    if kind == "labels":
        return np.where(np.diff(y, prepend=y[0]) > 0, "up", "down")
    if kind == "classes":
        return np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])) * 10
    return y


@pytest.mark.parametrize(("params", "input_kind", "target_kind", "options", "level_free"),
                         [config[1:] for config in CONFIGS], ids=[config[0] for config in CONFIGS])
def test_onnxruntime_matches_predict(tmp_path, params, input_kind, target_kind, options,
                                     level_free):
    options = dict(options)
    X, y = windows()
    X = with_gaps(X)
    inputs = make_input(input_kind, X)
    target = make_target(target_kind, y)
    classifier = target_kind in ("labels", "classes")
    estimator = (AttentionLSTMClassifier if classifier else AttentionLSTMRegressor)(
        **FAST, **params)
    scalers = options.pop("scalers", [])
    steps = [(f"scale{number}", scaler if isinstance(scaler, str) else clone(scaler))
             for number, scaler in enumerate(scalers)]
    model = Pipeline([*steps, ("model", estimator)]) if steps else estimator
    model.fit(inputs, target)
    assert (getattr(estimator, "target_feature_", None) is not None) == level_free
    attention = params.get("attention", "temporal")
    has_attention = attention != "none"
    proto = export_onnx(model, tmp_path / "model.onnx", return_attention=has_attention,
                        **options)
    assert proto.graph.input[0].name == "X"

    values = inputs.to_numpy(np.float32) if hasattr(inputs, "to_numpy") else inputs
    outputs = run(tmp_path / "model.onnx", values)
    if classifier:
        np.testing.assert_array_equal(outputs["label"], model.predict(inputs))
        close(outputs["probabilities"], model.predict_proba(inputs))
    else:
        close(outputs["prediction"], model.predict(inputs))
    if params.get("quantiles"):
        close(outputs["quantiles"], model.predict_quantiles(inputs))
        close(outputs["interval"], model.predict_interval(inputs, options["coverage"]))
    for name, value in outputs.items():  # a window with one observed step included
        assert name == "label" or np.isfinite(value).all()

    if has_attention:
        close(outputs["attention"], attention_of(model, inputs))
        if attention != "feature":
            # oldest step first, as predict_attention gives them, whatever the input order
            assert (outputs["attention"][missing_steps(X)] == 0).all()
            assert outputs["attention"][1, -1] == pytest.approx(1.0)  # one observed step
        if "feature_attention" in outputs:
            close(outputs["feature_attention"],
                  attention_of(model, inputs, "predict_feature_attention"))
            assert (outputs["feature_attention"][4, 1] == 0).all()  # never observed
        if "head_attention" in outputs:
            close(outputs["head_attention"], attention_of(model, inputs, per_head=True))
            assert (outputs["head_attention"].transpose(0, 2, 1)[missing_steps(X)] == 0).all()
    else:
        assert set(outputs) == {"prediction"}

    # one graph, any batch size: one window alone gives what it gives in a batch
    for row in (1, 7):
        alone = run(tmp_path / "model.onnx", values[row : row + 1])
        for name, value in alone.items():
            if name == "label":
                assert value[0] == outputs[name][row]
            else:
                np.testing.assert_allclose(value[0], outputs[name][row], rtol=1e-6, atol=1e-7)


@pytest.fixture(scope="module")
def fitted():
    X, y = windows(80)
    return AttentionLSTMRegressor(**FAST).fit(X.reshape(len(X), -1), y), X


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    reg, _ = fitted
    path = tmp_path_factory.mktemp("export") / "model.onnx"
    return export_onnx(reg, str(path)), path


def test_a_window_with_nothing_observed_gives_nan(fitted, exported):
    reg, X = fitted
    _, path = exported
    flat = X[:3].reshape(3, -1).copy()
    flat[1] = np.nan
    prediction = run(path, flat)["prediction"]
    assert np.isnan(prediction[1])
    close(prediction[[0, 2]], reg.predict(flat[[0, 2]]))
    with pytest.raises(ValueError, match="no observed time step"):
        reg.predict(flat)  # what the graph cannot do


def test_the_graph_describes_itself(exported):
    proto, _ = exported
    props = {prop.key: prop.value for prop in proto.metadata_props}
    assert props["skattn_estimator"] == "AttentionLSTMRegressor"
    assert props["time_labels"] == '["lag5", "lag4", "lag3", "lag2", "lag1", "lag0"]'
    assert props["input_shape"] == f'["batch", {N_TIMESTEPS * N_FEATURES}]'
    assert [output.name for output in proto.graph.output] == ["prediction"]


@pytest.mark.parametrize(("step", "advice"), [
    (PolynomialFeatures(), "skl2onnx"),
    (FunctionTransformer(np.log1p), "skl2onnx"),
    (SlidingWindowTransformer(window_size=3), r"pipeline\[2:\]"),
])
def test_steps_other_than_affine_scalers_are_refused_by_name(fitted, tmp_path, step, advice):
    reg, _ = fitted
    pipeline = Pipeline([("scale", StandardScaler()), ("expand", step), ("model", reg)])
    named = re.escape(f"step 'expand' ({type(step).__name__})")
    with pytest.raises(ValueError, match=f"{named}.*{advice}"):
        export_onnx(pipeline, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_refusals(fitted, tmp_path):
    reg, _ = fitted
    path = tmp_path / "model.onnx"
    with pytest.raises(ValueError, match="not fitted"):
        export_onnx(AttentionLSTMRegressor(), path)
    with pytest.raises(TypeError, match="path must be a str or path-like, got int"):
        export_onnx(reg, 3)
    with pytest.raises(TypeError, match="got StandardScaler"):
        export_onnx(StandardScaler().fit(np.ones((3, 2))), path)
    with pytest.raises(TypeError, match="last step 'scale' is a StandardScaler"):
        export_onnx(Pipeline([("scale", StandardScaler().fit(np.ones((3, 2))))]), path)
    with pytest.raises(ValueError, match="coverage=0.8 .*quantiles=None"):
        export_onnx(reg, path, coverage=0.8)
    with pytest.raises(ValueError, match="coverage must be None or a number between 0 and 1"):
        export_onnx(reg, path, coverage=80)
    with pytest.raises(ValueError, match="flat=False .*StandardScaler"):
        scaler = StandardScaler().fit(np.ones((3, reg.n_features_in_)))
        export_onnx(Pipeline([("scale", scaler), ("model", reg)]), path, flat=False)
    assert not path.exists()


def test_attention_refused_without_attention(tmp_path):
    X, y = windows(60)
    reg = AttentionLSTMRegressor(**FAST, attention="none").fit(X, y)
    with pytest.raises(ValueError, match="attention='none'"):
        export_onnx(reg, tmp_path / "model.onnx", return_attention=True)


def test_missing_onnx_names_the_extra(fitted, tmp_path, monkeypatch):
    reg, _ = fitted
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r'pip install "skattn\[onnx\]"'):
        export_onnx(reg, tmp_path / "model.onnx")


def test_export_onnx_is_public():
    assert "export_onnx" in skattn.__all__


def test_the_recommended_forecaster_serves_from_its_windows(tmp_path):
    series = pd.Series(np.sin(np.arange(150) / 3) + np.arange(150) / 50)
    X, y = skattn.make_supervised(series)
    forecaster = skattn.make_forecaster(8, max_epochs=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"SlidingWindowTransformer.*pipeline\[1:\]"):
        export_onnx(forecaster, tmp_path / "model.onnx")
    export_onnx(forecaster[1:], tmp_path / "model.onnx")
    windows = forecaster[:1].transform(X)  # the newest rows first have missing steps
    outputs = run(tmp_path / "model.onnx", windows.to_numpy(np.float32))
    close(outputs["prediction"], forecaster.predict(X))


def test_the_exported_masking_is_the_trained_one(monkeypatch):
    from skattn._modules import masked_softmax, newest_seen_step

    generator = torch.Generator().manual_seed(0)
    observed = torch.rand(40, 13, generator=generator) > 0.7
    observed[0] = False
    trained = newest_seen_step(observed)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    np.testing.assert_array_equal(newest_seen_step(observed), trained)
    assert trained[1].tolist() == np.maximum.accumulate(
        np.where(observed[1].numpy(), np.arange(13), 0)).tolist()
    # nothing observed: zeros and a zero gradient, no NaN to repair
    scores = torch.randn(40, 13, generator=generator, requires_grad=True)
    weights = masked_softmax(scores, observed, dim=-1)
    weights.sum().backward()
    assert (weights[0] == 0).all() and (weights[~observed] == 0).all()
    assert torch.isfinite(scores.grad).all() and (scores.grad[0] == 0).all()
    np.testing.assert_allclose(weights[1:].sum(dim=-1).detach(), 1.0, rtol=1e-6)


def test_a_model_from_the_safe_format_exports_alike(fitted, tmp_path):
    reg, X = fitted
    skattn.save(reg, tmp_path / "model.skattn")
    export_onnx(skattn.load(tmp_path / "model.skattn"), tmp_path / "model.onnx")
    flat = with_gaps(X).reshape(len(X), -1)
    close(run(tmp_path / "model.onnx", flat)["prediction"], reg.predict(flat))


@pytest.mark.parametrize("scaler", [
    StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False),
    RobustScaler(), RobustScaler(with_centering=False), RobustScaler(with_scaling=False),
    MaxAbsScaler(), MinMaxScaler(feature_range=(-2, 3)), MinMaxScaler(clip=True),
])
def test_each_affine_scaler_layer_computes_what_its_transform_does(scaler):
    """The layer a scaler becomes follows its flags (with_mean=False still stores
    mean_), NaN included."""
    import torch

    from skattn._export import AffineColumns

    rng = np.random.default_rng(3)
    X = (rng.normal(size=(60, 5)) * [1, 2, 3, 4, 5] + 7).astype(np.float32)
    scaler = clone(scaler).fit(X)
    new = np.vstack([X[:5] * 1.5, np.full((1, 5), np.nan, dtype=np.float32)])
    with torch.no_grad():
        layer = AffineColumns(scaler)(torch.as_tensor(new)).numpy()
    np.testing.assert_allclose(layer, scaler.transform(new), rtol=1e-5, atol=1e-5)
