"""
Multi-head attention and a time-ordered grid search over the attention kind
===========================================================================

REFERENCE section 4 builds attention and multi-head attention into a
forecasting pipeline and lists hyper-parameter search as a next step. With
skattn the attention is one parameter of one estimator, so choosing it is a
plain :class:`~sklearn.model_selection.GridSearchCV` over
``model__attention`` in ``["none", "temporal", "multihead"]``, with
:class:`~sklearn.model_selection.TimeSeriesSplit` so that every fold trains on
the past and scores on the future.

The series is real: the Mauna Loa CO2 record shipped with statsmodels
(``statsmodels.api.datasets.co2``, weekly, 1958-2001), averaged per month
(gaps carried forward) and differenced, so the target is next month's change
in ppm, a seasonal series without the trend a scaled network cannot
extrapolate. Windows hold the last 24 months. The figure shows the
cross-validated R^2 of each attention kind and where each head of the
multi-head attention looks.

Run: ``python examples/plot_multihead_search.py [--small] [--output DIR]``.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised
from skattn.display import AttentionDisplay

COLUMNS = ["param_model__attention", "mean_test_score", "std_test_score", "rank_test_score"]


def monthly_co2_change():
    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().ffill()
    return monthly.diff().dropna().rename("co2_change")


def main(small=False, output=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    series = monthly_co2_change()
    if small:
        series = series.iloc[-240:]
    X, y = make_supervised(series)  # row t: the change in month t -> target: month t + 1
    print(f"{len(y)} months, {series.index[0]:%Y-%m} .. {series.index[-1]:%Y-%m}")
    pipe = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=24)),
            ("scale", StandardScaler()),
            (
                "model",
                AttentionLSTMRegressor(
                    hidden_size=8 if small else 16,
                    n_heads=4,
                    max_epochs=10 if small else 60,
                    batch_size=32,
                    random_state=0,
                    n_threads=1,  # small network: one thread is fastest
                ),
            ),
        ]
    )
    search = GridSearchCV(
        pipe,
        {"model__attention": ["none", "temporal", "multihead"]},
        cv=TimeSeriesSplit(n_splits=3),
    ).fit(X, y)
    results = pd.DataFrame(search.cv_results_)
    results["mean_fit_time"] = results["mean_fit_time"].round(2)
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(results[[*COLUMNS, "mean_fit_time"]].to_string(index=False))
    print(f"best params: {search.best_params_} (R^2 {search.best_score_:.3f})")

    multihead = search.best_estimator_
    if search.best_params_["model__attention"] != "multihead":
        multihead = clone(pipe).set_params(model__attention="multihead").fit(X, y)
    model = multihead["model"]
    peaks = model.time_labels_[model.head_weights_.argmax(axis=1)]
    print("multi-head attention, peak of each head:", ", ".join(peaks))

    fig, axes = plt.subplots(
        1, 3, figsize=(17, 4.8), layout="constrained", width_ratios=[1, 1.6, 1.6]
    )
    positions = np.arange(len(results))
    axes[0].bar(
        positions,
        results["mean_test_score"],
        yerr=results["std_test_score"],
        color=["C7", "C0", "C1"],
        capsize=4,
    )
    axes[0].set_xticks(positions, results["param_model__attention"])
    axes[0].set_ylabel("R^2, mean over 3 time-ordered folds")
    axes[0].set_title(f"GridSearchCV, best: {search.best_params_['model__attention']}")
    AttentionDisplay.from_estimator(multihead, kind="heatmap", per_head=True, ax=axes[1])
    axes[1].set_title("attention='multihead': mean attention of each head")
    AttentionDisplay.from_estimator(multihead, ax=axes[2])
    axes[2].set_title("attention='multihead': mean over the heads")
    path = folder / "multihead_search.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return search


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    main(**vars(parser.parse_args()))
