"""Closed-form forecasting parts, in numpy: no torch here.

The estimators call these before and after training:

- :func:`find_target_feature` finds the input feature that is the target's
  own history (its newest value forecasts ``y`` best), which the network
  forecasts relative to (the level-free form of :class:`~skattn._modules.AttentionRNN`);
- :func:`skip_ridge` fits the fixed linear skip of ``linear_skip=True``;
- :func:`correction_weights` weighs the trained network's correction of the
  linear part by what it adds on the validation windows.
"""

import numpy as np
from scipy import stats
from sklearn.linear_model import RidgeCV

RIDGE_ALPHAS = np.logspace(-4, 3, 15)
# fewest windows a step is observed in for a spread of its own (feature_moments)
MIN_STEP_COUNT = 10
KPSS_CRITICAL_VALUE = 0.463  # level stationarity, 5% (Kwiatkowski et al. 1992)
WEIGHT_LEVEL = 0.95  # the network's weight is the one-sided 95% lower confidence bound


def fill_from_latest(X):
    """Windows (n, T, F) with each missing value set to its feature's last observed one.

    A feature never observed in a window is 0 there, as the module does.
    """
    observed = ~np.isnan(X)
    steps = np.arange(1, X.shape[1] + 1)[None, :, None]
    last_step = (observed * steps).argmax(axis=1)  # (n, F)
    latest = np.take_along_axis(np.nan_to_num(X), last_step[:, None, :], axis=1)
    return np.where(observed, X, latest)


def ridge_cv(columns, targets):
    """(coef, intercept) of RidgeCV, the penalty chosen by leave-one-out."""
    ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(columns, targets)
    return ridge.coef_, ridge.intercept_


def standardized_ridge(columns, targets, fit):
    """Run ``fit`` on standardised columns; return (coef, intercept) for the raw ones."""
    center = columns.mean(axis=0)
    scale = columns.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    coef, intercept = fit((columns - center) / scale, targets)
    coef = np.reshape(coef, (targets.shape[1], -1)) / scale
    return coef, np.reshape(intercept, -1) - coef @ center


def skip_ridge(X, targets, y_mean, y_scale):
    """(coef, intercept, anchor) of the linear skip, for filled windows ``X`` (n, T, F).

    ``targets`` are the standardised targets ``(y - y_mean) / y_scale``. If
    the newest value of some feature forecasts ``y`` (in its own units) better
    than the mean of ``y`` does, the feature closest to ``y`` is taken for the
    target's own history (the anchor) and the skip forecasts the *change*
    from its newest value: a ridge on the window relative to that value, in
    the raw units, so it shrinks towards "the next value is the last one"
    and keeps working when the level leaves the training range. Otherwise
    (no such feature, e.g. X was scaled before the model) it is a ridge whose
    newest-step coefficients are not penalised (:func:`anchored_ridge`).
    Columns are standardised inside the fits, so the penalty treats features
    alike whatever their units.
    """
    n_samples, n_timesteps, n_features = X.shape
    y = targets * y_scale + y_mean
    newest = X[:, -1, :]
    persistence_error = ((y[:, :, None] - newest[:, None, :]) ** 2).mean(axis=(0, 1))
    anchor = int(np.argmin(persistence_error))
    if persistence_error[anchor] >= y.var(axis=0).mean() or n_timesteps == 1:
        coef, intercept = standardized_ridge(
            X.reshape(n_samples, -1),
            targets,
            lambda columns, t: anchored_ridge(columns, t, n_features),
        )
        return coef, intercept, None
    relative = X.copy()
    relative[:, :, anchor] -= newest[:, anchor, None]
    change = targets - (newest[:, anchor, None] - y_mean) / y_scale
    coef, intercept = standardized_ridge(relative.reshape(n_samples, -1), change, ridge_cv)
    # back to a map of the raw window: relative = X - newest on the anchor's columns
    coef = coef.reshape(len(coef), n_timesteps, n_features)
    newest_coef = 1 / y_scale - coef[:, :, anchor].sum(axis=1)
    coef[:, -1, anchor] += newest_coef
    return coef.reshape(len(coef), -1), intercept - y_mean / y_scale, anchor


