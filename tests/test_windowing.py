import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skattn import SlidingWindowTransformer, make_supervised


def test_windows_are_time_major_and_aligned():
    X = np.arange(12.0).reshape(6, 2)  # rows t = 0..5, features a=2t, b=2t+1
    windows = SlidingWindowTransformer(window_size=3).fit_transform(X)
    assert windows.shape == (6, 6)
    # row 4 holds rows 2, 3, 4 oldest first, features side by side
    np.testing.assert_array_equal(windows[4], [4, 5, 6, 7, 8, 9])
    # the first window_size - 1 rows are padded where history is missing
    assert np.isnan(windows[0, :4]).all()
    np.testing.assert_array_equal(windows[0, 4:], [0, 1])
    np.testing.assert_array_equal(windows[:, -2:], X)  # lag 0 is the row itself


def test_fill_value_and_dtype_preserved():
    X = np.arange(5, dtype=np.float32).reshape(-1, 1)
    windows = SlidingWindowTransformer(window_size=2, fill_value=-1).fit_transform(X)
    assert windows.dtype == np.float32
    np.testing.assert_array_equal(windows[0], [-1, 0])
    ints = SlidingWindowTransformer(window_size=2).fit_transform(np.arange(4).reshape(-1, 1))
    assert ints.dtype == np.float64


def test_feature_names_and_pandas_output():
    frame = pd.DataFrame({"level": [1.0, 2, 3, 4], "rain": [0.0, 1, 0, 1]})
    transformer = SlidingWindowTransformer(window_size=2).set_output(transform="pandas")
    out = transformer.fit_transform(frame)
    assert list(out.columns) == ["level_lag1", "rain_lag1", "level_lag0", "rain_lag0"]
    assert out.index.equals(frame.index)
    plain = SlidingWindowTransformer(window_size=3).fit(np.zeros((5, 1)))
    assert list(plain.get_feature_names_out()) == ["x0_lag2", "x0_lag1", "x0_lag0"]


def test_pandas_series_is_one_column():
    series = pd.Series([1.0, 2.0, 3.0], name="flow")
    transformer = SlidingWindowTransformer(window_size=2).fit(series)
    assert list(transformer.get_feature_names_out()) == ["flow_lag1", "flow_lag0"]
    np.testing.assert_array_equal(transformer.transform(series)[2], [2.0, 3.0])


def test_transform_of_a_short_segment_is_padded():
    transformer = SlidingWindowTransformer(window_size=4).fit(np.zeros((10, 1)))
    out = transformer.transform(np.ones((2, 1)))
    assert out.shape == (2, 4)
    assert np.isnan(out[1, :2]).all() and (out[1, 2:] == 1).all()


def test_clone_keeps_params():
    transformer = SlidingWindowTransformer(window_size=7, fill_value=0.0, seasonal_period=4)
    assert clone(transformer).get_params() == {
        "window_size": 7,
        "fill_value": 0.0,
        "seasonal_period": 4,
    }


def test_make_supervised_numpy_horizon_one():
    series = np.arange(6.0)
    X, y = make_supervised(series)
    assert X.shape == (5, 1) and y.shape == (5,)
    np.testing.assert_array_equal(y, X[:, 0] + 1)  # row t -> value at t+1


def test_make_supervised_multi_horizon_and_exog():
    series = np.arange(8.0)
    exog = np.arange(16.0).reshape(8, 2) * 10
    X, y = make_supervised(series, horizon=3, exog=exog)
    assert X.shape == (5, 3) and y.shape == (5, 3)
    np.testing.assert_array_equal(X[2], [2.0, 40.0, 50.0])
    np.testing.assert_array_equal(y[2], [3.0, 4.0, 5.0])


def test_make_supervised_pandas_keeps_index_and_names():
    index = pd.date_range("2020-01-01", periods=6, freq="D")
    series = pd.Series(np.arange(6.0), index=index, name="volume")
    exog = pd.DataFrame({"rain": np.ones(6)}, index=index)
    X, y = make_supervised(series, horizon=1, exog=exog)
    assert list(X.columns) == ["volume", "rain"]
    assert X.index.equals(index[:5]) and y.index.equals(index[:5])
    assert y.name == "volume"
    assert (y.to_numpy() == series.to_numpy()[1:]).all()
    X2, y2 = make_supervised(series, horizon=2)
    assert list(y2.columns) == ["volume_t+1", "volume_t+2"]


@pytest.mark.parametrize("horizon", [0, -1, 1.5, True])
def test_make_supervised_rejects_bad_horizon(horizon):
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        make_supervised(np.arange(5.0), horizon=horizon)


def test_make_supervised_rejects_short_or_misaligned_input():
    with pytest.raises(ValueError, match="at least horizon \\+ 1"):
        make_supervised(np.arange(3.0), horizon=3)
    with pytest.raises(ValueError, match="exog has 4 rows but series has 5"):
        make_supervised(np.arange(5.0), exog=np.zeros((4, 1)))
    with pytest.raises(ValueError, match="series must be 1-D"):
        make_supervised(np.zeros((5, 2)))


