"""The attention family: each kind finds the planted signal, shapes, labels, comparison."""

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import planted_feature, planted_step
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import (
    AttentionLSTMClassifier,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
)

TEMPORAL_KINDS = ["temporal", "per_feature", "dual", "multihead"]


@pytest.fixture(scope="module")
def planted():
    """REFERENCE section 1 data: T=20, F=2, the target at step 10."""
    return planted_step(3000, 20, 2, step=10, seed=0), planted_step(600, 20, 2, step=10, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", TEMPORAL_KINDS)
def test_planted_step_found_by_each_temporal_kind(planted, cell, attention):
    (X, y), (X_test, y_test) = planted
    reg = AttentionLSTMRegressor(
        cell=cell, attention=attention, max_epochs=12, random_state=0, n_threads=1
    ).fit(X, y)
    assert reg.attention_weights_.argmax() == 10
    assert reg.score(X_test, y_test) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["temporal", "multihead"])
def test_planted_step_classifier(planted, attention):
    (X, y), (X_test, y_test) = planted
    labels = np.where(y > 0, "on", "off")
    clf = AttentionLSTMClassifier(
        attention=attention, max_epochs=10, random_state=0, n_threads=1
    ).fit(X, labels)
    assert clf.attention_weights_.argmax() == 10
    assert clf.score(X_test, np.where(y_test > 0, "on", "off")) > 0.95
    assert set(clf.classes_) == {"on", "off"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n_timesteps", "n_features", "step", "seed"),
    [(10, 1, 2, 0), (25, 3, 12, 1), (40, 2, 37, 2)],
)
def test_default_attention_finds_planted_steps_anywhere(n_timesteps, n_features, step, seed):
    """CI-sized subset of benchmarks/attention_hit_rate.py: early, middle and late steps."""
    X, y = planted_step(1500, n_timesteps, n_features, step=step, seed=seed)
    reg = AttentionLSTMRegressor(random_state=seed, n_threads=1).fit(X, y)
    assert reg.attention_weights_.argmax() == step


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["feature", "dual"])
def test_planted_feature_found(attention):
    """REFERENCE section 1, second variant: 6 steps x 10 features, feature 5."""
    X, y = planted_feature(3000, 6, 10, feature=5, seed=0)
    X_test, y_test = planted_feature(600, 6, 10, feature=5, seed=1)
    # y equals feature 5 at every step: target_feature="auto" would take it for
    # the target's own history and forecast from its newest value, not through
    # the attention the reference recipe shows
    reg = AttentionLSTMRegressor(
        attention=attention, max_epochs=12, target_feature=None, random_state=0
    ).fit(X, y)
    assert reg.feature_weights_.shape == (10,)
    assert reg.feature_weights_.argmax() == 5
    assert reg.score(X_test, y_test) > 0.9
    per_window = reg.predict_feature_attention(X_test)
    assert per_window.shape == (600, 10)
    np.testing.assert_allclose(per_window.sum(axis=1), 1.0, rtol=1e-5)
    if attention == "feature":
        np.testing.assert_array_equal(reg.attention_weights_, reg.feature_weights_)
    else:
        assert reg.attention_weights_.shape == (6,)


COMBINATIONS = list(
    itertools.product(
        ["lstm", "gru", "rnn"],
        ["temporal", "per_feature", "feature", "dual", "multihead", "none"],
        [False, True],
        [1, 2],
    )
)


@pytest.mark.parametrize(("cell", "attention", "bidirectional", "num_layers"), COMBINATIONS)
def test_every_architecture_fits_with_the_right_shapes(cell, attention, bidirectional, num_layers):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5, 3))
    X[0, :2] = np.nan  # missing steps go through every kind
    y = rng.normal(size=(24, 2))
    reg = AttentionLSTMRegressor(
        cell=cell, attention=attention, bidirectional=bidirectional, num_layers=num_layers,
        hidden_size=6, dropout=0.1, n_heads=2, max_epochs=1, batch_size=8, random_state=0,
    ).fit(X, y)
    assert reg.predict(X).shape == (24, 2)
    if attention == "none":
        assert not hasattr(reg, "attention_weights_")
        return
    weights = reg.predict_attention(X)
    width = 3 if attention == "feature" else 5
    assert weights.shape == (24, width)
    assert reg.attention_weights_.shape == (width,)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    if attention != "feature":
        assert (weights[0, :2] == 0.0).all()
    if attention in ("feature", "dual"):
        assert reg.predict_feature_attention(X).shape == (24, 3)
        assert reg.feature_weights_.shape == (3,)


def test_multihead_per_head_weights():
    X, y = planted_step(64, 6, 2, step=2, seed=0)
    reg = AttentionLSTMRegressor(
        attention="multihead", n_heads=3, hidden_size=6, max_epochs=1, random_state=0
    ).fit(X, y)
    heads = reg.predict_attention(X, per_head=True)
    assert heads.shape == (64, 3, 6)
    np.testing.assert_allclose(heads.mean(axis=1), reg.predict_attention(X), rtol=1e-5)
    assert reg.head_weights_.shape == (3, 6)
    with pytest.raises(ValueError, match="per_head=True needs one of the attentions with heads"):
        AttentionLSTMRegressor(attention="per_feature", max_epochs=1).fit(X, y).predict_attention(
            X, per_head=True)


