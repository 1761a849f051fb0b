"""ONNX export: a fitted model as one graph, served without Python, pickle or skattn.

:func:`export_onnx` writes everything between the windows a caller passes to
``predict`` and what ``predict`` returns as one ONNX graph: the affine
scalers of a Pipeline in front, the reordering of lag-named or newest-first
columns, the network with its input standardisation, level-free form, linear
skip and quantile head, and the map back to the targets' units (or to class
probabilities and labels). Any ONNX runtime then serves it (onnxruntime from
Python, C, C++, C#, Java, JavaScript, or a database that hosts one).

The graph is traced by torch's ONNX exporter (``torch.onnx.export(...,
dynamo=True)``, built on ``torch.export``): the TorchScript-based one is
deprecated and has no ``diff``. The masking in ``_modules`` is written so that
it exports: no ``-inf`` and no NaN to repair in the softmax, and the running
maximum of the forward fill, which ONNX lacks, as maxima of shifted copies.
"""

import contextlib
import copy
import json
import logging
import os
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._estimators import HEADED_ATTENTIONS, AttentionLSTMClassifier, AttentionLSTMRegressor
from ._modules import FEATURE_ATTENTIONS
from ._validation import lag_layout

# ONNX opset of the graph (onnxruntime runs it from 1.14 on)
OPSET = 18
# scikit-learn steps that are a per-column affine map, and so a layer of the graph
AFFINE_STEPS = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)
# torch's exporter logs (at WARNING) every optional operator library it does not find
_EXPORTER_LOGGER = "torch.onnx._internal.exporter._registration"


class AffineColumns(nn.Module):
    """One fitted scaler as ``((X - subtract) / divide) * multiply + add``,
    optionally clipped; each factor is 1 (each term 0) where the scaler has
    none, which leaves the values exactly as the scaler computes them. NaN
    stays NaN, as in scikit-learn."""

    def __init__(self, scaler):
        super().__init__()
        n_columns = scaler.n_features_in_
        ones, zeros = np.ones(n_columns), np.zeros(n_columns)
        subtract, divide, multiply, add = zeros, ones, ones, zeros
        clip = None
        # the flags, not the fitted attributes, say what transform does:
        # StandardScaler(with_mean=False) still stores mean_
        if isinstance(scaler, StandardScaler):
            if scaler.with_mean and scaler.mean_ is not None:
                subtract = scaler.mean_
            if scaler.with_std and scaler.scale_ is not None:
                divide = scaler.scale_
        elif isinstance(scaler, RobustScaler):
            if scaler.with_centering and scaler.center_ is not None:
                subtract = scaler.center_
            if scaler.with_scaling and scaler.scale_ is not None:
                divide = scaler.scale_
        elif isinstance(scaler, MaxAbsScaler):
            divide = scaler.scale_
        else:  # MinMaxScaler
            multiply, add = scaler.scale_, scaler.min_
            clip = scaler.feature_range if scaler.clip else None
        for name, value in (("subtract", subtract), ("divide", divide),
                            ("multiply", multiply), ("add", add)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value), dtype=torch.float32))
        self.clip = None if clip is None else tuple(float(bound) for bound in clip)

    def forward(self, X):
        X = (X - self.subtract) / self.divide * self.multiply + self.add
        if self.clip is not None:
            X = torch.where(torch.isnan(X), X, X.clamp(*self.clip))
        return X


