"""Panels (many series in one table): per-series shifting and windowing, and
PanelSplit (issue 13, first part)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from skattn import AttentionLSTMRegressor, PanelSplit, SlidingWindowTransformer, make_supervised
from skattn._panel import series_rows
from skattn.datasets import make_planted_panel


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


@pytest.mark.parametrize("lag, seed", [(7, 0), (10, 1)])
def test_one_network_finds_the_planted_step_in_every_series_of_a_panel(lag, seed):
    """Issue 13, Done-when 2 at CI size: series of different lengths and of
    scales over five orders of magnitude, one network, default settings; the
    attention peaks at the planted step and the held-out forecasts come close
    to the best possible ones in the median series."""
    window_size = 12
    series = make_planted_panel(12, lag, min_length=60, max_length=140, random_state=seed)
    X, y = make_supervised(series)
    position = X.groupby(level="series").cumcount()
    length = X.groupby(level="series")["value"].transform("size")
    test = (position >= 0.8 * length).to_numpy()
    pipe = Pipeline([
        ("window", SlidingWindowTransformer(window_size)),
        ("model", AttentionLSTMRegressor(random_state=seed, n_threads=1)),
    ]).set_output(transform="pandas")
    pipe.fit(X[~test], y[~test])
    model = pipe["model"]
    assert model.panel_ and model.target_feature_ == "value"
    assert model.attention_weights_.argmax() == window_size - lag
    forecast = pipe.predict(X)
    planted = pipe["window"].transform(X).iloc[:, window_size - lag].to_numpy()
    mean = series.groupby(level="series").transform("mean").loc[X.index].to_numpy()
    best = mean + 0.95 * (planted - mean)
    ids = X.index.get_level_values("series")
    scores, best_scores = [], []
    for name in ids.unique():
        rows = test & (ids == name) & np.isfinite(best)
        scores.append(r2_score(y[rows], forecast[rows]))
        best_scores.append(r2_score(y[rows], best[rows]))
    assert np.median(scores) > np.median(best_scores) - 0.1
    assert np.median(scores) > 0.6


def test_each_series_errors_count_in_its_own_units():
    """The loss scale of a panel row is its series' typical change, so a series
    multiplied by 1000 gets a 1000 times larger scale (none outside a panel)."""
    series = make_planted_panel(3, 5, random_state=0)
    bigger = series.copy()
    bigger.loc["s1"] = (series.loc["s1"] * 1000.0).to_numpy()
    scales = []
    for data in (series, bigger):
        X, y = make_supervised(data)
        windows = SlidingWindowTransformer(6).set_output(transform="pandas").fit_transform(X)
        model = AttentionLSTMRegressor()
        model._panel_series = series_rows(windows.index)[1]
        scale = model._series_scale(y.to_numpy()[:, None])
        ids = windows.index.get_level_values("series")
        scales.append({name: scale[ids == name] for name in ("s0", "s1")})
        model._panel_series = None
        assert model._series_scale(y.to_numpy()[:, None]) is None
    assert np.ptp(scales[0]["s1"]) == 0  # one value per series
    np.testing.assert_allclose(scales[1]["s1"], 1000 * scales[0]["s1"], rtol=1e-5)
    np.testing.assert_allclose(scales[1]["s0"], scales[0]["s0"], rtol=1e-5)


def test_panel_loss_plain_counts_errors_in_the_targets_units():
    """With one series 1000 times larger than the others, "scaled" measures
    the small series' errors in their own (tiny) typical change, "plain" in
    the standardised target's units, where the large series dominates: the
    same first epoch costs orders of magnitude less in "plain" units."""
    series = make_planted_panel(3, 5, min_length=60, max_length=80, random_state=0)
    series.loc["s1"] = (series.loc["s1"] * 1000.0).to_numpy()
    X, y = make_supervised(series)
    windows = SlidingWindowTransformer(6).set_output(transform="pandas").fit_transform(X)
    losses = {}
    for panel_loss in ("scaled", "plain"):
        model = AttentionLSTMRegressor(panel_loss=panel_loss, max_epochs=2, hidden_size=8,
                                       random_state=0).fit(windows, y)
        assert model.panel_
        losses[panel_loss] = model.net_.history[0, "train_loss"]
        assert np.isfinite(model.predict(windows)).all()
    assert losses["scaled"] > 5 * losses["plain"]


def test_a_one_series_panel_trains_as_that_series_alone():
    series = make_planted_panel(2, 5, min_length=60, max_length=90, random_state=0).loc[["s0"]]
    X, y = make_supervised(series)
    window = SlidingWindowTransformer(6).set_output(transform="pandas")
    windows = window.fit_transform(X)
    params = {"max_epochs": 5, "hidden_size": 8, "random_state": 0}
    as_panel = AttentionLSTMRegressor(**params).fit(windows, y)
    alone = AttentionLSTMRegressor(**params).fit(windows.reset_index(drop=True), y.to_numpy())
    assert not as_panel.panel_
    np.testing.assert_allclose(as_panel.predict(windows), alone.predict(windows), rtol=1e-5)


def test_attention_is_summarised_per_series_and_for_the_panel():
    series = make_planted_panel(4, 7, min_length=60, max_length=100, random_state=0)
    series.iloc[[3, 4]] = np.nan  # ignored targets renumber the rows; ids stay right
    X, y = make_supervised(series)
    pipe = Pipeline([
        ("window", SlidingWindowTransformer(10)),
        ("model", AttentionLSTMRegressor(missing_target="ignore", max_epochs=3, hidden_size=8,
                                         random_state=0)),
    ]).set_output(transform="pandas").fit(X, y)
    model = pipe["model"]
    summary = model.series_attention_
    assert summary.index.tolist() == ["s0", "s1", "s2", "s3"]
    assert summary.columns.tolist() == model.time_labels_.tolist()
    np.testing.assert_allclose(summary.sum(axis=1), 1.0, rtol=1e-5)
    windows = pipe["window"].transform(X)
    known = y.notna().to_numpy()
    for name in ("s1", "s3"):
        rows = known & (X.index.get_level_values("series") == name)
        np.testing.assert_allclose(summary.loc[name], model.predict_attention(windows[rows])
                                   .mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(model.attention_weights_,  # the panel's: over all windows
                               model.predict_attention(windows[known]).mean(axis=0), rtol=1e-4)
    alone = AttentionLSTMRegressor(max_epochs=1, hidden_size=4).fit(
        windows.to_numpy()[known], y[known])
    assert not hasattr(alone, "series_attention_")
