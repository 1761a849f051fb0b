"""Reproducers from the adversarial review (issue 12): hostile files, numpy
parameters, silent NaN, lost settings and resource parameters. Each must end
in a clear ValueError/TypeError naming the problem, or behave correctly."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import skattn
from skattn import AttentionLSTMClassifier, AttentionLSTMRegressor, _persistence

FAST = {"max_epochs": 2, "hidden_size": 8, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6, 2))
    return X, X[:, 3, 0] + 0.1 * rng.normal(size=80)


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """(path, document, weights bytes) of a small fitted regressor's file."""
    path = tmp_path_factory.mktemp("saved") / "model.skattn"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        skattn.save(AttentionLSTMRegressor(**FAST).fit(*data), path)
    with zipfile.ZipFile(path) as archive:
        return path, json.loads(archive.read("skattn.json")), archive.read("weights.pt")


def write(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return path


def with_document(tmp_path, saved, document, name="edited.skattn"):
    return write(tmp_path / name, [("skattn.json", json.dumps(document)),
                                   ("weights.pt", saved[2])])


# -- 1. memory DoS through skattn.load ----------------------------------------
def test_a_huge_json_member_is_refused_before_it_is_read(saved, tmp_path):
    padded = json.dumps(saved[1]) + " " * (_persistence.MAX_DOCUMENT_BYTES + 1)
    path = write(tmp_path / "spaces.skattn", [("skattn.json", padded),
                                             ("weights.pt", saved[2])])
    assert path.stat().st_size < 2**20  # a small file on disk: spaces compress
    with pytest.raises(ValueError, match="declares .* bytes, more than"):
        skattn.load(path)


@pytest.mark.parametrize("hidden_size", [8000, 10**6])
def test_a_declared_architecture_larger_than_the_weights_is_refused(saved, tmp_path,
                                                                    hidden_size):
    document = {**saved[1], "params": {**saved[1]["params"], "hidden_size": hidden_size}}
    path = with_document(tmp_path, saved, document)
    assert path.stat().st_size < 64 * 2**10
    with pytest.raises(ValueError, match="declares an architecture of [0-9]+ bytes"):
        skattn.load(path)


@pytest.mark.parametrize(("name", "value", "match"), [
    ("n_threads", 10**9, "n_threads"),
    ("hidden_size", -3, "hidden_size"),
    ("lr", "fast", "lr"),
    ("attention", "evil", "attention"),
    ("n_heads", 10**6, "n_heads"),
])
def test_parameters_in_a_file_are_validated_before_anything_is_built(saved, tmp_path, name,
                                                                     value, match):
    params = {**saved[1]["params"], name: value}
    if name == "n_heads":
        params["attention"] = "multihead"
    path = with_document(tmp_path, saved, {**saved[1], "params": params})
    with pytest.raises(ValueError, match=f"invalid parameters.*{match}"):
        skattn.load(path)


# -- 2. numpy scalars as parameters -------------------------------------------
def test_numpy_scalar_parameters_fit_search_and_save(data, tmp_path):
    X, y = data
    reg = AttentionLSTMRegressor(hidden_size=np.int64(8), n_features=np.int64(2),
                                 lr=np.float32(0.01), max_epochs=np.int64(2),
                                 random_state=np.int64(3), n_threads=np.int64(1))
    reg.fit(X.reshape(len(X), -1), y)
    assert isinstance(reg.get_params()["hidden_size"], np.int64)  # as the user set it
    search = GridSearchCV(AttentionLSTMRegressor(max_epochs=1),
                          {"hidden_size": np.arange(8, 17, 8)}, cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    skattn.save(reg, tmp_path / "np.skattn")
    loaded = skattn.load(tmp_path / "np.skattn")
    assert loaded.random_state == 3 and type(loaded.random_state) is int
    assert loaded.lr == pytest.approx(0.01) and type(loaded.lr) is float
    np.testing.assert_array_equal(loaded.predict(X.reshape(len(X), -1)),
                                  reg.predict(X.reshape(len(X), -1)))


def test_a_random_state_instance_is_refused_by_save_not_dropped(data, tmp_path):
    reg = AttentionLSTMRegressor(**{**FAST, "random_state": np.random.RandomState(0)})
    reg.fit(*data)
    with pytest.raises(ValueError, match="random_state=.*cannot be saved"):
        skattn.save(reg, tmp_path / "rs.skattn")


# -- 3. divergence never leaves a silent NaN ------------------------------------
@pytest.mark.parametrize(("lr", "max_epochs"), [(1e30, 1), (1e6, 5)])
def test_sgd_divergence_raises_instead_of_predicting_nan(data, lr, max_epochs):
    reg = AttentionLSTMRegressor(optimizer=torch.optim.SGD, lr=lr, max_epochs=max_epochs,
                                 batch_size=80, early_stopping=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="diverged.*Lower lr"):
            reg.fit(*data)
    assert not hasattr(reg, "net_")  # no broken model left behind


def test_adam_blowing_up_warns(data):
    reg = AttentionLSTMRegressor(lr=1e6, max_epochs=5, early_stopping=False, random_state=0)
    with pytest.warns(ConvergenceWarning, match="unstable.*Lower lr"):
        reg.fit(*data)


def test_inputs_of_1e30_train_and_predict_finite(data):
    X, y = data
    reg = AttentionLSTMRegressor(max_epochs=5, random_state=0).fit(X * 1e30, y)
    assert np.isfinite(reg.predict(X * 1e30)).all()


# -- 4. warm_start honours set_params -------------------------------------------
def test_warm_start_uses_the_current_schedule_and_refuses_a_new_architecture(data):
    X, y = data
    reg = AttentionLSTMRegressor(max_epochs=3, early_stopping=False, random_state=0).fit(X, y)
    before = reg.predict(X)
    reg.set_params(warm_start=True, max_epochs=1, lr=1e-7, batch_size=200)
    n_epochs = len(reg.history_)
    reg.fit(X, y)
    assert len(reg.history_) == n_epochs + 1
    assert reg.net_.optimizer_.param_groups[0]["lr"] == 1e-7
    assert reg.history_[-1]["train_batch_count"] == 1  # batch_size 200 > 80 rows
    reg.set_params(hidden_size=4)
    with pytest.raises(ValueError, match=r"hidden_size \(fitted with 32, now 4\)"):
        reg.fit(X, y)
    np.testing.assert_allclose(reg.predict(X), before, atol=1e-3)  # still the fitted model


# -- 5. save after set_params ---------------------------------------------------
def test_save_refuses_parameters_that_no_longer_describe_the_weights(data, tmp_path):
    reg = AttentionLSTMRegressor(**FAST).fit(*data)
    reg.set_params(hidden_size=16, lr=0.5)
    with pytest.raises(ValueError, match=r"hidden_size \(fitted 8, now 16\)"):
        skattn.save(reg, tmp_path / "changed.skattn")
    reg.set_params(hidden_size=8)  # lr only changes a later fit
    skattn.save(reg, tmp_path / "ok.skattn")
    np.testing.assert_array_equal(skattn.load(tmp_path / "ok.skattn").predict(data[0]),
                                  reg.predict(data[0]))


# -- 6 and 10. one conversion path ----------------------------------------------
def test_float64_beyond_float32_is_refused_by_predict_as_by_fit(data):
    X, y = data
    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    clf = AttentionLSTMClassifier(**FAST).fit(X, y > 0)
    huge = X.copy()
    huge[3, 0, 0] = 1e39
    for model in (reg, clf):
        with pytest.raises(ValueError, match=r"too large for float32\) in rows \[3\]"):
            model.predict(huge)


def test_negative_strides_fit_and_predict(data):
    X, y = data
    X32 = X.astype(np.float32)[:, ::-1]
    reg = AttentionLSTMRegressor(**FAST).fit(X32, y)
    np.testing.assert_array_equal(reg.predict(X32), reg.predict(np.ascontiguousarray(X32)))


# -- 7. corrupted and malformed files -------------------------------------------
def test_bit_flips_give_a_valueerror_or_a_working_model(saved, tmp_path, data):
    blob = bytearray(saved[0].read_bytes())
    rng = np.random.default_rng(0)
    outcomes = {"refused": 0, "loaded": 0}
    for trial in range(150):
        flipped = bytearray(blob)
        position = int(rng.integers(len(flipped)))
        flipped[position] ^= 1 << int(rng.integers(8))
        path = tmp_path / f"flip{trial}.skattn"
        path.write_bytes(bytes(flipped))
        try:
            model = skattn.load(path)
        except ValueError:
            outcomes["refused"] += 1
            continue
        assert np.isfinite(model.predict(data[0])).all()
        outcomes["loaded"] += 1
    assert outcomes["refused"] > 0


def malformed_documents(document):
    yield "missing params", {k: v for k, v in document.items() if k != "params"}
    yield "params is a list", {**document, "params": [1, 2]}
    yield "unknown parameter", {**document, "params": {**document["params"], "evil": 1}}
    yield "fitted is a string", {**document, "fitted": "x"}
    yield "missing fitted", {**document, "fitted": {"n_iter_": 1}}
    yield "n_timesteps_ is a string", {**document,
                                       "fitted": {**document["fitted"], "n_timesteps_": "6"}}
    yield "unknown array", {**document, "arrays": {**document["arrays"],
                                                  "__class__": {"dtype": "<f8", "values": []}}}
    yield "array of dicts", {**document, "arrays": {**document["arrays"], "y_mean_": {
        "dtype": "object", "values": [{"a": 1}]}}}
    yield "nan y_scale_", {**document, "arrays": {**document["arrays"], "y_scale_": {
        "dtype": "<f8", "values": [float("nan")]}}}
    yield "zero y_scale_", {**document, "arrays": {**document["arrays"], "y_scale_": {
        "dtype": "<f8", "values": [0.0]}}}
    yield "relabelled as classifier", {**document, "class": "AttentionLSTMClassifier"}
    yield "n_outputs string", {**document, "n_outputs": "1"}
    yield "history not a list", {**document, "history": {"a": 1}}
    yield "target feature unknown", {**document,
                                     "fitted": {**document["fitted"], "target_feature_": "zz"}}


def test_malformed_documents_give_a_valueerror_that_says_what(saved, tmp_path):
    for index, (what, document) in enumerate(malformed_documents(saved[1])):
        path = with_document(tmp_path, saved, document, f"bad{index}.skattn")
        with pytest.raises(ValueError, match=str(saved[0].name) + "|skattn|file") as info:
            skattn.load(path)
        assert "Traceback" not in str(info.value), what


@pytest.mark.parametrize("content", [
    b"\xff\xfe not utf-8",
    b"[" * 100_000 + b"]" * 100_000,  # nested past the recursion limit
    b'{"format": "skattn-model", "version": 2, "params": NaN}',
    b"42",
])
def test_json_that_is_not_a_model_gives_a_valueerror(saved, tmp_path, content):
    path = write(tmp_path / "json.skattn", [("skattn.json", content),
                                           ("weights.pt", saved[2])])
    with pytest.raises(ValueError):
        skattn.load(path)


def test_nan_weights_and_duplicate_members_are_refused(saved, tmp_path):
    state = torch.load(io.BytesIO(saved[2]), weights_only=True)
    state["head.weight"] = torch.full_like(state["head.weight"], float("nan"))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = write(tmp_path / "nan.skattn", [("skattn.json", json.dumps(saved[1])),
                                          ("weights.pt", buffer.getvalue())])
    with pytest.raises(ValueError, match="head.weight holds NaN or inf"):
        skattn.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: duplicate name
        path = write(tmp_path / "dup.skattn", [("skattn.json", json.dumps(saved[1])),
                                              ("weights.pt", saved[2]),
                                              ("skattn.json", json.dumps(saved[1]))])
    with pytest.raises(ValueError, match="several members named"):
        skattn.load(path)


def test_encrypted_or_unknown_compression_members_give_a_valueerror(saved, tmp_path):
    blob = bytearray(saved[0].read_bytes())
    # set the "encrypted" flag bit of the first local header and of its
    # central-directory record
    local = blob.find(b"PK\x03\x04")
    central = blob.find(b"PK\x01\x02")
    blob[local + 6] |= 1
    blob[central + 8] |= 1
    path = tmp_path / "encrypted.skattn"
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="not a readable skattn model file"):
        skattn.load(path)


# -- 11 and 12. resource parameters, changed attention, devices ------------------
def test_resource_parameters_are_bounded(data):
    with pytest.raises(ValueError, match="n_threads"):
        AttentionLSTMRegressor(n_threads=10**9).fit(*data)
    with pytest.raises(ValueError, match="n_heads=1000000 is more than"):
        AttentionLSTMRegressor(attention="multihead", n_heads=10**6).fit(*data)


def test_predict_attention_follows_the_fitted_attention_after_set_params(data):
    X, y = data
    reg = AttentionLSTMRegressor(**FAST).fit(X, y)
    reg.set_params(attention="feature")
    assert reg.predict_attention(X).shape == (len(X), 6)  # the fitted temporal attention


@pytest.mark.parametrize("device", ["meta", "gpu", "cuda:x"])
def test_unknown_devices_give_a_valueerror(data, device):
    with pytest.raises(ValueError, match="device="):
        AttentionLSTMRegressor(device=device, max_epochs=1).fit(*data)


# -- 8 and 12. threads ---------------------------------------------------------
def test_seeded_fits_in_threads_match_sequential_ones(data):
    from concurrent.futures import ThreadPoolExecutor

    from joblib import parallel_backend
    from sklearn.model_selection import KFold, cross_val_score

    X, y = data
    params = {"max_epochs": 3, "hidden_size": 8, "random_state": 0}
    sequential = AttentionLSTMRegressor(**params).fit(X, y).predict(X)
    state = torch.random.get_rng_state()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: AttentionLSTMRegressor(**params).fit(X, y).predict(X),
                                range(4)))
    for result in results:
        np.testing.assert_array_equal(result, sequential)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's state is kept
    one = cross_val_score(AttentionLSTMRegressor(**params), X, y, cv=KFold(3))
    with parallel_backend("threading", n_jobs=3):
        threaded = cross_val_score(AttentionLSTMRegressor(**params), X, y, cv=KFold(3),
                                   n_jobs=3)
    np.testing.assert_array_equal(one, threaded)


