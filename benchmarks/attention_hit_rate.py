"""How often each attention kind finds a planted time step (REFERENCE section 1).

Data: x ~ N(0, 1) of shape (n, T, F), y ~ {0, 1}, x[:, step, :] = y. Over a
grid of window lengths T, planted positions (early, middle, late), feature
counts and seeds, fit the estimator with default settings and count a hit when
the argmax of ``attention_weights_`` is the planted step. Prints the hit rate
and the median held-out R^2 per attention kind (and attention values).

    python benchmarks/attention_hit_rate.py                   # default attention
    python benchmarks/attention_hit_rate.py --kinds temporal per_feature dual multihead
    python benchmarks/attention_hit_rate.py --values states   # the recipes' form
    python benchmarks/attention_hit_rate.py --small           # a quick look
    python benchmarks/attention_hit_rate.py --panel           # many series at once

The full default run is 36 fits per kind (about 5 minutes per kind on 2 cores).

``--panel``: one network over a panel of 30 series of different lengths (80
to 300 rows) and scales (1e-2 to 1e3, levels up to 20 scales from zero) whose
next value depends on the value ``lag`` rows back (``make_planted_panel``),
through ``make_supervised`` and a ``SlidingWindowTransformer`` with pandas
output, default estimator settings; a hit when the argmax of
``attention_weights_`` is the planted step. Also printed: the median over the
series of the held-out R^2 (each series' last 20% of rows, the model fitted
on the rest) against the best possible forecast's. 18 fits, about 4 minutes.
"""

import argparse
import itertools
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.metrics import r2_score

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised
from skattn.datasets import make_planted_panel, make_planted_step


def grid(small):
    lengths = [12, 25] if small else [10, 25, 40]
    features = [1, 3] if small else [1, 2, 3]
    seeds = [0] if small else [0, 1]
    for n_timesteps, n_features, seed in itertools.product(lengths, features, seeds):
        positions = sorted({2, n_timesteps // 2, n_timesteps - 3})
        for step in positions:
            yield n_timesteps, n_features, step, seed


def run_one(kind, values, n_samples, n_timesteps, n_features, step, seed):
    X, y = make_planted_step(n_samples, n_timesteps, n_features, step, random_state=seed)
    X_test, y_test = make_planted_step(500, n_timesteps, n_features, step, seed + 1000)
    params = {"random_state": seed, "n_threads": 1}
    if kind is not None:
        params["attention"] = kind
    if values is not None:
        params["attention_values"] = values
    reg = AttentionLSTMRegressor(**params).fit(X, y)
    return int(reg.attention_weights_.argmax()), r2_score(y_test, reg.predict(X_test))


def panel_grid():
    for window_size, seed in itertools.product([12, 24], [0, 1, 2]):
        for lag in sorted({window_size // 2 + 1, (3 * window_size) // 4, window_size - 1}):
            yield window_size, lag, seed


def run_panel(window_size, lag, seed):
    """(argmax, median held-out R^2, best possible R^2) on one planted panel."""
    import pandas as pd
    from sklearn.pipeline import make_pipeline

    series = make_planted_panel(30, lag, random_state=seed)
    X, y = make_supervised(series)
    time = X.groupby(level="series").cumcount()
    length = X.groupby(level="series")["value"].transform("size")
    test = (time >= 0.8 * length).to_numpy()
    model = make_pipeline(
        SlidingWindowTransformer(window_size),
        AttentionLSTMRegressor(random_state=seed, n_threads=1),
    ).set_output(transform="pandas")
    model.fit(X[~test], y[~test])
    windows = model[0].transform(X)
    forecast = model.predict(X)
    # the best forecast: the series' mean plus strength x the planted value's deviation
    mean = series.groupby(level="series").transform("mean").loc[X.index].to_numpy()
    planted = windows.iloc[:, window_size - lag].to_numpy()
    best = mean + 0.95 * (planted - mean)
    scores = pd.DataFrame({"id": X.index.get_level_values(0), "y": y.to_numpy(),
                           "net": forecast, "best": best})[test & np.isfinite(best)]
    by_series = scores.groupby("id")
    r2 = by_series.apply(lambda part: r2_score(part["y"], part["net"]), include_groups=False)
    best_r2 = by_series.apply(lambda part: r2_score(part["y"], part["best"]),
                              include_groups=False)
    return int(model[-1].attention_weights_.argmax()), float(r2.median()), float(best_r2.median())


def main_panel(jobs):
    cases = list(panel_grid())
    print(f"{len(cases)} planted panels (30 series each), default settings")
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        results = list(pool.map(run_panel, *zip(*cases, strict=True)))
    hits = [argmax == window_size - lag
            for (argmax, _, _), (window_size, lag, _) in zip(results, cases, strict=True)]
    print(f"panel        hit rate {np.mean(hits):6.1%} ({sum(hits)}/{len(hits)})  median "
          f"held-out R^2 {np.median([r[1] for r in results]):.3f} (best possible "
          f"{np.median([r[2] for r in results]):.3f})  ({time.perf_counter() - start:.0f} s)")
    for (argmax, _, _), (window_size, lag, seed), hit in zip(results, cases, hits, strict=True):
        if not hit:
            print(f"    miss: T={window_size} lag={lag} step={window_size - lag} seed={seed} "
                  f"-> {argmax}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", default=[None], help="default: the default kind")
    parser.add_argument("--values", default=None, choices=["inputs", "states"])
    parser.add_argument("--n-samples", type=int, default=2400)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--panel", action="store_true", help="the panel version")
    args = parser.parse_args()
    if args.panel:
        main_panel(args.jobs)
        return
    cases = list(grid(args.small))
    print(f"{len(cases)} planted cases per kind, n_samples={args.n_samples}, default settings")
    with ProcessPoolExecutor(args.jobs) as pool:
        for kind in args.kinds:
            start = time.perf_counter()
            futures = [
                pool.submit(run_one, kind, args.values, args.n_samples, *case) for case in cases
            ]
            results = [future.result() for future in futures]
            hits = [argmax == case[2] for (argmax, _), case in zip(results, cases, strict=True)]
            misses = [
                f"T={case[0]} F={case[1]} step={case[2]} seed={case[3]} -> {argmax}"
                for (argmax, _), case, hit in zip(results, cases, hits, strict=True)
                if not hit
            ]
            r2 = np.median([score for _, score in results])
            label = kind or "default"
            print(
                f"{label:12s} values={args.values or 'default':7s} hit rate "
                f"{np.mean(hits):6.1%} ({sum(hits)}/{len(hits)})  median R^2 {r2:.3f}  "
                f"({time.perf_counter() - start:.0f} s)"
            )
            for miss in misses:
                print(f"    miss: {miss}")


if __name__ == "__main__":
    main()
