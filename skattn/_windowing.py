"""Turn a time-ordered table into windows, keeping y aligned."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._panel import check_time_grid, check_time_order, inferred_offset, is_panel, series_rows
from ._validation import (
    SEASON_PREFIX,
    check_numeric_columns,
    check_positive_int,
    is_pandas,
    lag_layout,
    reject_sparse,
)


def _as_table(X):
    """A pandas Series is a one-column table; everything else is left as is."""
    if is_pandas(X) and X.ndim == 1:
        return X.to_frame()
    return X


def _period_frequency(index):
    """The pandas period frequency of a regular DatetimeIndex, or None."""
    import pandas as pd

    offset = inferred_offset(index)
    if offset is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # e.g. business-day periods
        try:
            return pd.DatetimeIndex(index, freq=offset).to_period().freqstr
        except (TypeError, ValueError):
            return None


def _time_positions(index, frequency):
    """Integer position in time of each row, from a pandas index."""
    import pandas as pd

    if isinstance(index, pd.PeriodIndex):
        return index.asi8
    if isinstance(index, pd.DatetimeIndex):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return index.to_period(frequency).asi8
    return np.asarray(index, dtype=np.int64)


def _seasonal_terms(positions, period):
    """Fourier terms of the phase ``positions % period``: ``period - 1`` columns.

    Harmonics ``k = 1 .. period // 2``, a sine and a cosine each, without the
    sine of the Nyquist harmonic (identically zero for even periods). Together
    they span every function of the phase, like ``period`` one-hot columns less
    the constant.
    """
    phase = 2 * np.pi * (np.asarray(positions) % period) / period
    functions = {"sin": np.sin, "cos": np.cos}
    terms = np.column_stack(
        [functions[kind](harmonic * phase) for kind, harmonic in _seasonal_harmonics(period)]
    )
    terms[np.abs(terms) < 1e-12] = 0.0  # exact zeros, not rounding noise, at the quarter phases
    return terms


def _seasonal_harmonics(period):
    """(kind, harmonic) of each calendar column, in column order."""
    for harmonic in range(1, period // 2 + 1):
        if 2 * harmonic != period:
            yield "sin", harmonic
        yield "cos", harmonic


def _seasonal_names(period):
    return [f"{SEASON_PREFIX}_{kind}{harmonic}" for kind, harmonic in _seasonal_harmonics(period)]


class SlidingWindowTransformer(TransformerMixin, BaseEstimator):
    """Flatten the last ``window_size`` rows of a time-ordered table into each row.

    Row ``t`` of the output holds rows ``t - window_size + 1 .. t`` of the
    input, oldest first, each row's features side by side (time major). The
    number of rows never changes, so a target ``y`` stays aligned inside a
    :class:`~sklearn.pipeline.Pipeline`; the first ``window_size - 1`` rows
    have no full history and are padded with ``fill_value``. With the default
    NaN padding, scikit-learn scalers keep the gaps and skattn's estimators
    treat them as missing steps, so those rows are valid, shorter windows.

    Parameters
    ----------
    window_size : int, default=20
        Number of time steps (rows) per window. Must not exceed the number of
        rows seen in ``fit``.
    fill_value : float, default=np.nan
        Value written where a window reaches back before the first row.
    seasonal_period : int, default=None
        Length of a season in rows (12 for monthly data with a yearly cycle,
        7 for daily data with a weekly one, 24 for hourly data). When set,
        every time step also gets ``seasonal_period - 1`` calendar columns,
        the Fourier terms of its phase in the season (``season_sin1``,
        ``season_cos1``, ...), so the model knows which part of the season
        each window ends in; seasonal forecasts improve markedly (see the
        README's forecasting table). The phase comes from the index of a
        pandas ``X``: integer positions, a ``PeriodIndex``, or a regular
        ``DatetimeIndex`` (its frequency is taken from ``fit``). Row subsets
        keep their phase, so cross-validation folds stay right; numpy input
        has no positions and is refused.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns (features per time step) seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during ``fit``; only for pandas input with string
        column names.
    index_frequency_ : str or None
        Period frequency of the ``DatetimeIndex`` seen in ``fit`` (``"M"``
        for monthly data), used to place rows in the season; None for other
        indexes or without ``seasonal_period``.

    See Also
    --------
    make_supervised : Align a series with its future values as (X, y).
    AttentionLSTMRegressor : Forecast from the windows.

    Notes
    -----
    Rows are assumed to be in time order. A window never reaches into rows of
    another ``transform`` call: in cross-validation the first rows of each
    test fold are padded rather than filled from the training rows, so no
    information crosses folds.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SlidingWindowTransformer
    >>> X = np.arange(5.0).reshape(-1, 1)
    >>> SlidingWindowTransformer(window_size=3).fit_transform(X)
    array([[nan, nan,  0.],
           [nan,  0.,  1.],
           [ 0.,  1.,  2.],
           [ 1.,  2.,  3.],
           [ 2.,  3.,  4.]])

    Calendar columns for quarterly data, from the index:

    >>> import pandas as pd
    >>> sales = pd.Series([5.0, 7.0, 6.0, 9.0, 6.0], name="sales",
    ...                   index=pd.period_range("2020Q1", periods=5, freq="Q"))
    >>> window = SlidingWindowTransformer(window_size=2, seasonal_period=4).fit(sales)
    >>> window.get_feature_names_out()[4:]
    array(['sales_lag0', 'season_sin1_lag0', 'season_cos1_lag0',
           'season_cos2_lag0'], dtype=object)
    >>> window.transform(sales)[:, 4:].round(2)
    array([[ 5.,  0.,  1.,  1.],
           [ 7.,  1.,  0., -1.],
           [ 6.,  0., -1.,  1.],
           [ 9., -1.,  0., -1.],
           [ 6.,  0.,  1.,  1.]])
    """

    _parameter_constraints = {
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "fill_value": [Real],
        "seasonal_period": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(self, window_size=20, fill_value=np.nan, seasonal_period=None):
        self.window_size = window_size
        self.fill_value = fill_value
        self.seasonal_period = seasonal_period

    def _positions(self, X, *, reset):
        """Each row's position in time, from the pandas index of ``X``."""
        import pandas as pd

        if not is_pandas(X):
            raise ValueError(
                f"seasonal_period={self.seasonal_period} needs each row's position in "
                f"time, which a {type(X).__name__} does not carry: pass X as a pandas "
                "DataFrame or Series whose index holds integer positions, periods or "
                "regular timestamps (for a numpy array, pd.DataFrame(X) numbers the "
                "rows 0, 1, ...; build it before any split)."
            )
        index = X.index
        if is_panel(X):
            index = index.get_level_values(-1)  # the time level of (series id, time)
        if reset:
            self.index_frequency_ = None
            if isinstance(index, pd.DatetimeIndex):
                self.index_frequency_ = _period_frequency(index)
                if self.index_frequency_ is None:
                    raise ValueError(
                        "seasonal_period needs a regular DatetimeIndex; the frequency "
                        "of X's index could not be inferred. Put the series on its time "
                        "grid with series.asfreq(...) before make_supervised (a gap is "
                        "then a NaN: a missing step in the windows, and "
                        "missing_target='ignore' on the model skips its targets), or "
                        "pass integer positions or a PeriodIndex."
                    )
        if isinstance(index, pd.DatetimeIndex) and self.index_frequency_ is None:
            raise ValueError(
                "X has a DatetimeIndex, but the data seen in fit had none; pass the "
                "same kind of index to fit and transform."
            )
        if not (
            isinstance(index, (pd.PeriodIndex, pd.DatetimeIndex))
            or pd.api.types.is_integer_dtype(index.dtype)
        ):
            raise ValueError(
                f"seasonal_period needs X's index to give each row's position in time "
                f"(integers, periods or timestamps); got an index of dtype "
                f"{index.dtype}."
            )
        return _time_positions(index, self.index_frequency_)

    def _validate(self, X, *, reset):
        reject_sparse(X)
        check_numeric_columns(X)
        return validate_data(
            self,
            _as_table(X),
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number (and names) of the columns of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features) or pandas Series
            Time-ordered rows. A 1-D numpy array is refused (reshape it with
            ``X.reshape(-1, 1)``); a pandas Series is one column.
        y : None
            Ignored.

        Returns
        -------
        self : SlidingWindowTransformer
        """
        reason = _already_windows(X)
        if reason is not None:
            warnings.warn(
                f"X already holds windows ({reason}): SlidingWindowTransformer would "
                f"window them again, {self.window_size} steps of {np.shape(X)[1]} features. "
                "Inside a forecasting library that builds the lags itself (skforecast, "
                "sktime, darts, mlforecast), pass AttentionLSTMRegressor as the regressor, "
                "not a Pipeline that windows (time_order='newest_first' for arrays that "
                "start with the newest lag).",
                UserWarning,
                stacklevel=2,
            )
        if self.seasonal_period is not None:
            self._positions(_as_table(X), reset=True)
        X = self._validate(X, reset=True)
        if self.window_size > len(X):
            raise ValueError(
                f"window_size={self.window_size} is larger than the series: X has "
                f"{len(X)} sample(s) (rows). Use a window_size of at most {len(X)}."
            )
        return self

    def transform(self, X):
        """Window ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features_in_) or pandas Series
            Time-ordered rows.

        Returns
        -------
        windows : ndarray of shape (n_rows, window_size * n_features_out)
            ``n_features_out`` is ``n_features_in_``, plus ``seasonal_period - 1``
            calendar columns when ``seasonal_period`` is set. float32 for
            float32 input, else float64.
        """
        check_is_fitted(self)
        positions = None
        if self.seasonal_period is not None:
            positions = self._positions(_as_table(X), reset=False)
        panel_rows = None
        if is_panel(X):
            check_time_order(X.index)
            check_time_grid(X.index)
            panel_rows = series_rows(X.index)[1]
        X = self._validate(X, reset=False)
        if positions is not None:
            terms = _seasonal_terms(positions, self.seasonal_period).astype(X.dtype)
            X = np.hstack([X, terms])
        window_size = check_positive_int(self.window_size, "window_size")
        if panel_rows is None:
            return _windows(X, window_size, self.fill_value)
        # a panel: each series windowed on its own, rows kept where they are
        windows = np.empty((len(X), window_size * X.shape[1]), dtype=X.dtype)
        for rows in panel_rows:
            windows[rows] = _windows(X[rows], window_size, self.fill_value)
        return windows

    def get_feature_names_out(self, input_features=None):
        """Names of the window columns: ``<feature>_lag<k>``, oldest lag first.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input column names; defaults to ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            One name per window column; lag 0 is the current row. The
            calendar columns of ``seasonal_period`` follow the input features
            in each time step.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = list(_check_feature_names_in(self, input_features))
        if self.seasonal_period is not None:
            input_features += _seasonal_names(self.seasonal_period)
        names = [
            f"{feature}_lag{lag}"
            for lag in range(self.window_size - 1, -1, -1)
            for feature in input_features
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _windows(X, window_size, fill_value):
    """(n_rows, window_size * n_features) windows of the rows of ``X``, the
    first ``window_size - 1`` rows padded with ``fill_value``."""
    n_rows, n_features = X.shape
    padded = np.full((n_rows + window_size - 1, n_features), fill_value, dtype=X.dtype)
    padded[window_size - 1 :] = X
    # (n_rows, n_features, window_size) view -> time major copy
    windows = np.lib.stride_tricks.sliding_window_view(padded, window_size, axis=0)
    return np.ascontiguousarray(windows.transpose(0, 2, 1)).reshape(
        n_rows, window_size * n_features
    )


def single_column(series):
    """A one-column DataFrame as its Series (other input unchanged); a wider
    DataFrame is a ValueError: the target is one series."""
    import pandas as pd

    if isinstance(series, pd.DataFrame):
        if series.shape[1] != 1:
            raise ValueError(
                f"series must be 1-D, got a DataFrame with {series.shape[1]} columns; "
                "pass the target column as series and the others as exog."
            )
        return series.iloc[:, 0]
    return series


def _already_windows(X, max_rows=1000):
    """Why the rows of ``X`` look like windows already, or None: lag-named
    columns, or columns that are one series shifted by a row from one column to
    the next (a lag matrix, either order)."""
    names = getattr(X, "columns", None)
    if names is not None and len(names) > 1:
        try:
            if lag_layout([str(name) for name in names]) is not None:
                return "its columns are named by lag"
        except ValueError:
            return "its columns are named by lag"
    try:  # anything that is not a plain numeric table is for fit's checks to refuse
        values = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return None
    if values.ndim != 2 or values.shape[1] < 3 or len(values) < 4:
        return None
    values = values[:max_rows]
    if np.nanstd(values[:, 0]) == 0:
        return None
    for newer, older in ((values[1:, 1:], values[:-1, :-1]), (values[1:, :-1], values[:-1, 1:])):
        shifted = np.isclose(newer, older, equal_nan=True).all(axis=0)
        if shifted.mean() >= 0.8:
            return "each column is the one beside it shifted by a row, a lag matrix"
    return None


def _panel_supervised(series, horizon, exog):
    """make_supervised for each series of a panel, concatenated in order."""
    import pandas as pd

    check_time_order(series.index)
    check_time_grid(series.index)
    if exog is not None and not (is_pandas(exog) and exog.index.equals(series.index)):
        raise ValueError(
            "With a panel series (a MultiIndex of series id and time), exog must be "
            "pandas with the same index, so each series gets its own exogenous rows."
        )
    ids, rows_of = series_rows(series.index)
    short = [series_id for series_id, rows in zip(ids, rows_of, strict=True)
             if len(rows) <= horizon]
    if short:
        raise ValueError(
            f"{len(short)} series of the panel have at most horizon={horizon} values, so no "
            f"target is known for them (first: {short[0]!r}); drop them or lower horizon."
        )
    parts_X, parts_y = [], []
    for rows in rows_of:
        part = series.iloc[rows]
        part_exog = None if exog is None else exog.iloc[rows].reset_index(drop=True)
        X_part, y_part = make_supervised(part.reset_index(drop=True), horizon, part_exog)
        X_part.index = y_part.index = part.index[: len(rows) - horizon]
        parts_X.append(X_part)
        parts_y.append(y_part)
    return pd.concat(parts_X), pd.concat(parts_y)


def make_supervised(series, horizon=1, exog=None):
    """Align a time series with its future values as a supervised (X, y) pair.

    Row ``t`` of ``X`` holds what is known at time ``t`` (the series value and
    the exogenous values); ``y`` holds the value at ``t + horizon``, or, for
    ``horizon > 1``, the next ``horizon`` values. The last ``horizon`` rows
    have no known target and are dropped. NaN values stay where they are: in
    ``X`` they are missing steps, a NaN target makes the estimators raise.

    Parameters
    ----------
    series : array-like of shape (n_rows,) or pandas Series
        The time-ordered target series. A pandas Series with a MultiIndex
        (series id, ..., time) is a panel: each series is shifted on its own,
        so no row's target comes from another series, and each loses its
        own last ``horizon`` rows.
    horizon : int, default=1
        How many steps ahead to forecast; must be >= 1.
    exog : array-like of shape (n_rows,) or (n_rows, n_exog), default=None
        Exogenous series known at each time ``t``, one column each.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_rows - horizon, 1 + n_exog)
        The series and the exogenous columns. A DataFrame (keeping the index
        and column names) when ``series`` or ``exog`` is pandas.
    y : ndarray or Series of shape (n_rows - horizon,), or ndarray or \
            DataFrame of shape (n_rows - horizon, horizon)
        The future values; 1-D for ``horizon=1``.

    See Also
    --------
    SlidingWindowTransformer : Turn the rows of X into windows.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import make_supervised
    >>> X, y = make_supervised(np.arange(5.0), horizon=2)
    >>> X.ravel(), y
    (array([0., 1., 2.]), array([[1., 2.],
           [2., 3.],
           [3., 4.]]))
    """
    import pandas as pd

    horizon = check_positive_int(horizon, "horizon")
    reject_sparse(series, input_name="series")
    check_numeric_columns(series, "series")
    check_numeric_columns(exog, "exog")
    if is_panel(series):
        return _panel_supervised(series, horizon, exog)
    as_pandas = isinstance(series, (pd.Series, pd.DataFrame)) or isinstance(
        exog, (pd.Series, pd.DataFrame)
    )
    series = single_column(series)
    if not isinstance(series, pd.Series):
        values = np.asarray(series)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(
                f"series must be 1-D, got an array of shape {values.shape}; pass "
                "other columns as exog."
            )
        series = pd.Series(values)
    target = series
    n_rows = len(target)
    if n_rows <= horizon:
        raise ValueError(
            f"series has {n_rows} values, so no target is known at horizon={horizon}: "
            f"at least horizon + 1 = {horizon + 1} values are needed."
        )
    target_name = target.name if target.name is not None else "y"
    columns = [target.rename(target_name)]
    if exog is not None:
        reject_sparse(exog, input_name="exog")
        exog_frame = exog if isinstance(exog, (pd.Series, pd.DataFrame)) else np.asarray(exog)
        if np.ndim(exog_frame) == 1:
            exog_frame = pd.DataFrame({"exog0": np.asarray(exog_frame)})
        elif isinstance(exog_frame, np.ndarray):
            exog_frame = pd.DataFrame(
                exog_frame, columns=[f"exog{i}" for i in range(exog_frame.shape[1])]
            )
        else:
            exog_frame = pd.DataFrame(exog_frame)
        if len(exog_frame) != n_rows:
            raise ValueError(
                f"exog has {len(exog_frame)} rows but series has {n_rows}; they must "
                "be aligned row by row."
            )
        exog_frame.index = target.index
        columns.append(exog_frame)
    X = pd.concat(columns, axis=1).iloc[: n_rows - horizon]
    X.columns = [str(column) for column in X.columns]
    future = {
        f"{target_name}_t+{step}": target.shift(-step).iloc[: n_rows - horizon]
        for step in range(1, horizon + 1)
    }
    y = pd.DataFrame(future, index=X.index)
    if horizon == 1:
        y = y.iloc[:, 0].rename(target_name)
    if as_pandas:
        return X, y
    return X.to_numpy(dtype=float), y.to_numpy(dtype=float)