def test_multihead_pooled_output_is_the_weighted_sum_of_its_values():
    """Multi-head attention: the pooled output is exactly sum_t a_ht value_ht
    with a the per-head weights predict_attention reports."""
    import torch

    X, y = planted_step(64, 6, 2, step=2, seed=0)
    reg = AttentionLSTMRegressor(attention="multihead", n_heads=2, hidden_size=6, max_epochs=2,
                                 random_state=0).fit(X, y)
    module, attention = reg.net_.module_, reg.net_.module_.temporal_attention
    windows = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        inputs = module.normalization(windows, ~torch.isnan(windows))[0]
        states, _ = module.encoder(inputs)
        values = module.value(inputs)
        pooled, _ = attention(states, values, torch.ones(64, 6, dtype=bool))
        split = attention._split_heads(attention.value(values))  # (batch, heads, time, size)
    heads = torch.as_tensor(reg.predict_attention(X, per_head=True), dtype=torch.float32)
    context = torch.einsum("bht,bhtd->bhd", heads, split).flatten(start_dim=1)
    with torch.no_grad():
        expected = attention.out(context)
    np.testing.assert_allclose(pooled.numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("target_feature", [None, "auto"])
def test_the_prediction_uses_each_step_only_through_its_reported_weights(target_feature):
    """The faithful default, recomputed outside the module: the forecast is
    the head applied to sum_t w_ht * value_t per head, with w the per-head
    weights predict_attention reports and value_t a projection of step t's own
    input alone; their mean is the reported temporal weight."""
    import torch

    rng = np.random.default_rng(5)
    series = np.cumsum(rng.normal(size=400))
    X = np.stack([series[i : i + 10] for i in range(390)])[:, :, None]
    y = series[10:400]
    reg = AttentionLSTMRegressor(hidden_size=8, max_epochs=10, early_stopping=False,
                                 random_state=0, target_feature=target_feature).fit(X, y)
    assert (reg.target_feature_ is None) == (target_feature is None)
    module = reg.net_.module_
    assert module.head.weight.abs().max() > 0.05  # the attention part moves the forecast
    heads = reg.predict_attention(X, per_head=True)  # (n, heads, T)
    np.testing.assert_allclose(heads.mean(axis=1), reg.predict_attention(X), rtol=1e-5)
    windows = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        seen = ~torch.isnan(windows)
        inputs, level, spread, _ = module.normalization(windows, seen)
        step_inputs = inputs
        if level is not None:
            relative = inputs[:, :, 0]
            change = torch.diff(relative, dim=1, prepend=relative[:, :1])
            step_inputs = torch.cat([inputs, change.unsqueeze(-1)], dim=-1)
        values = module.value(step_inputs).numpy()  # (n, T, state): step t's input alone
    n_heads = heads.shape[1]
    split = values.reshape(len(X), X.shape[1], n_heads, -1)
    context = np.einsum("nht,nthd->nhd", heads, split).reshape(len(X), -1)
    output = context @ module.head.weight.detach().numpy().T + module.head.bias.detach().numpy()
    if level is not None:
        output = level.numpy() + spread.numpy() * output
    expected = output[:, 0] * reg.y_scale_[0] + reg.y_mean_[0]
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-4, atol=1e-4 * y.std())


def test_single_attention_vector_shares_weights():
    """With single_attention_vector every state dimension sums the values with
    the one reported vector; without it each dimension has its own."""
    import torch

    X, y = planted_step(64, 6, 2, step=2, seed=0)
    windows = torch.as_tensor(X, dtype=torch.float32)
    for single in (True, False):
        reg = AttentionLSTMRegressor(attention="per_feature", single_attention_vector=single,
                                     attention_values="states", max_epochs=1, random_state=0)
        reg.fit(X, y)
        module = reg.net_.module_
        with torch.no_grad():
            inputs = module.normalization(windows, ~torch.isnan(windows))[0]
            states, _ = module.encoder(inputs)
            context, _ = module.temporal_attention(states, states, torch.ones(64, 6, dtype=bool))
        reported = torch.as_tensor(reg.predict_attention(X), dtype=torch.float32)
        shared = torch.einsum("bt,bts->bs", reported, states)
        np.testing.assert_allclose(reg.predict_attention(X).sum(axis=1), 1.0, rtol=1e-5)
        assert torch.allclose(context, shared, atol=1e-5) == single


def test_attention_with_labels_through_a_pipeline():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 2)), columns=["level", "rain"],
                         index=pd.date_range("2021-01-01", periods=80, freq="D"))
    y = frame["rain"].shift(2).fillna(0.0).to_numpy()
    pipe = Pipeline([
        ("window", SlidingWindowTransformer(window_size=4)),
        ("scale", StandardScaler()),
        ("model", AttentionLSTMRegressor(attention="dual", max_epochs=2, random_state=0)),
    ]).set_output(transform="pandas").fit(frame, y)
    model = pipe.named_steps["model"]
    assert list(model.time_labels_) == ["lag3", "lag2", "lag1", "lag0"]
    assert list(model.feature_labels_) == ["level", "rain"]
    windows = pipe[:-1].transform(frame)
    temporal = model.predict_attention(windows, as_frame=True)
    assert list(temporal.columns) == ["lag3", "lag2", "lag1", "lag0"]
    assert temporal.index.equals(frame.index)
    features = model.predict_feature_attention(windows, as_frame=True)
    assert list(features.columns) == ["level", "rain"]
    series = pd.Series(model.attention_weights_, index=model.time_labels_)
    assert series.index[-1] == "lag0"


def test_grid_search_compares_with_and_without_attention():
    X, y = planted_step(240, 8, 1, step=3, seed=0)
    search = GridSearchCV(
        Pipeline([("model", AttentionLSTMRegressor(max_epochs=5, lr=1e-2, random_state=0))]),
        {"model__attention": ["none", "temporal", "multihead"]},
        cv=TimeSeriesSplit(2),
    ).fit(X.reshape(240, 8), y)
    assert [p["model__attention"] for p in search.cv_results_["params"]] == [
        "none", "temporal", "multihead"
    ]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
