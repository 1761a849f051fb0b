"""The recommended forecasting configuration, as one Pipeline."""

from types import MappingProxyType

from sklearn.pipeline import Pipeline

from ._estimators import AttentionLSTMRegressor
from ._windowing import SlidingWindowTransformer

# Chosen by benchmarks/accuracy.py (README, "Forecasting real series"); read-only.
FORECASTING_PARAMS = MappingProxyType({
    "linear_skip": True,
    "window_norm": "last",
    "early_stopping": True,
    "validation_fraction": 0.2,
    "n_iter_no_change": 50,
    "max_epochs": 300,
    "batch_size": 32,
    "lr": 3e-3,
})


def make_forecaster(window_size=24, *, seasonal_period=None, **params):
    """The recommended one-step forecaster: windows -> attention-LSTM with a linear skip.

    ``Pipeline([("window", SlidingWindowTransformer(window_size, seasonal_period)),
    ("model", AttentionLSTMRegressor(linear_skip=True, window_norm="last",
    early_stopping=True, ...))])`` with pandas output, so the model reads the
    number of features per step from the window's column names. No scaler:
    the linear skip forecasts the change from the target's own last value in
    its units, and the network standardises its inputs itself.

    Parameters
    ----------
    window_size : int, default=24
        Time steps per window.
    seasonal_period : int, default=None
        Season length in rows (12 for monthly data); adds calendar columns.
        Needs pandas ``X`` whose index places each row in time.
    **params
        AttentionLSTMRegressor parameters that override the recommended ones
        (``random_state=0``, ``hidden_size=64``, ...).

    Returns
    -------
    forecaster : Pipeline
        Unfitted; fit it on ``make_supervised(series)``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skattn import make_forecaster, make_supervised
    >>> series = pd.Series(np.sin(np.arange(120) / 3) + np.arange(120) / 50)
    >>> X, y = make_supervised(series)
    >>> forecaster = make_forecaster(12, max_epochs=5, random_state=0).fit(X, y)
    >>> next_value = forecaster.predict(X)[-1]  # from the window of the newest 12 rows
    >>> bool(np.isfinite(next_value))
    True
    """
    return Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size, seasonal_period=seasonal_period)),
            ("model", AttentionLSTMRegressor(**{**FORECASTING_PARAMS, **params})),
        ]
    ).set_output(transform="pandas")
