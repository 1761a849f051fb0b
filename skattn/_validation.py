"""One place that turns user input into checked float32 windows.

Every public entry point of the estimators (``fit``, ``predict``, ``score``,
``predict_attention``) goes through :func:`validate_windows`, so the rules
below hold everywhere:

- 3-D input is ``(n_samples, n_timesteps, n_features)``.
- 2-D input is flattened windows, time major (oldest step first, the features
  of one step side by side), as :class:`~skattn.SlidingWindowTransformer`
  writes them. Columns named by lag (``x_lag3``, ``lag1``, ``lag_1``: the
  name, if any, then the number of steps back) are put in that order whatever
  order they come in (newest first, as skforecast and mlforecast write them, or
  feature major), and give the number of features per step; otherwise it is
  the estimator's ``n_features`` parameter, else 1.
- Unnamed input is oldest first unless the estimator's ``time_order`` says
  ``"newest_first"``.
- NaN marks a missing value. A time step whose values are all NaN is a missing
  step: the model masks it out of the attention. A window without a single
  observed step, and inf anywhere, are errors.
"""

import re
import sys
import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

SEASON_PREFIX = "season"  # calendar columns of SlidingWindowTransformer: season_sin1, ...

_LAG_NAME = re.compile(r"^(?:(?P<base>.+?)_)?lag_?(?P<lag>\d+)$")
_MAX_ROWS_IN_MESSAGE = 10


def _format_rows(rows):
    rows = [int(row) for row in rows]
    shown = ", ".join(str(row) for row in rows[:_MAX_ROWS_IN_MESSAGE])
    if len(rows) > _MAX_ROWS_IN_MESSAGE:
        shown += f", ... ({len(rows)} rows in total)"
    return f"[{shown}]"


def is_pandas(X):
    """Whether ``X`` is a pandas Series or DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, (pandas.Series, pandas.DataFrame))


def check_numeric_columns(table, input_name="X"):
    """Refuse a pandas table (or Series) with columns that are not numbers,
    naming them: windows hold numbers, and pandas' own message ("could not
    convert string to float") does not say which column."""
    import pandas as pd

    if not is_pandas(table):
        return
    frame = table.to_frame() if table.ndim == 1 else table
    bad = {}
    for number, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        try:  # an object column of numbers is fine
            np.asarray(frame.iloc[:, number], dtype=np.float64)
        except (TypeError, ValueError):
            bad[str(frame.columns[number])] = str(dtype)
    if bad:
        raise ValueError(
            f"{input_name} has columns that are not numeric: "
            + ", ".join(f"{column!r} ({dtype})" for column, dtype in bad.items())
            + ". Windows hold numbers: encode categories first (for example with "
            "OneHotEncoder) or drop those columns."
        )


def reject_sparse(X, input_name="X"):
    """Raise a TypeError for scipy sparse input: windows are dense."""
    if sp.issparse(X):
        raise TypeError(
            f"Sparse input is not supported: {input_name} is a scipy sparse "
            f"{type(X).__name__}, but skattn needs dense windows. Convert it with "
            f"{input_name}.toarray() first."
        )


def rows_with_nonfinite(values, *, kind):
    """Row indices (axis 0) of ``values`` that contain NaN or inf.

    ``kind`` is ``"inf"`` (only infinities) or ``"nonfinite"`` (NaN and inf).
    """
    bad = np.isinf(values) if kind == "inf" else ~np.isfinite(values)
    if values.ndim > 1:
        bad = bad.reshape(len(values), -1).any(axis=1)
    return np.flatnonzero(bad)


