"""Nothing lost: pickle, joblib and the safe format round-trip exactly."""

import io
import json
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import torch
from conftest import planted_step
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skattn
from skattn import AttentionLSTMClassifier, AttentionLSTMRegressor, SlidingWindowTransformer

FAST = {"hidden_size": 6, "max_epochs": 2, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    return planted_step(120, 6, 2, step=2, seed=0)


def round_trips(obj, tmp_path):
    yield pickle.loads(pickle.dumps(obj))
    joblib.dump(obj, tmp_path / "model.joblib")
    yield joblib.load(tmp_path / "model.joblib")


def test_pickle_and_joblib_of_estimator_pipeline_and_search(data, tmp_path):
    X, y = data
    flat = X.reshape(len(X), -1)
    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    pipe = Pipeline([("window", SlidingWindowTransformer(window_size=3)),
                     ("scale", StandardScaler()),
                     ("model", AttentionLSTMRegressor(**FAST))]).fit(X[:, :, 0], y)
    search = GridSearchCV(Pipeline([("model", AttentionLSTMRegressor(**FAST, n_features=2))]),
                          {"model__hidden_size": [4, 6]}, cv=TimeSeriesSplit(2)).fit(flat, y)
    for fitted, inputs in ((reg, X), (pipe, X[:, :, 0]), (search.best_estimator_, flat)):
        expected = fitted.predict(inputs)
        for restored in round_trips(fitted, tmp_path):
            np.testing.assert_array_equal(restored.predict(inputs), expected)


@pytest.mark.parametrize("attention", ["temporal", "dual", "multihead"])
def test_safe_format_round_trip(data, tmp_path, attention):
    X, y = data
    reg = AttentionLSTMRegressor(**FAST, attention=attention, optimizer__weight_decay=1e-4)
    reg.fit(X, np.column_stack([y, 2 * y]))
    path = tmp_path / "model.skattn"
    skattn.save(reg, path)
    loaded = skattn.load(path)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    np.testing.assert_array_equal(loaded.predict_attention(X), reg.predict_attention(X))
    np.testing.assert_array_equal(loaded.attention_weights_, reg.attention_weights_)
    assert loaded.get_params() == reg.get_params()
    assert len(loaded.history_) == len(reg.history_)
    assert loaded.n_iter_ == reg.n_iter_


def test_safe_format_keeps_the_linear_skip_and_the_input_scaling(tmp_path):
    rng = np.random.default_rng(0)
    series = 500 + np.cumsum(rng.normal(size=130))
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 8)[:, :, None]
    y = series[8:]
    reg = AttentionLSTMRegressor(
        **FAST, linear_skip=True, early_stopping=True, window_norm="last"
    ).fit(X, y)
    assert (reg.net_.module_.normalization.scale != 1.0).all()  # set from the data
    skattn.save(reg, tmp_path / "skip.skattn")
    loaded = skattn.load(tmp_path / "skip.skattn")
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.skip_anchor_ == reg.skip_anchor_ == "x0"
    assert loaded.network_dropped_ == reg.network_dropped_
    np.testing.assert_array_equal(loaded.network_weight_, reg.network_weight_)


def test_safe_format_classifier_with_string_labels(data, tmp_path):
    X, y = data
    clf = AttentionLSTMClassifier(**FAST).fit(X, np.where(y > 0, "up", "down"))
    skattn.save(clf, tmp_path / "clf.skattn")
    loaded = skattn.load(tmp_path / "clf.skattn")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert list(loaded.classes_) == ["down", "up"]


def test_weights_are_loaded_weights_only(data, tmp_path, monkeypatch):
    X, y = data
    skattn.save(AttentionLSTMRegressor(**FAST).fit(X, y), tmp_path / "m.skattn")
    calls = []
    original = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    skattn.load(tmp_path / "m.skattn")
    assert calls == [True]


def test_malicious_pickle_in_weights_is_refused(data, tmp_path):
    X, y = data
    path = tmp_path / "m.skattn"
    skattn.save(AttentionLSTMRegressor(**FAST).fit(X, y), path)
    with zipfile.ZipFile(path) as archive:
        document = archive.read("skattn.json")

    class Exploit:
        def __reduce__(self):
            return (print, ("code ran",))

    evil = io.BytesIO()
    # padded to the size of the real weights, so the size check lets it through
    # and the unpickler itself must refuse the object
    n_values = sum(v.numel() for v in skattn.load(path).net_.module_.state_dict().values())
    torch.save({"head.weight": Exploit(), "padding": torch.zeros(n_values)}, evil)
    with zipfile.ZipFile(tmp_path / "evil.skattn", "w") as archive:
        archive.writestr("skattn.json", document)
        archive.writestr("weights.pt", evil.getvalue())
    with pytest.raises(ValueError, match="not tensors; they were refused without being run"):
        skattn.load(tmp_path / "evil.skattn")
    evil_small = io.BytesIO()
    torch.save({"head.weight": Exploit()}, evil_small)
    with zipfile.ZipFile(tmp_path / "small.skattn", "w") as archive:
        archive.writestr("skattn.json", document)
        archive.writestr("weights.pt", evil_small.getvalue())
    with pytest.raises(ValueError, match="do not describe these weights"):
        skattn.load(tmp_path / "small.skattn")


