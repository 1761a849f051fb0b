"""
Quick start: find a planted signal through a scikit-learn Pipeline
===================================================================

A table of 3 time-ordered series; the target is one series' value 7 steps
earlier. ``Pipeline([window, scaler, model])`` learns it, scores it on the
newest rows and shows that the attention went to lag 7.

Run: ``python examples/quickstart.py`` (add ``--small`` for a quick run).
"""

import argparse

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer


def main(small=False):
    rng = np.random.default_rng(0)
    n_rows, lag = (600, 7) if small else (3000, 7)
    table = rng.normal(size=(n_rows, 3))
    y = np.roll(table[:, 1], lag) * 100 + 50  # raw units: no target scaling needed
    table, y = table[lag:], y[lag:]
    split = int(0.8 * len(y))
    pipe = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=16)),
            ("scale", StandardScaler()),
            ("model", AttentionLSTMRegressor(
                n_features=3, max_epochs=15 if small else 30, lr=3e-3, random_state=0
            )),
        ]
    )
    pipe.fit(table[:split], y[:split])
    model = pipe.named_steps["model"]
    lags = np.arange(model.n_timesteps_ - 1, -1, -1)
    print(f"R^2 on the newest {len(y) - split} rows: {pipe.score(table[split:], y[split:]):.3f}")
    print(f"attention peaks at lag {lags[model.attention_weights_.argmax()]} (planted: {lag})")
    print("mean attention per lag (oldest first):")
    for step_lag, weight in zip(lags, model.attention_weights_, strict=True):
        print(f"  lag {step_lag:2d} {weight:6.3f} {'#' * int(60 * weight)}")
    return pipe


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    main(**vars(parser.parse_args()))
