import numpy as np
import pytest
from conftest import planted_step
from sklearn.metrics import r2_score

from skattn import AttentionLSTMRegressor


@pytest.mark.slow
def test_planted_time_step_is_found():
    """REFERENCE section 1: n=3000, T=20, F=2, the target planted at step 10."""
    X, y = planted_step(3000, 20, 2, step=10, seed=0)
    X_test, y_test = planted_step(1000, 20, 2, step=10, seed=1)
    reg = AttentionLSTMRegressor(max_epochs=30, random_state=0, n_threads=1).fit(X, y)
    assert reg.attention_weights_.shape == (20,)
    assert reg.attention_weights_.argmax() == 10
    assert r2_score(y_test, reg.predict(X_test)) > 0.9
    per_window = reg.predict_attention(X_test)
    assert per_window.shape == (1000, 20)
    np.testing.assert_allclose(per_window.sum(axis=1), 1.0, rtol=1e-5)
    assert (per_window.argmax(axis=1) == 10).mean() > 0.9


def test_shapes_of_predict_and_attention(fast):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 3))
    reg = AttentionLSTMRegressor(**fast).fit(X, X[:, -1, 0])
    assert reg.predict(X).shape == (40,)
    assert reg.predict(X).dtype == np.float64
    assert reg.predict_attention(X).shape == (40, 6)
    assert (reg.n_timesteps_, reg.n_features_per_step_, reg.n_features_in_) == (6, 3, 18)
    assert reg.n_iter_ == fast["max_epochs"]
    assert len(reg.history_) == fast["max_epochs"]


def test_multi_output_target(fast):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5, 1))
    y = np.column_stack([X[:, -1, 0], 10 + X[:, -2, 0]])
    reg = AttentionLSTMRegressor(**fast).fit(X, y)
    assert reg.predict(X).shape == (50, 2)
    assert reg.y_mean_.shape == (2,)


def test_two_d_input_is_unflattened_time_major(fast):
    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(30, 4, 2))
    y = X3[:, 1, 0]
    flat = X3.reshape(30, 8)
    reg3 = AttentionLSTMRegressor(**fast).fit(X3, y)
    reg2 = AttentionLSTMRegressor(n_features=2, **fast).fit(flat, y)
    np.testing.assert_allclose(reg2.predict(flat), reg3.predict(X3), rtol=1e-6)
    assert reg2.n_timesteps_ == 4
    univariate = AttentionLSTMRegressor(**fast).fit(flat, y)
    assert (univariate.n_timesteps_, univariate.n_features_per_step_) == (8, 1)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.astype(np.float32),
        lambda X: X.astype(np.float64),
        lambda X: np.rint(X * 10).astype(np.int64),
        lambda X: X.tolist(),
    ],
    ids=["float32", "float64", "int", "list"],
)
def test_input_types_are_accepted(convert, fast):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5, 2))
    y = X[:, -1, 0]
    reg = AttentionLSTMRegressor(**fast).fit(convert(X), list(y))
    assert np.isfinite(reg.predict(convert(X))).all()


def test_random_state_makes_fits_identical(fast):
    X, y = planted_step(60, 6, 2, step=2, seed=0)
    first = AttentionLSTMRegressor(**fast).fit(X, y).predict(X)
    second = AttentionLSTMRegressor(**fast).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    unseeded = {**fast, "random_state": None}
    a = AttentionLSTMRegressor(**unseeded).fit(X, y).predict(X)
    b = AttentionLSTMRegressor(**unseeded).fit(X, y).predict(X)
    assert not np.array_equal(a, b)


def test_fit_leaves_global_random_state_alone(fast):
    import torch

    X, y = planted_step(40, 5, 1, step=1, seed=0)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    AttentionLSTMRegressor(**fast).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_target_scale_does_not_change_the_fit(fast):
    """y in raw units (around 1000) trains as well as standardised y."""
    X, y = planted_step(300, 8, 1, step=3, seed=0)
    kwargs = {**fast, "max_epochs": 20, "lr": 1e-2}
    small = AttentionLSTMRegressor(**kwargs).fit(X, y)
    large = AttentionLSTMRegressor(**kwargs).fit(X, 1000 * y + 5000)
    assert small.score(X, y) == pytest.approx(large.score(X, 1000 * y + 5000), abs=1e-4)
    assert small.score(X, y) > 0.5


