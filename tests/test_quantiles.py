"""Quantiles and calibrated prediction intervals (issue 15, first part)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from skattn import (
    AttentionLSTMClassifier,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    load,
    make_supervised,
    save,
)
from skattn.datasets import make_planted_panel

FAST = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}


def heteroscedastic(n, seed):
    """y = one step's value plus noise whose spread another step sets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8, 1))
    return X, X[:, 3, 0] + (0.2 + np.abs(X[:, 5, 0])) * rng.normal(size=n)


@pytest.mark.slow
def test_intervals_cover_their_level_on_unseen_heteroscedastic_data():
    """Issue 15, Done-when 1 at CI size: 5000 test windows, 80% and 95%
    intervals within 3 points of nominal, quantiles never cross."""
    X, y = heteroscedastic(3000, 0)
    X_test, y_test = heteroscedastic(5000, 1)
    model = AttentionLSTMRegressor(quantiles=(0.025, 0.1, 0.9, 0.975), early_stopping=True,
                                   random_state=0, n_threads=1).fit(X, y)
    quantiles = model.predict_quantiles(X_test)
    assert quantiles.shape == (5000, 5)
    assert (np.diff(quantiles, axis=1) >= 0).all()
    for coverage in (0.8, 0.95):
        low, high = model.predict_interval(X_test, coverage).T
        covered = ((y_test >= low) & (y_test <= high)).mean()
        assert abs(covered - coverage) <= 0.03, (coverage, covered)
    # the width follows the noise: wider where the noise is larger
    width = np.diff(model.predict_interval(X_test, 0.8), axis=1)[:, 0]
    noisy = np.abs(X_test[:, 5, 0]) > 1
    assert width[noisy].mean() > 1.5 * width[~noisy].mean()
    np.testing.assert_allclose(model.predict(X_test), quantiles[:, 2])  # the median


def test_quantiles_cannot_cross_even_untrained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6, 2))
    model = AttentionLSTMRegressor(quantiles=(0.05, 0.25, 0.75, 0.95), max_epochs=1,
                                   hidden_size=4, random_state=0).fit(X, X[:, 2, 0])
    with np.errstate(all="ignore"):
        model.net_.module_.head.weight.data.normal_(0, 5.0)  # any weights at all
    assert (np.diff(model.predict_quantiles(rng.normal(size=(200, 6, 2))), axis=1) >= 0).all()


def test_multi_step_and_panel_shapes():
    panel = make_planted_panel(3, 4, min_length=40, max_length=60, random_state=0)
    X, y = make_supervised(panel, horizon=3)
    pipe = Pipeline([("window", SlidingWindowTransformer(6)),
                     ("model", AttentionLSTMRegressor(quantiles=(0.1, 0.9),
                                                      early_stopping=True, **FAST))]
                    ).set_output(transform="pandas").fit(X, y)
    model, windows = pipe["model"], pipe["window"].transform(X)
    assert model.panel_
    assert model.predict_quantiles(windows).shape == (len(X), 3, 3)
    interval = model.predict_interval(windows, coverage=0.8)
    assert interval.shape == (len(X), 3, 2) and (interval[..., 1] >= interval[..., 0]).all()
    assert pipe.predict(X).shape == (len(X), 3)
    assert model.interval_offsets_.shape == (1, 3)


def test_quantile_errors_are_clear():
    X, y = heteroscedastic(40, 0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        AttentionLSTMRegressor(quantiles=(0.1, 1.0), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="pinball loss; loss='absolute_error'"):
        AttentionLSTMRegressor(quantiles=(0.1, 0.9), loss="absolute_error", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="quantiles are for regression"):
        AttentionLSTMClassifier(quantiles=(0.1, 0.9), **FAST).fit(X, y > 0)
    model = AttentionLSTMRegressor(quantiles=(0.1, 0.9), early_stopping=False, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"coverage=0.5 needs the quantiles 0.25 and 0.75.*0.8"):
        model.predict_interval(X, coverage=0.5)
    assert np.all(model.interval_offsets_ == 0)  # no held-out windows: no correction
    with pytest.raises(AttributeError, match="has no quantiles"):
        AttentionLSTMRegressor(**FAST).fit(X, y).predict_quantiles(X)


def test_quantiles_survive_pickle_and_the_safe_format(tmp_path):
    X, y = heteroscedastic(200, 0)
    model = AttentionLSTMRegressor(quantiles=[0.1, 0.9], early_stopping=True, **FAST).fit(X, y)
    expected = model.predict_interval(X, 0.8)
    assert np.any(model.interval_offsets_ != 0)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict_interval(X, 0.8),
                               expected)
    save(model, tmp_path / "q.skattn")
    loaded = load(tmp_path / "q.skattn")
    np.testing.assert_allclose(loaded.predict_interval(X, 0.8), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict_quantiles(X), model.predict_quantiles(X), rtol=1e-6)
    assert pd.Series(loaded.predict(X)).notna().all()


