"""The closed-form forecasting parts (skattn._linear): numpy only."""

import warnings

import numpy as np
import pytest
from scipy import stats

from skattn._linear import (
    conformal_quantiles,
    correction_weights,
    feature_moments,
    find_target_feature,
    history_bounds,
    level_stationary,
    naive_level,
    spread_floor,
)


def windows_of(series, n_timesteps, exog):
    """Windows of [series, exog] (n, T, 2) and the next value of the series."""
    table = np.column_stack([series, exog])
    index = np.arange(n_timesteps)[None, :] + np.arange(len(series) - n_timesteps)[:, None]
    return table[index], series[n_timesteps:]


def test_the_targets_own_history_is_found_among_other_features():
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=300))
    X, y = windows_of(series, 10, rng.normal(size=300))
    targets = ((y - y.mean()) / y.std())[:, None]
    feature, slope, intercept = find_target_feature(X, targets)
    assert feature == 0
    # the affine map sends the newest value to the standardised next value
    assert slope[0] * y.std() == pytest.approx(1.0, abs=0.05)
    assert intercept[0] == pytest.approx(-slope[0] * y.mean(), abs=0.1)


def test_no_feature_is_taken_when_none_forecasts_the_target():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 8, 3))
    targets = rng.normal(size=(400, 1))
    assert find_target_feature(X, targets) == (None, None, None)
    assert find_target_feature(X, targets, None) == (None, None, None)


def test_a_named_or_indexed_feature_is_taken_as_asked():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 5, 2))
    targets = rng.normal(size=(100, 2))
    assert find_target_feature(X, targets, "b", names=["a", "b"])[0] == 1
    feature, slope, intercept = find_target_feature(X, targets, 0)
    assert feature == 0 and slope.shape == intercept.shape == (2,)
    with pytest.raises(ValueError, match="target_feature='c' is not a feature name"):
        find_target_feature(X, targets, "c", names=["a", "b"])
    with pytest.raises(ValueError, match="target_feature=2 is out of range"):
        find_target_feature(X, targets, 2)


def test_missing_values_are_ignored_when_finding_the_target_feature():
    rng = np.random.default_rng(3)
    series = np.cumsum(rng.normal(size=200))
    X, y = windows_of(series, 6, rng.normal(size=200))
    X[::3, -1, 0] = np.nan  # the newest value is missing in a third of the windows
    feature, _, _ = find_target_feature(X, ((y - y.mean()) / y.std())[:, None])
    assert feature == 0


def test_feature_moments_ignore_nan_and_do_not_depend_on_chunks():
    rng = np.random.default_rng(4)
    X = rng.normal(loc=[5.0, -2.0, 0.0], scale=[3.0, 0.5, 1.0], size=(500, 7, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:, :, 2] = 7.0  # constant: scale 1
    mean, std = feature_moments(X)
    np.testing.assert_allclose(mean[:2], np.nanmean(X, axis=(0, 1))[:2], rtol=1e-10)
    np.testing.assert_allclose(std[:2], np.nanstd(X, axis=(0, 1))[:2], rtol=1e-8)
    assert mean[2] == 7.0 and std[2] == 1.0
    chunked = feature_moments(X, chunk_rows=7)
    np.testing.assert_allclose(chunked[0], mean, rtol=1e-10)
    np.testing.assert_allclose(chunked[1], std, rtol=1e-8)
    never = feature_moments(np.full((4, 3, 1), np.nan))
    assert never == (0.0, 1.0)


def test_feature_moments_keep_precision_for_a_large_level():
    rng = np.random.default_rng(6)
    X = 1e8 + rng.normal(size=(300, 5, 1))
    mean, std = feature_moments(X)
    assert mean[0] == pytest.approx(X.mean(), abs=1e-6)
    assert std[0] == pytest.approx(X.std(), rel=1e-6)


def test_per_step_moments_center_each_step_and_pool_the_spread():
    rng = np.random.default_rng(8)
    trend = np.arange(6.0) * 10.0  # each step has its own mean
    X = (trend[None, :, None] + rng.normal(scale=2.0, size=(400, 6, 1)))
    X[rng.random(X.shape) < 0.05] = np.nan
    mean, std = feature_moments(X, per_step=True)
    assert mean.shape == (6, 1) and std.shape == (1,)
    np.testing.assert_allclose(mean[:, 0], np.nanmean(X[:, :, 0], axis=0), rtol=1e-10)
    pooled = np.sqrt(np.nanmean((X[:, :, 0] - mean[:, 0]) ** 2))
    assert std[0] == pytest.approx(pooled, rel=1e-8)  # about 2, not the trend's spread
    assert feature_moments(X, per_step=True, chunk_rows=9)[1][0] == pytest.approx(std[0])
    X[:, 2] = np.nan  # a step never observed takes the feature's mean
    assert feature_moments(X, per_step=True)[0][2, 0] == pytest.approx(np.nanmean(X))


def test_per_step_moments_can_keep_a_spread_per_step_as_a_standard_scaler_does():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 5, 1)) * np.arange(1.0, 6.0)[None, :, None] + 7.0
    X[rng.random(X.shape) < 0.05] = np.nan
    mean, std = feature_moments(X, per_step=True, pooled=False, chunk_rows=17)
    assert mean.shape == std.shape == (5, 1)
    np.testing.assert_allclose(std[:, 0], np.nanstd(X[:, :, 0], axis=0), rtol=1e-8)
    np.testing.assert_allclose(mean[:, 0], np.nanmean(X[:, :, 0], axis=0), rtol=1e-10)


