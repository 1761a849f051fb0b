"""A safe file format for sharing fitted estimators.

``pickle`` and ``joblib`` work on every skattn estimator, but opening a pickle
can run arbitrary code. :func:`save` writes a zip archive with two members:

- ``skattn.json``: the format version, the class, the parameters and the
  fitted attributes (numbers, strings and lists only);
- ``weights.pt``: the module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``, which only rebuilds tensors.

:func:`load` reads no Python objects from the file: classes and optimizers are
looked up in fixed tables, so loading an untrusted file cannot run code.
"""

import io
import json
import math
import re
import zipfile
import zlib

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

FORMAT = "skattn-model"
FORMAT_VERSION = 3  # 2: per-step centres, attention heads, level input; 3: per-step scales
_OPTIMIZERS = {
    f"torch.optim.{name}": getattr(torch.optim, name)
    for name in ("Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax")
}
_ARRAY_ATTRIBUTES = (
    "feature_names_in_",
    "y_mean_",
    "y_scale_",
    "classes_",
    "attention_weights_",
    "feature_weights_",
    "head_weights_",
    "time_labels_",
    "feature_labels_",
    "interval_offsets_",
    "network_weight_",
)
_SCALAR_ATTRIBUTES = ("n_features_in_", "n_timesteps_", "n_features_per_step_", "n_iter_")
_OPTIONAL_SCALAR_ATTRIBUTES = ("skip_anchor_", "network_dropped_", "target_feature_", "panel_")
_DOCUMENT = "skattn.json"
_WEIGHTS = "weights.pt"
# Limits on what load() reads. The JSON holds parameters, labels and the
# training history (kilobytes for ordinary models); the weights member must
# hold the tensors the declared architecture needs, and no more than this.
MAX_DOCUMENT_BYTES = 64 * 2**20
MAX_WEIGHTS_BYTES = 4 * 2**30
# torch.save's framing around the tensor bytes: a zip with one record per
# tensor and a small pickle
_WEIGHTS_OVERHEAD_BYTES = 2**20
_ARRAY_DTYPES = ("<f8", "<f4", "<i8", "<i4", "|b1", "object")


def _estimator_classes():
    from ._estimators import AttentionLSTMClassifier, AttentionLSTMRegressor

    return {cls.__name__: cls for cls in (AttentionLSTMRegressor, AttentionLSTMClassifier)}


def _json_params(estimator):
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name == "optimizer":
            matches = [key for key, cls in _OPTIMIZERS.items() if cls is value]
            if not matches:
                raise ValueError(
                    f"optimizer={value!r} cannot be saved in the safe format; supported: "
                    f"{sorted(_OPTIMIZERS)}. Use pickle/joblib for custom optimizers."
                )
            value = matches[0]
        elif name == "callbacks" and value:
            raise ValueError(
                "Estimators with callbacks cannot be saved in the safe format (callbacks "
                "are code). Use pickle/joblib, or set callbacks=None before saving."
            )
        elif name == "device":
            value = str(value)
        elif isinstance(value, np.generic):
            value = value.item()  # numpy scalars (np.arange grids) as plain numbers
        if name == "random_state" and not (value is None or isinstance(value, int)):
            raise ValueError(
                f"random_state={value!r} cannot be saved in the safe format (only an int "
                "or None can be). Set an int (or None) before saving, or use pickle/joblib."
            )
        try:
            json.dumps(value)
        except TypeError as error:
            raise ValueError(
                f"Parameter {name}={value!r} is not JSON-serialisable and cannot be saved "
                "in the safe format; use pickle/joblib."
            ) from error
        params[name] = value
    return params