def anchored_ridge(X_flat, targets, n_features):
    """(coef, intercept) of a ridge whose newest-step coefficients are free.

    ``X_flat`` is time major, so its last ``n_features`` columns are the newest
    step. Those and the intercept are not penalised: the ridge shrinks the
    older lags towards "the target is a linear function of the latest values"
    (a persistence-like prior) rather than towards the mean. The free part is
    projected out (Frisch-Waugh), RidgeCV picks the penalty of the rest by
    leave-one-out, and the free coefficients are refitted by least squares.
    With too few windows for free coefficients (fewer than 5 a coefficient),
    or a single time step, it is a plain RidgeCV.
    """
    n_samples, n_columns = X_flat.shape
    if n_columns == n_features or n_samples < 5 * (n_features + 1):
        return ridge_cv(X_flat, targets)
    free = np.column_stack([np.ones(n_samples), X_flat[:, -n_features:]])
    older = X_flat[:, :-n_features]

    def residual(values):
        return values - free @ np.linalg.lstsq(free, values, rcond=None)[0]

    ridge = RidgeCV(alphas=RIDGE_ALPHAS, fit_intercept=False)
    ridge.fit(residual(older), residual(targets))
    older_coef = ridge.coef_.reshape(targets.shape[1], -1)
    free_coef = np.linalg.lstsq(free, targets - older @ older_coef.T, rcond=None)[0]
    return np.hstack([older_coef, free_coef[1:].T]), free_coef[0]


# The newest value of a feature must explain at least this share of the
# target's variance (R^2 of an affine fit) to be taken for its history.
TARGET_FEATURE_MIN_R2 = 0.2


def newest_observed(X):
    """The newest observed value of each feature in each window, (n, F); NaN
    where a feature is never observed. No copy of the whole of ``X``: steps
    are read from the newest back only while some value is still missing."""
    newest = X[:, -1, :].astype(np.float64)
    for step in range(X.shape[1] - 2, -1, -1):
        missing = np.isnan(newest)
        if not missing.any():
            break
        newest[missing] = X[:, step, :][missing]
    return newest


def newest_fit(X, targets):
    """Affine fits of each target on the newest observed value of each feature.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
        Windows; NaN marks missing values.
    targets : ndarray of shape (n_samples, n_outputs)

    Returns
    -------
    r2 : ndarray of shape (n_features,)
        R^2 of the fits, averaged over the outputs (0 for a constant feature).
    slope, intercept : ndarray of shape (n_features, n_outputs)
        ``targets ~ intercept + slope * newest``.
    """
    newest = newest_observed(X)  # (n, F)
    seen = ~np.isnan(newest)  # the feature is observed in the window
    n_features, n_outputs = X.shape[2], targets.shape[1]
    r2 = np.zeros(n_features)
    slope = np.zeros((n_features, n_outputs))
    intercept = np.zeros((n_features, n_outputs))
    for feature in range(n_features):
        rows = seen[:, feature]
        values, y = newest[rows, feature], targets[rows]
        if rows.sum() < 3 or values.std() == 0:
            intercept[feature] = targets.mean(axis=0)
            continue
        centered = values - values.mean()
        ls_slope = centered @ (y - y.mean(axis=0)) / (centered @ centered)
        residual = y - y.mean(axis=0) - np.outer(centered, ls_slope)
        variance = y.var(axis=0)
        explained = 1 - residual.var(axis=0) / np.where(variance > 0, variance, 1.0)
        r2[feature] = np.mean(np.where(variance > 0, explained, 0.0))
        slope[feature] = ls_slope
        intercept[feature] = y.mean(axis=0) - slope[feature] * values.mean()
    return r2, slope, intercept


def proportional_level(history, targets, y_mean, y_scale, loss_scale):
    """The map of a feature's newest value to standardised targets that is
    proportional in the target's units: ``target ~ factor * newest``.

    ``history`` (n, T) is the feature in the windows, ``targets`` (n, outputs)
    standardised with ``y_mean`` and ``y_scale``; each row's squared error
    counts divided by ``loss_scale ** 2`` (its series' scale), so the factor
    is not set by the largest series alone. Returns ``(slope, intercept)`` of
    the map to the standardised targets (a factor of 1 when the feature is
    never observed or always zero).
    """
    newest = newest_observed(history[:, :, None])[:, 0]
    seen = np.isfinite(newest)
    values = newest[seen]
    weight = np.asarray(loss_scale, dtype=np.float64)[seen] ** -2.0
    raw = targets[seen].astype(np.float64) * y_scale + y_mean
    denominator = (weight * values) @ values
    factor = (weight * values) @ raw / denominator if denominator > 0 else np.ones_like(y_mean)
    return factor / y_scale, -y_mean / y_scale


