"""scikit-learn's own estimator checks over every public estimator.

No check is expected to fail. SlidingWindowTransformer declares two checks
that cannot apply to it: windows are built from neighbouring rows, so its
output depends on the order and the grouping of the rows by design.
"""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from skattn import AttentionLSTMClassifier, AttentionLSTMRegressor, SlidingWindowTransformer

FAST = {"hidden_size": 8, "max_epochs": 20, "batch_size": 16, "lr": 1e-2, "random_state": 0}

ROW_ORDER_REASON = (
    "a window holds the rows before it, so permuting or splitting the rows changes "
    "the windows by design"
)


def expected_failed_checks(estimator):
    if isinstance(estimator, SlidingWindowTransformer) and estimator.window_size > 1:
        return {
            "check_methods_sample_order_invariance": ROW_ORDER_REASON,
            "check_methods_subset_invariance": ROW_ORDER_REASON,
        }
    return {}


@parametrize_with_checks(
    [
        AttentionLSTMRegressor(**FAST),
        AttentionLSTMRegressor(quantiles=(0.1, 0.9), **FAST),
        AttentionLSTMClassifier(**FAST),
        SlidingWindowTransformer(window_size=3),
        SlidingWindowTransformer(window_size=1, fill_value=0.0),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_expected_failures_are_real():
    """The declared failures must fail: a stale declaration is an error too."""
    import pytest
    from sklearn.utils.estimator_checks import (
        check_methods_sample_order_invariance,
        check_methods_subset_invariance,
    )

    transformer = SlidingWindowTransformer(window_size=3)
    for check in (check_methods_sample_order_invariance, check_methods_subset_invariance):
        with pytest.raises(AssertionError):
            check("SlidingWindowTransformer", transformer)
    assert np.isnan(transformer.fit_transform(np.ones((3, 1)))[0, 0])