def lag_windows(series, n_timesteps, horizon=1):
    index = np.arange(n_timesteps)[None, :] + np.arange(len(series) - n_timesteps
                                                         - horizon + 1)[:, None]
    targets = np.column_stack([series[n_timesteps + k : len(series) - horizon + 1 + k]
                               for k in range(horizon)])
    return series[index], targets


@pytest.mark.parametrize("horizon", [1, 3])
def test_naive_level_reads_the_units_from_consecutive_windows(horizon):
    rng = np.random.default_rng(10)
    series = 500.0 + np.cumsum(0.4 + rng.normal(size=300))
    windows, targets = lag_windows(series, 8, horizon)
    # any affine scaler on the windows, standardised targets
    scaled = (windows - 480.0) / 7.0
    y_mean, y_scale = targets.mean(axis=0), targets.std(axis=0)
    slope, intercept = naive_level(scaled, (targets - y_mean) / y_scale)
    # untrained forecast = newest value + the average change, in y's units
    level = (intercept + slope * scaled[:, -1:]) * y_scale + y_mean
    change = (targets - windows[:, -1:]).mean(axis=0)
    np.testing.assert_allclose(level, windows[:, -1:] + change, rtol=1e-8)
    # a split's break (two blocks, as KFold's training rows) changes nothing
    blocks = np.r_[0:100, 180:len(windows)]
    again = naive_level(scaled[blocks], ((targets - y_mean) / y_scale)[blocks])
    np.testing.assert_allclose(again[0], slope, rtol=1e-6)


def test_naive_level_is_none_for_shuffled_rows_or_another_feature():
    rng = np.random.default_rng(11)
    series = np.cumsum(rng.normal(size=300))
    windows, targets = lag_windows(series, 8)
    order = rng.permutation(len(windows))
    assert naive_level(windows[order], targets[order]) is None
    exog = series + rng.normal(scale=0.5, size=300)  # explains y, but is not its history
    exog_windows, _ = lag_windows(exog, 8)
    assert naive_level(exog_windows, targets) is None
    assert naive_level(windows[:3], targets[:3]) is None  # too few rows to tell


def test_history_bounds_are_the_standardised_range_in_any_chunking():
    rng = np.random.default_rng(9)
    history = rng.normal(loc=50.0, scale=4.0, size=(300, 5))
    history[rng.random(history.shape) < 0.1] = np.nan
    center = np.nanmean(history, axis=0)
    expected = [np.nanmin((history - center) / 4.0), np.nanmax((history - center) / 4.0)]
    np.testing.assert_allclose(history_bounds(history, center, 4.0), expected)
    np.testing.assert_allclose(history_bounds(history, center, 4.0, chunk_rows=7), expected)
    assert history_bounds(np.full((3, 2), np.nan), np.zeros(2), 1.0).tolist() == [-1.0, 1.0]


def test_spread_floor_is_positive_even_for_flat_windows():
    history = np.tile(np.arange(6.0), (10, 1))  # steps of 1
    assert spread_floor(history, 1.0) == pytest.approx(0.1)
    assert spread_floor(np.ones((10, 6)), 2.0) == pytest.approx(2e-6)
    assert spread_floor(np.ones((10, 1)), 3.0) == pytest.approx(3e-6)


def test_correction_weights_are_a_lower_bound_in_zero_to_one():
    rng = np.random.default_rng(5)
    n = 200
    correction = rng.normal(size=(n, 3))
    noise = rng.normal(size=(n, 3))
    # column 0: the whole correction is missing from the base forecast; column 1:
    # half of it; column 2: none of it (the residual is noise alone)
    residuals = np.column_stack([
        correction[:, 0] + 0.1 * noise[:, 0],
        0.5 * correction[:, 1] + noise[:, 1],
        noise[:, 2],
    ])
    weights = correction_weights(residuals, correction)
    assert 0.95 < weights[0] < 1.0  # a bound below the least-squares weight 1
    assert 0.25 < weights[1] < 0.5
    assert weights[2] == 0.0
    # the bound is the least-squares weight less t(0.95, n - 1) standard errors
    r, c = residuals[:, 1], correction[:, 1]
    weight = r @ c / (c @ c)
    error = np.sqrt(np.sum((r - weight * c) ** 2) / (n - 1) / (c @ c))
    assert weights[1] == pytest.approx(weight - stats.t.ppf(0.95, n - 1) * error)
    # a correction that makes things worse, a zero one, too few rows
    assert correction_weights(-residuals[:, :1], correction[:, :1])[0] == 0.0
    assert correction_weights(residuals[:, :1], np.zeros((n, 1)))[0] == 0.0
    assert correction_weights(residuals[:1, :1], correction[:1, :1])[0] == 0.0
    assert correction_weights(2 * correction[:, :1], correction[:, :1])[0] == 1.0


