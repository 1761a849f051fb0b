"""benchmarks/m3.py's own parts that need no competition data: the seasonal
indices it divides seasonal series by before the global models see them, and
the average over every frequency."""


import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def m3():
    return load_benchmark("m3")


def test_seasonal_indices_recover_a_planted_season_and_skip_none(m3):
    rng = np.random.default_rng(0)
    planted = np.array([0.8, 0.9, 1.0, 1.1, 1.3, 1.2, 1.0, 0.9, 0.95, 1.05, 0.9, 0.9])
    planted /= planted.mean()
    months = np.arange(120)
    series = (100 + 0.5 * months) * planted[months % 12] * np.exp(0.01 * rng.normal(size=120))
    indices = m3.seasonal_indices(series, 12)
    np.testing.assert_allclose(indices, planted, atol=0.02)
    # no season: white noise around a level, a period of 1, too short, not positive
    assert m3.seasonal_indices(100 + rng.normal(size=120), 12) is None
    assert m3.seasonal_indices(series, 1) is None
    assert m3.seasonal_indices(series[:30], 12) is None
    assert m3.seasonal_indices(series - 200, 12) is None


def test_deseasonalized_series_and_their_future_indices(m3):
    months = np.arange(60)
    planted = np.tile([0.5, 1.5], 2)  # period 4
    seasonal = (10 + 0.1 * months) * np.r_[planted][months % 4]
    flat = 10 + np.random.default_rng(0).normal(size=60)  # no season
    adjusted, future = m3.deseasonalized([(seasonal, None, 4), (flat, None, 4)], horizon=6)
    assert future.shape == (2, 6)
    np.testing.assert_allclose(future[1], 1.0)  # not seasonal: unchanged
    np.testing.assert_array_equal(adjusted[1][0], flat)
    # the adjusted seasonal series is the trend; its future indices continue the phase
    np.testing.assert_allclose(adjusted[0][0], 10 + 0.1 * months, rtol=0.02)
    np.testing.assert_allclose(future[0], np.tile([0.5, 1.5], 3), rtol=0.02)


def test_overall_weights_each_series_by_its_horizon(m3):
    def table(values):
        return pd.DataFrame(values, index=["sMAPE", "MASE", "seconds"]).T

    tables = {
        "yearly": (table({"Theta": [10.0, 2.0, 1.0], "only yearly": [1.0, 1.0, 1.0]}), 3, 6),
        "monthly": (table({"Theta": [20.0, 1.0, 5.0]}), 2, 18),
    }
    result = m3.overall(tables)
    # 18 forecasts at 10 and 36 at 20: (180 + 720) / 54
    assert result.loc["Theta", "sMAPE"] == pytest.approx(900 / 54)
    assert result.loc["Theta", "MASE"] == pytest.approx((18 * 2 + 36 * 1) / 54)
    assert result.loc["Theta", "seconds"] == 6.0
    assert list(result.index) == ["Theta"]  # a method missing somewhere is left out


def test_mase_weights_are_one_over_each_series_in_sample_seasonal_change(m3):
    months = np.arange(48)
    season = np.tile([1.0, 2.0], 24)  # period 2: the seasonal change of the logs is 0
    calm = 100 * np.exp(0.01 * months) * season  # log changes 0.02 at lag 2
    wild = 100 * np.exp(0.1 * months) * season  # log changes 0.2 at lag 2
    flat = np.full(48, 5.0)
    short = np.array([1.0, np.e])  # no longer than its period: lag 1, log change 1
    weights = m3.mase_weights([(calm, None, 2), (wild, None, 2), (flat, None, 2),
                               (short, None, 2)])
    np.testing.assert_allclose(weights[[0, 1, 3]], [50.0, 5.0, 1.0])
    assert weights[2] == pytest.approx(5.0)  # never changes: the median weight


def test_the_interval_benchmark_reads_the_windows_of_the_point_benchmark(m3):
    """benchmarks/m3_intervals.py builds its global ridge on m3.windows: its
    five bounds per step come back ordered, positive and around the series."""
    intervals = load_benchmark("m3_intervals")
    rng = np.random.default_rng(0)
    series_list = [(np.exp(np.cumsum(0.01 + 0.02 * rng.normal(size=length)) + 3), None, 1)
                   for length in (20, 30, 40, 50)]
    bounds = intervals.ridge_quantiles(m3, series_list, window=8, horizon=4)
    assert bounds.shape == (4, 4, 5)
    assert (np.diff(bounds, axis=-1) >= 0).all() and (bounds > 0).all()
    last = np.array([train[-1] for train, _, _ in series_list])
    np.testing.assert_allclose(bounds[:, 0, 2], last, rtol=0.2)


