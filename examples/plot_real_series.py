"""
A real series: yearly sunspots, one step ahead, against a linear model on the same lags
======================================================================================

The yearly sunspot numbers 1700-2008 that ship with statsmodels
(``statsmodels.api.datasets.sunspots``; nothing is downloaded). The same
windows of the last 24 years feed two Pipelines:
``SlidingWindowTransformer -> AttentionLSTMRegressor`` (the recommended
forecasting configuration takes unscaled windows: its linear part forecasts the
change from the last count in counts, its network standardises its own inputs)
and ``SlidingWindowTransformer -> SimpleImputer -> StandardScaler -> RidgeCV``
(the imputer only fills the padded first rows, which skattn treats as missing
steps). Both are fitted on the first 80% of the years and forecast each of the
last 20% one year ahead from the true history, without refitting.

MASE divides a model's MAE by the in-sample MAE of the naive forecast (next
year = this year) on the training years: below 1 beats that naive forecast on
average.

The network's settings are ``RECOMMENDED`` below; ``--model-params`` takes a
JSON object that updates them, e.g.
``--model-params '{"hidden_size": 64, "max_epochs": 300}'``.

Run: ``python examples/plot_real_series.py [--small] [--output DIR] [--model-params JSON]``.
"""

import argparse
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import (
    FORECASTING_PARAMS,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    make_supervised,
)
from skattn.display import AttentionDisplay, ForecastDisplay

WINDOW = 24
# Settings of the AttentionLSTMRegressor; --model-params updates them. The forecasting
# configuration of benchmarks/accuracy.py (skattn.FORECASTING_PARAMS): a fixed ridge
# forecast of the change from the last value (linear_skip) plus the attention network on
# its residual, fed each window relative to its last value, early stopping on the newest
# windows.
RECOMMENDED = {**FORECASTING_PARAMS, "random_state": 0}
SMALL = {"hidden_size": 8, "max_epochs": 30}


def yearly_sunspots():
    table = sm.datasets.sunspots.load_pandas().data
    return table.set_index(table["YEAR"].astype(int))["SUNACTIVITY"].rename("sunspots")


def main(small=False, output=None, model_params=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    params = {**RECOMMENDED, **(SMALL if small else {}), **(model_params or {})}
    series = yearly_sunspots()
    X, y = make_supervised(series)  # row t: the count of year t -> target: year t + 1
    target_years = X.index.to_numpy() + 1
    split = int(0.8 * len(y))
    print(
        f"{len(y)} one-year-ahead targets; train {target_years[0]}-{target_years[split - 1]}, "
        f"test {target_years[split]}-{target_years[-1]}"
    )
    print(f"AttentionLSTMRegressor settings: {json.dumps(params, sort_keys=True)}")

    lstm = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=WINDOW)),
            ("model", AttentionLSTMRegressor(**params)),
        ]
    )
    ridge = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=WINDOW)),
            ("fill", SimpleImputer()),
            ("scale", StandardScaler()),
            ("ridge", RidgeCV(alphas=np.logspace(-3, 3, 13))),
        ]
    )
    y_train, y_test = y.iloc[:split], y.iloc[split:]
    naive_in_sample = mean_absolute_error(y_train, X["sunspots"].iloc[:split])
    forecasts = {}
    for name, pipe in (("AttentionLSTMRegressor", lstm), ("RidgeCV", ridge)):
        pipe.fit(X.iloc[:split], y_train)
        # All rows: each test window holds the true years before it.
        forecasts[name] = pipe.predict(X)[split:]
    forecasts["naive (last year)"] = X["sunspots"].iloc[split:].to_numpy()
    for name, forecast in forecasts.items():
        mae = mean_absolute_error(y_test, forecast)
        print(f"{name}: test MAE {mae:.2f}, MASE {mae / naive_in_sample:.3f}")
    print(f"in-sample naive MAE (the MASE scale): {naive_in_sample:.2f}")

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(16, 4.8), layout="constrained", width_ratios=[2.2, 1]
    )
    shown = slice(split - 30, len(y))
    display = ForecastDisplay.from_estimator(
        lstm,
        X,
        y,
        index=target_years,
        window=len(y) - 12,
        lead=1,  # the index holds the targets' years: window steps sit one year earlier
        ax=left,
    )
    (ridge_line,) = left.plot(
        target_years[split:], forecasts["RidgeCV"], color="C4", linestyle="-.", label="RidgeCV"
    )
    left.axvline(target_years[split] - 0.5, color="k", linewidth=0.8)
    left.legend(handles=[*display.lines_, ridge_line, display.attention_bars_], loc="upper left")
    left.set_xlim(target_years[shown.start], target_years[-1] + 1)
    left.set_xlabel("year")
    left.set_ylabel("sunspot number")
    left.set_title("One year ahead; test years right of the black line; bars: one window")
    AttentionDisplay.from_estimator(lstm, ax=right)
    right.set_title("Mean attention over the training windows")
    path = folder / "real_series.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return forecasts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    parser.add_argument(
        "--model-params",
        type=json.loads,
        help="JSON object of AttentionLSTMRegressor settings that update RECOMMENDED",
    )
    main(**vars(parser.parse_args()))
