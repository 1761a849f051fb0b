"""The regressor inside scikit-learn's tools: Pipeline, CV, grid search, pickle."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import ar_series
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised

FAST = {"hidden_size": 8, "max_epochs": 8, "batch_size": 32, "lr": 1e-2, "random_state": 0}


def make_pipeline(window_size=10, **model_params):
    return Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=window_size)),
            ("scale", StandardScaler()),
            ("model", AttentionLSTMRegressor(**{**FAST, **model_params})),
        ]
    )


@pytest.fixture(scope="module")
def univariate():
    series, _ = ar_series(300, seed=0)
    return make_supervised(series, horizon=1)


@pytest.fixture(scope="module")
def multivariate():
    series, exog = ar_series(300, seed=1, n_exog=2)
    return make_supervised(series, horizon=1, exog=exog)


def mse_ratio_to_last_value(pipe, X, y):
    """The pipeline's MSE over that of "next = this value" (column 0 is the
    series) on the same rows."""
    y = np.asarray(y)
    return np.mean((pipe.predict(X) - y) ** 2) / np.mean((np.asarray(X)[:, 0] - y) ** 2)


def test_univariate_pipeline_learns(univariate):
    X, y = univariate
    pipe = make_pipeline(max_epochs=30).fit(X[:240], y[:240])
    # an AR(2) with a seasonal drive: the last value alone scores R^2 0.96 here;
    # the lags cut its error by more than half (measured: to 0.13)
    assert pipe.score(X[240:], y[240:]) > 0.96
    assert mse_ratio_to_last_value(pipe, X[240:], y[240:]) < 0.4
    assert pipe.named_steps["model"].n_timesteps_ == 10
    assert pipe.predict(X[240:]).shape == (len(X) - 240,)


def test_multivariate_pipeline_declares_features_once(multivariate):
    X, y = multivariate
    assert X.shape[1] == 3
    pipe = make_pipeline(n_features=3, max_epochs=30).fit(X[:240], y[:240])
    model = pipe.named_steps["model"]
    assert (model.n_timesteps_, model.n_features_per_step_) == (10, 3)
    assert pipe.score(X[240:], y[240:]) > 0.82  # the last value alone: 0.82
    assert mse_ratio_to_last_value(pipe, X[240:], y[240:]) < 0.8  # measured: 0.54


def test_feature_count_read_from_window_column_names(multivariate):
    X, y = multivariate
    frame = pd.DataFrame(X, columns=["level", "rain", "temp"])
    pipe = make_pipeline().set_output(transform="pandas").fit(frame, y)
    model = pipe.named_steps["model"]
    assert (model.n_timesteps_, model.n_features_per_step_) == (10, 3)
    assert model.feature_names_in_[:3].tolist() == ["level_lag9", "rain_lag9", "temp_lag9"]


@pytest.mark.parametrize("cv", [TimeSeriesSplit(3), KFold(3)], ids=["TimeSeriesSplit", "KFold"])
def test_cross_val_score(univariate, cv):
    X, y = univariate
    scores = cross_val_score(make_pipeline(), X, y, cv=cv)
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()


def test_grid_search_over_window_and_hidden_size(multivariate):
    X, y = multivariate
    search = GridSearchCV(
        make_pipeline(n_features=3, max_epochs=4),
        {"window__window_size": [5, 10], "model__hidden_size": [4, 8]},
        cv=TimeSeriesSplit(2),
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best_model = search.best_estimator_.named_steps["model"]
    assert best_model.n_timesteps_ == search.best_params_["window__window_size"]
    assert best_model.hidden_size == search.best_params_["model__hidden_size"]


def test_clone_and_params_round_trip():
    pipe = make_pipeline(optimizer__weight_decay=1e-4)
    params = pipe.get_params()
    assert params["model__optimizer__weight_decay"] == 1e-4
    cloned = clone(pipe)
    assert cloned.get_params()["model__optimizer__weight_decay"] == 1e-4
    cloned.set_params(window__window_size=7, model__hidden_size=5, model__lr=0.5)
    assert cloned.named_steps["window"].window_size == 7
    assert cloned.named_steps["model"].get_params()["hidden_size"] == 5
    assert pipe.named_steps["model"].hidden_size == FAST["hidden_size"]  # clone is independent
    model = AttentionLSTMRegressor(**FAST)
    assert AttentionLSTMRegressor(**model.get_params()).get_params() == model.get_params()


def test_pickle_round_trip_of_fitted_pipeline(univariate):
    X, y = univariate
    pipe = make_pipeline().fit(X, y)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(
        restored.named_steps["model"].attention_weights_,
        pipe.named_steps["model"].attention_weights_,
    )
