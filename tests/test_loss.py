"""The ``loss`` parameter: what training minimises."""

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score

from skattn import AttentionLSTMClassifier, AttentionLSTMRegressor, load, save


def heavy_tailed(n, seed):
    """Windows whose target is one step's value plus Cauchy noise (outliers)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8, 1))
    return X, X[:, 3, 0], X[:, 3, 0] + 0.1 * rng.standard_cauchy(size=n)


@pytest.mark.parametrize(
    "loss, criterion",
    [("auto", torch.nn.MSELoss), ("squared_error", torch.nn.MSELoss),
     ("absolute_error", torch.nn.L1Loss), ("huber", torch.nn.HuberLoss)],
)
def test_each_regression_loss_trains_its_criterion(loss, criterion, fast):
    X, _, y = heavy_tailed(60, 0)
    reg = AttentionLSTMRegressor(loss=loss, **fast).fit(X, y)
    assert type(reg.net_.criterion_) is criterion


def test_absolute_error_is_robust_to_outliers():
    X, clean, noisy = heavy_tailed(300, 0)
    X_test, clean_test, _ = heavy_tailed(300, 1)
    scores = {}
    for loss in ("squared_error", "absolute_error"):
        reg = AttentionLSTMRegressor(loss=loss, max_epochs=30, random_state=0, n_threads=1)
        reg.fit(X, noisy)
        scores[loss] = r2_score(clean_test, reg.predict(X_test))
    # the median of Cauchy noise is the clean signal; its mean is not defined
    assert scores["absolute_error"] > 0.97
    assert scores["absolute_error"] > scores["squared_error"] + 0.02


def test_a_loss_of_the_other_estimator_is_refused(fast):
    X, _, y = heavy_tailed(40, 0)
    with pytest.raises(ValueError, match="not a loss of AttentionLSTMClassifier.*log_loss"):
        AttentionLSTMClassifier(loss="absolute_error", **fast).fit(X, y > 0)
    with pytest.raises(ValueError, match="not a loss of AttentionLSTMRegressor.*absolute_error"):
        AttentionLSTMRegressor(loss="log_loss", **fast).fit(X, y)
    with pytest.raises(ValueError, match="'loss' parameter"):
        AttentionLSTMRegressor(loss="l1", **fast).fit(X, y)
    clf = AttentionLSTMClassifier(loss="log_loss", **fast).fit(X, y > 0)
    assert type(clf.net_.criterion_) is torch.nn.CrossEntropyLoss


def test_the_constant_baseline_follows_the_loss():
    """The "learned little" warning compares with the best constant of the loss:
    the median and mean absolute deviation for absolute errors."""
    targets = np.array([[0.0], [0.0], [1.0], [10.0]], dtype=np.float32)
    absolute = AttentionLSTMRegressor(loss="absolute_error")._constant_loss(targets)
    squared = AttentionLSTMRegressor()._constant_loss(targets)
    assert absolute == pytest.approx(np.mean(np.abs(targets - 0.5)))
    assert squared == pytest.approx(targets.var())


def test_the_loss_is_saved(tmp_path, fast):
    X, _, y = heavy_tailed(60, 0)
    reg = AttentionLSTMRegressor(loss="absolute_error", **fast).fit(X, y)
    save(reg, tmp_path / "model.skattn")
    loaded = load(tmp_path / "model.skattn")
    assert loaded.loss == "absolute_error"
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X), rtol=1e-6)
