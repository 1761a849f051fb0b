"""Series with gaps (issue 14 item 5): on their time grid, with the rows whose
target is unknown skipped by the model, windows and calendar keep their phase."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised
from skattn.datasets import make_planted_panel

FAST = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}
GAPS = [30, 31, 32, 70]


def monthly():
    months = pd.date_range("2000-01-01", periods=120, freq="MS")
    return pd.Series(10 + np.sin(np.arange(120) * np.pi / 6), index=months, name="sales")


def pipeline(**params):
    return Pipeline([
        ("window", SlidingWindowTransformer(12, seasonal_period=12)),
        ("model", AttentionLSTMRegressor(**FAST, **params)),
    ]).set_output(transform="pandas")


def test_a_gappy_series_on_its_grid_trains_on_the_known_targets():
    full = monthly()
    gappy = full.drop(full.index[GAPS])
    with pytest.raises(ValueError, match="asfreq.*missing_target='ignore'"):
        pipeline().fit(*make_supervised(gappy))          # rows dropped: no time grid
    X, y = make_supervised(gappy.asfreq("MS"))           # on the grid: NaN in X and y
    with pytest.raises(ValueError, match=r"rows \[29, 30, 31, 69\].*missing_target='ignore'"):
        pipeline().fit(X, y)
    model = pipeline(missing_target="ignore").fit(X, y)
    batches = model["model"].history_[0]["batches"]
    seen = sum(row.get("train_batch_size", 0) + row.get("valid_batch_size", 0)
               for row in batches)
    assert seen == len(y) - len(GAPS)
    # the calendar of every row is that of the full series: the phase is kept
    windows = model["window"].transform(X)
    reference = SlidingWindowTransformer(12, seasonal_period=12).set_output(
        transform="pandas").fit_transform(make_supervised(full)[0])
    calendar = [column for column in windows.columns if column.startswith("season")]
    np.testing.assert_allclose(windows[calendar], reference[calendar])
    assert np.isnan(windows.loc[full.index[33], "sales_lag3"])  # the gap is a missing step
    score = model.score(X, y)                                      # unknown targets left out
    assert np.isfinite(score)
    known = y.notna().to_numpy()
    assert score == pytest.approx(r2_score(y[known], model.predict(X)[known]))


def test_ignored_targets_on_a_panel_keep_each_series_rows():
    panel = make_planted_panel(3, 4, min_length=40, max_length=60, random_state=0)
    values = panel.copy()
    values.iloc[[5, 6, 50]] = np.nan
    X, y = make_supervised(values)
    model = Pipeline([("window", SlidingWindowTransformer(6)),
                      ("model", AttentionLSTMRegressor(missing_target="ignore",
                                                       early_stopping=True, **FAST))]
                     ).set_output(transform="pandas").fit(X, y)
    assert model["model"].panel_
    assert np.isfinite(model.predict(X)).all()


def test_too_few_known_targets_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(10, 4, 1))
    y = np.full(10, np.nan)
    y[3] = 1.0
    with pytest.raises(ValueError, match="leaves 1 row"):
        AttentionLSTMRegressor(missing_target="ignore", **FAST).fit(X, y)
    y[4] = np.inf
    with pytest.raises(ValueError, match="inf in rows"):
        AttentionLSTMRegressor(missing_target="ignore", **FAST).fit(X, y)


def test_a_panel_series_with_a_gap_is_named():
    panel = make_planted_panel(3, 4, min_length=40, max_length=60, random_state=0)
    gappy = panel.drop(("s1", 10))
    with pytest.raises(ValueError, match="Series 's1' of the panel has gaps in its time grid"):
        make_supervised(gappy)
    X, _ = make_supervised(panel)
    with pytest.raises(ValueError, match="Series 's1' of the panel has gaps"):
        SlidingWindowTransformer(6).fit(X).transform(X.drop(("s1", 10)))
    # monthly timestamps: a skipped month is a gap, month lengths are not
    months = pd.date_range("2001-01-01", periods=30, freq="MS")
    index = pd.MultiIndex.from_product([["a", "b"], months], names=["series", "time"])
    monthly = pd.Series(np.arange(60.0), index=index)
    make_supervised(monthly)
    with pytest.raises(ValueError, match="Series 'b'.*asfreq per series"):
        make_supervised(monthly.drop(("b", months[7])))
    # on its grid, the gap is a NaN row and the model skips its targets
    on_grid = monthly.copy()
    on_grid[("b", months[7])] = np.nan
    X, y = make_supervised(on_grid)
    model = Pipeline([("window", SlidingWindowTransformer(6)),
                      ("model", AttentionLSTMRegressor(missing_target="ignore", **FAST))]
                     ).set_output(transform="pandas").fit(X, y)
    assert np.isfinite(model.predict(X)).all()
