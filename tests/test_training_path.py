"""The fast training path computes what a plain PyTorch loop computes."""

import numpy as np
import torch
from conftest import planted_step
from sklearn.utils import check_random_state

from skattn import AttentionLSTMRegressor
from skattn._linear import feature_moments
from skattn._modules import AttentionRNN
from skattn._net import TensorBatches, TensorDataset


def hand_loop(X, y_scaled, seed, *, hidden_size, lr, batch_size, max_epochs):
    """A hand-written loop with the same module, seed, batch order and optimizer."""
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        module = AttentionRNN(X.shape[2], X.shape[1], 1, hidden_size=hidden_size)
        center, scale = feature_moments(X)  # the estimator standardises its inputs
        module.normalization.center.copy_(torch.as_tensor(center))
        module.normalization.scale.copy_(torch.as_tensor(scale))
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
        batches = TensorBatches(
            TensorDataset(torch.from_numpy(X), torch.from_numpy(y_scaled)),
            batch_size=batch_size, shuffle=True, seed=seed,
        )
        losses = []
        for _ in range(max_epochs):
            module.train()
            for X_batch, y_batch in batches:
                optimizer.zero_grad()
                prediction, _ = module(X_batch)
                loss = torch.nn.functional.mse_loss(prediction, y_batch)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
    return module, losses


def test_training_matches_a_hand_written_loop():
    X, y = planted_step(200, 7, 2, step=3, seed=0)
    X = X.astype(np.float32)
    params = {"hidden_size": 8, "lr": 1e-2, "batch_size": 32, "max_epochs": 3}
    reg = AttentionLSTMRegressor(**params, early_stopping=False, random_state=0).fit(X, y)
    seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
    y_scaled = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)
    module, losses = hand_loop(X, y_scaled, seed, **params)

    recorded = [row["train_loss"] for epoch in reg.history_ for row in epoch["batches"]]
    assert all(isinstance(value, float) for value in recorded)
    np.testing.assert_allclose(recorded, losses, rtol=1e-5, atol=1e-6)
    with torch.inference_mode():
        module.eval()
        expected = module(torch.from_numpy(X))[0].numpy().ravel() * y.std() + y.mean()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-5, atol=1e-5)
    # the epoch loss skorch reports is the batch-size weighted mean of the batch losses
    sizes = reg.history_[-1, "batches", :, "train_batch_size"]
    epoch_losses = reg.history_[-1, "batches", :, "train_loss"]
    assert reg.history_[-1, "train_loss"] == np.average(epoch_losses, weights=sizes)


def test_predict_in_chunks_equals_one_pass(monkeypatch):
    X, y = planted_step(300, 6, 2, step=3, seed=0)
    reg = AttentionLSTMRegressor(hidden_size=8, max_epochs=1, random_state=0).fit(X, y)
    whole = reg.predict(X)
    attention = reg.predict_attention(X)
    monkeypatch.setattr(type(reg), "_predict_chunk_size", lambda self: 7)
    np.testing.assert_allclose(reg.predict(X), whole, rtol=1e-6)
    np.testing.assert_allclose(reg.predict_attention(X), attention, rtol=1e-6)


def test_batch_losses_are_floats_while_training_on_cpu():
    """What skorch's ProgressBar prints after each batch: a number, not
    ``tensor(1.1)``."""
    from skorch.callbacks import Callback

    seen = []

    class Spy(Callback):
        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            seen.append(net.history[-1, "batches", -1, "train_loss" if training else "valid_loss"])

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5, 1))
    AttentionLSTMRegressor(max_epochs=2, hidden_size=4, early_stopping=True,
                           callbacks=[Spy()], random_state=0).fit(X, X[:, 2, 0])
    assert seen and all(type(value) is float for value in seen)
