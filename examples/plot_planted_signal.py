"""
Planted signal: attention finds the one time step, and the one feature, that matter
====================================================================================

The Keras ``attention_3d_block`` recipe (REFERENCE section 1). Windows of 20
steps x 2 features are N(0, 1) noise, except step 10, which holds the class
label ``y`` in {0, 1}. A classifier that reads the label must look at step 10,
and the mean attention over held-out windows peaks there: with skattn's
default ``attention="temporal"`` and with the reference's own block,
``attention="per_feature", single_attention_vector=True``.

The second variant writes ``y`` into feature 5 of every step of 6 x 10
windows. ``attention="feature"`` peaks at feature 5; ``attention="dual"``
(feature and temporal attention together, which the reference left as future
work) peaks at feature 5 while its attention over time stays flat.

Run: ``python examples/plot_planted_signal.py [--small] [--output DIR]``.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from skattn import AttentionLSTMClassifier
from skattn.datasets import make_planted_feature, make_planted_step
from skattn.display import AttentionDisplay


def fit_and_show(X, y, ax, *, what, planted, **params):
    """Fit on the oldest 80%, draw the mean attention over the newest 20%."""
    split = int(0.8 * len(y))
    model = AttentionLSTMClassifier(**params).fit(X[:split], y[:split])
    display = AttentionDisplay.from_estimator(model, X[split:], ax=ax)
    peak = int(display.weights_.argmax())
    accuracy = model.score(X[split:], y[split:])
    print(
        f"planted {what} {planted}, attention={params['attention']!r}: attention peaks at "
        f"{what} {peak} ({display.labels_[peak]}), weight {display.weights_[peak]:.2f}; "
        f"test accuracy {accuracy:.3f}"
    )
    ax.set_title(f"attention={params['attention']!r}: peak at {what} {peak}")
    ax.set_ylim(0, 1)
    display.bars_[planted].set_color("C3")
    return display


def main(small=False, output=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    n_samples = 800 if small else 3000
    # One thread: these networks are small, and a second thread only adds overhead.
    params = {
        "hidden_size": 16 if small else 32,
        "max_epochs": 30 if small else 10,
        "random_state": 0,
        "n_threads": 1,
    }
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")

    X, y = make_planted_step(n_samples, n_timesteps=20, n_features=2, step=10, random_state=0)
    fit_and_show(X, y, axes[0, 0], what="step", planted=10, attention="temporal", **params)
    fit_and_show(
        X,
        y,
        axes[0, 1],
        what="step",
        planted=10,
        attention="per_feature",
        single_attention_vector=True,
        **params,
    )

    X, y = make_planted_feature(n_samples, n_timesteps=6, n_features=10, feature=5, random_state=0)
    fit_and_show(X, y, axes[1, 0], what="feature", planted=5, attention="feature", **params)
    split = int(0.8 * len(y))
    dual = AttentionLSTMClassifier(attention="dual", **params).fit(X[:split], y[:split])
    time_display = AttentionDisplay.from_estimator(dual, X[split:], ax=axes[1, 1])
    feature_peak = int(dual.predict_feature_attention(X[split:]).mean(axis=0).argmax())
    spread = time_display.weights_.max() - time_display.weights_.min()
    print(
        f"planted feature 5, attention='dual': feature attention peaks at feature "
        f"{feature_peak}; attention over time spans {time_display.weights_.min():.2f}.."
        f"{time_display.weights_.max():.2f} (flat: 1/6 = {1 / 6:.2f})"
    )
    axes[1, 1].axhline(1 / 6, color="0.4", linestyle=":", label="flat: 1/6")
    axes[1, 1].set_ylim(0, 1)
    axes[1, 1].legend()
    axes[1, 1].set_title(
        f"attention='dual', over time: flat within {spread:.2f} (feature peak {feature_peak})"
    )
    fig.suptitle("Mean attention over held-out windows; the planted step or feature in red")
    path = folder / "planted_signal.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    main(**vars(parser.parse_args()))