def test_early_stopping_validates_on_newest_rows(fast):
    X, y = planted_step(200, 6, 1, step=2, seed=0)
    reg = AttentionLSTMRegressor(
        **{**fast, "max_epochs": 40}, early_stopping=True, validation_fraction=0.2,
        n_iter_no_change=2,
    ).fit(X, y)
    history = reg.history_
    assert "valid_loss" in history[0]
    # 200 * 0.2 = 40 newest rows validate; 160 train
    assert sum(history[0, "batches", :, "train_batch_size"]) == 160
    assert sum(history[0, "batches", :, "valid_batch_size"]) == 40


def test_skorch_routing_keeps_working(fast):
    X, y = planted_step(40, 5, 1, step=1, seed=0)
    reg = AttentionLSTMRegressor(**fast, optimizer__weight_decay=0.1)
    assert reg.get_params()["optimizer__weight_decay"] == 0.1
    reg.set_params(optimizer__weight_decay=0.2)
    reg.fit(X, y)
    assert reg.net_.optimizer_.param_groups[0]["weight_decay"] == 0.2


def test_attention_none_has_no_weights(fast):
    X, y = planted_step(40, 5, 1, step=1, seed=0)
    reg = AttentionLSTMRegressor(attention="none", **fast).fit(X, y)
    assert not hasattr(reg, "attention_weights_")
    assert not hasattr(reg, "predict_attention")
    with pytest.raises(AttributeError, match="predict_attention") as excinfo:
        reg.predict_attention(X)
    assert "attention='none' has no attention" in str(excinfo.value.__cause__)


def test_warm_start_continues_training(fast):
    X, y = planted_step(120, 6, 1, step=2, seed=0)
    reg = AttentionLSTMRegressor(**fast, warm_start=True).fit(X, y)
    weights = reg.net_.module_.head.weight.detach().clone()
    reg.fit(X, y)
    assert reg.n_iter_ == 2 * fast["max_epochs"]
    assert len(reg.history_) == 2 * fast["max_epochs"]
    assert not np.array_equal(weights, reg.net_.module_.head.weight.detach())
    cold = AttentionLSTMRegressor(**fast).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == fast["max_epochs"]
    with pytest.raises(ValueError, match="warm_start=True continues"):
        reg.fit(X[:, :5], y)
    assert reg.predict(X).shape == (120,)  # a refused warm start leaves the model usable


def _random_walk_windows(n_samples, n_timesteps, seed, level=1000.0):
    rng = np.random.default_rng(seed)
    series = level + np.cumsum(rng.normal(size=n_samples + n_timesteps))
    windows = np.lib.stride_tricks.sliding_window_view(series[:-1], n_timesteps)
    return windows[:n_samples, :, None], series[n_timesteps : n_timesteps + n_samples]


def test_linear_skip_forecasts_the_change_from_the_target_history():
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    X, y = _random_walk_windows(300, 8, seed=0)
    reg = AttentionLSTMRegressor(
        linear_skip=True, window_norm="last", max_epochs=2, random_state=0
    ).fit(X, y)
    assert reg.skip_anchor_ == "x0"
    skip = reg.net_.module_.skip
    assert not skip.weight.requires_grad
    coef = skip.weight.detach().double().numpy().ravel()
    intercept = skip.bias.detach().double().numpy()[0]
    skip_forecast = (X[:, :, 0] @ coef + intercept) * reg.y_scale_[0] + reg.y_mean_[0]
    # independent reference: a ridge on the window relative to its newest value
    relative = X[:, :, 0] - X[:, -1:, 0]
    scaler = StandardScaler().fit(relative[:, :-1])
    ridge = RidgeCV(alphas=np.logspace(-4, 3, 15)).fit(
        scaler.transform(relative[:, :-1]), y - X[:, -1, 0]
    )
    expected = X[:, -1, 0] + ridge.predict(scaler.transform(relative[:, :-1]))
    np.testing.assert_allclose(skip_forecast, expected, atol=1e-3 * y.std())
    # a level far outside the training range moves the whole forecast with it
    shifted = reg.predict(X + 5000.0)
    np.testing.assert_allclose(shifted, reg.predict(X) + 5000.0, atol=0.05)