def lag_layout(feature_names):
    """How lag-named columns map to windows, or None for other names.

    Parameters
    ----------
    feature_names : sequence of str or None
        Column names such as ``x_lag3`` (feature ``x``, 3 steps before the
        newest), ``lag1`` or ``lag_1`` (one unnamed feature).

    Returns
    -------
    layout : dict or None
        ``bases`` (feature names in order of first appearance), ``lags`` (the
        lags, oldest first) and ``order`` (column indices that put the columns
        time major, oldest step first); None when some name is not a lag name.
        Names that do not form a full grid (a feature lacking a lag the others
        have, lags with a gap, a repeated name) raise ValueError.
    """
    if feature_names is None or len(feature_names) == 0:
        return None
    cells = {}
    for column, name in enumerate(feature_names):
        match = _LAG_NAME.match(str(name))
        if match is None:
            return None
        key = (match["base"] or "", int(match["lag"]))
        if key in cells:
            raise ValueError(
                f"Columns {list(feature_names)[cells[key]]!r} and {name!r} both name lag "
                f"{key[1]} of feature {key[0] or '(unnamed)'!r}; each (feature, lag) "
                "needs exactly one column."
            )
        cells[key] = column
    bases = list(dict.fromkeys(base for base, _ in cells))
    lags = sorted({lag for _, lag in cells}, reverse=True)
    if lags != list(range(lags[0], lags[-1] - 1, -1)):
        raise ValueError(
            f"The lag columns skip lags (they hold lags {sorted(lags)}): windows must be "
            "consecutive steps. Add the missing lags, or rename the columns."
        )
    missing = [f"{base}_lag{lag}" if base else f"lag{lag}"
               for lag in lags for base in bases if (base, lag) not in cells]
    if missing:
        raise ValueError(
            f"The lag columns do not form a full grid of features x lags: missing "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''}. Every feature needs the "
            "same lags."
        )
    order = np.array([cells[(base, lag)] for lag in lags for base in bases])
    return {"bases": bases, "lags": lags, "order": order}