def save(estimator, path):
    """Save a fitted skattn estimator to ``path`` in the safe format.

    Parameters
    ----------
    estimator : AttentionLSTMRegressor or AttentionLSTMClassifier
        A fitted estimator without callbacks.
    path : str or path-like
        Destination file (a zip archive; ``.skattn`` is a good suffix).

    See Also
    --------
    load : Read it back.
    """
    if type(estimator).__name__ not in _estimator_classes():
        if hasattr(estimator, "steps"):
            raise TypeError(
                f"save() writes one skattn estimator, not a {type(estimator).__name__}: its "
                "other steps are arbitrary scikit-learn objects this format cannot describe "
                "safely. Save the fitted network with save(pipeline[-1], path) and rebuild the "
                "other steps in code, refitted on the same training rows (windowing and "
                "scalers are deterministic), or write the whole Pipeline with skops.io.dump "
                "(pip install skops; read it with skops.io.load, trusting the types it "
                "lists), or with joblib for files you trust."
            )
        raise TypeError(f"save() takes a skattn estimator, got {type(estimator).__name__}.")
    check_is_fitted(estimator)
    changed = estimator._changed_architecture()
    if changed:
        fitted = estimator._architecture_at_fit
        raise ValueError(
            "The network was fitted with other values of "
            + ", ".join(f"{name} (fitted {fitted[name]!r}, now {getattr(estimator, name)!r})"
                        for name in changed)
            + "; a file with these parameters would not describe its weights. Set them "
            "back or fit again before saving."
        )
    fitted = {name: getattr(estimator, name) for name in _SCALAR_ATTRIBUTES}
    fitted.update(
        (name, getattr(estimator, name))
        for name in _OPTIONAL_SCALAR_ATTRIBUTES
        if hasattr(estimator, name)
    )
    arrays = {}
    for name in _ARRAY_ATTRIBUTES:
        if hasattr(estimator, name):
            value = np.asarray(getattr(estimator, name))
            arrays[name] = {"dtype": value.dtype.str, "values": value.tolist()}
            if value.dtype.kind == "O":
                arrays[name]["dtype"] = "object"
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "skattn_version": _version(),
        "class": type(estimator).__name__,
        "params": _json_params(estimator),
        "fitted": fitted,
        "arrays": arrays,
        "single_output": getattr(estimator, "_single_output", None),
        "n_outputs": len(estimator.y_mean_) if hasattr(estimator, "y_mean_")
        else estimator.net_.module_.head.out_features,
        "history": _json_history(estimator.net_.history),
    }
    weights = io.BytesIO()
    state = {name: value.detach().cpu() for name, value in
             estimator.net_.module_.state_dict().items()}
    torch.save(state, weights)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_DOCUMENT, json.dumps(document, allow_nan=False))
        archive.writestr(_WEIGHTS, weights.getvalue())


def _json_history(history):
    try:
        return json.loads(json.dumps(history.to_list()))
    except TypeError:  # a callback recorded something that is not JSON
        return None


def _version():
    from . import __version__

    return __version__


def load(path, *, device="cpu"):
    """Load an estimator written by :func:`save`; no code in the file is run.

    Safe for files from people you do not trust: nothing in the file is
    executed, and what it can make this process allocate is bounded. The
    JSON member is read up to ``MAX_DOCUMENT_BYTES``; the parameters are
    checked with the estimator's own constraints and the fitted attributes
    against an allow-list and each other before anything is built; the
    architecture's tensors are laid out without memory (torch's "meta"
    device) and must all be in the weights member, which is read only up to
    their size (and never past ``MAX_WEIGHTS_BYTES``); every weight and
    fitted number must be finite.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str, default="cpu"
        Where to put the weights ("cpu", "cuda", ...). The estimator's
        ``device`` parameter is set to it.

    Returns
    -------
    estimator : AttentionLSTMRegressor or AttentionLSTMClassifier
        Fitted, predicting as the saved one did.

    Raises
    ------
    ValueError
        The file is not a skattn model, is truncated, corrupted or larger than
        the limits, was written by an incompatible version, or its contents do
        not describe a valid fitted estimator. The message says which.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _members(archive, path)
            document = _read_document(archive, infos[_DOCUMENT], path)
            estimator, n_outputs = _estimator_from_document(document, path, device)
            shapes = _expected_state(estimator, n_outputs)
            weights = _read_weights(archive, infos[_WEIGHTS], shapes, path)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except ValueError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError,
            NotImplementedError, zlib.error) as error:
        raise ValueError(
            f"{path} is not a readable skattn model file (truncated, corrupted, or "
            f"not written by skattn.save): {type(error).__name__}: {error}"
        ) from error
    estimator.net_ = estimator._build_net(n_outputs, seed=0, n_samples=None).initialize()
    estimator.net_.module_.load_state_dict(weights)
    if document.get("history") is not None:
        estimator.net_.history = History(document["history"])
    return estimator


def _members(archive, path):
    """The two members by name; refuses duplicates and missing ones."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"{path} holds several members named {duplicated}; a file "
                         "written by skattn.save holds each once.")
    by_name = {info.filename: info for info in infos}
    missing = [name for name in (_DOCUMENT, _WEIGHTS) if name not in by_name]
    if missing:
        raise ValueError(f"{path} is not a skattn model file: it has no {missing} member.")
    return by_name


def _read_capped(archive, info, limit, path, what):
    if info.file_size > limit:
        raise ValueError(f"{path}: the {what} member declares {info.file_size} bytes, more "
                         f"than the {limit} a skattn model file may hold there.")
    with archive.open(info) as member:
        content = member.read(limit + 1)
    if len(content) > limit:
        raise ValueError(f"{path}: the {what} member is larger than its declared size "
                         f"and the {limit}-byte limit.")
    return content


