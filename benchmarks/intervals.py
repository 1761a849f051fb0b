"""How honest are the intervals: coverage, width and pinball loss on real series.

The protocol of ``benchmarks/accuracy.py`` (statsmodels series, fit on the
first 80%, one-step-ahead forecasts of the last 20% from the true history, 24
lags), with intervals:

- skattn: ``AttentionLSTMRegressor(quantiles=(0.025, 0.1, 0.9, 0.975))`` on the
  lag windows, default settings, its intervals calibrated conformally
  (``predict_interval``: the held-out newest windows, with all fitted windows
  as a floor); median of ``--seeds`` (each seed's figures, then the median
  per series);
- skattn recommended: the same quantiles with the recommended forecasting
  settings (``FORECASTING_PARAMS``, what ``make_forecaster`` uses: linear skip,
  calendar columns for seasonal series), median of ``--seeds`` as above;
- conformal RidgeCV: RidgeCV on the first 80% of the training windows, the
  intervals +- the conformal quantile of its absolute errors on the other 20%;
- AutoETS (statsforecast): fitted on the training part, its one-step-ahead
  intervals over the test part with the fitted parameters.

Printed per series and averaged: coverage of the 80% and 95% intervals, the
80% interval's mean width over the in-sample naive MAE (scaled like MASE), and
the mean pinball loss over the levels 0.025, 0.1, 0.5, 0.9, 0.975 (scaled the
same way); then on how many series skattn's pinball loss is below each
other's. Needs statsforecast (the m3 extra).

    python benchmarks/intervals.py
    python benchmarks/intervals.py --series sunspots co2 --seeds 0 1 2
"""

import argparse
import importlib.util
import warnings
from pathlib import Path

import numpy as np

LEVELS = (0.025, 0.1, 0.5, 0.9, 0.975)


def benchmark_module(name):
    """Another script of this folder (``"accuracy"``, ``"m3"``) as a module."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def accuracy_module():
    return benchmark_module("accuracy")


def pinball(y, quantiles):
    """Mean pinball loss of quantiles (n, len(LEVELS)) of y (n,) (or (n,) of a
    horizon, as benchmarks/m3_intervals.py uses it)."""
    levels = np.asarray(LEVELS)
    error = y[:, None] - quantiles
    return float(np.maximum(levels * error, (levels - 1) * error).mean())


def skattn_quantiles(X, y, n_fit, seed, **params):
    from skattn import AttentionLSTMRegressor

    model = AttentionLSTMRegressor(quantiles=(0.025, 0.1, 0.9, 0.975), random_state=seed,
                                   n_threads=1, **params)
    model.fit(X[:n_fit], y[:n_fit])
    test = X[n_fit:]
    quantiles = model.predict_quantiles(test)
    intervals = {0.8: model.predict_interval(test, 0.8), 0.95: model.predict_interval(test, 0.95)}
    # the calibrated bounds replace the raw outer quantiles in the pinball loss
    quantiles[:, [1, 3]] = intervals[0.8]
    quantiles[:, [0, 4]] = intervals[0.95]
    return quantiles, intervals


def ridge_quantiles(X, y, n_fit):
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n_proper = int(0.8 * n_fit)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 3, 15)))
    model.fit(X[:n_proper], y[:n_proper])
    residuals = np.sort(np.abs(y[n_proper:n_fit] - model.predict(X[n_proper:n_fit])))
    center = model.predict(X[n_fit:])
    half = {}
    for coverage in (0.8, 0.95):
        rank = int(np.ceil((len(residuals) + 1) * coverage))
        half[coverage] = residuals[min(rank, len(residuals)) - 1]
    intervals = {c: np.column_stack([center - h, center + h]) for c, h in half.items()}
    quantiles = np.column_stack([center - half[0.95], center - half[0.8], center,
                                 center + half[0.8], center + half[0.95]])
    return quantiles, intervals


def ets_quantiles(series, n_train, period):
    from statsforecast.models import AutoETS

    model = AutoETS(season_length=period).fit(series[:n_train])
    out = model.forward(y=series, h=1, level=[80, 95], fitted=True)
    part = {name: np.asarray(out[name])[n_train:] for name in out if name.startswith("fitted")}
    intervals = {0.8: np.column_stack([part["fitted-lo-80"], part["fitted-hi-80"]]),
                 0.95: np.column_stack([part["fitted-lo-95"], part["fitted-hi-95"]])}
    quantiles = np.column_stack([part["fitted-lo-95"], part["fitted-lo-80"], part["fitted"],
                                 part["fitted-hi-80"], part["fitted-hi-95"]])
    return quantiles, intervals


def scores(y, quantiles, intervals, scale):
    covered = {c: float(((y >= b[:, 0]) & (y <= b[:, 1])).mean()) for c, b in intervals.items()}
    width = float(np.mean(intervals[0.8][:, 1] - intervals[0.8][:, 0])) / scale
    return {"cov80": covered[0.8], "cov95": covered[0.95], "width80": width,
            "pinball": pinball(y, quantiles) / scale}


def main():
    acc = accuracy_module()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", nargs="+", default=acc.SERIES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from skattn import FORECASTING_PARAMS

    ours = {"skattn": ({}, False), "skattn recommended": (FORECASTING_PARAMS, True)}
    rows = {name: [] for name in (*ours, "conformal RidgeCV", "AutoETS")}
    print(f"{'series':15s} {'model':18s} {'cov80':>6s} {'cov95':>6s} {'width80':>8s} "
          f"{'pinball':>8s}")
    for name in args.series:
        series, period = acc.load_series(name)
        n_train = int(round(len(series) * (1 - acc.TEST_FRACTION)))
        X, y, first = acc.windows_and_targets(series, 1)
        n_fit = n_train - first
        y_test = series[n_train:]
        scale = np.mean(np.abs(np.diff(series[:n_train])))
        results = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for model, (params, seasonal) in ours.items():
                windows = acc.windows_and_targets(series, period)[0] if seasonal else X
                n_features = windows.shape[1] // acc.N_LAGS
                per_seed = [scores(y_test, *skattn_quantiles(windows, y, n_fit, seed,
                                                             n_features=n_features, **params),
                                   scale) for seed in args.seeds]
                results[model] = {key: float(np.median([s[key] for s in per_seed]))
                                  for key in per_seed[0]}
            results["conformal RidgeCV"] = scores(y_test, *ridge_quantiles(X, y, n_fit), scale)
            results["AutoETS"] = scores(y_test, *ets_quantiles(series, n_train, period), scale)
        for model, result in results.items():
            rows[model].append(result)
            print(f"{name:15s} {model:18s} {result['cov80']:6.2f} {result['cov95']:6.2f} "
                  f"{result['width80']:8.3f} {result['pinball']:8.4f}", flush=True)
    print("\nmean over the series")
    for model, results in rows.items():
        mean = {key: np.mean([r[key] for r in results]) for key in results[0]}
        print(f"{'':15s} {model:18s} {mean['cov80']:6.3f} {mean['cov95']:6.3f} "
              f"{mean['width80']:8.3f} {mean['pinball']:8.4f}")
    for model in ours:
        for other in ("conformal RidgeCV", "AutoETS"):
            wins = sum(a["pinball"] < b["pinball"]
                       for a, b in zip(rows[model], rows[other], strict=True))
            print(f"{model}: pinball loss below {other}'s on {wins} of {len(rows[model])} series")


if __name__ == "__main__":
    main()