def test_ensemble_members_are_three_per_seed_spread_over_windows_and_preparations(m3):
    # the default: every network on windows of 2 horizons, the given seeds first
    assert m3.ensemble_members([0, 1, 2], [2], 6) == [(seed, 12, True) for seed in range(9)]
    # three window lengths: the given seeds on each
    members = m3.ensemble_members([0, 1, 2], [2, 3, 4], 6)
    assert members == [(seed, window, True) for window in (12, 18, 24) for seed in (0, 1, 2)]
    # one seed, two windows: two seeds each (at least three networks in all)
    assert m3.ensemble_members([5], [2, 3], 8) == [(5, 16, True), (6, 16, True),
                                                   (5, 24, True), (6, 24, True)]
    # both preparations of a seasonal frequency: five seeds on each
    members = m3.ensemble_members([0, 1, 2], [2], 18, [True, False])
    assert members == [(seed, 36, adjusted) for adjusted in (True, False) for seed in range(5)]


def recording_network(m3):
    """The benchmark's network (two epochs) and a dict its fit fills with the
    windows and sample weights it was given."""
    model = m3.network_model(0, max_epochs=2)
    seen = {}

    class Recording(type(model)):
        def fit(self, X, y, sample_weight=None):
            seen["X"], seen["weight"] = X, sample_weight
            return super().fit(X, y, sample_weight=sample_weight)

    return Recording(**model.get_params()), seen


@pytest.mark.filterwarnings("ignore:The network learned little")  # two epochs
def test_the_networks_see_every_series_windows_by_series_and_time(m3):
    """By default each network gets the windows indexed by (series, time), so
    early stopping holds out every series' newest windows (not the last
    series of the table), and forecasts every series from its newest one."""
    rng = np.random.default_rng(0)
    series_list = [(np.exp(np.cumsum(0.01 + 0.02 * rng.normal(size=length)) + level), None, 1)
                   for length, level in ((20, 1), (35, 3), (50, 5))]
    model = m3.network_model(0, max_epochs=2)
    assert model.get_params()["validation_fraction"] == 0.05
    recording, seen = recording_network(m3)
    weights = m3.mase_weights(series_list)
    forecasts, _ = m3.global_forecasts(recording, series_list, window=8, horizon=4,
                                       panel=True, weights=weights)
    X = seen["X"]
    assert isinstance(X, pd.DataFrame) and list(X.index.names) == ["series", "time"]
    assert sorted(set(X.index.get_level_values("series"))) == [0, 1, 2]
    assert recording.panel_
    counts = np.bincount(X.index.get_level_values("series"))
    np.testing.assert_array_equal(counts, [20 - 4, 35 - 4, 50 - 4])
    np.testing.assert_allclose(seen["weight"], np.repeat(weights, counts))
    assert forecasts.shape == (3, 4) and (forecasts > 0).all()
    last = np.array([train[-1] for train, _, _ in series_list])
    np.testing.assert_allclose(forecasts[:, 0], last, rtol=0.5)


def test_weighted_median_takes_each_column_at_half_the_weight(m3):
    values = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0]])
    np.testing.assert_array_equal(m3.weighted_median(values, np.ones(3)), [2.0, 20.0])
    # the last row outweighs the others: it is the median of both columns
    np.testing.assert_array_equal(m3.weighted_median(values, np.array([1.0, 1.0, 5.0])),
                                  [3.0, 20.0])


def test_recalibration_shifts_by_the_median_miss_on_every_series_newest_window(m3):
    """The recalibrated forecasts move, per step, by the weighted median of
    target minus forecast over each series' newest window (the one early
    stopping held out), on the log scale the windows are on."""
    rng = np.random.default_rng(1)
    series_list = [(np.exp(np.cumsum(0.02 * rng.normal(size=length)) + level), None, 1)
                   for length, level in ((15, 1), (22, 2), (30, 3))]

    class Constant:
        """Forecasts the same log ratios for every window."""

        def fit(self, X, y, sample_weight=None):
            return self

        def predict(self, X):
            return np.tile([0.01, 0.02, 0.03], (len(X), 1))

    weights = np.array([1.0, 2.0, 4.0])
    forecasts, recalibrated, _ = m3.global_forecasts(
        Constant(), series_list, window=6, horizon=3, panel=True, weights=weights,
        recalibrate=True)
    last = np.array([train[-1] for train, _, _ in series_list])
    np.testing.assert_allclose(forecasts, last[:, None] * np.exp([0.01, 0.02, 0.03]))
    # each series' newest window ends 3 steps before its end: its target is the last 3
    missed = np.array([np.log(train[-3:]) - np.log(train[-4]) - [0.01, 0.02, 0.03]
                       for train, _, _ in series_list])
    expected = m3.weighted_median(missed, weights)
    np.testing.assert_allclose(recalibrated, forecasts * np.exp(expected))
    assert not np.allclose(recalibrated, forecasts)