class ServingGraph(nn.Module):
    """What ``predict`` computes from the caller's windows, as one module.

    ``forward(X)`` takes float32 ``X`` of shape (batch, n_columns) (``flat``)
    or (batch, n_timesteps, n_features) and returns the tuple of outputs that
    :func:`_output_names` names, in that order.
    """

    def __init__(self, network, scalers, estimator, *, flat, return_attention, interval):
        super().__init__()
        self.network = network
        self.scalers = nn.ModuleList(AffineColumns(scaler) for scaler in scalers)
        self.flat = flat
        self.window_shape = (estimator.n_timesteps_, estimator.n_features_per_step_)
        layout = lag_layout(getattr(estimator, "feature_names_in_", None)) if flat else None
        order = None if layout is None else layout["order"]
        if order is not None and np.array_equal(order, np.arange(len(order))):
            order = None
        self.register_buffer("column_order",
                             None if order is None else torch.as_tensor(order))
        # as validate_windows: named lag columns are put in order by their names
        self.reverse_time = layout is None and estimator.time_order == "newest_first"
        self.classifier = isinstance(estimator, AttentionLSTMClassifier)
        self.attention_kind = estimator._fitted_param("attention") if return_attention else None
        if not self.classifier:
            self.register_buffer("y_mean", torch.as_tensor(estimator.y_mean_, dtype=torch.float32))
            self.register_buffer("y_scale", torch.as_tensor(estimator.y_scale_,
                                                            dtype=torch.float32))
            self.single_output = estimator._single_output
            self.n_levels = network.n_quantiles
            self.median_index = network.median_index
        self.interval = None
        if interval is not None:
            number, (low, high) = interval
            self.interval = (low, high)
            self.register_buffer("interval_offset", torch.as_tensor(
                estimator.interval_offsets_[number], dtype=torch.float32))

    def forward(self, X):
        for scaler in self.scalers:
            X = scaler(X)
        if self.flat:
            if self.column_order is not None:
                X = X[:, self.column_order]
            X = X.reshape(-1, *self.window_shape)
        if self.reverse_time:
            X = X.flip(1)
        raw, weights = self.network(X)
        # predict refuses a window with nothing observed; a graph cannot raise,
        # so its values are NaN instead of a number that looks like a forecast
        empty = torch.isnan(X).flatten(start_dim=1).all(dim=1)
        outputs = self._classes(raw) if self.classifier else self._targets(raw, weights)
        if self.attention_kind is not None:
            outputs += self._attention(weights)
        return tuple(
            output if output.dtype == torch.int64 else torch.where(
                empty.view(-1, *[1] * (output.dim() - 1)), torch.nan, output)
            for output in outputs
        )

    def _classes(self, logits):
        return [logits.argmax(dim=1), torch.softmax(logits, dim=1)]

    def _targets(self, raw, weights):
        values = raw.reshape(raw.shape[0], -1, self.n_levels)
        values = values * self.y_scale[:, None] + self.y_mean[:, None]
        outputs = [values[..., self.median_index]]
        if self.n_levels > 1:
            outputs.append(values)
        if self.interval is not None:
            low, high = self.interval
            window_scale = weights.get("window_scale", torch.ones_like(values[..., 0]))
            shift = self.interval_offset * window_scale * self.y_scale
            lower = values[..., low] - shift
            upper = torch.maximum(values[..., high] + shift, lower)
            outputs.append(torch.stack([lower, upper], dim=-1))
        return [output[:, 0] for output in outputs] if self.single_output else outputs

    def _attention(self, weights):
        kind = self.attention_kind
        outputs = [weights["feature" if kind == "feature" else "temporal"]]
        if kind in FEATURE_ATTENTIONS:
            outputs.append(weights["feature"])
        if kind in HEADED_ATTENTIONS:
            outputs.append(weights["heads"])
        return outputs


def _output_names(estimator, *, return_attention, coverage):
    if isinstance(estimator, AttentionLSTMClassifier):
        names = ["label", "probabilities"]
    else:
        names = ["prediction"]
        if estimator.net_.module_.n_quantiles > 1:
            names.append("quantiles")
        if coverage is not None:
            names.append("interval")
    if return_attention:
        kind = estimator._fitted_param("attention")
        names.append("attention")
        if kind in FEATURE_ATTENTIONS:
            names.append("feature_attention")
        if kind in HEADED_ATTENTIONS:
            names.append("head_attention")
    return names


