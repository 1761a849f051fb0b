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

The full default run is 36 fits per kind (about 5 minutes per kind on 2 cores).
"""

import argparse
import itertools
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.metrics import r2_score

from skattn import AttentionLSTMRegressor
from skattn.datasets import make_planted_step


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", default=[None], help="default: the default kind")
    parser.add_argument("--values", default=None, choices=["inputs", "states"])
    parser.add_argument("--n-samples", type=int, default=2400)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
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
