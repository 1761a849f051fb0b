"""Column order handled, not assumed (issue 14, item 1): lag-named columns in any
order, newest-first arrays, and clear errors for names that do not form windows."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, load, save

FAST = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}


def oldest_first(n=120, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, 1))
    return X, X[:, steps - 2, 0]  # the target is lag 1


@pytest.mark.parametrize("names", [
    lambda steps: [f"lag{k}" for k in range(steps)],            # mlforecast: lag1 .. lagN
    lambda steps: [f"lag_{k}" for k in range(steps)],           # skforecast's names
    lambda steps: [f"y_lag{k}" for k in range(steps)],
])
def test_newest_first_named_lags_train_as_oldest_first_windows(names):
    X, y = oldest_first()
    reference = AttentionLSTMRegressor(**FAST).fit(X, y)
    steps = X.shape[1]
    newest = pd.DataFrame(X[:, ::-1, 0], columns=names(steps))
    model = AttentionLSTMRegressor(**FAST).fit(newest, y)
    np.testing.assert_allclose(model.predict(newest), reference.predict(X), rtol=1e-5, atol=1e-6)
    assert model.time_labels_.tolist() == [f"lag{k}" for k in range(steps - 1, -1, -1)]
    frame = model.predict_attention(newest, as_frame=True)
    # the user's lag-1 column carries the attention of the step before the newest
    np.testing.assert_allclose(frame["lag1"], reference.predict_attention(X)[:, -2], rtol=1e-5)


def test_a_newest_first_array_needs_time_order():
    X, y = oldest_first()
    reference = AttentionLSTMRegressor(**FAST).fit(X, y)
    flipped = X[:, ::-1, 0].copy()
    model = AttentionLSTMRegressor(time_order="newest_first", **FAST).fit(flipped, y)
    np.testing.assert_allclose(model.predict(flipped), reference.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(flipped[:3].astype(np.float32)),  # fast path
                               reference.predict(X[:3]), rtol=1e-5, atol=1e-6)


def test_feature_major_columns_are_read_by_their_names():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5, 2))  # oldest first, 2 features
    y = X[:, 2, 1]
    time_major = SlidingWindowTransformer(5).set_output(transform="pandas")
    flat = pd.DataFrame(X.reshape(100, -1), columns=[f"{f}_lag{lag}" for lag in range(4, -1, -1)
                                                     for f in ("a", "b")])
    feature_major = flat[[f"{f}_lag{lag}" for f in ("a", "b") for lag in range(5)]]
    one = AttentionLSTMRegressor(**FAST).fit(flat, y)
    other = AttentionLSTMRegressor(**FAST).fit(feature_major, y)
    assert other.n_features_per_step_ == 2 and other.feature_labels_.tolist() == ["a", "b"]
    np.testing.assert_allclose(other.predict(feature_major), one.predict(flat), rtol=1e-5,
                               atol=1e-6)
    assert time_major is not None


def test_names_that_do_not_form_windows_are_clear_errors():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 4))
    y = values[:, 0]
    cases = {
        "skip lags": ["lag0", "lag1", "lag3", "lag4"],
        "full grid": ["a_lag0", "a_lag1", "b_lag0", "c_lag1"],
        "both name lag": ["lag1", "lag_1", "lag2", "lag3"],
    }
    for message, names in cases.items():
        with pytest.raises(ValueError, match=message):
            AttentionLSTMRegressor(**FAST).fit(pd.DataFrame(values, columns=names), y)
    with pytest.raises(ValueError, match="n_features=3, but the column names hold 1"):
        AttentionLSTMRegressor(n_features=3, **FAST).fit(
            pd.DataFrame(np.hstack([values, values[:, :2]]),
                         columns=[f"lag{k}" for k in range(6)]), y)
    with pytest.raises(ValueError, match="time_order"):
        AttentionLSTMRegressor(time_order="backwards").fit(values, y)


def test_time_order_is_saved_and_guarded(tmp_path):
    X, y = oldest_first()
    model = AttentionLSTMRegressor(time_order="newest_first", **FAST).fit(X[:, ::-1], y)
    save(model, tmp_path / "m.skattn")
    loaded = load(tmp_path / "m.skattn")
    assert loaded.time_order == "newest_first"
    np.testing.assert_allclose(loaded.predict(X[:, ::-1]), model.predict(X[:, ::-1]), rtol=1e-6)
    model.set_params(time_order="oldest_first")
    with pytest.raises(ValueError, match="time_order"):
        save(model, tmp_path / "changed.skattn")


def test_a_pipeline_that_windows_warns_when_fed_a_lag_matrix():
    """Issue 14 item 2: make_forecaster as a forecasting library's regressor
    would window the library's lag matrix again; it says so and what to pass."""
    from skattn import make_forecaster

    rng = np.random.default_rng(0)
    series = np.sin(np.arange(150) / 5) + 0.1 * rng.normal(size=150)
    newest_first = np.column_stack([series[12 - k : 150 - k] for k in range(1, 13)])
    y = series[12:]
    for lag_matrix in (newest_first, newest_first[:, ::-1],
                       pd.DataFrame(newest_first, columns=[f"lag{k}" for k in range(1, 13)])):
        with pytest.warns(UserWarning, match="already holds windows.*AttentionLSTMRegressor"):
            make_forecaster(6, max_epochs=1, hidden_size=4, random_state=0).fit(lag_matrix, y)
    table = pd.DataFrame({"a": series, "b": series ** 2, "c": rng.normal(size=150)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # ordinary tables pass quietly
        SlidingWindowTransformer(6).fit(table)
        SlidingWindowTransformer(6).fit(series.reshape(-1, 1))


def test_a_multivariate_pipeline_without_n_features_is_warned():
    """Issue 14 item 6: windows of 3 features read as 1 feature per step used
    to train silently (and badly); now the fit says what to set."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    table = np.cumsum(rng.normal(size=(200, 3)), axis=0)

    def fit(n_features, data):
        return make_pipeline(SlidingWindowTransformer(8), StandardScaler(),
                             AttentionLSTMRegressor(n_features=n_features, **FAST)
                             ).fit(data, data[:, 0])

    with pytest.warns(UserWarning, match="windows of 3 features per step.*n_features=3"):
        fit(None, table)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # a subclass; 3 epochs learn little
        assert fit(3, table)[-1].n_features_per_step_ == 3
        assert fit(None, table[:, :1])[-1].n_features_per_step_ == 1  # univariate: quiet
        shuffled = rng.permutation(len(table))
        windows = SlidingWindowTransformer(8).fit_transform(table)[shuffled]
        AttentionLSTMRegressor(**FAST).fit(windows, table[shuffled, 0])  # no claim made
