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
import pickle  # only for its exception class: nothing is unpickled here
import zipfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

FORMAT = "skattn-model"
FORMAT_VERSION = 2  # 2: per-step centres, attention heads, level input
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
)
_SCALAR_ATTRIBUTES = ("n_features_in_", "n_timesteps_", "n_features_per_step_", "n_iter_")
_OPTIONAL_SCALAR_ATTRIBUTES = ("skip_anchor_", "network_dropped_", "target_feature_")


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
        elif name == "random_state" and not (value is None or isinstance(value, int)):
            value = None
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
    check_is_fitted(estimator)
    if type(estimator).__name__ not in _estimator_classes():
        raise TypeError(f"save() takes a skattn estimator, got {type(estimator).__name__}.")
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
        "n_outputs": estimator.net_.module_.head.out_features,
        "history": _json_history(estimator.net_.history),
    }
    weights = io.BytesIO()
    state = {name: value.detach().cpu() for name, value in
             estimator.net_.module_.state_dict().items()}
    torch.save(state, weights)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("skattn.json", json.dumps(document))
        archive.writestr("weights.pt", weights.getvalue())


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
        The file is not a skattn model, is truncated or corrupted, was
        written by an incompatible version, or its weights do not fit the
        architecture its parameters describe.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            document = json.loads(archive.read("skattn.json"))
            weights = archive.read("weights.pt")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, EOFError) as error:
        raise ValueError(
            f"{path} is not a readable skattn model file (truncated, corrupted, or "
            f"not written by skattn.save): {error}"
        ) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a skattn model file.")
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was written in skattn model format version {document.get('version')} "
            f"(skattn {document.get('skattn_version')}); this skattn "
            f"({_version()}) reads version {FORMAT_VERSION}."
        )
    classes = _estimator_classes()
    if document.get("class") not in classes:
        raise ValueError(f"{path} holds an unknown estimator class {document.get('class')!r}.")
    params = dict(document["params"])
    optimizer = params.get("optimizer")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"{path} names an unsupported optimizer {optimizer!r}.")
    params["optimizer"] = _OPTIMIZERS[optimizer]
    params["device"] = device
    estimator = classes[document["class"]](**params)
    estimator._check_device()
    for name, value in document["fitted"].items():
        if name not in _SCALAR_ATTRIBUTES + _OPTIONAL_SCALAR_ATTRIBUTES:
            raise ValueError(f"{path} holds an unknown fitted attribute {name!r}.")
        setattr(estimator, name, value)
    for name, spec in document["arrays"].items():
        dtype = object if spec["dtype"] == "object" else np.dtype(spec["dtype"])
        setattr(estimator, name, np.asarray(spec["values"], dtype=dtype))
    if document["single_output"] is not None:
        estimator._single_output = document["single_output"]
    net = estimator._build_net(document["n_outputs"], seed=0, n_samples=None)
    estimator.net_ = net.initialize()
    try:
        state = torch.load(io.BytesIO(weights), weights_only=True, map_location=device)
        estimator.net_.module_.load_state_dict(state)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"The weights in {path} hold objects that are not tensors; they were refused "
            "without being run (corrupted or malicious file)."
        ) from error
    except (RuntimeError, EOFError, ValueError, KeyError) as error:
        raise ValueError(
            f"The weights in {path} do not match the architecture its parameters "
            f"describe, or are corrupted: {error}"
        ) from error
    if document.get("history") is not None:
        estimator.net_.history = History(document["history"])
    return estimator