def test_one_object_fitted_from_two_threads_at_once_is_refused(data):
    import threading
    import time

    from skattn import _estimators

    X, y = data
    reg = AttentionLSTMRegressor(max_epochs=300, early_stopping=False, random_state=0)
    worker = threading.Thread(target=reg.fit, args=(X, y))
    worker.start()
    deadline = time.monotonic() + 60
    while id(reg) not in _estimators._FITTING and time.monotonic() < deadline:
        time.sleep(0.001)
    with pytest.raises(RuntimeError, match="already being fitted in another thread"):
        reg.fit(X, y)
    worker.join()
    assert np.isfinite(reg.predict(X)).all()  # the first fit finished intact


def test_a_stop_raised_by_a_callback_is_flagged_early_stopping_is_not(data):
    from skorch.callbacks import Callback

    class StopAtEpochTwo(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    X, y = data
    reg = AttentionLSTMRegressor(**{**FAST, "max_epochs": 5},
                                 callbacks=[("stop", StopAtEpochTwo())])
    with pytest.warns(UserWarning, match="interrupted in epoch 2"):
        reg.fit(X, y)
    assert reg.history_[-1, "interrupted"] is True and reg.n_iter_ == 2
    stopped = AttentionLSTMRegressor(max_epochs=200, n_iter_no_change=2, early_stopping=True,
                                     hidden_size=8, random_state=0).fit(X, y)
    assert len(stopped.history_) < 200
    assert "interrupted" not in stopped.history_[-1]


def test_a_linear_skip_on_inputs_around_1e18_forecasts_like_ridge():
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(0)
    series = 1e18 + 1e16 * np.cumsum(rng.normal(size=300))
    X = np.stack([series[i : i + 12] for i in range(288)])
    y = series[12:300]
    reg = AttentionLSTMRegressor(linear_skip=True, max_epochs=20, random_state=0)
    reg.fit(X[:200], y[:200])
    ridge = RidgeCV().fit(X[:200], y[:200]).score(X[200:], y[200:])
    assert reg.score(X[200:], y[200:]) > ridge - 0.05  # measured: 0.94 against 0.93