def test_linear_skip_without_a_target_history_is_a_ridge_free_on_the_newest_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6, 2))
    y = 3 * X[:, -1, 0] - X[:, 2, 1] + 0.1 * rng.normal(size=150) + 100
    reg = AttentionLSTMRegressor(linear_skip=True, max_epochs=2, random_state=0).fit(X, y)
    assert reg.skip_anchor_ is None  # no feature is on the scale of y
    coef = reg.net_.module_.skip.weight.detach().double().numpy().ravel()
    intercept = reg.net_.module_.skip.bias.detach().double().numpy()[0]
    X_flat = X.reshape(150, -1)
    residual = (y - reg.y_mean_[0]) / reg.y_scale_[0] - X_flat @ coef - intercept
    # optimality: the newest step's 2 coefficients and the intercept are unpenalised
    # (the residual is orthogonal to them) ...
    np.testing.assert_allclose(X_flat[:, -2:].T @ residual, 0, atol=1e-3)
    assert abs(residual.sum()) < 1e-3
    # ... the older lags carry one ridge penalty on standardised columns:
    # X_old' r = alpha * w_old * std^2 with one alpha > 0
    std = X_flat[:, :-2].std(axis=0)
    alphas = (X_flat[:, :-2].T @ residual) / (coef[:-2] * std**2)
    assert np.all(alphas > 0)
    np.testing.assert_allclose(alphas, np.median(alphas), rtol=0.05)  # float32 weights
    assert coef[-2] == pytest.approx(3 / reg.y_scale_[0], rel=0.02)  # not shrunk
    assert reg.score(X, y) > 0.95
    from skattn import AttentionLSTMClassifier

    with pytest.raises(ValueError, match="linear_skip=True is for regression"):
        AttentionLSTMClassifier(linear_skip=True, max_epochs=1).fit(X, y > 100)


def test_linear_skip_falls_back_to_plain_ridge_with_few_windows():
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 4, 3))  # 12 windows < 5 per free coefficient (3 + 1)
    y = 5 + 2 * X[:, -1, 0] + 0.1 * rng.normal(size=12)
    reg = AttentionLSTMRegressor(linear_skip=True, max_epochs=1, random_state=0).fit(X, y)
    assert reg.skip_anchor_ is None
    module = reg.net_.module_
    skip = module.skip.weight.detach().double().numpy().ravel()
    bias = module.skip.bias.detach().double().numpy()[0]
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-4, 3, 15)))
    ridge.fit(X.reshape(12, -1), y)
    skip_forecast = (X.reshape(12, -1) @ skip + bias) * reg.y_scale_[0] + reg.y_mean_[0]
    np.testing.assert_allclose(skip_forecast, ridge.predict(X.reshape(12, -1)), atol=1e-3)


def test_network_weight_is_positive_only_where_the_network_helps_on_validation():
    import torch

    X, y = _random_walk_windows(200, 6, seed=3, level=50.0)
    for seed in range(3):
        reg = AttentionLSTMRegressor(
            linear_skip=True, early_stopping=True, max_epochs=15, random_state=seed
        ).fit(X, y)
        module = reg.net_.module_
        windows = torch.as_tensor(np.array(X), dtype=torch.float32)
        with torch.no_grad():
            full = module(windows)[0][:, 0].numpy()
            linear = module.skip(windows.flatten(1))[:, 0].numpy()
        targets = (y - reg.y_mean_[0]) / reg.y_scale_[0]
        valid = slice(180, 200)  # validation_fraction=0.1: the newest 20 windows
        full_loss = np.mean((full[valid] - targets[valid]) ** 2)
        linear_loss = np.mean((linear[valid] - targets[valid]) ** 2)
        assert reg.network_weight_.shape == (1,)
        assert 0.0 <= reg.network_weight_[0] <= 1.0
        assert reg.network_dropped_ == (reg.network_weight_[0] == 0.0)
        if reg.network_dropped_:
            np.testing.assert_allclose(full, linear, atol=1e-6)
        else:  # a positive lower bound: the weighed correction helps there
            assert full_loss < linear_loss
    fitted = AttentionLSTMRegressor(max_epochs=1).fit(X, y)
    assert not hasattr(fitted, "network_dropped_") and not hasattr(fitted, "network_weight_")
    # a warm start trains on and weighs the network again
    reg.set_params(warm_start=True, max_epochs=3).fit(X, y)
    head = reg.net_.module_.head.weight.detach()
    assert reg.network_dropped_ == bool((head == 0).all())
    # a warm fit that does not weigh (no held-out windows) keeps no stale weight
    reg.set_params(early_stopping=False).fit(X, y)
    assert not hasattr(reg, "network_weight_") and not hasattr(reg, "network_dropped_")


