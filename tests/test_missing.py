"""NaN marks missing steps: masked out of the attention, still predicted."""

import numpy as np
from conftest import ar_series
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionLSTMRegressor, SlidingWindowTransformer, make_supervised

FAST = {"hidden_size": 8, "max_epochs": 5, "batch_size": 32, "lr": 1e-2, "random_state": 0}


def test_padded_first_rows_predict_with_zero_attention_on_missing_steps():
    series, _ = ar_series(200, seed=0)
    X, y = make_supervised(series)
    window_size = 12
    pipe = Pipeline(
        [
            ("window", SlidingWindowTransformer(window_size=window_size)),
            ("scale", StandardScaler()),
            ("model", AttentionLSTMRegressor(**FAST)),
        ]
    ).fit(X, y)
    head = X[:window_size]
    predictions = pipe.predict(head)
    assert np.isfinite(predictions).all()
    windows = pipe[:-1].transform(head)
    attention = pipe.named_steps["model"].predict_attention(windows)
    for row in range(window_size):
        n_missing = window_size - 1 - row
        assert (attention[row, :n_missing] == 0.0).all()  # exactly zero
        assert (attention[row, n_missing:] > 0.0).all()
        np.testing.assert_allclose(attention[row].sum(), 1.0, rtol=1e-5)
    # the row with a single observed step puts all its attention there
    np.testing.assert_allclose(attention[0, -1], 1.0, rtol=1e-6)


def test_missing_steps_in_the_middle_and_partial_steps():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6, 2))
    y = X[:, -1, 0]
    X[::3, 2, :] = np.nan  # a whole missing step
    X[1::3, 4, 1] = np.nan  # one missing value: the step stays observed
    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    attention = reg.predict_attention(X)
    assert (attention[::3, 2] == 0.0).all()
    assert (attention[1::3, 4] > 0.0).all()
    assert np.isfinite(reg.predict(X)).all()
    assert np.isfinite(reg.attention_weights_).all()