def _refused_step(name, step, position):
    kind = type(step).__name__
    if kind == "SlidingWindowTransformer":
        advice = (
            "it turns a series into windows, and the graph takes windows. Export the "
            f"steps after it (pipeline[{position + 1}:]) and feed the graph what this "
            "step's transform gives."
        )
    else:
        advice = (
            f"only the affine scalers {[cls.__name__ for cls in AFFINE_STEPS]} in front "
            "of the skattn estimator go into the graph. Convert plain scikit-learn steps "
            "with skl2onnx and chain the two graphs, or export the steps from the skattn "
            "estimator on and transform its input yourself."
        )
    return ValueError(f"export_onnx cannot export step {name!r} ({kind}) of the Pipeline: "
                      + advice)


def _split(model):
    """(fitted affine steps, fitted skattn estimator) of ``model``."""
    estimators = (AttentionLSTMRegressor, AttentionLSTMClassifier)
    if isinstance(model, estimators):
        check_is_fitted(model)
        return [], model
    if not isinstance(model, Pipeline):
        hint = (" Export its best_estimator_." if hasattr(model, "best_estimator_") else "")
        raise TypeError(
            "estimator_or_pipeline must be a fitted AttentionLSTMRegressor or "
            "AttentionLSTMClassifier, or a Pipeline ending in one; got "
            f"{type(model).__name__}.{hint}"
        )
    *steps, (final_name, final) = model.steps
    if not isinstance(final, estimators):
        raise TypeError(
            f"The Pipeline's last step {final_name!r} is a {type(final).__name__}; "
            "export_onnx exports Pipelines that end in an AttentionLSTMRegressor or "
            "AttentionLSTMClassifier."
        )
    steps = [(position, name, step) for position, (name, step) in enumerate(steps)
             if step is not None and not (isinstance(step, str) and step == "passthrough")]
    for position, name, step in steps:
        if type(step) not in AFFINE_STEPS:
            raise _refused_step(name, step, position)
    check_is_fitted(final)
    scalers = []
    for _, name, step in steps:
        check_is_fitted(step)
        if step.n_features_in_ != final.n_features_in_:
            raise ValueError(
                f"Step {name!r} ({type(step).__name__}) takes {step.n_features_in_} "
                f"columns, but the model after it takes {final.n_features_in_}: only "
                "steps that keep the columns can go into the graph."
            )
        scalers.append(step)
    return scalers, final


def _interval(estimator, coverage):
    """(number, (low, high)) of the quantile pair whose interval has ``coverage``,
    as ``predict_interval`` chooses it; None without ``coverage``."""
    if coverage is None:
        return None
    if isinstance(coverage, bool) or not isinstance(coverage, Real) or not 0 < coverage < 1:
        raise ValueError(f"coverage must be None or a number between 0 and 1, got {coverage!r}.")
    levels = (None if isinstance(estimator, AttentionLSTMClassifier)
              else estimator._quantile_levels(estimator._fitted_param("quantiles")))
    if levels is None:
        raise ValueError(
            f"coverage={coverage} adds prediction intervals, which need a regressor "
            "fitted with quantiles; this model has none (quantiles=None)."
        )
    return estimator._interval_for(coverage, levels)


def _class_labels(classes):
    """``classes_`` as an array ONNX can hold: numbers, booleans or strings."""
    values = np.asarray(list(classes))
    if values.dtype.kind in "biuf":
        return values
    if all(isinstance(label, str) for label in classes):
        return np.asarray(classes, dtype=object)
    raise ValueError(
        f"The classifier's labels {list(classes)[:5]} mix types ONNX cannot hold in one "
        "tensor; export_onnx supports labels that are all numbers, all booleans or all "
        "strings. Refit with labels of one type."
    )


