"""scikit-learn's own estimator checks over every public estimator.

SlidingWindowTransformer declares two checks that cannot apply to it:
windows are built from neighbouring rows, so its output depends on the order
and the grouping of the rows by design. The networks declare one: a weight of
2 is not the same as the row twice, because training draws shuffled
mini-batches, and a repeated row changes every batch after it (as for
scikit-learn's own SGD and MLP estimators). No other check may fail.
"""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from skattn import AttentionLSTMClassifier, AttentionLSTMRegressor, SlidingWindowTransformer

FAST = {"hidden_size": 8, "max_epochs": 20, "batch_size": 16, "lr": 1e-2, "random_state": 0}

ROW_ORDER_REASON = (
    "a window holds the rows before it, so permuting or splitting the rows changes "
    "the windows by design"
)


MINI_BATCH_REASON = (
    "a weight of 2 is not the row twice: repeating a row changes the shuffled "
    "mini-batches of the whole training run"
)


def expected_failed_checks(estimator):
    if isinstance(estimator, SlidingWindowTransformer) and estimator.window_size > 1:
        return {
            "check_methods_sample_order_invariance": ROW_ORDER_REASON,
            "check_methods_subset_invariance": ROW_ORDER_REASON,
        }
    if isinstance(estimator, (AttentionLSTMRegressor, AttentionLSTMClassifier)):
        return {"check_sample_weight_equivalence_on_dense_data": MINI_BATCH_REASON}
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
        check_sample_weight_equivalence_on_dense_data,
    )

    transformer = SlidingWindowTransformer(window_size=3)
    for check in (check_methods_sample_order_invariance, check_methods_subset_invariance):
        with pytest.raises(AssertionError):
            check("SlidingWindowTransformer", transformer)
    for estimator in (AttentionLSTMRegressor(**FAST), AttentionLSTMClassifier(**FAST)):
        with pytest.raises(AssertionError):
            check_sample_weight_equivalence_on_dense_data(type(estimator).__name__, estimator)
    assert np.isnan(transformer.fit_transform(np.ones((3, 1)))[0, 0])