def test_the_in_sample_split_scores_each_training_part_on_its_last_horizon(m3):
    series_list = [(np.arange(1.0, 21.0), np.array([21.0, 22.0, 23.0]), 1),
                   (np.arange(5.0, 15.0), np.array([15.0, 16.0, 17.0]), 4)]
    split = m3.in_sample_split(series_list)
    for (train, test, period), (new_train, new_test, new_period) in zip(series_list, split,
                                                                      strict=True):
        assert new_period == period and len(new_test) == len(test)
        np.testing.assert_array_equal(np.concatenate([new_train, new_test]), train)
        assert new_test[-1] < test[0]  # nothing of the official test part


def test_aggregated_series_are_other_frequencies_summed_to_the_period(m3, monkeypatch):
    """Cross-learning: quarterly trains also on the monthly training parts in
    sums of three months ending at their last value; too short ones are left
    out, and the in-sample check cuts each source by the horizon first."""
    monthly = [(np.arange(1.0, 62.0), np.ones(18), 12),  # 61 months: 20 quarters
               (np.arange(1.0, 31.0), np.ones(18), 12),  # 10 quarters: too short for h 8
               (np.arange(1.0, 34.0), np.ones(18), 12)]  # 11 quarters: three windows
    quarterly = [(np.arange(1.0, 45.0), np.ones(8), 4)]  # 11 years
    sources = {"monthly": monthly, "quarterly": quarterly}
    monkeypatch.setattr(m3, "load", lambda frequency, limit=None: sources[frequency][:limit])

    helpers = m3.aggregated("quarterly", horizon=8)
    assert [len(train) for train, _, _ in helpers] == [20, 11]
    assert len(m3.aggregated("quarterly", horizon=8, limit=1)) == 1  # --limit: sources too
    train, test, period = helpers[0]
    assert period == 4 and len(test) == 0 and len(train) == 20
    np.testing.assert_allclose(train, np.arange(2.0, 62.0).reshape(20, 3).sum(axis=1))
    assert train[-1] == 59 + 60 + 61

    cut = m3.aggregated("quarterly", horizon=8, in_sample=True)
    assert len(cut) == 1 and len(cut[0][0]) == 12
    assert cut[0][0][-1] == 35 + 36 + 37  # the last 24 months went with the horizon

    # another source and block: quarterly in fours to years, at least 6 + 3 years
    monkeypatch.setitem(m3.AGGREGATED, "yearly", (("quarterly", 4),))
    yearly = m3.aggregated("yearly", horizon=6)
    assert [len(train) for train, _, _ in yearly] == [11]
    assert yearly[0][0][-1] == 41 + 42 + 43 + 44
    assert m3.aggregated("monthly", horizon=18) == []
    assert m3.aggregated("other", horizon=8) == []


@pytest.mark.filterwarnings("ignore:The network learned little")  # two epochs
def test_helper_series_train_the_global_model_but_get_no_forecast(m3):
    rng = np.random.default_rng(1)
    series_list = [(np.exp(np.cumsum(0.01 + 0.02 * rng.normal(size=length)) + 2), None, 1)
                   for length in (20, 30)]
    helpers = [(np.exp(np.cumsum(0.02 * rng.normal(size=25)) + 1), np.empty(0), 1)]
    recording, seen = recording_network(m3)
    weights = m3.mase_weights(series_list + helpers)
    forecasts, _ = m3.global_forecasts(recording, series_list, window=8,
                                       horizon=4, panel=True, weights=weights,
                                       helpers=helpers)
    assert forecasts.shape == (2, 4) and np.all(np.isfinite(forecasts))
    counts = np.bincount(seen["X"].index.get_level_values("series"))
    np.testing.assert_array_equal(counts, [20 - 4, 30 - 4, 25 - 4])
    np.testing.assert_allclose(seen["weight"], np.repeat(weights, counts))
    # each forecast starts from its own series' last value (the helper sits
    # about e times lower)
    lasts = np.array([train[-1] for train, _, _ in series_list])
    assert np.all(np.abs(np.log(forecasts[:, 0] / lasts)) < 0.3)
    assert np.all(np.abs(np.log(forecasts[:, 0] / helpers[0][0][-1])) > 0.5)
