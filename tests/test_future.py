"""forecast(): values past the end of the data, from the newest row of each series."""

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from skattn import (
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    forecast,
    make_forecaster,
    make_supervised,
)
from skattn.datasets import make_planted_panel

FAST = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}


def windowed(window_size=6, **params):
    return Pipeline([
        ("window", SlidingWindowTransformer(window_size, **params)),
        ("model", AttentionLSTMRegressor(**FAST)),
    ]).set_output(transform="pandas")


def test_one_step_past_a_numpy_series_is_the_newest_windows_forecast():
    values = np.sin(np.arange(80) / 4) + np.arange(80) / 40
    X, y = make_supervised(values)
    model = make_forecaster(8, **FAST).fit(X, y)
    future = forecast(model, values)
    assert future.index.tolist() == [80]
    # the newest row's window: make_supervised dropped it, forecast keeps it
    assert future.iloc[0] == pytest.approx(model.predict(values.reshape(-1, 1))[-1])
    assert future.iloc[0] != pytest.approx(model.predict(X)[-1])


def test_a_horizon_past_a_monthly_series_continues_its_calendar():
    months = pd.date_range("2001-01-01", periods=90, freq="MS")
    series = pd.Series(np.sin(np.arange(90) * np.pi / 6) + 10, index=months, name="sales")
    exog = pd.DataFrame({"price": np.linspace(1, 2, 90)}, index=months)
    X, y = make_supervised(series, horizon=3, exog=exog)
    model = windowed(seasonal_period=12).fit(X, y)
    future = forecast(model, series, exog=exog)
    assert future.name == "sales"
    assert future.index.equals(pd.date_range("2008-07-01", periods=3, freq="MS"))
    newest = model.predict(pd.concat([series, exog], axis=1))[-1]
    np.testing.assert_allclose(future.to_numpy(), newest)


def test_every_series_of_a_panel_gets_its_own_future_times():
    panel = make_planted_panel(4, 5, min_length=30, max_length=60, random_state=0)
    X, y = make_supervised(panel, horizon=2)
    model = windowed().fit(X, y)
    interleaved = panel.sort_index(level="time", sort_remaining=True)
    for table in (panel, interleaved):
        future = forecast(model, table)
        assert future.index.names == ["series", "time"]
        for name, part in panel.groupby(level="series"):
            newest = part.index.get_level_values("time")[-1]
            assert future.loc[name].index.tolist() == [newest + 1, newest + 2]
            alone = model.predict(part.to_frame())[-1]
            np.testing.assert_allclose(future.loc[name].to_numpy(), alone, rtol=1e-5)


def test_unknown_future_times_are_a_clear_error():
    X, y = make_supervised(np.arange(40.0))
    model = windowed().fit(X, y)
    irregular = pd.Series(np.arange(40.0), index=np.r_[0:20, 30:50])
    with pytest.raises(ValueError, match="not evenly spaced"):
        forecast(model, irregular)
    dates = pd.DatetimeIndex(pd.date_range("2001-01-01", periods=41, freq="D").delete(5))
    with pytest.raises(ValueError, match="no regular frequency"):
        forecast(model, pd.Series(np.arange(40.0), index=dates))
    with pytest.raises(ValueError, match="1-D"):
        forecast(model, pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0)}))


def test_a_numpy_series_reaches_the_model_as_numpy():
    import warnings

    values = np.sin(np.arange(60) / 4)
    X, y = make_supervised(values)
    model = windowed().fit(X, y)  # fitted on numpy X: no feature names
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", category=__import__("sklearn").exceptions
                                .ConvergenceWarning)
        forecast(model, values)


def test_coverage_adds_the_calibrated_interval_past_the_end():
    values = np.sin(np.arange(120) / 4) + np.arange(120) / 40
    series = pd.Series(values, index=pd.date_range("2000-01-01", periods=120, freq="MS"))
    X, y = make_supervised(series, horizon=3)
    model = make_forecaster(8, quantiles=(0.1, 0.9), **FAST).fit(X, y)
    future = forecast(model, series, coverage=0.8)
    assert list(future.columns) == ["forecast", "lower", "upper"]
    assert list(future.index) == list(pd.date_range("2010-01-01", periods=3, freq="MS"))
    pd.testing.assert_series_equal(future["forecast"], forecast(model, series),
                                   check_names=False)
    assert (future["lower"] <= future["upper"]).all()
    # the bounds are the model's predict_interval of the newest window (the
    # rows of the series with one empty row after them, as forecast builds)
    extended = pd.concat([series, pd.Series(np.nan, index=[pd.Timestamp("2010-01-01")])])
    windows = model[:-1].transform(make_supervised(extended)[0])
    np.testing.assert_allclose(future[["lower", "upper"]].to_numpy(),
                               model[-1].predict_interval(windows, 0.8)[-1], rtol=1e-6)
    with pytest.raises(ValueError, match="needs a model fitted with quantiles"):
        forecast(make_forecaster(8, **FAST).fit(X, y), series, coverage=0.8)
    with pytest.raises(ValueError, match="coverage=0.5 needs the quantiles"):
        forecast(model, series, coverage=0.5)


def test_coverage_on_a_numpy_series_with_array_quantiles():
    values = np.sin(np.arange(90) / 4) + np.arange(90) / 40
    X, y = make_supervised(values)
    model = make_forecaster(8, quantiles=np.array([0.1, 0.9]), **FAST).fit(X, y)
    future = forecast(model, values, coverage=0.8)
    assert list(future.index) == [90] and (future["lower"] <= future["upper"]).all()
    # the quantiles the model was fitted with count, not a later set_params
    model[-1].set_params(quantiles=None)
    pd.testing.assert_frame_equal(forecast(model, values, coverage=0.8), future)


def test_a_series_named_otherwise_than_at_fit_is_a_clear_error():
    series = pd.Series(np.sin(np.arange(60) / 4), name="sales",
                       index=pd.date_range("2000-01-01", periods=60, freq="MS"))
    X, y = make_supervised(series)
    model = make_forecaster(6, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on the columns \['sales'\].*give \['y'\]"):
        forecast(model, series.rename(None))
    assert forecast(model, series).index[0] == pd.Timestamp("2005-01-01")
    # a series whose newest window holds no value is refused in the series' terms
    gone = series.copy()
    gone.iloc[-6:] = np.nan
    with pytest.raises(ValueError, match="newest window of the series .* no observed value"):
        forecast(model, gone)
