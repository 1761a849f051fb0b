"""
Multivariate table: a stacked LSTM on sliding windows, inside one Pipeline
==========================================================================

The Keras recipe of REFERENCE section 5: windows of k rows of a table with
features x1..x4 -> the target y of the next row, a stacked LSTM (two layers,
dropout 0.2), MSE loss, reported as MAE and MAPE. In Keras the windows are cut
by hand outside any Pipeline; here :func:`~skattn.make_supervised` aligns each
row with the next row's y, and ``SlidingWindowTransformer``, ``StandardScaler``
and the model form one scikit-learn Pipeline.

The table is generated: y of the next row is ``100 + 5 x1[t] + 3 x2[t-3] -
2 x3[t-1] x4[t]`` plus noise, so the past of y itself (also a column of X,
as make_supervised puts it there) does not help, and the model has to find lags
0, 1 and 3 of the right features; ``x4`` switches the sign of ``x3``'s
effect, which a linear model cannot follow. The oldest 80% of the rows train,
the newest 20% test, one step ahead: each test window holds the real rows
before it. RidgeCV on the same windows and the last value give the scale.

Two settings of the attention are compared. ``attention_values="states"``
sums the LSTM states, as the reference recipes do. skattn's default,
``"inputs"``, sums one shared projection of each step's own input: that keeps
the weights readable, but the prediction is then a function of one weighted
mix of the steps, which cannot take ``x1`` from one lag and ``x2`` from another
at the same time; at full size it does much worse on this table.

Run: ``python examples/plot_multivariate_table.py [--small] [--output DIR]``.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised
from skattn.display import AttentionDisplay, ForecastDisplay

WINDOW = 10


def generated_table(n_rows, seed):
    """Features x1..x4 and a target y whose next value depends on their lags."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    x1 = np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n_rows)
    x2 = np.zeros(n_rows)
    for row in range(1, n_rows):
        x2[row] = 0.8 * x2[row - 1] + rng.normal()
    x3 = rng.normal(size=n_rows)
    x4 = np.where(np.sin(2 * np.pi * t / 150) > 0, 1.0, -1.0)  # regime: the sign of x3's effect
    y = np.full(n_rows, 100.0)
    y[4:] = (
        100
        + 5 * x1[3:-1]
        + 3 * x2[:-4]
        - 2 * x3[2:-2] * x4[3:-1]
        + 0.5 * rng.normal(size=n_rows - 4)
    )
    index = pd.date_range("2020-01-01", periods=n_rows, freq="h")
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "x4": x4, "y": y}, index=index)


def lstm_pipeline(attention_values, small):
    model = AttentionLSTMRegressor(
        hidden_size=16 if small else 64,
        num_layers=2,
        dropout=0.2,
        attention_values=attention_values,
        batch_size=200,
        max_epochs=20 if small else 100,
        random_state=0,
        n_threads=1,  # small network: one thread is fastest
    )
    return Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=WINDOW)),
            ("scale", StandardScaler()),
            ("model", model),
        ]
    ).set_output(transform="pandas")  # window columns x1_lag9 ..: 5 features per step


def report(name, pipe, X, y, split):
    """Fit on the oldest rows, print MAE and MAPE on the newest, one step ahead."""
    pipe.fit(X.iloc[:split], y.iloc[:split])
    # Predict on all rows and keep the newest: each test window then holds the real
    # rows before it instead of the padding a separate transform would give it.
    y_pred = pipe.predict(X)[split:]
    y_test = y.iloc[split:]
    print(
        f"{name}: newest {len(y_test)} rows: MAE {mean_absolute_error(y_test, y_pred):.3f}, "
        f"MAPE {mean_absolute_percentage_error(y_test, y_pred):.2%}"
    )
    return pipe


def main(small=False, output=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    table = generated_table(600 if small else 2000, seed=0)
    X, y = make_supervised(table["y"], exog=table[["x1", "x2", "x3", "x4"]])
    split = int(0.8 * len(y))
    pipe = report(
        "stacked LSTM, attention_values='states'", lstm_pipeline("states", small), X, y, split
    )
    report("stacked LSTM, attention_values='inputs'", lstm_pipeline("inputs", small), X, y, split)
    ridge = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=WINDOW)),
            ("fill", SimpleImputer()),  # only the padded first rows have gaps
            ("scale", StandardScaler()),
            ("ridge", RidgeCV(alphas=np.logspace(-3, 3, 13))),
        ]
    )
    report("RidgeCV on the same windows", ridge, X, y, split)
    last_value = X["y"].iloc[split:]
    print(f"last value as forecast: MAE {mean_absolute_error(y.iloc[split:], last_value):.3f}")
    model = pipe["model"]
    weights = pd.Series(model.attention_weights_, index=model.time_labels_)
    print(
        "states model, mean attention per lag:",
        ", ".join(f"{lag} {w:.2f}" for lag, w in weights.items()),
    )

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(15, 4.8), layout="constrained", width_ratios=[2, 1]
    )
    # All rows, so that every window holds its real history; the view shows the last 100.
    ForecastDisplay.from_estimator(pipe, X, y, window=len(y) - 30, ax=left)
    left.set_xlim(y.index[-100], y.index[-1])
    left.set_title("Next-row y, the last 100 test rows; bars: attention of one window")
    AttentionDisplay.from_estimator(pipe, ax=right)
    right.set_title(
        "'states' model: mean attention, training windows\n(a state carries the steps before it)"
    )
    path = folder / "multivariate_table.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    main(**vars(parser.parse_args()))
