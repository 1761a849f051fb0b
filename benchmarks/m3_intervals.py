"""M3 competition: how honest are the intervals of one global skattn network.

The protocol of ``benchmarks/m3.py`` (official split, the whole horizon from
the end of each training part, one global network per frequency on windows of
``2 * horizon`` steps divided by their last value and logged, seasonal series
deseasonalised as there), with
``quantiles=(0.025, 0.1, 0.9, 0.975)`` and the intervals of
``predict_interval`` (calibrated on the held-out windows, see the README);
the log-ratio quantiles are mapped back with ``exp`` (a monotone map keeps
quantiles). Against statsforecast's AutoETS with its 80% and 95% intervals,
and a global RidgeCV on the same windows with split-conformal intervals (its
absolute errors per horizon step on the last 20% of the window rows). The
windows are stacked series after series in the dataset's order (no panel
index), so what the network holds out for early stopping and calibration,
like Ridge's calibration rows, is the windows of the last fifth of the
series: a cross-series calibration, not each series' newest windows.

Printed per frequency, over all horizon steps and series: coverage of the 80%
and 95% intervals, the 80% interval's mean width and the mean pinball loss over
the levels 0.025, 0.1, 0.5, 0.9, 0.975, both over each series' in-sample
seasonal-naive MAE (scaled like MASE); then on how many series skattn's
pinball loss is below each other's. Needs the m3 extra.

    python benchmarks/m3_intervals.py --frequencies yearly quarterly other
    python benchmarks/m3_intervals.py --frequencies monthly --every 4
    python benchmarks/m3_intervals.py --small       # 60 series each, 20 epochs
"""

import argparse
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def _intervals_module():
    path = Path(__file__).with_name("intervals.py")
    spec = importlib.util.spec_from_file_location("intervals", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INTERVALS = _intervals_module()  # the 14-series benchmark: its levels and pinball loss
LEVELS, pinball = INTERVALS.LEVELS, INTERVALS.pinball


def m3_module():
    return INTERVALS.benchmark_module("m3")


def skattn_quantiles(m3, series_list, window, horizon, seed, max_epochs):
    """(n_series, horizon, 5) quantiles: the calibrated 95% and 80% bounds and the median."""
    from skattn import AttentionLSTMRegressor

    X, y, newest, last, _ = m3.windows(series_list, window, horizon)
    params = {"quantiles": LEVELS[:2] + LEVELS[3:], "hidden_size": 64, "random_state": seed,
              "early_stopping": True}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    model = AttentionLSTMRegressor(**params).fit(X, y)
    median = model.predict(newest)
    wide, narrow = model.predict_interval(newest, 0.95), model.predict_interval(newest, 0.8)
    logged = np.stack([wide[..., 0], narrow[..., 0], median, narrow[..., 1], wide[..., 1]],
                      axis=-1)
    return np.exp(logged + last[:, None, None])


def ridge_quantiles(m3, series_list, window, horizon):
    """Global RidgeCV on the same windows, split-conformal bounds per step."""
    from sklearn.linear_model import RidgeCV

    X, y, newest, last, _ = m3.windows(series_list, window, horizon)
    X, newest = np.nan_to_num(X.reshape(len(X), -1)), np.nan_to_num(newest.reshape(len(newest), -1))
    n_proper = int(0.8 * len(X))
    model = RidgeCV(alphas=np.logspace(-4, 3, 15)).fit(X[:n_proper], y[:n_proper])
    residuals = np.sort(np.abs(y[n_proper:] - model.predict(X[n_proper:])), axis=0)
    center = model.predict(newest)
    n = len(residuals)
    half = {c: residuals[min(int(np.ceil((n + 1) * c)), n) - 1] for c in (0.8, 0.95)}
    logged = np.stack([center - half[0.95], center - half[0.8], center, center + half[0.8],
                       center + half[0.95]], axis=-1)
    return np.exp(logged + last[:, None, None])


def ets_quantiles(series_list, horizon, period):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    frame = pd.concat([
        pd.DataFrame({"unique_id": index, "ds": np.arange(len(train)), "y": train})
        for index, (train, _, _) in enumerate(series_list)
    ])
    result = StatsForecast(models=[AutoETS(season_length=period)], freq=1, n_jobs=1).forecast(
        df=frame, h=horizon, level=[80, 95])
    result = result.reset_index() if "unique_id" not in result.columns else result
    columns = ["AutoETS-lo-95", "AutoETS-lo-80", "AutoETS", "AutoETS-hi-80", "AutoETS-hi-95"]
    return np.stack([result.loc[result["unique_id"] == index, columns].to_numpy()
                     for index in range(len(series_list))])


def scores(series_list, quantiles, period):
    """Mean coverage, scaled width and scaled pinball loss over the series,
    and the per-series pinball losses."""
    covered80, covered95, widths, losses = [], [], [], []
    for (train, test, _), q in zip(series_list, quantiles, strict=True):
        lag = period if len(train) > period else 1
        scale = np.mean(np.abs(train[lag:] - train[:-lag]))
        covered80.append(np.mean((test >= q[:, 1]) & (test <= q[:, 3])))
        covered95.append(np.mean((test >= q[:, 0]) & (test <= q[:, 4])))
        widths.append(np.mean(q[:, 3] - q[:, 1]) / scale)
        losses.append(pinball(test, q) / scale)
    return {"cov80": np.mean(covered80), "cov95": np.mean(covered95),
            "width80": np.mean(widths), "pinball": np.mean(losses)}, np.asarray(losses)


def main():
    m3 = m3_module()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frequencies", nargs="+", default=list(m3.FREQUENCIES),
                        choices=list(m3.FREQUENCIES))
    parser.add_argument("--limit", type=int, default=None, help="series per frequency")
    parser.add_argument("--every", type=int, default=1, help="take every k-th series")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--small", action="store_true", help="60 series each, 20 epochs")
    args = parser.parse_args()
    if args.small:
        args.limit, args.max_epochs = 60, 20
    import torch

    torch.set_num_threads(1)
    for frequency in args.frequencies:
        series_list = m3.load(frequency)[:: args.every][: args.limit]
        horizon, period = len(series_list[0][1]), series_list[0][2]
        window = 2 * horizon
        # the global models on the deseasonalised series, their quantiles times
        # the seasonal indices (a positive factor keeps quantiles)
        inputs, seasons = m3.deseasonalized(series_list, horizon)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = {
                "global skattn": skattn_quantiles(m3, inputs, window, horizon, args.seed,
                                                  args.max_epochs) * seasons[..., None],
                "global RidgeCV, conformal": ridge_quantiles(m3, inputs, window, horizon)
                * seasons[..., None],
                "AutoETS": ets_quantiles(series_list, horizon, period),
            }
        rows, losses = {}, {}
        for name, quantiles in results.items():
            rows[name], losses[name] = scores(series_list, quantiles, period)
        print(f"\nM3 {frequency}: {len(series_list)} series, horizon {horizon}")
        print(pd.DataFrame(rows).T.round(3).to_string())
        for other in ("global RidgeCV, conformal", "AutoETS"):
            wins = int((losses["global skattn"] < losses[other]).sum())
            print(f"skattn's pinball loss below {other}'s on {wins} of {len(series_list)} series")


if __name__ == "__main__":
    main()