@contextlib.contextmanager
def _quiet_exporter():
    """Keep torch's exporter from warning about its own internals."""
    logger = logging.getLogger(_EXPORTER_LOGGER)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        # what it warns about (its deprecations, attributes it sets while
        # tracing) is its own business, not the caller's; the result is checked
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _metadata(estimator, scalers, names, *, flat, coverage):
    n_timesteps, n_features = estimator.n_timesteps_, estimator.n_features_per_step_
    props = {
        "skattn_estimator": type(estimator).__name__,
        "skattn_scalers": json.dumps([type(scaler).__name__ for scaler in scalers]),
        "input_shape": json.dumps(
            ["batch", n_timesteps * n_features] if flat else ["batch", n_timesteps, n_features]),
        "n_timesteps": str(n_timesteps),
        "n_features": str(n_features),
        "time_labels": json.dumps([str(label) for label in estimator.time_labels_]),
        "feature_labels": json.dumps([str(label) for label in estimator.feature_labels_]),
        "outputs": json.dumps(names),
    }
    if getattr(estimator, "feature_names_in_", None) is not None:
        props["input_columns"] = json.dumps([str(name) for name in estimator.feature_names_in_])
    if isinstance(estimator, AttentionLSTMClassifier):
        props["classes"] = json.dumps([str(label) for label in estimator.classes_])
    else:
        levels = estimator._quantile_levels(estimator._fitted_param("quantiles"))
        if levels is not None:
            props["quantiles"] = json.dumps(list(levels))
        if coverage is not None:
            props["coverage"] = str(coverage)
    return props