def _read_document(archive, info, path):
    content = _read_capped(archive, info, MAX_DOCUMENT_BYTES, path, _DOCUMENT)
    try:
        document = json.loads(content.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path}: {_DOCUMENT} is not valid JSON "
                         f"({type(error).__name__}: {error}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skattn model file.")
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in skattn model format version {document.get('version')!r} "
            f"(skattn {document.get('skattn_version')!r}); this skattn "
            f"({_version()}) reads version {FORMAT_VERSION}."
        )
    return document


def _refuse_constant(name):
    raise ValueError(f"the model file holds the non-finite number {name}.")


def _expect(condition, path, message):
    if not condition:
        raise ValueError(f"{path}: {message}")


def _is_int(value, low=0, high=2**31):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _estimator_from_document(document, path, device):
    """The unfitted-but-described estimator and its number of outputs, every
    field checked; raises ValueError naming what is wrong."""
    classes = _estimator_classes()
    _expect(document.get("class") in classes, path,
            f"it holds an unknown estimator class {document.get('class')!r}.")
    cls = classes[document["class"]]
    params = document.get("params")
    _expect(isinstance(params, dict), path, "its parameters are not a JSON object.")
    params = dict(params)
    from ._estimators import _is_routed

    known = set(cls._get_param_names())
    unknown = sorted(name for name in set(params) - known if not _is_routed(name))
    _expect(not unknown, path, f"it holds unknown parameters {unknown}.")
    optimizer = params.get("optimizer")
    _expect(isinstance(optimizer, str) and optimizer in _OPTIMIZERS, path,
            f"it names an unsupported optimizer {optimizer!r}.")
    params["optimizer"] = _OPTIMIZERS[optimizer]
    _expect(params.get("callbacks") in (None, []), path, "it holds callbacks (code).")
    params["device"] = device
    try:
        estimator = cls(**params)
        estimator._validate_params()
        estimator._check_extra_params()
        estimator._check_architecture()
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} holds invalid parameters: {error}") from None
    estimator._check_device()

    fitted = document.get("fitted")
    _expect(isinstance(fitted, dict), path, "its fitted attributes are not a JSON object.")
    allowed = _SCALAR_ATTRIBUTES + _OPTIONAL_SCALAR_ATTRIBUTES
    unknown = sorted(set(fitted) - set(allowed))
    _expect(not unknown, path, f"it holds unknown fitted attributes {unknown}.")
    missing = sorted(set(_SCALAR_ATTRIBUTES) - set(fitted))
    _expect(not missing, path, f"it lacks the fitted attributes {missing}.")
    for name in ("n_timesteps_", "n_features_per_step_"):
        _expect(_is_int(fitted[name], 1, 2**20), path, f"{name}={fitted[name]!r} is invalid.")
    _expect(_is_int(fitted["n_iter_"]), path, f"n_iter_={fitted['n_iter_']!r} is invalid.")
    _expect(fitted["n_features_in_"] == fitted["n_timesteps_"] * fitted["n_features_per_step_"],
            path, "n_features_in_ is not n_timesteps_ x n_features_per_step_.")
    for name in ("network_dropped_", "panel_"):
        _expect(fitted.get(name) in (None, True, False), path, f"{name} is not a boolean.")
    for name in ("skip_anchor_", "target_feature_"):  # feature labels, checked below
        _expect(fitted.get(name) is None or isinstance(fitted[name], str), path,
                f"{name} is not a feature label.")
    for name, value in fitted.items():
        setattr(estimator, name, value)

    arrays = document.get("arrays")
    _expect(isinstance(arrays, dict), path, "its arrays are not a JSON object.")
    unknown = sorted(set(arrays) - set(_ARRAY_ATTRIBUTES))
    _expect(not unknown, path, f"it holds unknown arrays {unknown}.")
    for name, spec in arrays.items():
        _expect(isinstance(spec, dict) and isinstance(spec.get("values"), list)
                and (spec.get("dtype") in _ARRAY_DTYPES
                     or re.fullmatch(r"<U[0-9]{1,6}", str(spec.get("dtype")))),
                path, f"array {name} is malformed.")
        dtype = object if spec["dtype"] == "object" else np.dtype(spec["dtype"])
        try:
            value = np.asarray(spec["values"], dtype=dtype)
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"{path}: array {name} is malformed ({error}).") from None
        if dtype is object:
            _expect(all(isinstance(item, (str, int, float, bool)) for item in value.ravel()),
                    path, f"array {name} holds values that are not strings or numbers.")
        elif value.dtype.kind in "fi":
            _expect(np.isfinite(value).all(), path, f"array {name} holds NaN or inf.")
        setattr(estimator, name, value)
    estimator._architecture_at_fit = estimator._architecture()

    n_outputs = document.get("n_outputs")
    _expect(_is_int(n_outputs, 1, 2**20), path, f"n_outputs={n_outputs!r} is invalid.")
    _expect(document.get("single_output") in (None, True, False), path,
            "single_output is not a boolean.")
    if document.get("single_output") is not None:
        estimator._single_output = document["single_output"]
    _check_consistent(estimator, n_outputs, path)
    history = document.get("history")
    _expect(history is None or (isinstance(history, list)
                                and all(isinstance(row, dict) for row in history)),
            path, "its training history is not a list of epochs.")
    return estimator, n_outputs