def find_target_feature(X, targets, requested="auto", names=None):
    """The feature taken for the target's own history, and its map to the target.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    targets : ndarray of shape (n_samples, n_outputs)
    requested : "auto", None, int or str
        "auto": the feature whose newest value forecasts the targets best,
        if it explains at least ``TARGET_FEATURE_MIN_R2`` of their variance;
        None: no feature; an int or a name (from ``names``): that feature.
    names : sequence of str, optional
        Feature names, for ``requested`` given as a name.

    Returns
    -------
    feature : int or None
    slope, intercept : ndarray of shape (n_outputs,) or None
        ``targets ~ intercept + slope * newest value of the feature``.
    """
    if requested is None:
        return None, None, None
    r2, slope, intercept = newest_fit(X, targets)
    if requested == "auto":
        feature = int(np.argmax(r2))
        if r2[feature] < TARGET_FEATURE_MIN_R2:
            return None, None, None
    elif isinstance(requested, str):
        names = [str(name) for name in (names if names is not None else [])]
        if requested not in names:
            raise ValueError(
                f"target_feature={requested!r} is not a feature name; the features "
                f"per step are {names}."
            )
        feature = names.index(requested)
    else:
        feature = int(requested)
        if not 0 <= feature < X.shape[2]:
            raise ValueError(
                f"target_feature={requested} is out of range: the windows have "
                f"{X.shape[2]} feature(s) per step."
            )
    return feature, slope[feature], intercept[feature]


def correction_weights(residuals, corrections, lags=None, level=WEIGHT_LEVEL):
    """How much of a correction to add to a forecast, per output: a lower bound.

    ``residuals`` (n, k) are what a base forecast missed (target - base) and
    ``corrections`` (n, k) what a second model would add to it, on held-out
    rows in time order. Per column, the least-squares weight
    ``w = <r, c> / <c, c>`` of the combination ``base + w * correction`` is
    estimated with its standard error (no intercept, residual variance on
    n - 1 degrees of freedom), and the weight returned is its one-sided lower
    confidence bound ``w - t * se`` (``t`` the ``level`` quantile of Student's
    t with n - 1 degrees of freedom), clipped to [0, 1]. It is positive only
    where the correction carries information the base forecast lacks by more
    than chance (a forecast-encompassing test, Harvey, Leybourne and Newbold
    1998, at 5% by default), and it shrinks a correction that fits the
    held-out rows only in part. ``lags`` (k,) says how many neighbouring rows
    share each column's errors (``h - 1`` for a target ``h`` steps ahead from
    overlapping windows); where positive, the standard error is the larger of
    the plain one and a Newey-West one with that many lags. Fewer than 2 rows
    or a zero correction give 0.
    """
    residuals = np.asarray(residuals, dtype=np.float64)
    corrections = np.asarray(corrections, dtype=np.float64)
    n, n_columns = residuals.shape
    weights = np.zeros(n_columns)
    if n < 2:
        return weights
    lags = np.zeros(n_columns, dtype=int) if lags is None else np.asarray(lags, dtype=int)
    critical_value = stats.t.ppf(level, n - 1)
    for column in range(n_columns):
        r, c = residuals[:, column], corrections[:, column]
        energy = c @ c
        if not energy > 0:
            continue
        weight = (r @ c) / energy
        misfit = r - weight * c
        variance = (misfit @ misfit) / (n - 1) / energy
        n_lags = min(int(lags[column]), n - 1)
        if n_lags > 0:
            variance = max(variance, bartlett_sum(c * misfit, n_lags) / energy**2)
        weights[column] = np.clip(weight - critical_value * np.sqrt(variance), 0.0, 1.0)
    return weights


def bartlett_sum(values, n_lags):
    """``n`` times the long-run variance of ``values`` (n,) with Bartlett
    weights over ``n_lags`` lags (Newey-West): the sum of squares plus twice
    each lag's weighted cross products, weight ``1 - lag / (n_lags + 1)``."""
    total = values @ values
    for lag in range(1, n_lags + 1):
        total += 2 * (1 - lag / (n_lags + 1)) * (values[lag:] @ values[:-lag])
    return total


