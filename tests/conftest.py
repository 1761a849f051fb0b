"""Shared fixtures: seeded data generators and a fast estimator configuration."""

import importlib.util
import os
from pathlib import Path

# scikit-learn's array-API input checks run only with this set before scipy loads.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
import torch

from skattn.datasets import make_planted_feature, make_planted_step

# Tests pin torch to one thread: CI machines are small and shared, and the
# library's own thread policy is exercised by its tests, not inherited here.
torch.set_num_threads(1)


def load_benchmark(name):
    """A script of benchmarks/ (``"accuracy"``, ``"m3"``) as a module."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def planted_step(n_samples, n_timesteps, n_features, step, seed):
    """REFERENCE section 1: x ~ N(0, 1); y ~ {0, 1}; x[:, step, :] = y."""
    return make_planted_step(n_samples, n_timesteps, n_features, step, random_state=seed)


def planted_feature(n_samples, n_timesteps, n_features, feature, seed):
    """REFERENCE section 1, second variant: x[:, :, feature] = y at every step."""
    return make_planted_feature(n_samples, n_timesteps, n_features, feature, random_state=seed)


def ar_series(n_rows, seed, n_exog=0):
    """A seasonal AR(2) series with optional exogenous drivers."""
    rng = np.random.default_rng(seed)
    exog = rng.normal(size=(n_rows, n_exog))
    series = np.zeros(n_rows)
    for t in range(2, n_rows):
        drive = exog[t - 1].sum() * 0.5 if n_exog else 0.0
        series[t] = (
            1.2 * series[t - 1] - 0.5 * series[t - 2] + np.sin(t / 5) + drive
            + 0.1 * rng.normal()
        )
    return series, exog


@pytest.fixture
def fast():
    """Keyword arguments for a small, fast, seeded estimator."""
    return {"hidden_size": 8, "max_epochs": 3, "batch_size": 32, "random_state": 0}