def test_quantiles_and_intervals_as_frames_keep_the_index():
    X, y = heteroscedastic(120, 0)
    flat = pd.DataFrame(X.reshape(len(X), -1), index=pd.date_range("2001-01-01", periods=120))
    model = AttentionLSTMRegressor(quantiles=(0.1, 0.9), **FAST).fit(flat, y)
    frame = model.predict_quantiles(flat, as_frame=True)
    assert frame.columns.tolist() == ["q0.1", "q0.5", "q0.9"] and frame.index.equals(flat.index)
    np.testing.assert_allclose(frame.to_numpy(), model.predict_quantiles(flat))
    interval = model.predict_interval(flat, 0.8, as_frame=True)
    assert interval.columns.tolist() == ["lower", "upper"]
    np.testing.assert_allclose(interval.to_numpy(), model.predict_interval(flat, 0.8))
    two = AttentionLSTMRegressor(quantiles=(0.1, 0.9), **FAST).fit(X, np.column_stack([y, -y]))
    wide = two.predict_interval(X, 0.8, as_frame=True)
    assert wide.columns.tolist() == [(0, "lower"), (0, "upper"), (1, "lower"), (1, "upper")]


def test_interval_arguments_and_models_without_attention():
    from sklearn.exceptions import NotFittedError

    from skattn.display import ForecastDisplay

    X, y = heteroscedastic(80, 0)
    with pytest.raises(NotFittedError):
        AttentionLSTMRegressor(quantiles=(0.1, 0.9)).predict_interval(X, 0.8)
    model = AttentionLSTMRegressor(quantiles=(0.1, 0.9), attention="none", **FAST).fit(X, y)
    for bad in (1.5, 0, "0.8", True):
        with pytest.raises(ValueError, match="coverage must be a number between 0 and 1"):
            model.predict_interval(X, bad)
    pytest.importorskip("matplotlib").use("Agg")
    display = ForecastDisplay.from_estimator(model, X, y, coverage=0.8)  # no attention needed
    assert display.band_ is not None


@pytest.mark.slow
def test_panel_intervals_hold_on_every_scale():
    """Corrections measured in each window's own scale: series five orders of
    magnitude apart all get intervals of about the stated coverage (one
    additive correction in pooled units covered 0.34 to 0.98 per series)."""
    panel = make_planted_panel(20, 7, random_state=3)
    X, y = make_supervised(panel)
    position = X.groupby(level="series").cumcount()
    length = X.groupby(level="series")["value"].transform("size")
    test = (position >= 0.7 * length).to_numpy()
    pipe = Pipeline([("window", SlidingWindowTransformer(12)),
                     ("model", AttentionLSTMRegressor(quantiles=(0.1, 0.9), random_state=0,
                                                      n_threads=1))]
                    ).set_output(transform="pandas").fit(X[~test], y[~test])
    interval = pipe["model"].predict_interval(pipe["window"].transform(X)[test], 0.8)
    truth = y[test].to_numpy()
    covered = pd.Series((truth >= interval[:, 0]) & (truth <= interval[:, 1]),
                        index=X.index[test]).groupby(level="series").mean()
    assert abs(covered.mean() - 0.8) < 0.06
    assert covered.min() > 0.5


def test_a_calm_validation_stretch_does_not_make_the_intervals_too_narrow():
    """Split conformal assumes the newest windows are like the future; when they
    are calmer than the rest of the history (noise at 0.3x there), the
    quantile over all the fitted windows is the floor, so a future as noisy as
    the history is still covered (split conformal alone: about 0.44 here)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3250, 8, 1))
    noise = rng.normal(size=3250)
    noise[1000:1250] *= 0.3  # the validation tail of the first 1250 windows
    y = X[:, 3, 0] + (0.2 + np.abs(X[:, 5, 0])) * noise
    model = AttentionLSTMRegressor(quantiles=(0.1, 0.9), early_stopping=True, max_epochs=60,
                                   random_state=0, n_threads=1).fit(X[:1250], y[:1250])
    low, high = model.predict_interval(X[1250:], 0.8).T
    assert ((y[1250:] >= low) & (y[1250:] <= high)).mean() > 0.7
