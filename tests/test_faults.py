"""Lose nothing: divergence, interrupts, early stopping, clipping, determinism, scale-out."""

import warnings

import numpy as np
import pytest
import torch
from conftest import planted_step
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate
from skorch.callbacks import Callback

from skattn import AttentionLSTMRegressor

FAST = {"hidden_size": 6, "max_epochs": 4, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    X, y = planted_step(160, 6, 1, step=2, seed=0)
    return X.reshape(160, 6), y


class InterruptAt(Callback):
    """Press Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch, batch):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        in_epoch = len(net.history) == self.epoch
        if training and in_epoch and len(net.history[-1]["batches"]) == self.batch:
            raise KeyboardInterrupt


class RecordThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


class RecordGradientNorm(Callback):
    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            grads = [p.grad.norm() for p in net.module_.parameters() if p.grad is not None]
            norm = torch.linalg.vector_norm(torch.stack(grads))
            net.history.record_batch("grad_norm", float(norm))


def test_divergence_keeps_the_last_finite_epoch(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match=r"diverged in epoch (\d+).*weights of epoch"):
        reg = AttentionLSTMRegressor(
            **{**FAST, "max_epochs": 10}, optimizer=torch.optim.SGD, lr=1.0
        ).fit(X, y * 1e6)
    assert reg.history_[-1, "diverged"] is True
    assert reg.n_iter_ == len(reg.history_) - 1
    assert np.isfinite(reg.predict(X)).all()


def test_divergence_in_the_first_epoch_is_an_error(data):
    X, y = data
    with pytest.raises(ValueError, match="diverged in epoch 1.*before any epoch finished"):
        AttentionLSTMRegressor(**FAST, optimizer=torch.optim.SGD, lr=1e12).fit(X, y * 1e6)


def test_keyboard_interrupt_keeps_the_last_finished_epoch(data):
    X, y = data
    reference = AttentionLSTMRegressor(**{**FAST, "max_epochs": 2}).fit(X, y)
    with pytest.warns(UserWarning, match="interrupted in epoch 3.*last finished epoch \\(2\\)"):
        reg = AttentionLSTMRegressor(
            **{**FAST, "max_epochs": 5}, callbacks=[("interrupt", InterruptAt(3, 2))]
        ).fit(X, y)
    assert reg.history_[-1, "interrupted"] is True
    assert reg.n_iter_ == 2
    np.testing.assert_array_equal(reg.predict(X), reference.predict(X))


def test_early_stopping_restores_the_best_weights(data):
    X, y = data
    reg = AttentionLSTMRegressor(
        hidden_size=16, max_epochs=300, lr=3e-2, random_state=0, early_stopping=True,
        validation_fraction=0.25, n_iter_no_change=5,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopping early is not an interruption
        reg.fit(X, y)
    assert "interrupted" not in reg.history_[-1]
    valid_losses = reg.history_[:, "valid_loss"]
    n_valid = 40
    scaled = (reg.predict(X[-n_valid:]) - reg.y_mean_) / reg.y_scale_
    target = (y[-n_valid:] - reg.y_mean_) / reg.y_scale_
    assert np.mean((scaled - target) ** 2) == pytest.approx(min(valid_losses), rel=1e-4)
    assert np.argmin(valid_losses) < len(valid_losses) - 1  # the last epoch was not the best


def test_gradient_clip_bounds_the_gradient_norm(data):
    X, y = data
    reg = AttentionLSTMRegressor(
        **FAST, gradient_clip=0.05, callbacks=[("grad", RecordGradientNorm())]
    )
    reg.fit(X, y)
    norms = reg.history_[:, "batches", :, "grad_norm"]
    assert max(max(epoch) for epoch in norms) <= 0.05 + 1e-5


def test_same_random_state_is_bit_identical_sequential_and_parallel(data):
    X, y = data
    search = GridSearchCV(
        AttentionLSTMRegressor(**FAST, n_threads=1),
        {"hidden_size": [4, 6]}, cv=TimeSeriesSplit(2),
    )
    sequential = clone(search).set_params(n_jobs=1).fit(X, y)
    parallel = clone(search).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(
        sequential.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        sequential.best_estimator_.predict(X), parallel.best_estimator_.predict(X)
    )


def test_parallel_fits_do_not_oversubscribe_threads(data):
    X, y = data
    result = cross_validate(
        AttentionLSTMRegressor(**FAST, callbacks=[("threads", RecordThreads())]),
        X, y, cv=TimeSeriesSplit(2), n_jobs=2, return_estimator=True,
    )
    for estimator in result["estimator"]:
        assert set(estimator.history_[:, "torch_threads"]) == {1}


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster_matches_sequential(data):
    import distributed
    from joblib import parallel_backend

    X, y = data
    search = GridSearchCV(
        AttentionLSTMRegressor(**FAST, n_threads=1),
        {"hidden_size": [4, 6], "lr": [1e-3, 1e-2]}, cv=TimeSeriesSplit(2),
    )
    sequential = clone(search).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        with distributed.Client(cluster), parallel_backend("dask"):
            on_dask = clone(search).set_params(n_jobs=-1).fit(X, y)
    finally:
        cluster.close()
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


def test_predict_on_a_million_windows_runs_in_bounded_chunks(monkeypatch):
    X, y = planted_step(64, 4, 1, step=1, seed=0)
    reg = AttentionLSTMRegressor(hidden_size=16, max_epochs=1, random_state=0).fit(X, y)
    sizes = []
    forward = type(reg.net_.module_).forward

    def spy(module, windows):
        sizes.append(len(windows))
        return forward(module, windows)

    monkeypatch.setattr(type(reg.net_.module_), "forward", spy)
    big = np.random.default_rng(0).normal(size=(1_000_000, 4, 1)).astype(np.float32)
    predictions = reg.predict(big)
    assert predictions.shape == (1_000_000,)
    chunk = reg._predict_chunk_size()
    assert max(sizes) == chunk < 1_000_000
    assert sum(sizes) == 1_000_000
    attention = reg.predict_attention(big[:300_000])
    assert attention.shape == (300_000, 4)


def test_default_thread_policy_is_one_thread_and_restores_the_caller_setting(data):
    X, y = data
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        reg = AttentionLSTMRegressor(**FAST, callbacks=[("threads", RecordThreads())]).fit(X, y)
        assert set(reg.history_[:, "torch_threads"]) == {1}
        assert torch.get_num_threads() == 2
        two = AttentionLSTMRegressor(**FAST, n_threads=2, callbacks=[("threads", RecordThreads())])
        assert set(two.fit(X, y).history_[:, "torch_threads"]) == {2}
    finally:
        torch.set_num_threads(previous)


@pytest.mark.slow
def test_the_readme_dask_snippet_runs_as_a_script(tmp_path):
    """The README's Dask block, run as written in a fresh interpreter: it needs
    its __main__ guard and shuts its cluster down without complaints."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    snippet = next(block for block in blocks if "dask.distributed" in block)
    script = tmp_path / "dask_search.py"
    script.write_text(snippet)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "window__window_size" in done.stdout
    assert "killing" not in done.stderr and "Traceback" not in done.stderr
