"""Planted-signal data sets (REFERENCE section 1), generated, never downloaded."""

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