# -- seasonal_period: calendar columns ---------------------------------------
@pytest.mark.parametrize("period", [2, 4, 7, 12])
def test_seasonal_columns_values_names_and_padding(period):
    series = pd.Series(np.arange(30.0), index=pd.RangeIndex(5, 35), name="v")
    window = SlidingWindowTransformer(window_size=3, seasonal_period=period).fit(series)
    out = window.transform(series)
    n_per_step = 1 + period - 1
    assert out.shape == (30, 3 * n_per_step)
    names = window.get_feature_names_out()
    assert len(names) == out.shape[1]
    assert names[0] == "v_lag2" and names[n_per_step] == "v_lag1"
    assert sum(name.endswith("_lag0") for name in names) == n_per_step
    steps = out.reshape(30, 3, n_per_step)
    calendar = steps[:, -1, 1:]
    positions = np.arange(5, 35)
    cos1 = list(names).index("season_cos1_lag0") - 2 * n_per_step - 1
    np.testing.assert_allclose(
        calendar[:, cos1], np.cos(2 * np.pi * positions / period), atol=1e-12
    )
    # with a constant they span every function of the phase: one-hot phases exactly
    basis = np.column_stack([np.ones(30), calendar])
    one_hot = np.eye(period)[positions % period]
    fitted = basis @ np.linalg.lstsq(basis, one_hot, rcond=None)[0]
    np.testing.assert_allclose(fitted, one_hot, atol=1e-9)
    np.testing.assert_allclose(steps[:, -1, 0], series.to_numpy())
    assert np.isnan(steps[0, :2]).all()  # padded steps: the calendar columns too
    # distinct phases give distinct calendar rows; equal phases equal rows
    rounded = np.round(calendar, 9)
    assert len({tuple(row) for row in rounded}) == period
    np.testing.assert_allclose(calendar[0], calendar[period])


def test_seasonal_columns_follow_the_index_through_row_subsets():
    series = pd.Series(np.arange(40.0))
    window = SlidingWindowTransformer(window_size=2, seasonal_period=12).fit(series)
    full = window.transform(series)
    rows = [13, 14, 15, 30]
    subset = window.transform(series.iloc[rows])  # e.g. a cross-validation fold
    # calendar columns of the newest step match the full transform's rows
    np.testing.assert_allclose(subset[:, -11:], full[rows, -11:])


def test_seasonal_columns_from_a_datetime_or_period_index():
    months = pd.date_range("2001-01-01", periods=36, freq="MS")
    frame = pd.DataFrame({"a": np.arange(36.0), "b": 1.0}, index=months)
    window = SlidingWindowTransformer(window_size=2, seasonal_period=12).fit(frame)
    assert window.index_frequency_ == "M"
    out = window.transform(frame)[:, -11:]
    january = months.month == 1
    np.testing.assert_allclose(out[january], np.tile(out[0], (january.sum(), 1)))
    assert not np.allclose(out[1], out[0])
    # a subset loses the index's freq; the frequency seen in fit still places it
    picked = window.transform(frame.iloc[[0, 5, 24]])[:, -11:]
    np.testing.assert_allclose(picked, out[[0, 5, 24]])
    by_period = SlidingWindowTransformer(window_size=2, seasonal_period=12)
    np.testing.assert_allclose(
        by_period.fit_transform(frame.to_period("M"))[:, -11:], out, atol=1e-12
    )


def test_seasonal_columns_reach_the_estimator_as_features_per_step():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skattn import AttentionLSTMRegressor

    rng = np.random.default_rng(0)
    n = 120
    phase_effect = np.tile([0.0, 2.0, -1.0, 0.5], n // 4)
    series = pd.Series(phase_effect + 0.1 * rng.normal(size=n))
    pipe = make_pipeline(
        SlidingWindowTransformer(window_size=5, seasonal_period=4),
        StandardScaler(),
        AttentionLSTMRegressor(max_epochs=2, random_state=0),
    ).set_output(transform="pandas")
    pipe.fit(series, series)
    model = pipe[-1]
    assert (model.n_timesteps_, model.n_features_per_step_) == (5, 4)
    assert list(model.feature_labels_) == ["x0", "season_sin1", "season_cos1", "season_cos2"]


def test_seasonal_period_refuses_what_has_no_positions():
    with pytest.raises(ValueError, match="needs each row's position in time"):
        SlidingWindowTransformer(window_size=2, seasonal_period=12).fit(np.ones((5, 1)))
    with pytest.raises(ValueError, match="index of dtype"):
        SlidingWindowTransformer(window_size=2, seasonal_period=12).fit(
            pd.Series(np.ones(5), index=list("abcde"))
        )
    irregular = pd.DatetimeIndex(["2001-01-01", "2001-01-02", "2001-01-05", "2001-02-01"])
    with pytest.raises(ValueError, match="could not be inferred"):
        SlidingWindowTransformer(window_size=2, seasonal_period=7).fit(
            pd.Series(np.ones(4), index=irregular)
        )
    window = SlidingWindowTransformer(window_size=2, seasonal_period=4).fit(pd.Series(np.ones(8)))
    with pytest.raises(ValueError, match="same kind of index"):
        window.transform(pd.Series(np.ones(8), index=pd.date_range("2001", periods=8, freq="D")))
    with pytest.raises(ValueError, match="seasonal_period"):
        SlidingWindowTransformer(seasonal_period=1).fit(pd.Series(np.ones(30)))