def export_onnx(estimator_or_pipeline, path, *, return_attention=False, coverage=None,
                flat=True):
    """Write a fitted skattn model as one ONNX graph that reproduces its predictions.

    The graph holds the whole computation from the windows ``predict``
    receives to what it returns: affine scalers in front (``StandardScaler``,
    ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``), the network with
    its input standardisation, per-window normalisation and linear skip, and
    the map back to the targets' units. Serve it with onnxruntime (or any ONNX
    runtime) without Python, pickle, skattn or torch. Needs the ``onnx``
    extra: ``pip install "skattn[onnx]"``.

    Parameters
    ----------
    estimator_or_pipeline : AttentionLSTMRegressor, AttentionLSTMClassifier or Pipeline
        A fitted estimator, or a fitted Pipeline of affine scalers (or
        "passthrough") that ends in one. Any other step is refused with a
        ValueError that names it.
    path : str or path-like
        The ``.onnx`` file to write.
    return_attention : bool, default=False
        Add the attention outputs: ``attention`` (what ``predict_attention``
        gives), ``feature_attention`` (``predict_feature_attention``, for
        ``attention`` "feature" and "dual") and ``head_attention``
        (``predict_attention(per_head=True)``, for "temporal", "dual" and
        "multihead"). Missing steps get exactly 0.
    coverage : float, default=None
        A regressor fitted with ``quantiles``: add the output ``interval``,
        what ``predict_interval(X, coverage)`` gives (conformal corrections
        included).
    flat : bool, default=True
        True: the input ``X`` is float32 of shape (batch, n_timesteps *
        n_features), the 2-D windows ``predict`` takes (a Pipeline's input;
        columns as in fit: lag-named or ``time_order`` columns are put in order
        inside the graph). False: 3-D windows (batch, n_timesteps, n_features),
        for an estimator without scalers in front.

    Returns
    -------
    model : onnx.ModelProto
        The graph that was written. Its input is ``X`` (float32, NaN for
        missing values, any batch size). Its outputs, float32 unless said:
        a regressor's ``prediction`` (batch,) or (batch, n_outputs), as
        ``predict``; with quantiles also ``quantiles`` (batch, n_levels) or
        (batch, n_outputs, n_levels); with ``coverage`` also ``interval``
        (batch, 2) or (batch, n_outputs, 2). A classifier's ``label``
        (batch,) with the type of ``classes_`` and ``probabilities`` (batch,
        n_classes). Then the attention outputs. A window with no observed
        value (``predict`` refuses it) gives NaN; the graph does not check for
        inf. ``metadata_props`` hold the labels of the steps and features,
        the classes or quantile levels and the output names.

    See Also
    --------
    save : A safe file format for the fitted estimator itself.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skattn import AttentionLSTMRegressor, export_onnx
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 6)).astype(np.float32)
    >>> y = X[:, 2] + X[:, 5]
    >>> reg = AttentionLSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> _ = export_onnx(reg, path)
    >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> X[0, 1] = np.nan  # a missing value
    >>> (prediction,) = session.run(None, {"X": X[:3]})
    >>> np.allclose(prediction, reg.predict(X[:3]), rtol=1e-4, atol=1e-5)
    True
    """
    try:
        import onnx
        import onnxscript  # noqa: F401  torch's exporter needs it
    except ImportError as error:
        raise ImportError(
            f"export_onnx needs the packages onnx and onnxscript ({error.name} is missing); "
            'install them with pip install "skattn[onnx]".'
        ) from error
    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 6):
        raise ImportError(
            f"export_onnx needs torch >= 2.6 (its torch.export-based ONNX exporter); this is "
            f"torch {torch.__version__}."
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}.")
    scalers, estimator = _split(estimator_or_pipeline)
    if not flat and scalers:
        raise ValueError(
            "flat=False makes the graph take 3-D windows, but the Pipeline's scalers "
            f"({[type(scaler).__name__ for scaler in scalers]}) take 2-D rows; use flat=True."
        )
    if return_attention and estimator._fitted_param("attention") == "none":
        raise ValueError(
            "return_attention=True, but the model was fitted with attention='none' and has "
            "no attention weights; use return_attention=False."
        )
    interval = _interval(estimator, coverage)
    classes = _class_labels(estimator.classes_) if hasattr(estimator, "classes_") else None
    names = _output_names(estimator, return_attention=return_attention, coverage=coverage)
    # a copy on the CPU in eval mode: the estimator's own module is left as it is
    network = _cpu_copy(estimator.net_.module_)
    graph = ServingGraph(network, scalers, estimator, flat=flat,
                         return_attention=return_attention, interval=interval).eval()
    window_shape = (estimator.n_timesteps_, estimator.n_features_per_step_)
    example = torch.zeros((2, int(np.prod(window_shape))) if flat else (2, *window_shape))
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            graph, (example,), None, input_names=["X"], output_names=names,
            dynamic_shapes=({0: torch.export.Dim("batch")},), opset_version=OPSET,
            dynamo=True, verbose=False,
        )
    model = program.model_proto
    if classes is not None:
        _gather_labels(model, classes)
    onnx.helper.set_model_props(
        model, _metadata(estimator, scalers, names, flat=flat, coverage=coverage))
    model.doc_string = (
        f"skattn {type(estimator).__name__}: input X (float32, NaN for missing values), "
        f"outputs {', '.join(names)}."
    )
    onnx.checker.check_model(model)
    onnx.save_model(model, os.fspath(path))
    return model


def _cpu_copy(module):
    network = copy.deepcopy(module).cpu().eval()
    network.requires_grad_(False)
    return network


def _gather_labels(model, classes):
    """Turn the graph's output ``label`` (class indices) into the labels themselves."""
    from onnx import helper, numpy_helper

    graph = model.graph
    for node in graph.node:
        node.input[:] = ["label_index_" if name == "label" else name for name in node.input]
        node.output[:] = ["label_index_" if name == "label" else name for name in node.output]
    for info in graph.value_info:
        if info.name == "label":
            info.name = "label_index_"
    graph.initializer.append(numpy_helper.from_array(classes, name="classes_"))
    graph.node.append(helper.make_node("Gather", ["classes_", "label_index_"], ["label"], axis=0))
    output = next(output for output in graph.output if output.name == "label")
    output.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(classes.dtype)