def test_correction_weights_keep_pure_noise_about_as_often_as_the_test_level():
    rng = np.random.default_rng(0)
    residuals = rng.normal(size=(40, 400))
    corrections = rng.normal(size=(40, 400))  # unrelated to what the base missed
    kept = (correction_weights(residuals, corrections) > 0).mean()
    assert 0.01 < kept < 0.10  # one-sided 5% test


def test_kpss_tells_a_mean_reverting_series_from_an_integrated_one():
    """The KPSS statistic agrees with statsmodels' (same Bartlett lags); a
    random walk or a trend is integrated, an AR(1) around a mean is not."""
    from statsmodels.tsa.stattools import kpss

    rng = np.random.default_rng(12)
    noise = rng.normal(size=400)
    ar = np.zeros(400)
    for t in range(1, 400):
        ar[t] = 0.6 * ar[t - 1] + noise[t]
    walk = np.cumsum(noise)
    trend = 0.05 * np.arange(400) + noise
    for series, stationary in ((ar, True), (walk, False), (trend, False), (noise, True)):
        windows, _ = lag_windows(series, 12)
        assert level_stationary(windows) is stationary
        n_lags = int(4 * (len(series) / 100) ** 0.25)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' p-value table warnings
            expected = bool(kpss(series[:-1], "c", nlags=n_lags)[0] <= 0.463)
        assert expected is stationary


def test_naive_level_reads_float32_windows_at_a_large_level():
    """Windows reach the model as float32: at a level of 1e5 they resolve about
    0.01, and the map is still read (shuffled rows still give none)."""
    rng = np.random.default_rng(13)
    series = 1e5 + np.cumsum(0.3 + 30.0 * rng.normal(size=300))
    windows, targets = lag_windows(series, 10)
    scaled = (targets - targets.mean()) / targets.std()
    slope, _ = naive_level(windows.astype(np.float32), scaled)
    assert slope[0] * targets.std() == pytest.approx(1.0, abs=1e-3)
    order = rng.permutation(len(windows))
    assert naive_level(windows[order].astype(np.float32), scaled[order]) is None


def test_steps_seen_in_few_windows_take_the_pooled_spread():
    """The padded start of a short series: the oldest steps are observed in a
    window or two, whose spread (0 or noise) must not scale them."""
    rng = np.random.default_rng(14)
    X = 5000 + rng.normal(scale=300.0, size=(12, 12, 1))
    for step in range(11):
        X[: 11 - step, step] = np.nan  # step k seen in k + 1 windows
    _, pooled = feature_moments(X, per_step=True)
    _, per_step = feature_moments(X, per_step=True, pooled=False)
    np.testing.assert_allclose(per_step[:9, 0], pooled[0])  # seen in fewer than 10
    assert per_step[11, 0] != pytest.approx(pooled[0])


def test_conformal_quantiles_take_the_finite_sample_rank():
    scores = np.arange(1.0, 20.0)[::-1, None, None] * np.ones((1, 2, 3))  # 19 scores, 1..19
    offsets = conformal_quantiles(scores, [0.9 - 0.1, 0.975 - 0.025])
    assert offsets.shape == (2, 3)
    np.testing.assert_array_equal(offsets[0], 16.0)  # ceil(20 * 0.8) = 16th smallest
    np.testing.assert_array_equal(offsets[1], 19.0)  # ceil(20 * 0.95) = 19, not 20 by rounding
    few = conformal_quantiles(np.array([[3.0], [1.0], [2.0]]), [0.95])
    assert few[0] == 3.0  # the rank exceeds n: the largest score


def test_correction_weights_widen_the_bound_for_overlapping_errors():
    """Errors shared by neighbouring rows (a target several steps ahead from
    overlapping windows) carry less information than their count: with lags
    the bound is lower, never higher."""
    rng = np.random.default_rng(1)
    n, overlap = 800, 6
    correction = np.convolve(rng.normal(size=n + overlap), np.ones(overlap), "valid")[:n]
    noise = np.convolve(rng.normal(size=n + overlap), np.ones(overlap), "valid")[:n]
    residuals = (0.5 * correction + noise)[:, None]
    plain = correction_weights(residuals, correction[:, None])[0]
    shared = correction_weights(residuals, correction[:, None], lags=[overlap - 1])[0]
    assert 0.0 <= shared < plain
