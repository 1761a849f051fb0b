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
    >>> from skattn import forecast, make_forecaster, make_supervised
    >>> series = pd.Series(np.sin(np.arange(120) / 3) + np.arange(120) / 50)
    >>> X, y = make_supervised(series)
    >>> forecaster = make_forecaster(12, max_epochs=5, random_state=0).fit(X, y)
    >>> in_sample = forecaster.predict(X)  # one forecast per row with a known target
    >>> next_value = forecast(forecaster, series)  # past the end: the value at 120
    >>> next_value.index.tolist()
    [120]
    """
    return Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size, seasonal_period=seasonal_period)),
            ("model", AttentionLSTMRegressor(**{**FORECASTING_PARAMS, **params})),
        ]
    ).set_output(transform="pandas")


def forecast(model, series, exog=None, *, coverage=None):
    """Forecast past the end of the data, from the newest row of each series.

    ``model`` is fitted on ``make_supervised(series, horizon, exog)`` (a
    Pipeline that windows the rows, ``make_forecaster`` included). That table
    drops the last ``horizon`` rows, whose targets are not known yet; here every
    row is kept, the model predicts from the newest one (of every series of a
    panel), and the values are placed at the times that follow it: the next
    value for ``horizon=1``, the next ``horizon`` values for a model fitted on
    2-D ``y``.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Predicts from the rows of ``make_supervised``'s ``X``.
    series : array-like of shape (n_rows,) or pandas Series
        The same series as for fitting, up to its newest value (it may have
        grown since), with the same name (the column the model was fitted
        on; a ValueError says so otherwise). A pandas Series with a
        (series id, ..., time) MultiIndex is a panel.
    exog : array-like or pandas, default=None
        The exogenous columns, as for ``make_supervised``.
    coverage : float, default=None
        With a model fitted with ``quantiles`` (its last step), also the
        bounds of its calibrated ``predict_interval`` at this coverage.

    Returns
    -------
    forecast : pandas Series, or DataFrame with ``coverage``
        One value per future time, indexed by the times after the newest one
        (a panel: by (series id, time)). Times continue a DatetimeIndex with
        its frequency, a PeriodIndex, or a numeric index with its regular step
        (positions for a numpy series). With ``coverage``, the columns
        "forecast", "lower" and "upper".

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import forecast, make_forecaster, make_supervised
    >>> series = np.sin(np.arange(120) / 3) + np.arange(120) / 50
    >>> X, y = make_supervised(series)
    >>> forecaster = make_forecaster(12, max_epochs=5, random_state=0).fit(X, y)
    >>> forecast(forecaster, series).index.tolist()  # the value after position 119
    [120]
    """
    import numpy as np
    import pandas as pd

    from ._panel import is_panel, series_rows
    from ._windowing import make_supervised, single_column

    panel = is_panel(series)
    # numpy in, numpy to the model, as make_supervised gave it for fitting
    as_pandas = isinstance(series, (pd.Series, pd.DataFrame)) or isinstance(
        exog, (pd.Series, pd.DataFrame))
    if not isinstance(series, (pd.Series, pd.DataFrame)):
        series = pd.Series(np.asarray(series, dtype=float).reshape(-1))
    series = single_column(series)
    groups = series_rows(series.index)[1] if panel else [np.arange(len(series))]
    if exog is not None and not isinstance(exog, (pd.Series, pd.DataFrame)):
        columns = np.asarray(exog, dtype=float).reshape(len(series), -1)
        exog = pd.DataFrame(columns, index=series.index,
                            columns=[f"exog{i}" for i in range(columns.shape[1])])
    # one row past the end of every series, with no value: make_supervised
    # then keeps every real row in X
    extension = pd.MultiIndex.from_tuples(
        [(*series.index[rows[-1]][:-1], _next_times(series.index, rows, 1)[0]) for rows in groups],
        names=series.index.names,
    ) if panel else pd.Index(_next_times(series.index, groups[0], 1), name=series.index.name)
    extended = pd.concat([series, pd.Series(np.nan, index=extension, name=series.name)])
    if panel:  # each series' extension row right after its own rows
        extended = extended.iloc[np.concatenate(
            [np.append(rows, len(series) + number) for number, rows in enumerate(groups)])]
    extended_exog = None
    if exog is not None:
        extended_exog = pd.concat([pd.DataFrame(exog).set_axis(series.index),
                                   pd.DataFrame(index=extension)]).loc[extended.index]
    X, _ = make_supervised(extended, 1, extended_exog)
    fitted_names = getattr(model, "feature_names_in_", None)
    if as_pandas and fitted_names is not None and list(fitted_names) != list(X.columns):
        raise ValueError(
            f"The model was fitted on the columns {list(fitted_names)}, but this series "
            f"and exog give {list(X.columns)}: forecast names the columns as "
            "make_supervised does (the series' name, 'y' when it has none, then exog's "
            "columns). Pass them named as at fit."
        )
    rows_in = X if as_pandas else X.to_numpy(dtype=float)
    try:
        predictions = model.predict(rows_in)
    except ValueError as error:
        if "no observed time step" not in str(error):
            raise
        raise ValueError(
            "The newest window of the series (of a series of the panel) holds no observed "
            "value: its newest values are all missing, so there is nothing to forecast "
            f"from. ({error})"
        ) from None
    columns = {"forecast": np.asarray(predictions, dtype=float).reshape(len(X), -1)}
    if coverage is not None:
        bounds = _interval(model, rows_in, coverage).reshape(len(X), -1, 2)
        columns.update(lower=bounds[..., 0], upper=bounds[..., 1])
    horizon = columns["forecast"].shape[1]
    newest = [rows[-1] for rows in series_rows(X.index)[1]] if panel else [len(X) - 1]
    values = {name: [] for name in columns}
    index = []
    for rows, row in zip(groups, newest, strict=True):
        for name, predictions in columns.items():
            values[name].extend(predictions[row])
        times = _next_times(series.index, rows, horizon)
        if panel:
            index.extend((*series.index[rows[-1]][:-1], time) for time in times)
        else:
            index.extend(times)
    index = (pd.MultiIndex.from_tuples(index, names=series.index.names) if panel
             else pd.Index(index, name=series.index.name))
    if coverage is None:
        return pd.Series(values["forecast"], index=index, name=series.name)
    return pd.DataFrame(values, index=index)


def _interval(model, X, coverage):
    """``predict_interval`` of ``model``'s last step on ``X`` passed through the
    steps before it, as a float array."""
    import numpy as np
    from sklearn.pipeline import Pipeline

    last = model[-1] if isinstance(model, Pipeline) else model
    fitted_levels = getattr(last, "_fitted_param", None)
    levels = fitted_levels("quantiles") if fitted_levels else getattr(last, "quantiles", None)
    if not hasattr(last, "predict_interval") or levels is None or len(levels) == 0:
        raise ValueError(
            f"coverage={coverage!r} needs a model fitted with quantiles (for example "
            "make_forecaster(..., quantiles=(0.1, 0.9))); "
            f"{type(last).__name__} gives point forecasts only."
        )
    windows = model[:-1].transform(X) if isinstance(model, Pipeline) and len(model) > 1 else X
    return np.asarray(last.predict_interval(windows, coverage), dtype=float)


def _next_times(index, rows, horizon):
    """The ``horizon`` times after the newest of ``rows`` of ``index`` (its last
    level for a MultiIndex): a DatetimeIndex continues with its frequency, a
    PeriodIndex by periods, a numeric index by its regular step."""
    import numpy as np
    import pandas as pd

    from ._panel import inferred_offset

    times = index.get_level_values(-1)[rows] if isinstance(index, pd.MultiIndex) else index[rows]
    if isinstance(times, pd.PeriodIndex):
        return list(times[-1] + np.arange(1, horizon + 1))
    if isinstance(times, pd.DatetimeIndex):
        frequency = inferred_offset(times)
        if frequency is None:
            raise ValueError(
                "The series' DatetimeIndex has no regular frequency, so the future times "
                "are unknown; put the series on its time grid first (series.asfreq(...))."
            )
        return list(pd.date_range(times[-1], periods=horizon + 1, freq=frequency)[1:])
    if pd.api.types.is_numeric_dtype(times):
        values = np.asarray(times)
        steps = np.unique(np.diff(values)) if len(values) > 1 else np.array([1])
        if len(steps) != 1 or not steps[0] > 0:
            raise ValueError(
                "The series' time index is not evenly spaced, so the future times are "
                "unknown; use a regular index (or a DatetimeIndex with a frequency)."
            )
        return list(values[-1] + steps[0] * np.arange(1, horizon + 1))
    raise ValueError(
        f"Cannot tell the times after the newest one from an index of {times.dtype}; use a "
        "DatetimeIndex with a frequency, a PeriodIndex or a numeric index."
    )
