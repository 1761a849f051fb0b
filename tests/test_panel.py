"""Panels (many series in one table): per-series shifting and windowing, and
PanelSplit (issue 13, first part)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skattn import AttentionLSTMRegressor, PanelSplit, SlidingWindowTransformer, make_supervised


def panel(lengths=(30, 24, 40), seed=0):
    """Series of different lengths and levels, ids 's0', 's1', ..."""
    rng = np.random.default_rng(seed)
    parts = []
    for number, length in enumerate(lengths):
        index = pd.MultiIndex.from_product([[f"s{number}"], range(100 - length, 100)],
                                           names=["id", "t"])
        values = 1000.0 * number + np.cumsum(rng.normal(size=length))
        parts.append(pd.Series(values, index=index, name="value"))
    return pd.concat(parts)


def test_make_supervised_shifts_each_series_on_its_own():
    series = panel()
    X, y = make_supervised(series, horizon=2)
    assert len(X) == len(series) - 3 * 2  # each series loses its own last 2 rows
    for name, part in series.groupby(level="id"):
        rows = X.index.get_level_values("id") == name
        values = part.to_numpy()
        np.testing.assert_array_equal(X.loc[rows, "value"], values[:-2])
        np.testing.assert_array_equal(y.loc[rows].to_numpy(),
                                      np.column_stack([values[1:-1], values[2:]]))
    exog = pd.DataFrame({"temp": np.arange(len(series), dtype=float)}, index=series.index)
    X, _ = make_supervised(series, horizon=1, exog=exog)
    np.testing.assert_array_equal(X["temp"], exog["temp"].drop(
        [index for _, part in series.groupby(level="id") for index in part.index[-1:]]))


def test_panel_errors_name_the_series():
    series = panel()
    shuffled = series.iloc[::-1]
    with pytest.raises(ValueError, match="Series 's2' of the panel is not in increasing time"):
        make_supervised(shuffled)
    with pytest.raises(ValueError, match="2 series .* at most horizon=30 values.*'s0'"):
        make_supervised(series, horizon=30)
    with pytest.raises(ValueError, match="exog must be pandas with the same index"):
        make_supervised(series, exog=np.ones(len(series)))


def test_windows_never_mix_series_and_keep_the_row_order():
    X, _ = make_supervised(panel(), horizon=1)
    transformer = SlidingWindowTransformer(window_size=5)
    windows = transformer.fit_transform(X)
    for name, part in X.groupby(level="id"):
        alone = SlidingWindowTransformer(window_size=5).fit_transform(
            part.reset_index(drop=True))
        np.testing.assert_array_equal(windows[X.index.get_level_values("id") == name], alone)
    by_time = X.sort_index(level="t", sort_remaining=True)  # series interleaved
    interleaved = transformer.transform(by_time)
    np.testing.assert_array_equal(
        pd.DataFrame(interleaved, index=by_time.index).loc[X.index].to_numpy(), windows)


def test_panel_split_splits_on_time_across_all_series():
    X, _ = make_supervised(panel(), horizon=1)
    times = X.index.get_level_values("t")
    splits = list(PanelSplit(3, test_size=2, gap=1).split(X))
    assert len(splits) == 3
    for train, test in splits:
        assert times[train].max() < times[test].min() - 1  # the gap
        assert set(X.index[test].get_level_values("id")) == {"s0", "s1", "s2"}
        assert len(np.unique(times[test])) == 2
    assert times[splits[-1][1]].max() == times.max()
    with pytest.raises(ValueError, match="needs X as pandas with a MultiIndex"):
        next(PanelSplit().split(np.ones((10, 1))))
    with pytest.raises(ValueError, match="needs more than"):
        next(PanelSplit(30, test_size=2).split(X))


def test_a_pipeline_cross_validates_and_searches_on_a_panel():
    X, y = make_supervised(panel(), horizon=1)
    pipe = Pipeline([
        ("window", SlidingWindowTransformer(window_size=6)),
        ("model", AttentionLSTMRegressor(hidden_size=8, max_epochs=5, random_state=0)),
    ])
    scores = cross_val_score(pipe, X, y, cv=PanelSplit(2, test_size=3),
                             scoring="neg_mean_absolute_error", error_score="raise")
    assert np.isfinite(scores).all()
    search = GridSearchCV(pipe, {"window__window_size": [4, 8]}, cv=PanelSplit(2, test_size=3),
                          scoring="neg_mean_absolute_error", error_score="raise").fit(X, y)
    assert search.best_params_["window__window_size"] in (4, 8)


def test_early_stopping_on_a_panel_holds_out_the_newest_rows_of_every_series():
    from skattn._panel import newest_rows

    X, y = make_supervised(panel(), horizon=1)
    mask = newest_rows(X.index, 0.2)
    for name, part in X.groupby(level="id"):
        rows = X.index.get_level_values("id") == name
        held = part.index.get_level_values("t")[mask[rows]]
        assert len(held) == int(np.ceil(0.2 * len(part)))
        assert held.min() > part.index.get_level_values("t")[~mask[rows]].max()
    windows = SlidingWindowTransformer(window_size=4).set_output(transform="pandas")
    pipe = Pipeline([("window", windows),
                     ("model", AttentionLSTMRegressor(hidden_size=8, max_epochs=3,
                                                      early_stopping=True, random_state=0))])
    pipe.fit(X, y)
    model = pipe["model"]
    n_valid = model.history_[-1]["batches"]  # the validation batches of the last epoch
    valid_rows = sum(row.get("valid_batch_size", 0) for row in n_valid)
    assert valid_rows == mask.sum()  # not the last 20% of the table (one whole series)