def features_per_step_hint(X, max_rows=2000, max_features=64):
    """The number of features per step that 2-D windows ``X`` appear to hold, or None.

    Consecutive windows of a time-major table repeat each value one step
    earlier in the next row: column ``j`` of row ``t`` is column ``j - F`` of
    row ``t + 1``, up to a per-column scale and shift (a scaler in between).
    The smallest ``F`` for which every such pair of columns correlates
    perfectly is the answer; None when no ``F`` does (shuffled rows, unrelated
    columns, too few complete rows).
    """
    values = np.asarray(X[:max_rows], dtype=np.float64)
    values = values[np.isfinite(values).all(axis=1)]
    n_rows, n_columns = values.shape
    if n_rows < 10 or n_columns < 2:
        return None
    for n_features in range(1, min(max_features, n_columns // 2) + 1):
        if n_columns % n_features:
            continue
        newer, older = values[1:, :-n_features], values[:-1, n_features:]
        newer = newer - newer.mean(axis=0)
        older = older - older.mean(axis=0)
        spread = np.sqrt((newer**2).sum(axis=0) * (older**2).sum(axis=0))
        if not (spread > 0).all():
            continue
        if ((newer * older).sum(axis=0) / spread > 1 - 1e-6).all():
            return n_features
    return None


def _window_shape(estimator, X, *, reset):
    """(n_timesteps, n_features) of 2-D flattened windows ``X``."""
    n_columns = X.shape[1]
    if not reset:
        return n_columns // estimator.n_features_per_step_, estimator.n_features_per_step_
    layout = lag_layout(getattr(estimator, "feature_names_in_", None))
    n_features = estimator.n_features
    if layout is not None:
        if n_features is not None and n_features != len(layout["bases"]):
            raise ValueError(
                f"n_features={n_features}, but the column names hold "
                f"{len(layout['bases'])} feature(s) per step ({layout['bases']}). Set "
                "n_features=None to read it from the names, or rename the columns."
            )
        n_features = len(layout["bases"])
    if n_features is None:
        n_features = 1
        hint = features_per_step_hint(X)
        if hint is not None and hint > 1:
            warnings.warn(
                f"X looks like windows of {hint} features per step (each value comes back "
                f"{hint} columns earlier in the next row), but without n_features or "
                "lag-named columns it is read as 1 feature per step. Set n_features="
                f"{hint} (model__n_features in a Pipeline), or turn pandas output on "
                "(SlidingWindowTransformer(...).set_output(transform='pandas')).",
                UserWarning,
                stacklevel=5,
            )
    if n_columns % n_features != 0:
        raise ValueError(
            f"X has {n_columns} columns, which is not a multiple of n_features="
            f"{n_features}: 2-D X must hold flattened windows of n_timesteps x "
            f"n_features values (time major). Set n_features to the number of "
            f"features per time step, or pass 3-D X of shape "
            f"(n_samples, n_timesteps, n_features)."
        )
    return n_columns // n_features, n_features


def _fast_path_windows(estimator, X):
    """Windows for the common predict call, checked with numpy alone, or None.

    A float numpy array of the fitted shape, with every value finite, needs
    none of the checks below (sklearn's are about 10x the cost of a forward
    pass on one window); anything else takes the full path.
    """
    if not isinstance(X, np.ndarray) or X.dtype not in (np.float32, np.float64) or not len(X):
        return None
    if getattr(estimator, "feature_names_in_", None) is not None:
        return None
    shape = (estimator.n_timesteps_, estimator.n_features_per_step_)
    if X.ndim == 2 and X.shape[1] == estimator.n_features_in_:
        X = X.reshape(len(X), *shape)
    if X.ndim != 3 or X.shape[1:] != shape:
        return None
    if getattr(estimator, "time_order", "oldest_first") == "newest_first":
        X = X[:, ::-1, :]
    X = X.astype(np.float32, copy=False)
    # checked after the cast: a float64 value beyond float32's range becomes
    # inf here, and the full path refuses it as fit does
    return X if np.isfinite(X).all() else None


def validate_windows(estimator, X, y=None, *, reset, y_numeric=True):
    """Check ``X`` (and ``y``) and return float32 windows of shape (n, T, F).

    Parameters
    ----------
    estimator : estimator instance
        On ``reset=True`` this sets ``n_features_in_`` (the number of columns
        of the 2-D form, ``T * F``), ``feature_names_in_`` for pandas input,
        ``n_timesteps_`` and ``n_features_per_step_``. On ``reset=False`` the
        input is checked against them.
    X : array-like of shape (n_samples, n_timesteps, n_features) or \
            (n_samples, n_timesteps * n_features)
        Windows, see the module docstring.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets; checked for length and finiteness when given.
    reset : bool
        True in ``fit``, False afterwards.
    y_numeric : bool, default=True
        Convert ``y`` to float64 (regression). When False, ``y`` is returned
        as a numpy array of labels.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features), float32
    y : ndarray, only when ``y`` was given
    """
    if not reset and y is None:
        windows = _fast_path_windows(estimator, X)
        if windows is not None:
            return windows
    if reset and y is None and estimator.__sklearn_tags__().target_tags.required:
        raise ValueError(
            f"This {type(estimator).__name__} estimator requires y to be passed, "
            "but the target y is None."
        )
    reject_sparse(X)
    # Feature names only: the array checks below need 3-D support and
    # messages that name rows, which check_X_y does not give.
    validate_data(estimator, X, reset=reset, skip_check_array=True, ensure_2d=False)
    X = check_array(
        X,
        dtype=np.float32,
        ensure_2d=False,
        allow_nd=True,
        ensure_all_finite=False,
        ensure_min_samples=2 if reset else 1,
        estimator=estimator,
        input_name="X",
    )
    name = type(estimator).__name__
    if X.ndim == 1:
        raise ValueError(
            "Expected 2D array, got 1D array instead: windows must be 2-D "
            "(n_samples, n_timesteps * n_features) or 3-D (n_samples, n_timesteps, "
            "n_features). Reshape your data either using array.reshape(-1, 1) if "
            "your data has a single feature or array.reshape(1, -1) if it "
            "contains a single sample."
        )
    if X.ndim > 3:
        raise ValueError(
            f"Expected 2-D or 3-D windows, got an array with {X.ndim} dimensions "
            f"and shape {X.shape}."
        )
    if 0 in X.shape[1:]:
        raise ValueError(
            f"Found windows of shape {X.shape[1:]}: at least 1 time step and 1 "
            f"feature are required by {name}."
        )

    n_columns = int(np.prod(X.shape[1:]))
    if reset:
        estimator.n_features_in_ = n_columns
    elif X.ndim == 2 and n_columns != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_columns} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    layout = lag_layout(getattr(estimator, "feature_names_in_", None)) if X.ndim == 2 else None
    if X.ndim == 2:
        n_timesteps, n_features = _window_shape(estimator, X, reset=reset)
        if layout is not None:
            X = X[:, layout["order"]]
        X = X.reshape(len(X), n_timesteps, n_features)
    else:
        n_timesteps, n_features = X.shape[1:]
    if layout is None and getattr(estimator, "time_order", "oldest_first") == "newest_first":
        X = X[:, ::-1, :]
    if reset:
        estimator.n_timesteps_ = n_timesteps
        estimator.n_features_per_step_ = n_features
    elif (n_timesteps, n_features) != (estimator.n_timesteps_, estimator.n_features_per_step_):
        raise ValueError(
            f"X has windows of {n_timesteps} time steps x {n_features} features, "
            f"but {name} was fitted on {estimator.n_timesteps_} time steps x "
            f"{estimator.n_features_per_step_} features."
        )

    inf_rows = rows_with_nonfinite(X, kind="inf")
    if inf_rows.size:
        raise ValueError(
            f"X contains inf (or a value too large for float32) in rows "
            f"{_format_rows(inf_rows)}. Only NaN is allowed, to mark missing values."
        )
    # calendar columns (SlidingWindowTransformer's seasonal_period) are never
    # missing, so a window is empty when its data features are all NaN
    data = [not str(base).startswith(SEASON_PREFIX + "_") for base in layout["bases"]] \
        if layout is not None else [True]
    observed = X if not any(data) or all(data) else X[:, :, np.flatnonzero(data)]
    empty_rows = np.flatnonzero(np.isnan(observed).all(axis=2).all(axis=1))
    if empty_rows.size:
        raise ValueError(
            f"X has windows with no observed time step (all values NaN, calendar "
            f"columns aside) in rows {_format_rows(empty_rows)}; each window needs at "
            "least one observed step."
        )
    if y is None:
        return X

    reject_sparse(y, input_name="y")
    y = check_array(
        y,
        dtype=np.float64 if y_numeric else None,
        ensure_2d=False,
        ensure_all_finite=False,
        ensure_min_samples=0,
        input_name="y",
    )
    check_consistent_length(X, y)
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(
            f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape {y.shape}."
        )
    ignore_missing = getattr(estimator, "missing_target", "raise") == "ignore"
    if y.dtype.kind in "fc":
        bad_rows = rows_with_nonfinite(y, kind="inf" if ignore_missing else "nonfinite")
        if bad_rows.size:
            raise ValueError(
                f"y contains {'inf' if ignore_missing else 'NaN or inf'} in rows "
                f"{_format_rows(bad_rows)}; targets must be finite (drop those rows, or "
                "impute them, before fitting"
                + (")." if ignore_missing else "; or set missing_target='ignore' to train "
                   "on the rows whose target is known).")
            )
    return X, y


def as_tensor(X, device):
    """A torch tensor of ``X`` on ``device``, copying read-only arrays (memmaps)
    and arrays that are not C-contiguous (negative strides, ``X[:, ::-1]``),
    which torch cannot wrap.

    A tensor is moved (a no-op when it is already there).
    """
    if isinstance(X, torch.Tensor):
        return X.to(device)
    return torch.from_numpy(np.require(X, requirements=["W", "C"])).to(device)


def check_positive_int(value, name):
    """Raise ValueError unless ``value`` is an int >= 1 (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)
