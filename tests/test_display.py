"""The displays draw what they claim: checked on the artists, not on pixels."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer
from skattn.display import AttentionDisplay, ForecastDisplay

pytest.importorskip("matplotlib").use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

TINY = {"hidden_size": 4, "max_epochs": 2, "batch_size": 32, "random_state": 0, "n_threads": 1}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def windows(n_samples=60, n_timesteps=7, n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_timesteps, n_features))
    return X, X[:, 3, 0]


@pytest.fixture(scope="module")
def fitted():
    X, y = windows()
    return AttentionLSTMRegressor(**TINY).fit(X, y), X, y


def bar_heights(bars):
    return np.array([bar.get_height() for bar in bars])


def test_bars_are_the_mean_attention_per_step(fitted):
    model, X, _ = fitted
    display = AttentionDisplay.from_estimator(model)
    assert len(display.bars_) == model.n_timesteps_
    np.testing.assert_allclose(bar_heights(display.bars_), model.attention_weights_)
    np.testing.assert_array_equal(display.weights_, model.attention_weights_)
    assert list(display.labels_) == list(model.time_labels_)
    tick_labels = [tick.get_text() for tick in display.ax_.get_xticklabels()]
    assert tick_labels == list(model.time_labels_)
    assert display.figure_ is display.ax_.figure


def test_bars_over_X_are_the_mean_of_predict_attention(fitted):
    model, X, _ = fitted
    display = AttentionDisplay.from_estimator(model, X[:10])
    expected = model.predict_attention(X[:10]).mean(axis=0)
    np.testing.assert_allclose(bar_heights(display.bars_), expected, rtol=1e-6)


def test_heatmap_is_windows_by_steps_capped_at_max_windows(fitted):
    model, X, _ = fitted
    display = AttentionDisplay.from_estimator(model, X, kind="heatmap", max_windows=12)
    image = np.asarray(display.image_.get_array())
    assert image.shape == (12, model.n_timesteps_)
    np.testing.assert_allclose(image, model.predict_attention(X[:12]), rtol=1e-6)
    assert display.colorbar_ is not None


def test_heatmap_needs_X(fitted):
    with pytest.raises(ValueError, match="pass the windows X"):
        AttentionDisplay.from_estimator(fitted[0], kind="heatmap")


def test_draws_on_the_given_axes(fitted):
    _, ax = plt.subplots()
    display = AttentionDisplay.from_estimator(fitted[0], ax=ax)
    assert display.ax_ is ax


def test_feature_attention_is_labelled_by_feature():
    X, y = windows()
    model = AttentionLSTMRegressor(attention="feature", **TINY).fit(X, y)
    display = AttentionDisplay.from_estimator(model)
    assert len(display.bars_) == X.shape[2]
    np.testing.assert_allclose(bar_heights(display.bars_), model.feature_weights_)
    assert list(display.labels_) == ["x0", "x1"]


def test_per_head_bars_and_heatmap():
    X, y = windows()
    model = AttentionLSTMRegressor(attention="multihead", n_heads=2, **TINY).fit(X, y)
    bars = AttentionDisplay.from_estimator(model, per_head=True)
    assert len(bars.bars_) == 2
    for head, container in enumerate(bars.bars_):
        np.testing.assert_allclose(bar_heights(container), model.head_weights_[head])
    heatmap = AttentionDisplay.from_estimator(model, X, kind="heatmap", per_head=True)
    np.testing.assert_allclose(
        heatmap.image_.get_array(),
        model.predict_attention(X, per_head=True).mean(axis=0),
        rtol=1e-6,
    )


def test_per_head_needs_an_attention_with_heads():
    X, y = windows()
    model = AttentionLSTMRegressor(**{**TINY, "attention": "per_feature"}).fit(X, y)
    with pytest.raises(ValueError, match="attentions with heads"):
        AttentionDisplay.from_estimator(model, per_head=True)
    default = AttentionLSTMRegressor(**TINY).fit(X, y)  # additive heads
    display = AttentionDisplay.from_estimator(default, per_head=True)
    assert len(display.bars_) == default.head_weights_.shape[0]  # one container per head
    for head, container in enumerate(display.bars_):
        np.testing.assert_allclose(bar_heights(container), default.head_weights_[head])


def pipeline_and_table(n_rows=80):
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(n_rows, 2)), columns=["load", "temp"])
    y = table["load"].shift(2).fillna(0.0).to_numpy()
    pipe = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=5)),
            ("scale", StandardScaler()),
            ("model", AttentionLSTMRegressor(**TINY)),
        ]
    ).set_output(transform="pandas")
    return pipe.fit(table, y), table, y


def test_pipeline_input_goes_through_the_earlier_steps():
    pipe, table, y = pipeline_and_table()
    model = pipe[-1]
    windows_seen = pipe[:-1].transform(table)
    heatmap = AttentionDisplay.from_estimator(pipe, table, kind="heatmap", max_windows=30)
    np.testing.assert_allclose(
        heatmap.image_.get_array(), model.predict_attention(windows_seen.iloc[:30]), rtol=1e-6
    )
    bars = AttentionDisplay.from_estimator(pipe)
    assert len(bars.bars_) == 5
    np.testing.assert_allclose(bar_heights(bars.bars_), model.attention_weights_)
    assert list(model.feature_labels_) == ["load", "temp"]


def test_attention_none_is_a_clear_error(fitted):
    X, y = windows()
    model = AttentionLSTMRegressor(attention="none", **TINY).fit(X, y)
    with pytest.raises(ValueError, match="attention='none'"):
        AttentionDisplay.from_estimator(model)
    with pytest.raises(ValueError, match="attention='none'"):
        ForecastDisplay.from_estimator(model, X, y, window=10)


def test_other_estimators_are_a_type_error():
    X, y = windows()
    ridge = Ridge().fit(X.reshape(len(X), -1), y)
    with pytest.raises(TypeError, match="AttentionLSTMRegressor"):
        AttentionDisplay.from_estimator(ridge)


def test_bad_kind_and_max_windows(fitted):
    with pytest.raises(ValueError, match="kind"):
        AttentionDisplay.from_estimator(fitted[0], kind="pie")
    with pytest.raises(ValueError, match="max_windows"):
        AttentionDisplay.from_estimator(fitted[0], fitted[1], kind="heatmap", max_windows=0)


def test_forecast_lines_hold_truth_and_prediction(fitted):
    model, X, y = fitted
    display = ForecastDisplay.from_estimator(model, X, y)
    truth, prediction = display.lines_
    np.testing.assert_allclose(truth.get_ydata(), y)
    np.testing.assert_allclose(prediction.get_ydata(), model.predict(X))
    np.testing.assert_array_equal(truth.get_xdata(), np.arange(len(y)))
    assert not hasattr(display, "attention_ax_")


def test_forecast_from_predictions_uses_a_pandas_index():
    y = pd.Series([1.0, 2.0, 4.0], index=[2001, 2002, 2003])
    display = ForecastDisplay.from_predictions(y, [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(display.lines_[0].get_xdata(), [2001, 2002, 2003])
    np.testing.assert_allclose(display.lines_[1].get_ydata(), [1.5, 2.5, 3.5])
    explicit = ForecastDisplay.from_predictions([1.0, 2.0], [1.0, 2.0], index=[10, 20])
    np.testing.assert_array_equal(explicit.lines_[0].get_xdata(), [10, 20])


def test_forecast_window_bars_sit_on_the_rows_the_window_holds(fitted):
    model, X, y = fitted
    window = 30
    display = ForecastDisplay.from_estimator(model, X, y, window=window)
    bars = display.attention_bars_
    assert len(bars) == model.n_timesteps_
    np.testing.assert_allclose(
        bar_heights(bars), model.predict_attention(X[window : window + 1])[0], rtol=1e-6
    )
    centres = np.array([bar.get_x() + bar.get_width() / 2 for bar in bars])
    np.testing.assert_allclose(centres, np.arange(window - model.n_timesteps_ + 1, window + 1))
    assert display.window_line_.get_xdata()[0] == window
    assert display.attention_ax_ is not display.ax_


def test_forecast_window_with_lead_and_a_pipeline():
    pipe, table, y = pipeline_and_table()
    years = np.arange(1901, 1901 + len(y))
    display = ForecastDisplay.from_estimator(pipe, table, y, index=years, window=-1, lead=1)
    centres = np.array([bar.get_x() + bar.get_width() / 2 for bar in display.attention_bars_])
    # window -1 is the last row; lead=1 draws each step one row before the row it was
    np.testing.assert_allclose(centres, years[len(y) - 1 - 5 : len(y) - 1])
    windows_seen = pipe[:-1].transform(table)
    np.testing.assert_allclose(
        bar_heights(display.attention_bars_),
        pipe[-1].predict_attention(windows_seen.iloc[-1:])[0],
        rtol=1e-6,
    )


def test_forecast_window_near_the_start_keeps_the_bars_inside(fitted):
    model, X, y = fitted
    display = ForecastDisplay.from_estimator(model, X, y, window=2)
    assert len(display.attention_bars_) == 3  # rows 0, 1, 2


def test_forecast_errors(fitted):
    model, X, y = fitted
    with pytest.raises(ValueError, match="outside"):
        ForecastDisplay.from_estimator(model, X, y, window=len(y))
    with pytest.raises(ValueError, match="one target per row"):
        ForecastDisplay.from_predictions(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must match"):
        ForecastDisplay.from_predictions([1.0, 2.0], [1.0])


def test_forecast_of_any_regressor_without_window():
    X, y = windows()
    flat = X.reshape(len(X), -1)
    display = ForecastDisplay.from_estimator(Ridge().fit(flat, y), flat, y)
    assert display.lines_[1].get_label() == "Ridge"


def test_missing_matplotlib_names_the_extra(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install skattn\[plot\]"):
        AttentionDisplay.from_estimator(fitted[0])


def test_importing_skattn_does_not_import_matplotlib():
    code = (
        "import sys, skattn, skattn.display; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_time_ticks_are_dates_and_the_y_label_is_the_series_name(fitted):
    model, X, y = fitted
    days = pd.date_range("2001-01-01", periods=len(X), freq="D")
    flat = pd.DataFrame(X.reshape(len(X), -1), index=days)
    model_2d = AttentionLSTMRegressor(n_features=X.shape[2], **TINY).fit(flat, y)
    display = AttentionDisplay.from_estimator(model_2d, flat, kind="heatmap", max_windows=5)
    ticks = [tick.get_text() for tick in display.ax_.get_yticklabels()]
    assert ticks[0] == "2001-01-01"  # not "2001-01-01T00:00:00.000000000"
    hourly = pd.Series([1.0, 2.0], index=pd.date_range("2001-01-01 06:00", periods=2, freq="h"),
                       name="load")
    display = ForecastDisplay.from_predictions(hourly, [1.0, 2.0])
    assert display.ax_.get_ylabel() == "load"
    assert ForecastDisplay.from_predictions([1.0, 2.0], [1.0, 2.0]).ax_.get_ylabel() == "value"


def test_forecast_draws_the_interval_band():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6, 1))
    y = X[:, 2, 0] + 0.3 * rng.normal(size=120)
    model = AttentionLSTMRegressor(quantiles=(0.1, 0.9), **TINY).fit(X, y)
    display = ForecastDisplay.from_estimator(model, X, y, coverage=0.8)
    interval = model.predict_interval(X, 0.8)
    paths = display.band_.get_paths()[0].vertices
    assert np.isclose(paths[:, 1].min(), interval.min()) and np.isclose(paths[:, 1].max(),
                                                                      interval.max())
    assert "80% interval" in [text.get_text() for text in display.ax_.get_legend().get_texts()]
    with pytest.raises(ValueError, match="interval must have shape"):
        ForecastDisplay.from_predictions(y, y, interval=np.ones((3, 2)))
