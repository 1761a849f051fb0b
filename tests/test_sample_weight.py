"""``fit(X, y, sample_weight)``: weighted training, as scikit-learn estimators take it."""

import warnings

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import (
    AttentionLSTMClassifier,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    make_supervised,
)
from skattn.datasets import make_planted_panel

PARAMS = {"hidden_size": 8, "max_epochs": 15, "early_stopping": False, "random_state": 0}


def windows(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6, 1))
    y = np.sin(3 * X[:, -1, 0]) + X[:, -2, 0] + 0.1 * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("estimator", [AttentionLSTMRegressor, AttentionLSTMClassifier])
def test_equal_weights_fit_exactly_as_no_weights(estimator):
    X, y = windows()
    y = y if estimator is AttentionLSTMRegressor else (y > 0).astype(int)
    plain = estimator(**PARAMS).fit(X, y)
    weighted = estimator(**PARAMS).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_array_equal(plain.predict(X), weighted.predict(X))


def test_weights_count_relative_to_each_other():
    X, y = windows()
    weights = np.where(np.arange(len(y)) % 3, 1.0, 4.0)
    once = AttentionLSTMRegressor(**PARAMS).fit(X, y, sample_weight=weights)
    scaled = AttentionLSTMRegressor(**PARAMS).fit(X, y, sample_weight=7 * weights)
    np.testing.assert_allclose(once.predict(X), scaled.predict(X), rtol=1e-5, atol=1e-6)
    plain = AttentionLSTMRegressor(**PARAMS).fit(X, y)
    assert not np.allclose(plain.predict(X), once.predict(X))


def test_rows_of_weight_zero_are_left_out():
    X, y = windows()
    weights = np.ones(len(y))
    weights[::3] = 0.0
    weighted = AttentionLSTMRegressor(**PARAMS).fit(X, y, sample_weight=weights)
    dropped = AttentionLSTMRegressor(**PARAMS).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_array_equal(weighted.predict(X), dropped.predict(X))


def test_the_fit_follows_the_heavy_rows():
    """Two halves whose targets contradict each other (y = x and y = -x of the
    same kind of window): the fit takes the side of the half weighted 10 times
    more, and the loss early stopping watches is weighted too."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4, 1))
    sign = np.where(np.arange(400) % 2, 1.0, -1.0)
    y = sign * X[:, -1, 0]
    fitted = {}
    for side in (1.0, -1.0):
        weights = np.where(sign == side, 10.0, 1.0)
        model = AttentionLSTMRegressor(hidden_size=8, max_epochs=30, random_state=0)
        fitted[side] = model.fit(X, y, sample_weight=weights)
        slope = np.polyfit(X[:, -1, 0], model.predict(X), 1)[0]
        assert side * slope > 0.5
        assert "valid_loss" in model.net_.history[-1]


def test_weights_reach_the_model_through_a_pipeline_and_on_a_panel():
    """``model__sample_weight`` in a Pipeline; on a panel, weight 0 for one
    whole series trains as the panel without it (early stopping still holds
    out the newest rows of every remaining series)."""
    series = make_planted_panel(3, 5, min_length=60, max_length=90, random_state=0)
    X, y = make_supervised(series)
    window = SlidingWindowTransformer(6).set_output(transform="pandas")
    frame = window.fit_transform(X)
    ids = frame.index.get_level_values("series")
    weights = np.where(ids == "s0", 0.0, 1.0)
    params = {"hidden_size": 8, "max_epochs": 5, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = AttentionLSTMRegressor(**params).fit(frame, y, sample_weight=weights)
        without = AttentionLSTMRegressor(**params).fit(frame[ids != "s0"], y[ids != "s0"])
    np.testing.assert_array_equal(weighted.predict(frame), without.predict(frame))
    pipe = Pipeline([("scale", StandardScaler()),
                     ("model", AttentionLSTMRegressor(n_features=1, **params))])
    plain_X, plain_y = frame.to_numpy(), y.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(plain_X, plain_y, model__sample_weight=np.where(ids == "s1", 5.0, 1.0))
    assert np.isfinite(pipe.predict(plain_X)).all()


@pytest.mark.parametrize(
    "weights, message",
    [(-np.ones(50), "Negative values"), (np.r_[np.nan, np.ones(49)], "NaN"),
     (np.ones(10), "shape"), (np.zeros(50), "non-zero|at least 2"),
     (np.r_[1.0, np.zeros(49)], "at least 2")],
)
def test_bad_weights_are_refused_clearly(weights, message):
    X, y = windows(50)
    with pytest.raises(ValueError, match=message):
        AttentionLSTMRegressor(**PARAMS).fit(X, y, sample_weight=weights)
