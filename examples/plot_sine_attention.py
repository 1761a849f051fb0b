"""
Sine wave: additive attention over LSTM states, prediction and attention heat map
=================================================================================

The PyTorch recipe of REFERENCE section 2: 1000 points of
``sin(linspace(0, 50, 1000))``, windows of 20 values -> the next value, a
2-layer LSTM with 64 units, additive attention ``v^T tanh(W h_t + b)`` whose
weights sum the LSTM states (``attention_values="states"``), Adam with
lr 1e-3 and MSE. The reference trains 100 epochs on one full batch; the same
network with mini-batches of 64 gets far more updates in the same 100 epochs.

The oldest 80% of the windows train, the newest 20% test. The figure shows
prediction vs truth on the test windows, with the attention of one window as
bars under the values it looked at, and a heat map of the attention of each
test window over its 20 steps.

Run: ``python examples/plot_sine_attention.py [--small] [--output DIR]``.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import mean_squared_error

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised
from skattn.display import AttentionDisplay, ForecastDisplay

WINDOW = 20


def main(small=False, output=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    series = np.sin(np.linspace(0, 50, 1000))
    X, y = make_supervised(series, horizon=1)  # row t: value at t -> target: value at t + 1
    X = SlidingWindowTransformer(window_size=WINDOW).fit_transform(X)
    # Full windows only, as the reference: row t now holds values t-19..t.
    X, y = X[WINDOW - 1 :], y[WINDOW - 1 :]
    target_steps = np.arange(WINDOW, len(series))  # position of each target in the series
    split = int(0.8 * len(y))

    network = {
        "hidden_size": 16 if small else 64,
        "num_layers": 2,
        "attention_values": "states",
        "lr": 1e-3,
        "max_epochs": 20 if small else 100,
        "random_state": 0,
        "n_threads": 1,  # small network: one thread is fastest
    }
    settings = (
        {"mini-batches of 64": 64}
        if small
        else {
            "reference: one full batch": len(y),
            "mini-batches of 64": 64,
        }
    )
    models = {}
    for name, batch_size in settings.items():
        model = AttentionLSTMRegressor(batch_size=batch_size, **network).fit(X[:split], y[:split])
        mse = mean_squared_error(y[split:], model.predict(X[split:]))
        print(f"{name}: test MSE {mse:.3g} over {len(y) - split} windows")
        models[name] = model
    model = models["mini-batches of 64"]

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 9), layout="constrained", height_ratios=[1, 1.3]
    )
    test_window = len(y) - split - 40
    forecast = ForecastDisplay.from_estimator(
        model,
        X[split:],
        y[split:],
        index=target_steps[split:],
        window=test_window,
        lead=1,
        ax=top,
    )
    forecast.ax_.set_xlabel("time step of the target")
    top.set_title("Next-value forecast on the newest 20%; bars: attention of one window")
    heatmap = AttentionDisplay.from_estimator(
        model, X[split:], kind="heatmap", max_windows=len(y) - split, ax=bottom
    )
    bottom.set_title("Attention of each test window over its 20 steps")
    print(
        f"mean attention on the newest step (lag0): {heatmap.weights_[:, -1].mean():.2f}, "
        f"on the oldest (lag{WINDOW - 1}): {heatmap.weights_[:, 0].mean():.2f}"
    )
    path = folder / "sine_attention.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    main(**vars(parser.parse_args()))
