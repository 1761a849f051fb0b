"""make_forecaster: the recommended configuration as one Pipeline."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from skattn import FORECASTING_PARAMS, AttentionLSTMRegressor, make_forecaster, make_supervised

FAST = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}


def monthly(n=150, seed=0):
    rng = np.random.default_rng(seed)
    months = pd.date_range("1990-01-01", periods=n, freq="MS")
    season = 2 * np.sin(2 * np.pi * months.month / 12)
    return pd.Series(100 + 0.1 * np.arange(n) + season + 0.2 * rng.normal(size=n), months)


def test_make_forecaster_holds_the_recommended_settings_and_overrides():
    forecaster = make_forecaster(12, seasonal_period=4, hidden_size=64)
    assert [name for name, _ in forecaster.steps] == ["window", "model"]
    window, model = forecaster.named_steps["window"], forecaster.named_steps["model"]
    assert (window.window_size, window.seasonal_period) == (12, 4)
    assert isinstance(model, AttentionLSTMRegressor)
    params = model.get_params()
    for name, value in FORECASTING_PARAMS.items():
        assert params[name] == value
    assert params["hidden_size"] == 64
    with pytest.raises(TypeError):
        FORECASTING_PARAMS["lr"] = 1.0  # read-only: nobody changes the defaults by accident
    assert clone(forecaster).get_params()["model__linear_skip"] is True


def test_make_forecaster_fits_a_seasonal_series_and_reads_features_per_step():
    X, y = make_supervised(monthly())
    forecaster = make_forecaster(24, seasonal_period=12, **FAST).fit(X.iloc[:120], y.iloc[:120])
    model = forecaster[-1]
    assert (model.n_timesteps_, model.n_features_per_step_) == (24, 12)
    assert model.skip_anchor_ == X.columns[0]
    forecast = forecaster.predict(X)[120:]
    naive = X.iloc[120:, 0].to_numpy()
    truth = y.iloc[120:].to_numpy()
    assert np.mean(np.abs(forecast - truth)) < 0.6 * np.mean(np.abs(naive - truth))


def test_make_forecaster_in_a_grid_search_over_time_series_splits():
    X, y = make_supervised(monthly(120, seed=1))
    search = GridSearchCV(
        make_forecaster(12, seasonal_period=12, **FAST),
        {"window__window_size": [6, 12]},
        cv=TimeSeriesSplit(2),
        scoring="neg_mean_absolute_error",
    ).fit(X, y)
    assert search.best_params_["window__window_size"] in (6, 12)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_the_network_weight_keeps_and_drops_the_network_with_the_recommended_settings():
    """Both ends of the network's weight, with FORECASTING_PARAMS as
    make_forecaster uses them: a squared lag the linear skip cannot fit keeps
    the network (and it beats the linear part on new windows); a random-walk
    step, which the linear part already forecasts as well as it can be, drops
    it (the forecast is then exactly the linear part). In between, a linear
    target the change-from-last-value skip shrinks towards the random walk: a
    weight is allowed there, but never one that makes new windows worse."""
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 6, 1))
    nonlinear = X[:, -1, 0] + 1.5 * (X[:, 2, 0] ** 2 - 1) + 0.1 * rng.normal(size=900)
    walk = X[:, -1, 0] + 0.5 * rng.normal(size=900)
    linear = 0.8 * X[:, -1, 0] - 0.3 * X[:, 2, 0] + 0.5 * rng.normal(size=900)
    windows = torch.as_tensor(X[700:], dtype=torch.float32)

    def linear_part(reg):
        with torch.no_grad():
            skip = reg.net_.module_.skip(windows.flatten(1))[:, 0].numpy()
        return skip * reg.y_scale_[0] + reg.y_mean_[0]

    def mse(prediction, target):
        return np.mean((prediction - target[700:]) ** 2)

    kept = AttentionLSTMRegressor(**FORECASTING_PARAMS, random_state=0)
    kept.fit(X[:700], nonlinear[:700])
    assert kept.network_dropped_ is False and kept.network_weight_[0] > 0.5
    assert mse(kept.predict(X[700:]), nonlinear) < 0.7 * mse(linear_part(kept), nonlinear)

    dropped = AttentionLSTMRegressor(**FORECASTING_PARAMS, random_state=0)
    dropped.fit(X[:700], walk[:700])
    assert dropped.network_dropped_ is True and dropped.network_weight_[0] == 0.0
    np.testing.assert_allclose(dropped.predict(X[700:]), linear_part(dropped), rtol=1e-5,
                               atol=1e-5)

    between = AttentionLSTMRegressor(**FORECASTING_PARAMS, random_state=0)
    between.fit(X[:700], linear[:700])
    assert mse(between.predict(X[700:]), linear) <= mse(linear_part(between), linear)