def test_bad_files_raise_clear_errors(data, tmp_path):
    X, y = data
    path = tmp_path / "m.skattn"
    skattn.save(AttentionLSTMRegressor(**FAST).fit(X, y), path)
    blob = path.read_bytes()
    (tmp_path / "truncated.skattn").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="truncated, corrupted"):
        skattn.load(tmp_path / "truncated.skattn")

    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("skattn.json"))
        weights = archive.read("weights.pt")

    def rewrite(name, changed):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("skattn.json", json.dumps(changed))
            archive.writestr("weights.pt", weights)
        return tmp_path / name

    with pytest.raises(ValueError, match="format version 99"):
        skattn.load(rewrite("future.skattn", {**document, "version": 99}))
    other_architecture = {**document, "params": {**document["params"], "hidden_size": 9}}
    with pytest.raises(ValueError, match="the architecture its parameters describe needs"):
        skattn.load(rewrite("other.skattn", other_architecture))
    with pytest.raises(ValueError, match="not a skattn model"):
        skattn.load(rewrite("alien.skattn", {"format": "something else"}))
    with pytest.raises(ValueError, match="unsupported optimizer"):
        evil_params = {**document["params"], "optimizer": "os.system"}
        skattn.load(rewrite("optim.skattn", {**document, "params": evil_params}))
    with pytest.raises(ValueError, match=r"unknown fitted attributes \['predict'\]"):
        evil_fitted = {**document["fitted"], "predict": 1}
        skattn.load(rewrite("fitted.skattn", {**document, "fitted": evil_fitted}))


def test_callbacks_are_not_saved_silently(data, tmp_path):
    from skorch.callbacks import EpochTimer

    X, y = data
    reg = AttentionLSTMRegressor(**FAST, callbacks=[("timer2", EpochTimer())]).fit(X, y)
    with pytest.raises(ValueError, match="callbacks cannot be saved"):
        skattn.save(reg, tmp_path / "m.skattn")


def test_model_fitted_on_cuda_loads_on_cpu(data, tmp_path, monkeypatch):
    """A pickle whose parameter says "cuda" predicts where its weights are."""
    X, y = data
    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    reg.device = "cuda"  # as if fitted on a GPU and unpickled on a CPU-only machine
    expected = AttentionLSTMRegressor(**FAST).fit(X, y).predict(X)
    np.testing.assert_array_equal(reg.predict(X), expected)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            skattn.load(_saved(reg, tmp_path), device="cuda")


def _saved(reg, tmp_path):
    reg = reg.set_params(device="cpu")
    skattn.save(reg, tmp_path / "m.skattn")
    return tmp_path / "m.skattn"


def test_a_cuda_pickle_predicts_on_a_machine_without_cuda(data, tmp_path):
    """The pickle of a model whose tensors live on "cuda:0" unpickles and
    predicts on a CPU-only machine. With a GPU: a real CUDA fit, unpickled in
    a subprocess that sees no GPU. Without one: the same pickle built on the
    CPU, its tensors tagged "cuda:0" by a torch serialization hook, so
    unpickling goes through torch's CUDA-to-CPU mapping for real."""
    import pickle
    import subprocess
    import sys

    X, y = data
    if torch.cuda.is_available():
        reg = AttentionLSTMRegressor(**FAST, device="cuda").fit(X, y)
        expected = reg.predict(X)
        (tmp_path / "cuda.pkl").write_bytes(pickle.dumps(reg))
        np.save(tmp_path / "X.npy", X)
        np.save(tmp_path / "expected.npy", expected)
        script = (
            "import pickle, sys, numpy as np, torch; assert not torch.cuda.is_available(); "
            "d = sys.argv[1]; m = pickle.load(open(d + '/cuda.pkl', 'rb')); "
            "p = m.predict(np.load(d + '/X.npy')); "
            "np.testing.assert_allclose(p, np.load(d + '/expected.npy'), rtol=1e-4, atol=1e-5); "
            "assert m.net_.module_.head.weight.device.type == 'cpu'"
        )
        env = {**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}
        subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env)
        return
    import torch.serialization as serialization

    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    expected = reg.predict(X)
    reg.set_params(device="cuda")
    reg.net_.set_params(device="cuda")
    registry = list(serialization._package_registry)
    serialization.register_package(-100, lambda storage: "cuda:0", lambda storage, loc: None)
    try:
        blob = pickle.dumps(reg)
    finally:
        serialization._package_registry[:] = registry
    assert b"cuda:0" in blob
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        loaded = pickle.loads(blob)
    assert loaded.net_.module_.head.weight.device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), expected)


def test_a_pipeline_is_refused_with_the_alternatives(tmp_path):
    from sklearn.pipeline import make_pipeline

    from skattn import make_supervised

    X, y = make_supervised(np.sin(np.arange(60) / 3))
    pipe = make_pipeline(SlidingWindowTransformer(5),
                         AttentionLSTMRegressor(max_epochs=2, hidden_size=4, random_state=0))
    pipe.fit(X, y)
    with pytest.raises(TypeError, match=r"save\(pipeline\[-1\], path\).*skops\.io\.dump"):
        skattn.save(pipe, tmp_path / "pipe.skattn")
    assert not (tmp_path / "pipe.skattn").exists()
    skattn.save(pipe[-1], tmp_path / "model.skattn")  # the named alternative works
    windows = pipe[0].transform(X)
    np.testing.assert_allclose(skattn.load(tmp_path / "model.skattn").predict(windows),
                               pipe.predict(X), rtol=1e-6)