def conformal_quantiles(scores, coverages):
    """Split-conformal quantiles of ``scores`` (n, k, ...) along the first axis.

    For the coverage ``c`` of row ``j`` of the second axis, the
    ceil((n + 1) c)-th smallest score (the largest when that rank exceeds n):
    an interval widened by it covers a new exchangeable score with
    probability at least ``c``.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64), axis=0)
    n = len(scores)
    exact = np.round((n + 1) * np.asarray(coverages, dtype=np.float64), 9)  # 0.9 - 0.1 is not 0.8
    ranks = np.minimum(np.ceil(exact).astype(int), n) - 1
    return np.stack([scores[rank, j] for j, rank in enumerate(ranks)])


def feature_moments(X, chunk_rows=65536, per_step=False, pooled=True):
    """Per-feature mean and standard deviation of windows (n, T, F), NaN ignored.

    Computed in chunks of rows in float64, so large inputs need no full-size
    temporary copy, and around each feature's newest value in the first
    window (a shifted sum of squares), so a large level with a small spread
    (1e8 +- 1) loses no precision. A feature never observed gets (0, 1); a
    constant one a standard deviation of 1.

    With ``per_step`` the means are per step and feature, shape (T, F), and
    the standard deviation (F,) is pooled over the steps around their own
    means; with ``pooled=False`` as well, it is per step too (T, F), as a
    StandardScaler on the flattened windows computes it, except for steps
    observed in fewer than ``MIN_STEP_COUNT`` windows or constant there,
    which take the pooled one.
    """
    n_timesteps, n_features = X.shape[1], X.shape[2]
    shift = np.nan_to_num(newest_observed(X[:1])[0])
    count = np.zeros((n_timesteps, n_features))
    total = np.zeros((n_timesteps, n_features))
    squares = np.zeros((n_timesteps, n_features))
    for start in range(0, len(X), chunk_rows):
        chunk = X[start : start + chunk_rows].astype(np.float64)
        observed = ~np.isnan(chunk)
        values = np.where(observed, chunk - shift, 0.0)
        count += observed.sum(axis=0)
        total += values.sum(axis=0)
        squares += (values**2).sum(axis=0)
    if not per_step:
        count, total, squares = count.sum(axis=0), total.sum(axis=0), squares.sum(axis=0)
    seen = count > 0
    shifted_mean = total / np.maximum(count, 1)
    mean = np.where(seen, shift + shifted_mean, 0.0)
    deviations = np.where(seen, squares - count * shifted_mean**2, 0.0)
    n_seen = count
    if per_step:
        # a step never observed takes its feature's overall mean
        overall = total.sum(axis=0) / np.maximum(count.sum(axis=0), 1)
        mean = np.where(seen, mean, shift + overall)
        mean = np.where(count.sum(axis=0) > 0, mean, 0.0)
        pooled_variance = deviations.sum(axis=0) / np.maximum(count.sum(axis=0), 1)
        if pooled:
            deviations, n_seen = deviations.sum(axis=0), count.sum(axis=0)
    variance = deviations / np.maximum(n_seen, 1)
    if per_step and not pooled:
        # a step seen in few windows (the padded start of a short series) or
        # not varying there has no spread of its own to trust: the pooled one
        few = (count < MIN_STEP_COUNT) | (variance <= 1e-24 * np.maximum(mean**2, 1.0))
        variance = np.where(few, pooled_variance, variance)
    std = np.sqrt(np.maximum(variance, 0.0))
    level = np.abs(mean).max(axis=0) if per_step else np.abs(mean)
    return mean, np.where(std > 1e-12 * np.maximum(level, 1.0), std, 1.0)


def spread_floor(history, scale, series=None):
    """Smallest window spread of the target feature, in its units.

    A tenth of the mean absolute change between the two newest steps of the
    training windows (``history`` is (n, T)), so a flat window cannot divide
    by zero; ``1e-6 * scale`` when the feature never changes there. With
    ``series`` (the rows of each series of a panel) the smallest such value
    over the series that change, so that no series' windows are flattened by
    the spread of a larger one.
    """
    floors = []
    if history.shape[1] > 1:
        steps = np.abs(history[:, -1].astype(np.float64) - history[:, -2])
        for rows in [slice(None)] if series is None else series:
            changes = steps[rows]
            changes = changes[np.isfinite(changes)]
            if changes.size and changes.mean() > 0:
                floors.append(0.1 * changes.mean())
    return min(floors) if floors else 1e-6 * scale


def history_bounds(history, center, scale, chunk_rows=65536):
    """Smallest and largest standardised value of the target feature in the
    training windows (``history`` (n, T), ``center`` (T,)), NaN ignored;
    (-1, 1) when nothing is observed."""
    low, high = np.inf, -np.inf
    for start in range(0, len(history), chunk_rows):
        chunk = (history[start : start + chunk_rows].astype(np.float64) - center) / scale
        chunk = chunk[np.isfinite(chunk)]
        if chunk.size:
            low, high = min(low, chunk.min()), max(high, chunk.max())
    return np.array([low, high]) if low <= high else np.array([-1.0, 1.0])


def naive_level(history, targets, tolerance=1e-5):
    """The map "next value = newest value + the average change", in the
    target's units, when consecutive windows show those units; else None.

    In windows cut from one series in time order, the newest value of window
    ``i + k + 1`` is the target ``k`` steps ahead of window ``i``, whatever
    affine scaler came in between: ``targets[i, k] = a + b * newest[i + k + 1]``
    holds exactly for most rows (not across the breaks of a split or a gap).
    When at least half of the consecutive pairs agree with one map to
    ``tolerance`` (relative to the targets' spread), its slope ``b`` converts
    the feature's units to the targets', and the intercept is set so that the
    map adds the mean change over the training windows (a random walk with
    drift). ``history`` is (n, T), ``targets`` (n, outputs). Returns
    ``(slope, intercept)`` of shape (outputs,), or None (rows not in time
    order, or a feature that is not the target's own history).
    """
    newest = newest_observed(history[:, :, None])[:, 0].astype(np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    n_samples, n_outputs = targets.shape
    seen = np.isfinite(newest)
    slopes, intercepts = np.empty(n_outputs), np.empty(n_outputs)
    for k in range(n_outputs):
        # each output has its own standardisation, so its own map
        x, y = newest[k + 1 :], targets[: n_samples - k - 1, k]
        usable = np.isfinite(x) & np.isfinite(y)
        x, y = x[usable], y[usable]
        if len(x) < 4:
            return None
        dx, dy = np.diff(x), np.diff(y)
        moving = dx != 0
        if not moving.any():
            return None
        slope = np.median(dy[moving] / dx[moving])
        offset = np.median(y - slope * x)
        # the windows' own precision (float32 at a level of 1e5 resolves about
        # 0.01) bounds how exactly they can agree; data too coarse to tell
        # the map from a fit gets none
        resolution = 4 * abs(slope) * np.spacing(np.abs(x).astype(history.dtype)).astype(float)
        spread = max(y.std(), 1e-12)
        if slope == 0 or np.median(resolution) > 1e-3 * spread:
            return None
        agree = (np.abs(y - offset - slope * x)
                 <= tolerance * spread + 1e-6 * np.abs(y) + resolution)
        if agree.mean() < 0.5:
            return None
        slopes[k] = slope
        intercepts[k] = np.mean(targets[seen, k] - slope * newest[seen])
    return slopes, intercepts


def level_stationary(history):
    """Whether the KPSS test accepts that the series is stationary around a
    mean (5% level), as auto-ARIMA decides whether to difference.

    ``history`` (n, T) holds windows in time order; the series is the first
    window followed by the newest value of each later one. Under the test's
    null the level pulls the next value back towards the mean (sunspots, El
    Nino), and an affine map of the newest value forecasts better than the
    newest value plus drift; a rejection (trending series, prices, interest
    rates) means the series is integrated.
    The long-run variance uses Bartlett weights over ``4 (n / 100) ** 0.25``
    lags (Kwiatkowski et al. 1992; R's ``tseries::kpss.test`` "short" lags).
    """
    newest = newest_observed(history[:, :, None])[:, 0]
    series = np.concatenate([history[0], newest[1:]]).astype(np.float64)
    series = series[np.isfinite(series)]
    n = len(series)
    if n < 4:
        return True
    residual = series - series.mean()
    n_lags = min(int(4 * (n / 100) ** 0.25), n - 1)
    variance = bartlett_sum(residual, n_lags) / n
    if variance <= 0:
        return True
    statistic = (np.cumsum(residual) ** 2).sum() / (n**2 * variance)
    return bool(statistic <= KPSS_CRITICAL_VALUE)