def test_network_weight_is_per_output_and_keeps_the_quantile_spread():
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 6, 1))
    # output 0 holds a squared lag the linear part cannot fit, output 1 is linear
    Y = np.column_stack([
        X[:, -1, 0] + 1.5 * (X[:, 2, 0] ** 2 - 1) + 0.1 * rng.normal(size=900),
        0.8 * X[:, -1, 0] - 0.3 * X[:, 2, 0] + 0.5 * rng.normal(size=900),
    ])
    reg = AttentionLSTMRegressor(
        linear_skip=True, early_stopping=True, attention_values="states",
        quantiles=(0.1, 0.9), max_epochs=80, n_iter_no_change=30, random_state=0,
    ).fit(X[:700], Y[:700])
    assert reg.network_weight_.shape == (2,)
    assert reg.network_weight_[0] > 0.5
    assert reg.network_weight_[1] < reg.network_weight_[0]
    assert reg.network_dropped_ is False
    windows = torch.as_tensor(X[700:], dtype=torch.float32)
    with torch.no_grad():
        linear = reg.net_.module_.skip(windows.flatten(1)).numpy()
    linear = linear * reg.y_scale_ + reg.y_mean_
    prediction = reg.predict(X[700:])
    # the weighed median: output 0 beats the linear part on new windows, and an
    # output whose weight is 0 forecasts exactly the linear part
    assert np.mean((prediction[:, 0] - Y[700:, 0]) ** 2) < 0.7 * np.mean(
        (linear[:, 0] - Y[700:, 0]) ** 2)
    if reg.network_weight_[1] == 0.0:
        np.testing.assert_allclose(prediction[:, 1], linear[:, 1], rtol=1e-5, atol=1e-5)
    # the network's spread around the median stays: intervals do not collapse
    interval = reg.predict_interval(X[700:], coverage=0.8)
    lower, upper = interval[..., 0], interval[..., 1]
    assert (upper - lower > 0).all()
    inside = (lower <= Y[700:]) & (Y[700:] <= upper)
    assert 0.6 < inside.mean() < 0.95


def test_network_is_kept_where_it_finds_what_the_linear_part_cannot():
    import torch

    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 6, 1))
    y = X[:, -1, 0] + 1.5 * (X[:, 2, 0] ** 2 - 1) + 0.1 * rng.normal(size=900)
    # a residual of the best linear fit has no linear part to start from: the
    # network needs some epochs to leave that plateau, so patience matters
    reg = AttentionLSTMRegressor(
        linear_skip=True, early_stopping=True, attention_values="states",
        max_epochs=80, n_iter_no_change=30, random_state=0,
    ).fit(X[:700], y[:700])
    assert reg.skip_anchor_ == "x0"
    assert reg.network_dropped_ is False
    module = reg.net_.module_
    with torch.no_grad():
        linear = module.skip(torch.as_tensor(X[700:], dtype=torch.float32).flatten(1))
    linear = linear[:, 0].numpy() * reg.y_scale_[0] + reg.y_mean_[0]
    linear_mse = np.mean((linear - y[700:]) ** 2)
    assert np.mean((reg.predict(X[700:]) - y[700:]) ** 2) < 0.5 * linear_mse


def test_window_norm_last_is_level_invariant_for_the_network():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5, 1))
    reg = AttentionLSTMRegressor(window_norm="last", max_epochs=2, random_state=0)
    reg.fit(X, X[:, 1, 0])
    np.testing.assert_allclose(reg.predict(X + 50.0), reg.predict(X), rtol=1e-5, atol=1e-5)


def test_verbose_prints_an_epoch_table_and_progress_bar_works(fast, capsys):
    from skorch.callbacks import ProgressBar

    X, y = planted_step(60, 5, 1, step=1, seed=0)
    AttentionLSTMRegressor(**fast).fit(X, y)
    assert capsys.readouterr().out == ""  # verbose=0: the library prints nothing
    AttentionLSTMRegressor(**fast, verbose=1, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_loss" in out and "dur" in out
    reg = AttentionLSTMRegressor(**fast, callbacks=[("progress", ProgressBar())]).fit(X, y)
    assert reg.n_iter_ == fast["max_epochs"]
