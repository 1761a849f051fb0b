"""Planted-signal data sets (REFERENCE section 1, and a panel version), generated,
never downloaded."""

import numpy as np


def _planted(n_samples, n_timesteps, n_features, random_state):
    rng = np.random.default_rng(random_state)
    X = rng.normal(size=(n_samples, n_timesteps, n_features))
    y = rng.integers(0, 2, size=n_samples).astype(float)
    return X, y


def make_planted_step(n_samples=30000, n_timesteps=20, n_features=2, step=10, random_state=None):
    """Windows of noise in which one time step carries the target.

    ``X ~ N(0, 1)`` of shape (n_samples, n_timesteps, n_features), ``y`` drawn
    from {0, 1}, then ``X[:, step, :] = y``: only ``step`` holds information,
    so a faithful temporal attention should peak there. The defaults are the
    Keras ``attention_3d_block`` recipe's ``get_data_recurrent``.

    Parameters
    ----------
    n_samples, n_timesteps, n_features : int
        Shape of ``X``.
    step : int, default=10
        The informative time step (0 is the oldest).
    random_state : int, numpy Generator or None, default=None
        Seed of the numpy generator.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    y : ndarray of shape (n_samples,), values 0.0 and 1.0

    Examples
    --------
    >>> from skattn.datasets import make_planted_step
    >>> X, y = make_planted_step(5, n_timesteps=4, n_features=1, step=2, random_state=0)
    >>> bool((X[:, 2, 0] == y).all())
    True
    """
    X, y = _planted(n_samples, n_timesteps, n_features, random_state)
    X[:, step, :] = y[:, None]
    return X, y


def make_planted_feature(
    n_samples=30000, n_timesteps=6, n_features=10, feature=5, random_state=None
):
    """Windows of noise in which one feature carries the target at every step.

    As :func:`make_planted_step`, but ``X[:, :, feature] = y``: the attention
    over features should peak at ``feature`` while attention over time stays
    flat (the recipe's ``get_data_recurrent2``).

    Parameters
    ----------
    n_samples, n_timesteps, n_features : int
        Shape of ``X``.
    feature : int, default=5
        The informative feature.
    random_state : int, numpy Generator or None, default=None
        Seed of the numpy generator.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    y : ndarray of shape (n_samples,), values 0.0 and 1.0
    """
    X, y = _planted(n_samples, n_timesteps, n_features, random_state)
    X[:, :, feature] = y[:, None]
    return X, y


def make_planted_panel(n_series=30, lag=7, min_length=80, max_length=300, strength=0.95,
                       random_state=None):
    """A panel in which every series' next value depends on one past value.

    Series ``i`` is ``level_i + scale_i * e_t`` with
    ``e_t = strength * e_(t-lag) + sqrt(1 - strength**2) * noise``: its next
    value is forecast by the value ``lag - 1`` steps before its newest one
    and, in windows shorter than ``2 * lag``, by no other. Lengths are drawn
    from [min_length, max_length), scales log-uniformly over five orders of
    magnitude (1e-2 to 1e3) and levels up to 20 scales from zero, so one
    network must serve series on very different scales. In windows of
    ``window_size`` rows (``lag <= window_size < 2 * lag``) the planted step
    is ``window_size - lag`` (0 is the oldest).

    Parameters
    ----------
    n_series : int, default=30
    lag : int, default=7
        The planted lag, at least 1.
    min_length, max_length : int, default=80, 300
        Range of the series lengths (rows).
    strength : float, default=0.95
        Correlation of a value with the planted past value, in (-1, 1).
    random_state : int, numpy Generator or None, default=None
        Seed of the numpy generator.

    Returns
    -------
    series : pandas Series
        Indexed by a ("series", "time") MultiIndex, named "value"; feed it to
        :func:`skattn.make_supervised`.

    Examples
    --------
    >>> from skattn.datasets import make_planted_panel
    >>> series = make_planted_panel(n_series=3, lag=5, random_state=0)
    >>> series.index.names
    FrozenList(['series', 'time'])
    >>> int(series.index.get_level_values("series").nunique())
    3
    """
    import pandas as pd

    if lag < 1 or not -1 < strength < 1 or not 1 <= min_length < max_length:
        raise ValueError(
            "make_planted_panel needs lag >= 1, -1 < strength < 1 and "
            f"1 <= min_length < max_length; got lag={lag}, strength={strength}, "
            f"min_length={min_length}, max_length={max_length}."
        )
    rng = np.random.default_rng(random_state)
    parts = []
    for number in range(n_series):
        length = int(rng.integers(min_length, max_length))
        scale = 10.0 ** rng.uniform(-2, 3)
        level = scale * rng.uniform(-20, 20)
        noise = rng.normal(size=length + lag)
        values = noise.copy()
        for t in range(lag, length + lag):
            values[t] = strength * values[t - lag] + np.sqrt(1 - strength**2) * noise[t]
        index = pd.MultiIndex.from_product([[f"s{number}"], range(length)],
                                           names=["series", "time"])
        parts.append(pd.Series(level + scale * values[lag:], index=index, name="value"))
    return pd.concat(parts)
