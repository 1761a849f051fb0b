"""Bad input gets a ValueError or TypeError that names the problem, never a torch error."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skattn import (
    AttentionLSTMClassifier,
    AttentionLSTMRegressor,
    SlidingWindowTransformer,
    make_supervised,
)

FAST = {"hidden_size": 4, "max_epochs": 1, "batch_size": 16, "random_state": 0}
RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(20, 5, 2))
Y = RNG.normal(size=20)


@pytest.fixture(params=[AttentionLSTMRegressor, AttentionLSTMClassifier])
def estimator(request):
    return request.param(**FAST)


def labels_for(estimator, y):
    return (y > 0).astype(int) if isinstance(estimator, AttentionLSTMClassifier) else y


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (np.empty((0, 5, 2)), np.empty(0), ValueError, "0 sample"),
        (X3, Y[:-1], ValueError, "inconsistent numbers of samples"),
        (X3[:1], Y[:1], ValueError, "1 sample"),
        (np.where(np.arange(20)[:, None, None] == 3, np.inf, X3), Y, ValueError,
         r"inf .*rows \[3\]"),
        (np.where(np.arange(20)[:, None, None] == 7, np.nan, X3), Y, ValueError,
         r"no observed time step .*rows \[7\]"),
        (np.full((20, 5, 2), "a", dtype=object), Y, ValueError, "could not convert"),
        (X3 + 1j, Y, ValueError, "[Cc]omplex"),
        (X3[:, :, 0], Y, None, None),  # 2-D works: univariate windows
        (X3[:, 0, 0], Y, ValueError, "Expected 2D array"),
        (X3[:, :0, :], Y, ValueError, "at least 1 time step"),
    ],
    ids=["empty", "lengths", "one-sample", "inf", "all-missing-window", "strings", "complex",
         "2d-ok", "1d", "no-steps"],
)
def test_bad_X_at_fit(estimator, X, y, error, match):
    y = labels_for(estimator, y)
    if error is None:
        estimator.fit(X, y)
        return
    with pytest.raises(error, match=match):
        estimator.fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_y_names_rows(bad):
    y = Y.copy()
    y[[2, 11]] = bad
    with pytest.raises(ValueError, match=r"y contains NaN or inf in rows \[2, 11\]"):
        AttentionLSTMRegressor(**FAST).fit(X3, y)


def test_sparse_input_is_refused_clearly(estimator):
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        estimator.fit(sp.csr_matrix(X3[:, :, 0]), labels_for(estimator, Y))
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        SlidingWindowTransformer(window_size=2).fit(sp.csr_matrix(np.ones((5, 2))))


def test_shape_changes_at_predict(estimator):
    estimator.fit(X3, labels_for(estimator, Y))
    with pytest.raises(ValueError, match="4 time steps x 2 features, but .* fitted on 5 time"):
        estimator.predict(X3[:, :4])
    with pytest.raises(ValueError, match="5 time steps x 3 features"):
        estimator.predict(np.concatenate([X3, X3[:, :, :1]], axis=2))
    with pytest.raises(ValueError, match=r"inf .*rows \[0\]"):
        estimator.predict(np.where(np.arange(20)[:, None, None] == 0, np.inf, X3))
    flat = type(estimator)(**FAST, n_features=2).fit(X3.reshape(20, 10), labels_for(estimator, Y))
    with pytest.raises(ValueError, match="X has 8 features, but .* is expecting 10"):
        flat.predict(X3.reshape(20, 10)[:, :8])


def test_n_features_must_divide_columns():
    with pytest.raises(ValueError, match="not a multiple of n_features=3"):
        AttentionLSTMRegressor(**FAST, n_features=3).fit(X3.reshape(20, 10), Y)


def test_unfitted_estimator_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "predict_attention"):
        with pytest.raises(NotFittedError):
            getattr(AttentionLSTMRegressor(), method)(X3)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden_size": 0}, "'hidden_size' parameter .* must be an int in the range"),
        ({"num_layers": 0}, "'num_layers' parameter"),
        ({"dropout": 1.5}, "'dropout' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"cell": "lstmm"}, "'cell' parameter"),
        ({"attention": "foo"}, "'attention' parameter"),
        ({"hiden_size": 8}, r"Unknown parameter.*'hiden_size' \(did you mean 'hidden_size'\?\)"),
        ({"optimiser__momentum": 0.9}, r"did you mean 'optimizer__'"),
        ({"device": "cuda:7"} if not __import__("torch").cuda.is_available() else {"device": 3.5},
         "device"),
    ],
)
def test_invalid_parameters_are_checked_in_fit(params, match):
    estimator = AttentionLSTMRegressor(**{**FAST, **params})  # no error yet
    with pytest.raises(ValueError, match=match):
        estimator.fit(X3, Y)


def test_classifier_needs_two_classes():
    with pytest.raises(ValueError, match="only one class"):
        AttentionLSTMClassifier(**FAST).fit(X3, np.zeros(20))


@pytest.mark.parametrize("window_size", [0, -3, 2.5])
def test_window_size_must_be_positive(window_size):
    with pytest.raises(ValueError, match="window_size"):
        SlidingWindowTransformer(window_size=window_size).fit(np.ones((5, 1)))


def test_window_larger_than_series():
    with pytest.raises(ValueError, match="window_size=6 is larger than the series: X has 5"):
        SlidingWindowTransformer(window_size=6).fit(np.ones((5, 1)))


def test_transformer_rejects_1d_numpy_and_inf():
    with pytest.raises(ValueError, match="Expected 2D array"):
        SlidingWindowTransformer(window_size=2).fit(np.ones(5))
    with pytest.raises(ValueError, match="infinity"):
        SlidingWindowTransformer(window_size=2).fit(np.array([[1.0], [np.inf]]))
    fitted = SlidingWindowTransformer(window_size=2).fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match="X has 3 features, but SlidingWindowTransformer"):
        fitted.transform(np.ones((5, 3)))


# -- property-based: any input either works or raises ValueError/TypeError -----

dtypes = st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_, np.complex64])
elements = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                     st.sampled_from([1e39, -1e300, 3.4e38, 1e-320]))


@st.composite
def arrays(draw, max_dims=3):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=0, max_side=6))
    dtype = draw(dtypes)
    if np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
        values = draw(hnp.arrays(np.float64, shape, elements=elements))
    else:
        values = draw(hnp.arrays(np.int64, shape, elements=st.integers(-5, 5)))
    return values.astype(dtype)


def assert_raised_by_us(error):
    """A ValueError/TypeError raised by skattn or scikit-learn's checks, with
    a message, not one from inside torch or numpy."""
    assert isinstance(error, (ValueError, TypeError)), repr(error)
    assert str(error)
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    origin = frame.tb_frame.f_code.co_filename
    assert "torch" not in origin and "numpy" not in origin, (origin, error)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(X=arrays(), window_size=st.integers(1, 4))
def test_transformer_any_input(X, window_size):
    transformer = SlidingWindowTransformer(window_size=window_size)
    try:
        out = transformer.fit_transform(X)
    except (ValueError, TypeError) as error:
        assert_raised_by_us(error)
        return
    assert out.shape == (X.shape[0], window_size * X.shape[1])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(X=arrays(), n_features=st.one_of(st.none(), st.integers(1, 3)))
def test_regressor_input_conversion_any_input(X, n_features):
    reg = AttentionLSTMRegressor(**FAST, n_features=n_features)
    y = np.arange(X.shape[0], dtype=float)
    try:
        reg.fit(X, y)
    except (ValueError, TypeError) as error:
        assert_raised_by_us(error)
        return
    try:
        predictions = reg.predict(X)
    except ValueError as error:  # e.g. a window with nothing observed
        assert_raised_by_us(error)
        return
    assert predictions.shape == (X.shape[0],)
    assert np.isfinite(predictions).all()


def test_make_supervised_rejects_sparse():
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        make_supervised(sp.csr_matrix(np.ones((5, 1))))


def test_feature_names_follow_sklearn():
    import pandas as pd

    frame = pd.DataFrame(X3[:, :, 0], columns=[f"x0_lag{lag}" for lag in range(4, -1, -1)])
    reg = AttentionLSTMRegressor(**FAST).fit(frame, Y)
    assert list(reg.feature_names_in_) == list(frame.columns)
    renamed = frame.rename(columns={"x0_lag0": "other"})
    with pytest.raises(ValueError, match="feature names should match"):
        reg.predict(renamed)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        reg.predict(frame.to_numpy())
    html = reg._repr_html_()
    assert "AttentionLSTMRegressor" in html and "hidden_size" in html


def test_a_text_column_is_named_and_calendar_columns_do_not_hide_an_empty_window():
    import pandas as pd

    months = pd.date_range("2000-01-01", periods=60, freq="MS")
    series = pd.Series(np.sin(np.arange(60.0)), index=months, name="sales")
    labels = pd.DataFrame({"label": ["a", "b"] * 30, "price": 1.0}, index=months)
    with pytest.raises(ValueError, match=r"exog has columns that are not numeric: 'label'"):
        make_supervised(series, exog=labels)
    with pytest.raises(ValueError, match=r"X has columns that are not numeric: 'label'"):
        SlidingWindowTransformer(3).fit(pd.concat([series, labels], axis=1))
    X, y = make_supervised(series)  # an object column of numbers still reads as numbers
    SlidingWindowTransformer(3).fit(X.astype(object))
    # a window whose data are all missing is refused even with calendar columns,
    # which are never missing
    window = SlidingWindowTransformer(4, seasonal_period=12).set_output(transform="pandas")
    windows = window.fit_transform(X)
    model = AttentionLSTMRegressor(**FAST).fit(windows, y)
    empty = windows.copy()
    empty.loc[:, [c for c in empty.columns if c.startswith("sales_")]] = np.nan
    with pytest.raises(ValueError, match="no observed time step"):
        model.predict(empty)