def _check_consistent(estimator, n_outputs, path):
    """Fitted attributes that must agree with each other and with the class."""
    n_timesteps, n_features = estimator.n_timesteps_, estimator.n_features_per_step_
    for name, size in (("time_labels_", n_timesteps), ("feature_labels_", n_features)):
        value = getattr(estimator, name, None)
        _expect(value is not None and value.shape == (size,), path,
                f"{name} is missing or does not have {size} entries.")
    if hasattr(estimator, "classes_"):
        _expect(type(estimator).__name__ == "AttentionLSTMClassifier", path,
                "a regressor file holds classes_ (the class was changed).")
        n_classes = len(estimator.classes_)
        _expect(n_classes >= 2 and n_outputs == n_classes, path,
                f"classes_ ({n_classes}) does not match the {n_outputs} network outputs.")
    else:
        _expect(type(estimator).__name__ == "AttentionLSTMRegressor", path,
                "a classifier file has no classes_ (or the class was changed).")
        for name in ("y_mean_", "y_scale_"):
            value = getattr(estimator, name, None)
            _expect(value is not None and value.shape == (n_outputs,), path,
                    f"{name} is missing or does not match the {n_outputs} outputs.")
        _expect((estimator.y_scale_ > 0).all(), path, "y_scale_ must be positive.")
    for name in ("target_feature_", "skip_anchor_"):
        label = getattr(estimator, name, None)
        _expect(label is None or label in list(estimator.feature_labels_), path,
                f"{name}={label!r} is not one of the feature labels.")


def _expected_state(estimator, n_outputs):
    """Names, shapes and dtypes of the module's state, laid out on torch's
    "meta" device: the architecture the file declares, without its memory."""
    net = estimator._build_net(n_outputs, seed=0, n_samples=None)
    kwargs = net.get_params_for("module")
    with torch.device("meta"):
        module = net.module(**kwargs)
    return {name: (tuple(value.shape), value.dtype) for name, value in
            module.state_dict().items()}


def _read_weights(archive, info, shapes, path):
    needed = sum(math.prod(shape) * torch.empty((), dtype=dtype).element_size()
                 for shape, dtype in shapes.values())
    limit = min(MAX_WEIGHTS_BYTES, needed + _WEIGHTS_OVERHEAD_BYTES)
    if needed > MAX_WEIGHTS_BYTES:
        raise ValueError(f"{path} declares an architecture of {needed} bytes of weights, "
                         f"more than the {MAX_WEIGHTS_BYTES} a model file may hold.")
    if info.file_size < needed:
        raise ValueError(f"{path} declares an architecture of {needed} bytes of weights "
                         f"but its weights member holds {info.file_size}: the parameters "
                         "do not describe these weights (or the file was cut).")
    content = _read_capped(archive, info, limit, path, _WEIGHTS)
    try:
        state = torch.load(io.BytesIO(content), weights_only=True, map_location="cpu")
    except Exception as error:  # noqa: BLE001 - anything torch raises on hostile bytes
        raise ValueError(
            f"The weights in {path} are corrupted or hold objects that are not tensors; "
            f"they were refused without being run ({type(error).__name__}: {error})."
        ) from None
    _expect(isinstance(state, dict) and all(isinstance(value, torch.Tensor)
                                            for value in state.values()),
            path, "the weights are not a mapping of names to tensors.")
    _expect(set(state) == set(shapes), path,
            "the weights do not match the architecture its parameters describe "
            f"(missing {sorted(set(shapes) - set(state))}, "
            f"unexpected {sorted(set(state) - set(shapes))}).")
    for name, (shape, dtype) in shapes.items():
        tensor = state[name]
        _expect(tuple(tensor.shape) == shape and tensor.dtype == dtype, path,
                f"the weight {name} has shape {tuple(tensor.shape)} ({tensor.dtype}); the "
                f"architecture its parameters describe needs {shape} ({dtype}).")
        _expect(not tensor.is_floating_point() or bool(torch.isfinite(tensor).all()), path,
                f"the weight {name} holds NaN or inf.")
    return state
