"""skattn inside a forecasting library for real: skforecast (in the test extra).
The other libraries' conventions are simulated in test_lag_order.py."""

import numpy as np
import pandas as pd
from skforecast.recursive import ForecasterRecursive

from skattn import AttentionLSTMRegressor


def planted_lag_series(n=400, lag=5, seed=0):
    """Each value is 0.9 times the value ``lag`` steps back, plus noise."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=n)
    for t in range(lag, n):
        values[t] = 0.9 * values[t - lag] + 0.3 * rng.normal()
    return pd.Series(values, index=pd.RangeIndex(n), name="y")


def test_skforecast_hands_over_newest_first_arrays_and_time_order_reads_them():
    series = planted_lag_series()
    peaks = {}
    for time_order in ("newest_first", "oldest_first"):
        regressor = AttentionLSTMRegressor(time_order=time_order, max_epochs=40,
                                           random_state=0, n_threads=1)
        forecaster = ForecasterRecursive(regressor, lags=8)
        forecaster.fit(y=series)
        forecast = forecaster.predict(steps=10)
        assert len(forecast) == 10 and np.isfinite(forecast).all()
        peaks[time_order] = int(forecaster.estimator.attention_weights_.argmax())
    # lag 5 of 8 is step 3, oldest first; read the wrong way round it lands on step 4
    assert peaks["newest_first"] == 8 - 5
    assert peaks["oldest_first"] == 5 - 1
