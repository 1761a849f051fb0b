"""
A seasonal series: monthly CO2 at Mauna Loa, with calendar columns from its DatetimeIndex
=========================================================================================

The weekly CO2 record that ships with statsmodels (``statsmodels.api.datasets.co2``;
nothing is downloaded), as monthly means with the few missing months
interpolated. ``SlidingWindowTransformer(window_size=24, seasonal_period=12)``
gives every step of a window the Fourier terms of its month, read from the
``DatetimeIndex``, so the model knows where in the year each window ends; the
level keeps rising, so the recommended configuration forecasts the change from
the last month (its linear skip) and its network sees each window relative to
its last value. The Pipeline's pandas output hands the column names
(``co2_lag23 .. season_cos6_lag0``) to the model, which reads 12 features per
step from them.

Fitted on the first 80% of the months, each of the last 20% is forecast one
month ahead from the true history, without refitting, against RidgeCV on the
same 24 lags with and without the calendar columns (their imputer fills the
padded first rows with column means, which a rising series makes a poor guess:
the plain ridge suffers most). MASE divides the MAE by the in-sample MAE of
"next month = this month". The network's correction of the linear part is
weighed on the newest training months (``network_weight_``: 0 unless it adds
what the linear part lacks by more than chance); on this smooth series it is
usually 0, and the example prints the weight.

Run: ``python examples/plot_seasonal_series.py [--small] [--output DIR]``.
"""

import argparse
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

from skattn import SlidingWindowTransformer, make_forecaster, make_supervised
from skattn.display import AttentionDisplay

WINDOW = 24
SMALL = {"hidden_size": 8, "max_epochs": 20}


def monthly_co2():
    weekly = sm.datasets.co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate().rename("co2")


def ridge(seasonal_period):
    return Pipeline(
        [
            ("window", SlidingWindowTransformer(WINDOW, seasonal_period=seasonal_period)),
            ("fill", SimpleImputer()),
            ("scale", StandardScaler()),
            ("ridge", RidgeCV(alphas=np.logspace(-4, 3, 15))),
        ]
    )


def main(small=False, output=None):
    folder = Path(output) if output else Path(tempfile.mkdtemp(prefix="skattn_"))
    folder.mkdir(parents=True, exist_ok=True)
    X, y = make_supervised(monthly_co2())  # row t: this month -> target: next month
    split = int(0.8 * len(y))
    print(f"{len(y)} one-month-ahead targets; test from {y.index[split]:%Y-%m}")
    # the recommended configuration (skattn.FORECASTING_PARAMS), with pandas output
    lstm = make_forecaster(WINDOW, seasonal_period=12, random_state=0, **(SMALL if small else {}))
    models = {
        "AttentionLSTMRegressor (recommended, calendar)": lstm,
        "RidgeCV (24 lags)": ridge(None),
        "RidgeCV (24 lags + calendar)": ridge(12),
    }
    y_train, y_test = y.iloc[:split], y.iloc[split:]
    scale = mean_absolute_error(y_train, X["co2"].iloc[:split])
    forecasts = {}
    for name, pipe in models.items():
        pipe.fit(X.iloc[:split], y_train)
        forecasts[name] = np.asarray(pipe.predict(X))[split:]  # true history before each
    forecasts["naive (this month)"] = X["co2"].iloc[split:].to_numpy()
    for name, forecast in forecasts.items():
        mae = mean_absolute_error(y_test, forecast)
        print(f"{name}: test MAE {mae:.3f}, MASE {mae / scale:.3f}")
    model = lstm["model"]
    labels = ", ".join(model.feature_labels_[:3])
    print(f"features per step: {model.n_features_per_step_} ({labels}, ...)")
    print(f"linear skip anchored on: {model.skip_anchor_}; "
          f"weight of the network's correction: {model.network_weight_[0]:.2f}")

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(15, 4.5), layout="constrained", width_ratios=[2, 1]
    )
    shown = slice(split - 36, len(y))
    left.plot(y.index[shown], y.iloc[shown], color="k", linewidth=1, label="truth")
    for (name, forecast), style in zip(list(forecasts.items())[:2], ("--", "-."), strict=True):
        left.plot(y.index[split:], forecast, linestyle=style, label=name)
    left.axvline(y.index[split], color="k", linewidth=0.8)
    left.set_ylabel("CO2 (ppm)")
    left.set_title("One month ahead; test months right of the black line")
    left.legend(loc="upper left")
    AttentionDisplay.from_estimator(lstm, ax=right)
    title = "Mean attention of the network part"
    if model.network_dropped_:
        title += "\nnetwork dropped: it explains nothing of this forecast"
    right.set_title(title)
    path = folder / "seasonal_series.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"saved {path}")
    return forecasts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick, smaller run")
    parser.add_argument("--output", help="folder for the PNG files (default: a new temp folder)")
    main(**vars(parser.parse_args()))
