"""skattn inside the forecasting libraries, against RidgeCV in the same library.

Each library builds the lag matrix itself and hands it to a scikit-learn
regressor; skattn's ``AttentionLSTMRegressor`` goes in where RidgeCV would.
What each library hands over:

- skforecast ``ForecasterRecursive``: numpy arrays, newest lag first
  -> ``AttentionLSTMRegressor(time_order="newest_first")``;
- mlforecast ``MLForecast``: a DataFrame ``lag1 .. lagN`` (newest first), read
  by name -> ``AttentionLSTMRegressor()``;
- sktime ``make_reduction`` and darts' ``SKLearnModel`` (``RegressionModel``): oldest
  lag first
  -> ``AttentionLSTMRegressor()``.

Data: statsmodels' monthly co2 (mean of the weekly values, gaps interpolated),
24 lags, recursive 12-step forecasts from 4 origins 12 months apart at the
end of the series, refitted at each origin; MAE. A library that is not
installed is reported as such.

    python benchmarks/libraries.py
"""

import time
import warnings

import numpy as np
import pandas as pd

LAGS = 24
HORIZON = 12
ORIGINS = 4


def co2():
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data["co2"]
    return data.resample("MS").mean().interpolate()


def skattn_regressor(**params):
    from skattn import AttentionLSTMRegressor

    return AttentionLSTMRegressor(random_state=0, n_threads=1, **params)


def backtest(forecast_fn, series):
    """MAE of HORIZON-step forecasts from ORIGINS origins at the end of ``series``."""
    errors = []
    for origin in range(ORIGINS, 0, -1):
        end = len(series) - origin * HORIZON
        train, test = series.iloc[:end], series.iloc[end : end + HORIZON]
        errors.append(np.mean(np.abs(np.asarray(forecast_fn(train)) - test.to_numpy())))
    return float(np.mean(errors))


def with_skforecast(regressor):
    from skforecast.recursive import ForecasterRecursive

    def forecast(train):
        forecaster = ForecasterRecursive(regressor, lags=LAGS)
        forecaster.fit(y=train)
        return forecaster.predict(steps=HORIZON)

    return forecast


def with_mlforecast(regressor):
    from mlforecast import MLForecast

    def forecast(train):
        frame = pd.DataFrame({"unique_id": "co2", "ds": train.index, "y": train.to_numpy()})
        model = MLForecast(models={"model": regressor}, freq="MS", lags=range(1, LAGS + 1))
        model.fit(frame)
        return model.predict(h=HORIZON)["model"].to_numpy()

    return forecast


def with_sktime(regressor):
    from sktime.forecasting.compose import make_reduction

    def forecast(train):
        forecaster = make_reduction(regressor, window_length=LAGS, strategy="recursive")
        forecaster.fit(train.to_period("M"))
        return forecaster.predict(fh=np.arange(1, HORIZON + 1)).to_numpy()

    return forecast


def with_darts(regressor):
    from darts import TimeSeries

    try:
        from darts.models import SKLearnModel as RegressionModel  # darts >= 0.34
    except ImportError:
        from darts.models import RegressionModel

    def forecast(train):
        model = RegressionModel(lags=LAGS, model=regressor)
        model.fit(TimeSeries.from_series(train))
        return model.predict(HORIZON).values()[:, 0]

    return forecast


LIBRARIES = {
    "skforecast": (with_skforecast, {"time_order": "newest_first"}),
    "mlforecast": (with_mlforecast, {}),
    "sktime": (with_sktime, {}),
    "darts": (with_darts, {}),
}


def main():
    import torch
    from sklearn.linear_model import RidgeCV

    torch.set_num_threads(1)
    series = co2()
    print(f"co2 monthly, {LAGS} lags, {HORIZON}-step recursive forecasts from {ORIGINS} "
          "origins, MAE (lower is better)")
    print(f"{'library':12s} {'RidgeCV':>8s} {'skattn':>8s} {'ratio':>6s} {'seconds':>8s}")
    for name, (wrap, params) in LIBRARIES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                __import__(name)
            except ImportError:
                print(f"{name:12s} not installed")
                continue
            ridge = backtest(wrap(RidgeCV(alphas=np.logspace(-3, 3, 13))), series)
            start = time.perf_counter()
            network = backtest(wrap(skattn_regressor(**params)), series)
        print(f"{name:12s} {ridge:8.3f} {network:8.3f} {network / ridge:6.2f} "
              f"{time.perf_counter() - start:8.0f}")


if __name__ == "__main__":
    main()
