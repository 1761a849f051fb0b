"""scikit-learn estimators around the skorch net: regressor and classifier."""

import contextlib
import difflib
import math
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_random_state
from skorch.callbacks import GradientNormClipping

from ._linear import (
    conformal_quantiles,
    correction_weights,
    feature_moments,
    fill_from_latest,
    find_target_feature,
    history_bounds,
    level_stationary,
    naive_level,
    proportional_level,
    skip_ridge,
    spread_floor,
)
from ._modules import (
    ATTENTION_VALUES,
    ATTENTIONS,
    CELLS,
    FEATURE_ATTENTIONS,
    WINDOW_NORMS,
    AttentionRNN,
    PinballLoss,
)
from ._net import AttentionNet, EarlyStoppingFromStart, TailSplit, TensorBatches, TensorDataset
from ._panel import is_panel, newest_rows, series_rows
from ._validation import as_tensor, is_pandas, lag_layout, validate_windows

# Prefixes skorch routes to its parts; e.g. ``optimizer__weight_decay=1e-4``.
ROUTED_PREFIXES = ("optimizer", "criterion", "iterator_train", "iterator_valid", "callbacks")
# The "auto" training schedule (measured with benchmarks/accuracy.py): at
# least AUTO_STEPS optimiser steps (50 to 200 epochs) and early stopping on the
# newest windows from 8 windows on (2 held out): on 82 short M3 series (about
# 8 to 40 windows, one-step MASE) 200 unchecked epochs were 34% worse than
# naive (geometric mean), early stopping from the untrained start 5%. Large
# data early-stops too: on M3 monthly (116,154 windows, benchmarks/m3.py) 50
# plain epochs gave sMAPE 13.95 in 589 s, early stopping 13.75 in 249 s.
AUTO_STEPS = 4000
AUTO_EARLY_STOPPING_MIN_SAMPLES = 8
# The window count a model loaded from a file resolves its "auto" schedule for.
AUTO_LOADED_SAMPLES = 100_000
# Most CPU threads n_threads may ask for (libgomp aborts the process on absurd counts).
MAX_THREADS = 1024
# Upper bound on the elements of the largest activation of one predict chunk.
_PREDICT_CHUNK_ELEMENTS = 2**24


def _is_routed(name):
    return "__" in name and name.split("__", 1)[0] in ROUTED_PREFIXES


def resolve_n_threads(n_threads):
    """CPU threads torch uses inside fit and predict; None means 1.

    Measured on 2 cores (benchmarks/speed.py, batch 256): 2 threads train
    1.2-1.5x faster than 1 on an idle machine, but 3x to 10x slower when
    another process keeps one core busy, and a single-window predict can
    jump from about 1 ms to hundreds on a loaded machine. One thread per fit is also what
    GridSearchCV(n_jobs=k) needs to use k cores without oversubscribing, and
    it keeps results identical whatever else the machine is doing. Large
    models on an otherwise idle machine can ask for more.
    """
    return 1 if n_threads is None else int(n_threads)


# torch's random generator and thread count are process-wide: seeded fits in
# several threads of one process (joblib's threading backend) take turns.
_SEEDED_SECTION = threading.RLock()
# ids of the estimators being fitted right now, to refuse a second concurrent
# fit of the same object
_FITTING = set()
_FITTING_LOCK = threading.Lock()


@contextlib.contextmanager
def _fitting(estimator):
    with _FITTING_LOCK:
        if id(estimator) in _FITTING:
            raise RuntimeError(
                f"This {type(estimator).__name__} is already being fitted in another "
                "thread; fit one object from one thread at a time (clone it for "
                "parallel fits)."
            )
        _FITTING.add(id(estimator))
    try:
        yield
    finally:
        with _FITTING_LOCK:
            _FITTING.discard(id(estimator))


@contextlib.contextmanager
def _torch_state(n_threads, device, seed):
    """Run torch with ``n_threads`` CPU threads and, when ``seed`` is given, a
    private copy of the random state seeded with it; restore both afterwards.

    Seeding inside ``fork_rng`` keeps results reproducible (dropout draws
    from torch's global generator) without changing the caller's random state.
    Seeded sections run one at a time in a process, so fits in threads give
    the same results as sequential ones.
    """
    if seed is not None:
        with _SEEDED_SECTION, _torch_state(n_threads, device, None):
            device = torch.device(device)
            cuda_devices = [device.index or 0] if device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda_devices):
                torch.random.default_generator.manual_seed(seed)
                if cuda_devices:
                    torch.cuda.manual_seed(seed)
                yield
        return
    n_threads = resolve_n_threads(n_threads)
    previous_threads = torch.get_num_threads()
    if n_threads != previous_threads:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous_threads:
            torch.set_num_threads(previous_threads)


# what the regressor's ``loss`` names; the first is "auto"
REGRESSION_LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
}

# attentions whose temporal weights are the mean of several heads
HEADED_ATTENTIONS = ("temporal", "dual", "multihead")
# Parameters that fix the network's shape or form: changing one after fit
# needs a new fit (warm_start refuses it, save refuses to write it).
ARCHITECTURE_PARAMS = (
    "cell", "hidden_size", "num_layers", "dropout", "bidirectional", "attention",
    "attention_values", "n_heads", "single_attention_vector", "window_norm",
    "target_feature", "linear_skip", "n_features", "time_order", "quantiles",
)


@contextlib.contextmanager
def _plain_params(estimator):
    """numpy scalars among the parameters (``np.arange`` grids in a search)
    as Python numbers while fitting, since torch refuses ``np.int64`` sizes;
    the objects the user set are restored afterwards."""
    originals = {
        name: value for name, value in vars(estimator).items()
        if name in estimator._get_param_names() and isinstance(value, np.generic)
    }
    for name, value in originals.items():
        setattr(estimator, name, value.item())
    try:
        yield
    finally:
        vars(estimator).update(originals)


def _has_attention(estimator):
    if estimator._fitted_param("attention") == "none":
        raise AttributeError(
            f"{type(estimator).__name__} with attention='none' has no attention "
            "weights: it is the same network without attention, for comparison."
        )
    return True


def _has_feature_attention(estimator):
    attention = estimator._fitted_param("attention")
    if attention not in FEATURE_ATTENTIONS:
        raise AttributeError(
            f"{type(estimator).__name__} with attention={attention!r} has no "
            f"feature attention; use one of {FEATURE_ATTENTIONS}."
        )
    return True


def _same_value(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


class _BaseAttentionRNN(BaseEstimator):
    """Shared fit / predict machinery; subclasses choose the target encoding."""

    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "cell": [StrOptions(set(CELLS))],
        "bidirectional": ["boolean"],
        "attention": [StrOptions(set(ATTENTIONS))],
        "attention_values": [StrOptions(set(ATTENTION_VALUES))],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "single_attention_vector": ["boolean"],
        "window_norm": [StrOptions(set(WINDOW_NORMS))],
        "target_feature": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left"),
                           str, None],
        "linear_skip": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left"), None],
        "time_order": [StrOptions({"oldest_first", "newest_first"})],
        "missing_target": [StrOptions({"raise", "ignore"})],
        "panel_loss": [StrOptions({"scaled", "plain"})],
        "quantiles": ["array-like", None],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "loss": [StrOptions({"auto"} | set(REGRESSION_LOSSES) | {"log_loss"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [callable],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "n_threads": [Interval(Integral, 1, MAX_THREADS, closed="both"), None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_size=32,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        attention="temporal",
        attention_values="inputs",
        n_heads=4,
        single_attention_vector=False,
        window_norm="none",
        target_feature="auto",
        linear_skip=False,
        dropout=0.0,
        n_features=None,
        time_order="oldest_first",
        missing_target="raise",
        panel_loss="scaled",
        quantiles=None,
        max_epochs="auto",
        batch_size="auto",
        loss="auto",
        lr=1e-2,
        optimizer=torch.optim.Adam,
        early_stopping="auto",
        validation_fraction=0.2,
        n_iter_no_change=20,
        gradient_clip=None,
        callbacks=None,
        warm_start=False,
        n_threads=None,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.attention = attention
        self.attention_values = attention_values
        self.n_heads = n_heads
        self.single_attention_vector = single_attention_vector
        self.window_norm = window_norm
        self.target_feature = target_feature
        self.linear_skip = linear_skip
        self.dropout = dropout
        self.n_features = n_features
        self.time_order = time_order
        self.missing_target = missing_target
        self.panel_loss = panel_loss
        self.quantiles = quantiles
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.loss = loss
        self.lr = lr
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.gradient_clip = gradient_clip
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(kwargs)

    # -- parameters -------------------------------------------------------
    def _extra_params(self):
        """Keyword arguments beyond the named parameters, e.g. ``optimizer__*``.

        They are checked in ``fit``, like every parameter, not when set.
        """
        named = set(self._get_param_names())
        return {
            name: value
            for name, value in vars(self).items()
            if name not in named and not name.startswith("_") and not name.endswith("_")
        }

    def get_params(self, deep=True):
        """Get parameters, including skorch-routed ones such as ``optimizer__*``."""
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        """Set parameters; ``optimizer__*``, ``callbacks__*`` etc. go to skorch."""
        named = set(self._get_param_names())
        for name in [name for name in params if name not in named]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params) if params else self

    def _check_extra_params(self):
        unknown = [name for name in self._extra_params() if not _is_routed(name)]
        if not unknown:
            return
        known = list(self._get_param_names()) + [f"{prefix}__" for prefix in ROUTED_PREFIXES]
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"Unknown parameter(s) for {type(self).__name__}: {', '.join(hints)}. "
            f"Valid names are {sorted(self._get_param_names())} and names with the "
            f"skorch prefixes {[p + '__' for p in ROUTED_PREFIXES]}."
        )

    # -- target encoding and loss, defined by subclasses ----------------------
    _y_numeric = True
    _losses = {}  # loss name -> torch criterion class; the first is "auto"

    def _quantile_levels(self, quantiles="current"):
        """The sorted quantile levels (0.5 included), or None without quantiles;
        of the ``quantiles`` parameter, or of another value of it."""
        quantiles = self.quantiles if isinstance(quantiles, str) else quantiles
        if quantiles is None:
            return None
        if not self._losses.get("squared_error"):
            raise ValueError(
                f"quantiles are for regression; {type(self).__name__} takes quantiles=None."
            )
        try:
            levels = np.asarray(quantiles, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            levels = np.array([np.nan])
        if not len(levels) or not ((levels > 0) & (levels < 1)).all():
            raise ValueError(
                f"quantiles must be levels strictly between 0 and 1, got {quantiles!r}."
            )
        return tuple(float(level) for level in np.unique(np.append(levels, 0.5)))

    def _criterion(self):
        """The torch criterion class ``loss`` names (ValueError if it is not one
        of this estimator's)."""
        if self._quantile_levels() is not None:
            if self.loss != "auto":
                raise ValueError(
                    f"With quantiles the loss is the pinball loss; loss={self.loss!r} "
                    "does not apply. Leave loss='auto'."
                )
            return PinballLoss
        if self.loss == "auto":
            return next(iter(self._losses.values()))
        if self.loss not in self._losses:
            raise ValueError(
                f"loss={self.loss!r} is not a loss of {type(self).__name__}; use one of "
                f"{['auto', *self._losses]}."
            )
        return self._losses[self.loss]

    def _series_scale(self, targets):
        """Per-row typical change of each series in a panel (regression), or None."""
        return None

    def _criterion_params(self):
        levels = self._quantile_levels()
        return {} if levels is None else {"quantiles": levels}

    def _sample_losses(self, predictions, targets):
        """Per-window training loss (summed over the outputs) of float arrays."""
        elementwise = self._criterion()(reduction="none", **self._criterion_params())
        losses = elementwise(torch.as_tensor(predictions), torch.as_tensor(targets))
        return losses.reshape(len(losses), -1).sum(dim=1).numpy()

    def _encode_target(self, y, refit):
        """Return (targets as a float32/int64 ndarray, n_outputs).

        With ``refit`` the encoding (target scale, classes) is learned from
        ``y``; without, the fitted one is reused (``warm_start``).
        """
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------
    def _split(self):
        """The time-ordered validation split early stopping uses."""
        return TailSplit(self.validation_fraction, getattr(self, "_panel_validation", None))

    def _schedule(self, n_samples):
        """(max_epochs, batch_size, early_stopping) for ``n_samples`` windows,
        resolving the "auto" settings; ``n_samples=None`` (a model loaded from
        a file, which only predicts) resolves them as for large data, without
        early stopping."""
        loaded = n_samples is None
        n_samples = AUTO_LOADED_SAMPLES if loaded else n_samples
        early_stopping = self.early_stopping
        if early_stopping == "auto":
            early_stopping = (not loaded and AUTO_EARLY_STOPPING_MIN_SAMPLES <= n_samples
                              and self._split().leaves_both_sides(n_samples))
        n_train = n_samples - (math.ceil(self.validation_fraction * n_samples)
                               if early_stopping else 0)
        batch_size = self.batch_size
        if batch_size == "auto":
            batch_size = min(128, max(32, n_train // 32))
        max_epochs = self.max_epochs
        if max_epochs == "auto":
            batches = max(1, math.ceil(n_train / batch_size))
            max_epochs = min(200, max(50, math.ceil(AUTO_STEPS / batches)))
        return max_epochs, batch_size, early_stopping

    def _build_net(self, n_outputs, seed, n_samples):
        max_epochs, batch_size, early_stopping = self._schedule(n_samples)
        callbacks = list(self.callbacks or [])
        if early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStoppingFromStart(
                        monitor="valid_loss", patience=self.n_iter_no_change, load_best=True,
                        include_start=self.linear_skip or self._target_feature_index() is not None,
                    ),
                )
            )
        if self.gradient_clip is not None:
            callbacks.append(
                ("gradient_clip", GradientNormClipping(gradient_clip_value=self.gradient_clip))
            )
        routed = self._extra_params()
        iterator_params = {
            "iterator_train__shuffle": True,
            "iterator_train__seed": seed,
        }
        iterator_params.update(
            {k: v for k, v in routed.items() if k.startswith("iterator_train__")}
        )
        return AttentionNet(
            module=AttentionRNN,
            module__n_features=self.n_features_per_step_,
            module__n_timesteps=self.n_timesteps_,
            module__n_outputs=n_outputs,
            module__cell=self.cell,
            module__hidden_size=self.hidden_size,
            module__num_layers=self.num_layers,
            module__dropout=self.dropout,
            module__bidirectional=self.bidirectional,
            module__attention=self.attention,
            module__attention_values=self.attention_values,
            module__n_heads=self.n_heads,
            module__single_attention_vector=self.single_attention_vector,
            module__window_norm=self.window_norm,
            module__target_feature=self._target_feature_index(),
            module__value_changes=not getattr(self, "panel_", False),
            module__linear_skip=self.linear_skip,
            module__n_quantiles=len(self._quantile_levels() or (0.5,)),
            module__median_index=(self._quantile_levels() or (0.5,)).index(0.5),
            criterion=self._criterion(),
            **{f"criterion__{name}": value for name, value in self._criterion_params().items()},
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=TensorBatches,
            iterator_valid=TensorBatches,
            dataset=TensorDataset,
            train_split=self._split() if early_stopping else None,
            callbacks=callbacks,
            predict_nonlinearity=None,
            verbose=self.verbose,
            device=self.device,
            **{k: v for k, v in routed.items() if not k.startswith("iterator_train__")},
            **iterator_params,
        )

    def _check_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device={self.device!r} is not a device torch knows: use 'cpu', 'cuda' "
                "or 'cuda:<index>' (or 'mps' on Apple silicon)."
            ) from None
        if device.type not in ("cpu", "cuda", "mps", "xpu"):
            raise ValueError(
                f"device={self.device!r}: skattn trains and predicts on 'cpu', 'cuda', "
                f"'mps' or 'xpu' devices, not on {device.type!r}."
            )
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested, but torch finds no CUDA device "
                "(torch.cuda.is_available() is False); use device='cpu'."
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(
                f"device={self.device!r}: torch finds {torch.cuda.device_count()} CUDA "
                "device(s)."
            )
        return device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to windows ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps * n_features)
            Windows, oldest step first. NaN marks missing values; a step whose
            values are all NaN is masked out of the attention.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, in the user's units.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each window in the training loss and in
            early stopping's validation loss (for example, the inverse of each
            series' typical change to train for MASE). Rows of weight 0 are
            left out. The intervals' calibration and the ``linear_skip`` gate
            count the windows alike.

        Returns
        -------
        self : estimator
            The fitted estimator.
        """
        with _fitting(self), _plain_params(self):
            try:
                return self._fit(X, y, sample_weight)
            finally:
                for name in ("_panel_validation", "_panel_series", "_panel_ids"):
                    vars(self).pop(name, None)

    def _architecture(self):
        return {name: getattr(self, name) for name in ARCHITECTURE_PARAMS}

    def _fitted_param(self, name):
        """A parameter of the fitted network (a later set_params changes the
        next fit, not this one); the current one before any fit."""
        return getattr(self, "_architecture_at_fit", {}).get(name, getattr(self, name))

    def _changed_architecture(self):
        """Names of the architecture parameters set differently since fit."""
        fitted = getattr(self, "_architecture_at_fit", None)
        if fitted is None:
            return []
        return [name for name, value in self._architecture().items()
                if not _same_value(fitted.get(name), value)]

    def _check_architecture(self):
        state_size = self.hidden_size * (2 if self.bidirectional else 1)
        if self.attention == "multihead" and self.n_heads > state_size:
            raise ValueError(
                f"n_heads={self.n_heads} is more than the recurrent state has dimensions "
                f"({state_size} = hidden_size x directions): each head needs at least one. "
                f"Use n_heads <= {state_size} or a larger hidden_size."
            )

    def _fit(self, X, y, sample_weight=None):
        self._check_extra_params()
        self._check_architecture()
        self._criterion()  # a loss of the other estimator fails before any work
        device = self._check_device()
        warm = self.warm_start and hasattr(self, "net_")
        # early stopping on a panel holds out the newest rows of every series,
        # and (with two series or more) each series' errors count in its own units
        self._panel_validation, self._panel_series, self._panel_ids = (
            (newest_rows(X.index, self.validation_fraction), *series_rows(X.index)[::-1])
            if is_panel(X) else (None, None, None)
        )
        if self._panel_series is not None and len(self._panel_series) < 2:
            self._panel_series = self._panel_ids = None
        if warm and self._changed_architecture():
            changed = ", ".join(
                f"{name} (fitted with {self._architecture_at_fit[name]!r}, now "
                f"{getattr(self, name)!r})" for name in self._changed_architecture()
            )
            raise ValueError(
                f"warm_start=True continues training the fitted network, but {changed} "
                "changed since it was fitted. Set them back, or set warm_start=False to "
                "train a new network."
            )
        previous_state = dict(vars(self)) if warm else None
        X, y = validate_windows(self, X, y, reset=True, y_numeric=self._y_numeric)
        previous_shape = (
            (previous_state["n_timesteps_"], previous_state["n_features_per_step_"])
            if warm
            else None
        )
        if warm and (self.n_timesteps_, self.n_features_per_step_) != previous_shape:
            vars(self).update(previous_state)  # the fitted model stays usable
            raise ValueError(
                f"warm_start=True continues training the fitted network, which takes "
                f"windows of {previous_shape[0]} time steps x {previous_shape[1]} "
                f"features; X has {self.n_timesteps_} x {self.n_features_per_step_}. "
                "Set warm_start=False to train a new network."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        X, y, sample_weight = self._drop_unused_rows(X, y, sample_weight)
        self._set_labels()
        targets, n_outputs = self._encode_target(y, refit=not warm)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # each series' typical change: the units of its errors with
        # panel_loss="scaled", and the weights of the panel's level map either way
        series_scale = self._series_scale(targets)
        loss_scale = series_scale if self.panel_loss == "scaled" else None
        data = TensorDataset(
            as_tensor(X, device), as_tensor(targets, device),
            None if loss_scale is None else as_tensor(loss_scale, device),
            None if sample_weight is None else as_tensor(sample_weight, device),
        )
        with _torch_state(self.n_threads, device, seed):
            if warm:
                self.net_ = self._continued_net(n_outputs, seed, len(X))
                self.net_.partial_fit(data)
            else:
                self._architecture_at_fit = self._architecture()
                self.panel_ = self._panel_series is not None
                vars(self).pop("skip_anchor_", None)
                level = self._find_target_feature(X, targets, series_scale)
                self.net_ = self._build_net(n_outputs, seed, len(X)).initialize()
                self._set_input_statistics(X, level)
                if self.linear_skip:
                    self._initialize_linear_skip(X, targets)
                self.net_.partial_fit(data)
            for name in ("network_dropped_", "network_weight_"):  # a warm fit, too
                vars(self).pop(name, None)
            if self.net_.module_.skip is not None and self.net_.train_split is not None:
                self._weigh_network(data)
            self._calibrate_intervals(data)
        self._check_training_faults()
        self._check_outputs_finite(X)
        self._check_learned(targets, loss_scale, sample_weight)
        self._store_attention_summary(X)
        return self

    def _drop_unused_rows(self, X, y, sample_weight):
        """``X, y, sample_weight`` without the rows of weight 0 and, with
        ``missing_target="ignore"``, those of an unknown target (the panel's
        row groups renumbered to match). The weights come back with mean 1,
        or None when they are all alike (the unweighted fit)."""
        keep = self._known_rows(y)
        if sample_weight is not None:
            keep &= sample_weight > 0
        if keep.sum() < 2:
            reasons, kept = [], []
            if self.missing_target == "ignore":
                reasons.append("missing_target='ignore'")
                kept.append("a known target")
            if sample_weight is not None:
                reasons.append("sample_weight")
                kept.append("a positive weight")
            raise ValueError(
                f"{' with '.join(reasons)} {'leaves' if len(reasons) == 1 else 'leave'} "
                f"{int(keep.sum())} row(s) with {' and '.join(kept)}; at least 2 are needed "
                "to fit."
            )
        if sample_weight is not None:
            sample_weight = sample_weight[keep]
            sample_weight = (None if np.all(sample_weight == sample_weight[0])
                             else (sample_weight / sample_weight.mean()).astype(np.float32))
        if keep.all():
            return X, y, sample_weight
        if self._panel_validation is not None:
            self._panel_validation = self._panel_validation[keep]
        if self._panel_series is not None:
            renumbered = np.cumsum(keep) - 1
            kept = [(name, renumbered[rows[keep[rows]]])
                    for name, rows in zip(self._panel_ids, self._panel_series, strict=True)]
            kept = [(name, rows) for name, rows in kept if len(rows)]
            self._panel_ids = [name for name, _ in kept] if len(kept) >= 2 else None
            self._panel_series = [rows for _, rows in kept] if len(kept) >= 2 else None
        return X[keep], y[keep], sample_weight

    def _known_rows(self, y):
        """Rows of ``y`` to score: all, or those with a known target when
        ``missing_target="ignore"``."""
        import pandas as pd

        y = np.asarray(y)
        if self.missing_target != "ignore":
            return np.ones(len(y), dtype=bool)
        return ~pd.isna(pd.DataFrame(y.reshape(len(y), -1))).any(axis=1).to_numpy()

    def _score_known(self, score, X, y, sample_weight):
        keep = self._known_rows(y)
        if keep.all():
            return score(X, y, sample_weight=sample_weight)
        rows = np.flatnonzero(keep)
        X = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
        y = y.iloc[rows] if hasattr(y, "iloc") else np.asarray(y)[rows]
        weight = None if sample_weight is None else np.asarray(sample_weight)[rows]
        return score(X, y, sample_weight=weight)

    def _continued_net(self, n_outputs, seed, n_samples):
        """A net built from the current parameters (schedule, lr, optimizer,
        callbacks) that continues from the fitted weights, optimizer state
        and history (warm_start)."""
        previous = self.net_
        net = self._build_net(n_outputs, seed, n_samples).initialize()
        net.module_.load_state_dict(previous.module_.state_dict())
        if type(net.optimizer_) is type(previous.optimizer_):
            net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
            for group in net.optimizer_.param_groups:
                group["lr"] = self.lr
        net.history = previous.history
        return net

    def _check_training_faults(self):
        """Warn about (or refuse) a fit that diverged or was interrupted."""
        history = self.net_.history
        finished = [row for row in history if "train_loss" in row]
        self.n_iter_ = len(finished)
        last = history[-1]
        if last.get("diverged"):
            epoch = len(history)
            if not finished:
                del self.net_
                raise ValueError(
                    f"Training diverged in epoch {epoch}: the training loss became NaN or "
                    f"inf before any epoch finished (lr={self.lr}). Lower lr, or set "
                    "gradient_clip, and fit again."
                )
            warnings.warn(
                f"Training diverged in epoch {epoch} (the training loss became NaN or "
                f"inf); training stopped and the model keeps the weights of epoch "
                f"{epoch - 1}. Lower lr or set gradient_clip.",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif last.get("interrupted"):
            warnings.warn(
                f"Training was interrupted in epoch {len(history)}; the model keeps the "
                f"weights of the last finished epoch ({self.n_iter_}).",
                UserWarning,
                stacklevel=3,
            )

    def _find_target_feature(self, X, targets, series_scale=None):
        """Set ``target_feature_``; return the map of its newest value to the
        standardised targets, ``(slope, intercept)``, or None.

        On one series whose windows are in time order and which the KPSS test
        finds integrated (not stationary around a mean), the map is "the
        newest value plus the average change" (``naive_level``): the
        untrained network forecasts a random walk with drift, and what it
        learns is the departure from it. Measured on the 14 series of
        benchmarks/accuracy.py, an affine least-squares map there carried the
        training period's apparent mean reversion into the test period and
        left the network 12-14% worse than naive on tbilrate and realinv.
        Mean-reverting series (sunspots, El Nino) and rows not in time order
        keep the affine least-squares fit. On a panel
        (``series_scale`` given) the map is proportional in the target's units,
        since no one intercept fits series of different levels: the forecast
        is the newest value times a common factor, plus what the network adds.
        """
        feature, slope, intercept = find_target_feature(
            X, targets, self.target_feature, names=self.feature_labels_
        )
        self.target_feature_ = None if feature is None else str(self.feature_labels_[feature])
        if feature is None:
            return None
        if series_scale is not None:
            slope, intercept = proportional_level(
                X[:, :, feature], targets, self.y_mean_, self.y_scale_, series_scale)
        else:
            naive = naive_level(X[:, :, feature], targets)
            if naive is not None and not level_stationary(X[:, :, feature]):
                slope, intercept = naive
        return slope, intercept

    def _target_feature_index(self):
        name = getattr(self, "target_feature_", None)
        return None if name is None else list(self.feature_labels_).index(name)

    def _check_learned(self, targets, loss_scale=None, weight=None):
        """Warn when training got no closer to the targets than a constant does."""
        losses = [row["train_loss"] for row in self.net_.history if "train_loss" in row]
        constant = self._constant_loss(targets, loss_scale, weight)
        if losses and constant > 0 and losses[-1] > 10 * constant and not self._restored_best():
            warnings.warn(
                f"Training is unstable: the last epoch's training loss ({losses[-1]:.4g}) is "
                f"more than 10 times a constant prediction's ({constant:.4g}), and the model "
                f"keeps those weights. Lower lr (now {self.lr}) or set gradient_clip.",
                ConvergenceWarning,
                stacklevel=4,
            )
            return
        if not losses or not constant > 0 or min(losses) < 0.9 * constant:
            return
        warnings.warn(
            f"The network learned little: its best training loss ({min(losses):.4g}) is "
            f"within 10% of a constant prediction's ({constant:.4g}) after "
            f"{len(losses)} epochs. Try more max_epochs, a smaller batch_size or another "
            "lr, and check that the windows carry information about y (window_size, "
            "n_features).",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _check_outputs_finite(self, X):
        """Refuse a fit whose weights give NaN or inf on its own training
        windows (finite weights can still overflow: SGD with a huge lr)."""
        sample = X[:: max(1, len(X) // 1024)]
        outputs = self._infer(sample, ("prediction",))["prediction"]
        if np.isfinite(outputs).all():
            return
        del self.net_
        raise ValueError(
            f"Training diverged: after {self.n_iter_} epoch(s) the network's output on "
            f"its own training windows is NaN or inf (lr={self.lr}, optimizer="
            f"{getattr(self.optimizer, '__name__', self.optimizer)}). Lower lr, or set "
            "gradient_clip, and fit again."
        )

    def _restored_best(self):
        """Whether early stopping put back the weights of an earlier epoch."""
        callback = dict(self.net_.callbacks_).get("early_stopping")
        return callback is not None and callback.best_epoch_ != len(self.net_.history)

    def _set_input_statistics(self, X, level):
        """Set the module's input standardisation (per feature, NaN ignored)
        and, with a target feature, its level map and smallest window spread.

        The target feature is centred and scaled per step (as a StandardScaler
        on the flattened windows would), so its raw and scaled lags reach the
        network the same (a scaler in front finds nothing left to do; with a
        pooled scale they differed, and the raw row of benchmarks/accuracy.py
        was 4-9% worse on trending series); the other features per feature,
        which keeps a planted step's values apart from the rest (per-step
        centres cost the classifier's planted task 6 of 20 seeds). Not on a
        panel: there the steps' centres differ by the levels of whichever
        series are long enough to fill them, which no single series' windows
        should carry."""
        center, scale = feature_moments(X)
        center = np.broadcast_to(center, (X.shape[1], X.shape[2])).copy()
        scale = np.broadcast_to(scale, (X.shape[1], X.shape[2])).copy()
        normalization = self.net_.module_.normalization
        buffers = {"center": center, "scale": scale}
        if level is not None:
            feature = normalization.target_feature
            if getattr(self, "_panel_series", None) is None:
                step_center, step_scale = feature_moments(
                    X[:, :, feature : feature + 1], per_step=True, pooled=False)
                center[:, feature], scale[:, feature] = step_center[:, 0], step_scale[..., 0]
            buffers["history_bounds"] = history_bounds(X[:, :, feature], center[:, feature],
                                                       scale[:, feature])
            buffers["level_slope"], buffers["level_intercept"] = level
            buffers["spread_floor"] = spread_floor(
                X[:, :, feature], scale[-1, feature], getattr(self, "_panel_series", None))
        with torch.no_grad():
            for name, value in buffers.items():
                getattr(normalization, name).copy_(torch.as_tensor(np.asarray(value)))

    def _initialize_linear_skip(self, X, targets):
        """Set the (fixed) linear skip to the closed-form linear fit of all windows.

        It is fitted on every training window, validation tail included: a
        linear model fitted on fewer rows measurably forecasts worse, and the
        network, not this part, is what early stopping has to judge.
        """
        coef, intercept = self._linear_solution(fill_from_latest(X.astype(np.float64)), targets)
        skip = self.net_.module_.skip
        with torch.no_grad():
            for parameter, value in ((skip.weight, coef), (skip.bias, intercept)):
                parameter.copy_(torch.as_tensor(np.reshape(value, tuple(parameter.shape))))

    def _weigh_network(self, data):
        """Weigh the network's correction of the linear part by what it adds.

        With ``linear_skip`` and early stopping, the trained model (linear
        part + network) and the linear part alone (the network's output set to
        zero) forecast the validation windows. Per output, the weight of the
        network's correction is the 95% lower confidence bound of its
        least-squares weight in ``linear + weight * correction``
        (:func:`~skattn._linear.correction_weights`): zero unless the
        correction carries information the linear part lacks by more than
        chance, and shrunk where it fits those windows only in part. On
        short, noisy series a network that fits noise is the usual outcome,
        and then the forecast stays the linear one. The weight scales the
        head's point output (the median with quantiles, whose spread around
        it the network keeps), so it costs nothing at prediction time.
        """
        net = self.net_
        _, valid = net.train_split(data)
        n_outputs = len(self.y_mean_)
        levels = self._quantile_levels()
        n_levels, center = (1, 0) if levels is None else (len(levels), levels.index(0.5))
        units = 1.0 if valid.loss_scale is None else valid.loss_scale.double().cpu().numpy()
        units = np.reshape(units, (-1, 1))
        targets = valid.y.double().cpu().numpy().reshape(len(valid.y), -1) / units

        def points():
            prediction = self._infer(valid.X, ("prediction",))["prediction"]
            prediction = prediction.astype(np.float64).reshape(-1, n_outputs, n_levels)
            return prediction[..., center] / units

        head = net.module_.head
        rows = torch.arange(n_outputs, device=head.bias.device) * n_levels + center
        trained = [head.weight[rows].detach().clone(), head.bias[rows].detach().clone()]
        with_network = points()
        with torch.no_grad():  # no point correction: the linear part alone
            head.weight[rows] = 0.0
            head.bias[rows] = 0.0
        linear = points()
        # multi-output y is usually the next steps (make_supervised's horizon):
        # output k, k + 1 steps ahead, shares its errors with k neighbouring
        # windows; for other outputs this only makes the weight more cautious
        weights = correction_weights(targets - linear, with_network - linear,
                                     lags=np.arange(n_outputs))
        scale = torch.as_tensor(weights, dtype=head.weight.dtype, device=head.weight.device)
        with torch.no_grad():
            head.weight[rows] = trained[0] * scale[:, None]
            head.bias[rows] = trained[1] * scale
        self.network_weight_ = weights
        self.network_dropped_ = not (weights > 0).any()

    def _calibrate_intervals(self, data):
        """Conformal corrections of the quantile intervals (conformalised
        quantile regression, Romano et al. 2019), from the validation windows
        and, as a floor, from every window fitted on.

        For each pair of levels (q, 1 - q) the score of a window is how far its
        target lies outside [q-quantile, (1-q)-quantile] (negative inside),
        divided by the window's own scale (its spread in the level-free form,
        the module's "window_scale"; 1 without a target feature), so that
        windows and the series of a panel on different scales count alike.
        The split-conformal correction is the ceil((n + 1)(1 - alpha))-th
        smallest score of the n validation windows, alpha = 2q; each interval
        moves out (or in) by that many of its window's scale on both sides.
        The newest fifth of a series can be a calm stretch that the future
        does not repeat, and split conformal assumes it does: so the
        correction is the larger of the split-conformal one and the same
        quantile over all windows of the fit (training and validation; on
        the training windows the model has seen the targets, so alone it
        would be too narrow for a model that fits noise, never wider than
        needed). Without early stopping there is no held-out window and the
        corrections are 0.
        """
        vars(self).pop("interval_offsets_", None)
        levels = self._quantile_levels()
        if levels is None:
            return
        pairs = self._interval_pairs(levels)
        coverages = np.array([levels[high] - levels[low] for low, high in pairs])
        offsets = np.zeros((len(pairs), len(self.y_mean_)))
        if self.net_.train_split is not None:
            train, valid = self.net_.train_split(data)
            held_out = self._conformity_scores(valid, pairs)
            offsets = conformal_quantiles(held_out, coverages)
            if len(train):
                every = np.concatenate([self._conformity_scores(train, pairs), held_out])
                offsets = np.maximum(offsets, conformal_quantiles(every, coverages))
        self.interval_offsets_ = offsets

    def _conformity_scores(self, subset, pairs):
        """(n_windows, n_pairs, n_outputs) scores of ``subset``'s windows: how
        far each target lies outside each interval, in its window's scale."""
        n_outputs = len(self.y_mean_)
        found = self._infer(subset.X, ("prediction", "window_scale"))
        outputs = found["prediction"].astype(np.float64)
        outputs = outputs.reshape(len(outputs), n_outputs, -1)
        scale = found.get("window_scale", np.ones((len(outputs), n_outputs)))
        targets = subset.y.double().cpu().numpy().reshape(len(outputs), n_outputs)
        return np.stack([
            np.maximum(outputs[..., low] - targets, targets - outputs[..., high]) / scale
            for low, high in pairs
        ], axis=1)

    @staticmethod
    def _interval_pairs(levels):
        """Index pairs (low, high) of levels symmetric around 0.5, widest first."""
        return [(low, len(levels) - 1 - low) for low in range(len(levels) // 2)
                if np.isclose(levels[low] + levels[len(levels) - 1 - low], 1.0)]

    def _linear_solution(self, X, targets):
        """(coef, intercept) of the linear skip on the flattened windows ``X``."""
        raise ValueError(
            f"linear_skip=True is for regression; {type(self).__name__} does not support it."
        )

    def _set_labels(self):
        """Names of the time steps and of the features per step."""
        n_timesteps, n_features = self.n_timesteps_, self.n_features_per_step_
        layout = lag_layout(getattr(self, "feature_names_in_", None))
        lags = layout["lags"] if layout is not None else range(n_timesteps - 1, -1, -1)
        self.time_labels_ = np.asarray([f"lag{lag}" for lag in lags], dtype=object)
        bases = layout["bases"] if layout is not None else None
        if bases is None or len(bases) != n_features or "" in bases:
            bases = [f"x{index}" for index in range(n_features)]
        self.feature_labels_ = np.asarray(bases, dtype=object)

    def _store_attention_summary(self, X):
        """Mean attention over the training windows, as fitted attributes (and
        per series of a panel)."""
        for name in ("attention_weights_", "feature_weights_", "head_weights_",
                     "series_attention_"):
            if hasattr(self, name):
                delattr(self, name)
        attention = self._fitted_param("attention")
        if attention == "none":
            return
        keys = ("temporal", "feature", "heads")
        primary = "feature" if attention == "feature" else "temporal"
        if getattr(self, "_panel_series", None) is None:
            means = self._infer(X, keys, reduce="mean")
        else:  # one pass for the panel's means and each series' own
            import pandas as pd

            weights = self._infer(X, keys)
            means = {key: value.mean(axis=0) for key, value in weights.items()}
            labels = self.feature_labels_ if primary == "feature" else self.time_labels_
            self.series_attention_ = pd.DataFrame(
                [weights[primary][rows].mean(axis=0) for rows in self._panel_series],
                index=pd.Index(self._panel_ids, name="series"), columns=list(labels),
            )
        self.attention_weights_ = means[primary]
        if "feature" in means:
            self.feature_weights_ = means["feature"]
        if "heads" in means:
            self.head_weights_ = means["heads"]

    def __sklearn_is_fitted__(self):
        # lets sklearn's check_is_fitted skip scanning every attribute
        return hasattr(self, "net_")

    @property
    def history_(self):
        """skorch History of the last fit: one row per epoch (losses, duration)."""
        self._check_fitted()
        return self.net_.history

    # -- inference --------------------------------------------------------
    def _predict_chunk_size(self):
        """Windows per predict chunk: the widest activation per time step of
        this architecture times the chunk stays under _PREDICT_CHUNK_ELEMENTS."""
        hidden_size, attention = self._fitted_param("hidden_size"), self._fitted_param("attention")
        widths = [hidden_size * (2 if self._fitted_param("bidirectional") else 1)]
        if attention == "multihead":
            widths.append(self._fitted_param("n_heads") * self.n_timesteps_)  # (heads, T, T)
        if attention in FEATURE_ATTENTIONS:
            widths.append(self.n_features_per_step_ * hidden_size)  # per-feature embeddings
        return max(1, _PREDICT_CHUNK_ELEMENTS // (self.n_timesteps_ * max(widths)))

    def _infer(self, X, keys, *, reduce="concat"):
        """Run the module over validated windows in chunks.

        Returns a dict of numpy arrays for the requested ``keys``:
        ``"prediction"`` and the attention weights the module gives, either
        concatenated over the windows or (``reduce="mean"``) averaged, so the
        memory never holds more than one chunk's outputs.
        """
        module = self.net_.module_
        # where the weights are, not self.device: a model fitted on "cuda"
        # and unpickled on a machine without a GPU lives on the CPU
        device = module.head.weight.device
        chunk_size = self._predict_chunk_size()
        collected = {}
        if module.training:
            module.eval()  # skorch puts it back in train mode for each training step
        with _torch_state(self.n_threads, device, None), torch.inference_mode():
            for start in range(0, len(X), chunk_size):
                batch = as_tensor(X[start : start + chunk_size], device)
                prediction, weights = module(batch)
                outputs = {"prediction": prediction, **weights}
                for key in keys:
                    if key not in outputs:
                        continue
                    if reduce == "mean":
                        total = outputs[key].sum(dim=0, dtype=torch.float64).cpu().numpy()
                        collected[key] = collected.get(key, 0.0) + total
                    else:
                        collected.setdefault(key, []).append(outputs[key].cpu().numpy())
        if reduce == "mean":
            return {key: total / len(X) for key, total in collected.items()}
        return {
            key: parts[0] if len(parts) == 1 else np.concatenate(parts)
            for key, parts in collected.items()
        }

    def _check_fitted(self):
        # sklearn's check_is_fitted builds the estimator tags on every call,
        # which costs a fifth of a one-window forward pass
        if not hasattr(self, "net_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _validated(self, X):
        self._check_fitted()
        return validate_windows(self, X, reset=False)

    def _raw_predict(self, X):
        """The network's outputs; raises rather than return NaN or inf for
        (finite, validated) windows."""
        return self._finite(self._infer(self._validated(X), ("prediction",))["prediction"])

    @staticmethod
    def _finite(outputs):
        """``outputs``, or a ValueError naming the windows where they are not finite."""
        bad = ~np.isfinite(outputs).reshape(len(outputs), -1).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(
                f"The network's output is NaN or inf for {len(rows)} window(s) (rows "
                f"{rows[:10].tolist()}{' ...' if len(rows) > 10 else ''}) although their "
                "values are finite: they are far outside what it was trained on, or its "
                "weights overflow. Check these windows' scale against the training data."
            )
        return outputs

    def _weights_output(self, X, key, labels, as_frame):
        index = getattr(X, "index", None) if is_pandas(X) else None
        weights = self._infer(self._validated(X), (key,))[key]
        if not as_frame:
            return weights
        import pandas as pd

        return pd.DataFrame(weights, columns=pd.Index(labels), index=index)

    @available_if(_has_attention)
    def predict_attention(self, X, *, per_head=False, as_frame=False):
        """Attention weights of each window.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps * n_features)
            Windows, as in ``fit``.
        per_head : bool, default=False
            Return the weights of each head (``attention`` "temporal", "dual"
            or "multihead"; the default weights are their mean).
        as_frame : bool, default=False
            Return a DataFrame whose columns are ``time_labels_`` (``lag19``
            .. ``lag0``), or ``feature_labels_`` for ``attention="feature"``,
            indexed like ``X`` when ``X`` is pandas.

        Returns
        -------
        weights : ndarray or DataFrame
            (n_samples, n_timesteps) for the temporal attentions;
            (n_samples, n_features) for ``attention="feature"``;
            (n_samples, n_heads, n_timesteps) with ``per_head=True``. Each
            row sums to 1; missing steps get exactly 0.
        """
        attention = self._fitted_param("attention")
        if per_head and attention not in HEADED_ATTENTIONS:
            raise ValueError(
                f"per_head=True needs one of the attentions with heads {HEADED_ATTENTIONS}, "
                f"not {attention!r}."
            )
        if per_head and as_frame:
            raise ValueError("per_head=True gives a 3-D array; it cannot be a DataFrame.")
        self._check_fitted()
        if per_head:
            return self._weights_output(X, "heads", None, as_frame=False)
        if attention == "feature":
            return self._weights_output(X, "feature", self.feature_labels_, as_frame)
        return self._weights_output(X, "temporal", self.time_labels_, as_frame)

    @available_if(_has_feature_attention)
    def predict_feature_attention(self, X, *, as_frame=False):
        """Feature attention of each window, averaged over its observed steps.

        Parameters
        ----------
        X : array-like, as in ``fit``
        as_frame : bool, default=False
            Return a DataFrame with ``feature_labels_`` as columns.

        Returns
        -------
        weights : ndarray or DataFrame of shape (n_samples, n_features)
        """
        self._check_fitted()
        return self._weights_output(X, "feature", self.feature_labels_, as_frame)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        return tags


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_size : int, default=32
        Units of each recurrent layer (per direction).
    num_layers : int, default=1
        Stacked recurrent layers.
    cell : {"lstm", "gru", "rnn"}, default="lstm"
        Recurrent cell.
    bidirectional : bool, default=False
        Run the recurrent layers in both directions.
    attention : {"temporal", "per_feature", "feature", "dual", "multihead", \
"none"}, default="temporal"
        "temporal": additive attention over time steps (one score per pair
        of state dimensions, reported as the mean over these heads, so the
        forecast can weigh steps with opposite signs). "per_feature": a
        softmax over time per state dimension (Keras ``attention_3d_block``).
        "feature": attention over the input features of each step. "dual":
        feature attention, then temporal attention (DA-RNN). "multihead":
        scaled dot-product self-attention with ``n_heads`` heads, pooled.
        "none": the same network without attention (last state).
    attention_values : {"inputs", "states"}, default="inputs"
        What the temporal attention sums. "inputs": a projection of each
        step's own input, so a weight shows where information came from.
        "states": the recurrent states, as the reference recipes do; a state
        carries earlier steps, so its weight may stand for an earlier value.
    n_heads : int, default=4
        Heads of ``attention="multihead"``; at most hidden_size x directions.
    single_attention_vector : bool, default=False
        With ``attention="per_feature"``, share one temporal vector.
    window_norm : {"none", "last"}, default="none"
        "last": the recurrent part sees each window minus its last observed
        value per feature (shapes, not levels).
    target_feature : "auto", int, str or None, default="auto"
        Regression only. The feature that is the target's own history (the
        series itself in ``make_supervised`` windows). The network then
        forecasts level-free: that feature enters relative to its newest
        observed value, divided by the window's spread (mean absolute change
        between steps), and the output is a change in those units, added to
        the newest value plus the average change of the training windows (in
        y's units, read from consecutive windows whatever scaler came before;
        rows not in time order get an affine fit instead). Untrained, the
        model is a random walk with drift; training learns the departures
        from it. Trending series and levels outside the training range reach
        the network as shapes relative to the newest value, with or without a
        scaler before the model (up to the per-step spreads, as a
        StandardScaler's, which differ by a few percent on long series).
        "auto" takes the feature whose newest value best explains y
        (R^2 at least 0.2), if any; an int or a name (``<name>_lag<k>``
        columns) picks one; None switches the form off. The attention then
        explains the change from that newest value. ``target_feature_``
        names the feature used.
    linear_skip : bool, default=False
        Regression only. Add a linear map of the whole window to the output,
        set before training to a closed-form ridge fit on the training windows
        and kept fixed; the attention network then models the residual (the
        autoregressive component of LSTNet). If the newest value of one
        feature forecasts ``y`` better than the mean of ``y`` (that feature is
        the target's own history, in its units), the ridge forecasts the
        change from that value (``skip_anchor_`` names the feature), so it
        shrinks towards "the next value is the last one" and follows a level
        that leaves the training range; otherwise it is a ridge whose
        newest-step coefficients are not penalised. Pass the windows
        unscaled: the network standardises its own inputs, and a scaler
        before the model hides the target's units from the skip. With early
        stopping, the network's correction is weighed on the validation
        windows: kept only if it adds information the linear part lacks by
        more than chance, and shrunk towards the linear forecast where it
        helps only in part (``network_weight_``, ``network_dropped_``). The
        prediction no longer flows only through the attention, so the weights
        explain the residual.
    dropout : float, default=0.0
        Dropout between stacked layers and before the output layer.
    n_features : int, default=None
        Features per time step, to unflatten 2-D X. None: read it from
        lag-named columns (``<name>_lag<k>`` as SlidingWindowTransformer with
        pandas output writes them, ``lag1``, ``lag_1``), else 1.
    missing_target : {"raise", "ignore"}, default="raise"
        Rows whose target is NaN: "raise" refuses them (a ValueError naming
        the rows); "ignore" fits and scores on the other rows only. With a
        series kept on its regular time grid (``series.asfreq("MS")``), a gap
        is a NaN that stays in its row, so windows and calendar columns keep
        their place in time, and only the rows that would teach a missing
        value are skipped.
    panel_loss : {"scaled", "plain"}, default="scaled"
        Regression on a panel (X indexed by series and time) only: how each
        series' errors count in the training loss. "scaled": in units of the
        series' typical change between rows, so a series a thousand times
        larger does not weigh a million times more. "plain": in the target's
        units, for targets already on one scale across series (log ratios,
        each series divided by its level), where scaling would give the
        calmest series the most weight (on every fifth M3 monthly series as
        log ratios, "plain" was 0.85 lower in sMAPE and 0.04 in MASE than
        "scaled"; benchmarks/m3.py ``--panel``). Outside a panel, and for the
        classifier, errors count as they are.
    time_order : {"oldest_first", "newest_first"}, default="oldest_first"
        The order of the time steps in unnamed input (numpy, 2-D or 3-D):
        "newest_first" for lag matrices that start with the newest lag, as
        skforecast's regressors receive them. Lag-named columns are put in
        order by their names whatever their order (mlforecast's ``lag1 ..
        lagN``, feature-major blocks), and this setting does not apply to them.
    max_epochs : int or "auto", default="auto"
        Passes over the training data. "auto": enough for about 4000
        optimiser steps, between 50 and 200 epochs (small data gets more
        passes, large data 50).
    batch_size : int or "auto", default="auto"
        Windows per mini-batch. "auto": n_train // 32, between 32 and 128.
    loss : {"auto", "squared_error", "absolute_error", "huber", "log_loss"}, \
            default="auto"
        What training minimises. The regressor takes "squared_error" (the
        default, "auto"), "absolute_error" (the median: robust to outliers,
        and the loss to choose when forecasts are scored by MAE, MASE or
        sMAPE) or "huber" (squared within one standard deviation of the
        target, absolute beyond); all on the standardised targets. The
        classifier takes "log_loss" ("auto": cross-entropy).
    lr : float, default=1e-2
        Learning rate.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Its other arguments are routed as ``optimizer__<name>``.
    early_stopping : bool or "auto", default="auto"
        Hold out the newest ``validation_fraction`` of the windows, stop when
        the validation loss has not improved for ``n_iter_no_change`` epochs,
        and keep the best weights. The untrained model counts as epoch 0: when
        no epoch beats it on the validation windows, it is what is kept (in
        the level-free form: the newest value plus the average change).
        "auto": on from 8 windows (on short real series it measurably
        helps; on large panels it trains faster and no worse).
    validation_fraction : float, default=0.2
        Share of the newest windows used for validation with early stopping.
    n_iter_no_change : int, default=20
        Patience of early stopping, in epochs.
    gradient_clip : float, default=None
        Clip the gradient norm to this value at each step (skorch's
        GradientNormClipping).
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks; their parameters route as ``callbacks__*``.
    warm_start : bool, default=False
        When fitted already, ``fit`` trains ``max_epochs`` more epochs from the
        current weights (same window shape, same target scaling or classes)
        instead of starting anew; the history continues.
    n_threads : int, default=None
        CPU threads torch uses during fit and predict (the previous setting is
        restored afterwards). None means 1: on shared or small machines more
        threads are often many times slower (see README, "Speed"); use
        ``GridSearchCV(n_jobs=...)`` to use more cores, or raise this for one
        large model on an idle machine. At most 1024.
    device : str or torch.device, default="cpu"
        "cpu", "cuda" or "cuda:<index>".
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and batch order; the caller's
        global random state is left unchanged.
    verbose : int, default=0
        1 prints skorch's per-epoch table.
    **kwargs
        skorch-routed parameters: ``optimizer__*``, ``criterion__*``,
        ``iterator_train__*``, ``iterator_valid__*``, ``callbacks__*``.
"""

_ATTRIBUTES_DOC = """
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the torch module.
    target_feature_ : str or None
        The feature the network forecasts relative to (see
        ``target_feature``), or None.
    series_attention_ : pandas DataFrame
        Only after a fit on a panel (``panel_``): the mean attention over each
        series' training windows, one row per series (its id), one column per
        time step (per feature for ``attention="feature"``). Not kept by
        ``save``; ``predict_attention`` on a series' windows gives it anew.
    panel_ : bool
        True when ``fit`` saw a panel of two series or more: pandas ``X``
        whose MultiIndex places each row in a series and in time (``SlidingWindowTransformer`` with
        pandas output keeps it). Each series' errors then count in units of
        its own typical change, early stopping holds out the newest rows of
        every series, the target's level map is proportional (no intercept
        fits series of different levels) and each step's attention value is
        its own inputs alone.
    history_ : skorch.History
        Per-epoch losses and durations of the last fit.
    n_iter_ : int
        Epochs trained to the end.
    skip_anchor_ : str or None
        Only with ``linear_skip=True``: the feature taken for the target's own
        history (the linear skip forecasts the change from its newest value),
        or None.
    network_weight_ : ndarray of shape (n_outputs,)
        Only with ``linear_skip=True`` and ``early_stopping=True``: the weight
        (0 to 1) of the network's correction of the linear part, per output.
        It is the 95% lower confidence bound of the least-squares weight of
        that correction on the validation windows (a forecast-encompassing
        test): 0 unless the correction adds information the linear part lacks
        by more than chance, smaller where it fits those windows only in part.
        It scales the network's point output (the median with ``quantiles``,
        whose spread around it stays the network's).
    network_dropped_ : bool
        Only with ``linear_skip=True`` and ``early_stopping=True``: True when
        every ``network_weight_`` is 0, so the model predicts with the linear
        part only (the attention weights then explain nothing of the point
        forecast).
    n_features_in_ : int
        Columns of the 2-D form of X (n_timesteps * n_features).
    feature_names_in_ : ndarray of str
        Column names of pandas X.
    n_timesteps_ : int
        Time steps per window.
    n_features_per_step_ : int
        Features per time step.
    attention_weights_ : ndarray of shape (n_timesteps,) or (n_features,)
        Mean attention over the training windows; over features for
        ``attention="feature"``. Absent with ``attention="none"``.
    feature_weights_ : ndarray of shape (n_features,)
        Mean feature attention, for ``attention`` "feature" and "dual".
    head_weights_ : ndarray of shape (n_heads, n_timesteps)
        Mean attention of each head, for the attentions with heads
        ("temporal", "dual", "multihead").
    time_labels_ : ndarray of str of shape (n_timesteps,)
        ``lag<k>`` for each step, oldest first (``lag0`` is the newest).
    feature_labels_ : ndarray of str of shape (n_features,)
        Feature names read from ``<name>_lag<k>`` columns, else ``x0, x1, ...``.
        ``pd.Series(est.attention_weights_, index=est.time_labels_)`` labels
        the mean attention.
"""


class AttentionLSTMRegressor(RegressorMixin, _BaseAttentionRNN):
    def score(self, X, y, sample_weight=None):
        """R^2 of ``predict(X)``; rows with an unknown target are left out with
        ``missing_target="ignore"``."""
        return self._score_known(super().score, X, y, sample_weight)

    __doc__ = (
        """Attention-RNN regressor for windows of time series.

    A recurrent encoder (LSTM by default) followed by attention over the time
    steps and a linear head, trained through skorch with Adam and MSE. The
    targets are standardised internally and the predictions mapped back, so
    ``y`` can be in any units.
"""
        + _PARAMETERS_DOC
        + """
    Attributes
    ----------"""
        + _ATTRIBUTES_DOC
        + """    y_mean_ : ndarray of shape (n_outputs,)
        Mean of the training targets.
    y_scale_ : ndarray of shape (n_outputs,)
        Standard deviation of the training targets (1 where constant).

    See Also
    --------
    SlidingWindowTransformer : Windows from a time-ordered table.
    make_supervised : Align a series with its future values.
    AttentionLSTMClassifier : The same networks for classification.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import AttentionLSTMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8, 2))
    >>> y = X[:, 3, 0]
    >>> reg = AttentionLSTMRegressor(max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.attention_weights_.shape
    (8,)
    """
    )

    _losses = REGRESSION_LOSSES

    def _encode_target(self, y, refit):
        single_output = y.ndim == 1
        y = y.reshape(len(y), -1)
        if refit:
            self._single_output = single_output
            self.y_mean_ = y.mean(axis=0)
            scale = y.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
        elif y.shape[1] != len(self.y_mean_):
            raise ValueError(
                f"warm_start=True continues a network with {len(self.y_mean_)} outputs; "
                f"y has {y.shape[1]}."
            )
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32), y.shape[1]

    def _series_scale(self, targets):
        """The typical change of each series' (standardised) targets, per row;
        None outside a panel.

        With ``panel_loss="scaled"`` training measures a row's error in these
        units, so every series of a panel counts alike whatever its scale. A
        series whose targets never change between rows takes its spread around
        its mean instead, one that is constant the median scale.
        """
        panel = getattr(self, "_panel_series", None)
        if panel is None:
            return None
        typical = np.zeros(len(panel))
        for number, rows in enumerate(panel):
            values = targets[rows].astype(np.float64)
            change = np.abs(np.diff(values, axis=0)).mean() if len(rows) > 1 else 0.0
            typical[number] = change if change > 0 else np.abs(values - values.mean(0)).mean()
        positive = typical[typical > 0]
        if not positive.size:
            return None
        typical = np.where(typical > 0, typical, np.median(positive))
        scale = np.empty(len(targets), dtype=np.float32)
        for rows, value in zip(panel, typical, strict=True):
            scale[rows] = value
        return scale

    def _constant_loss(self, targets, loss_scale=None, weight=None):
        """Training loss of the best constant (the mean for squared errors, the
        median otherwise), in the units training measures errors in, weighted
        as training weighs the rows."""
        levels = self._quantile_levels()
        if levels is not None:  # each level's own quantile, output-major
            center = np.quantile(targets, levels, axis=0).T.reshape(-1)
        else:
            center = (np.mean if self._criterion() is torch.nn.MSELoss else np.median)(
                targets, axis=0)
        constant = np.repeat(center[None], len(targets), axis=0).astype(np.float64)
        units = 1.0 if loss_scale is None else np.reshape(loss_scale, (-1, 1))
        losses = self._sample_losses(constant / units, targets.astype(np.float64) / units)
        return float(np.average(losses, weights=weight) / constant.shape[1])

    def _linear_solution(self, X, targets):
        coef, intercept, anchor = skip_ridge(X, targets, self.y_mean_, self.y_scale_)
        self.skip_anchor_ = None if anchor is None else str(self.feature_labels_[anchor])
        return coef, intercept

    def predict(self, X):
        """Predict targets for windows ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps * n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            In the units of the training targets.
        """
        levels = self._quantile_levels(self._fitted_param("quantiles"))
        if levels is None:
            raw = self._raw_predict(X).astype(np.float64)
            y_pred = raw * self.y_scale_ + self.y_mean_
            return y_pred.ravel() if self._single_output else y_pred
        median = self._quantile_outputs(X)[..., levels.index(0.5)]
        return median.ravel() if self._single_output else median

    def _quantile_outputs(self, X):
        """(n_samples, n_outputs, n_levels) quantiles in the targets' units."""
        self._check_fitted()
        levels = self._quantile_levels(self._fitted_param("quantiles"))
        if levels is None:
            raise AttributeError(
                f"This {type(self).__name__} has no quantiles: set quantiles=(0.1, 0.5, 0.9) "
                "(say) and fit again."
            )
        values, _ = self._quantiles_and_scales(X, levels)
        return values

    def _quantiles_and_scales(self, X, levels):
        """Quantiles (n, n_outputs, n_levels) in the targets' units and, per
        window, the scale the interval corrections are measured in: the
        window's spread in the level-free form, else 1, times ``y_scale_``."""
        found = self._infer(self._validated(X), ("prediction", "window_scale"))
        raw = self._finite(found["prediction"]).astype(np.float64)
        raw = raw.reshape(-1, len(self.y_mean_), len(levels))
        scale = found.get("window_scale", np.ones((len(raw), len(self.y_mean_))))
        return (raw * self.y_scale_[:, None] + self.y_mean_[:, None],
                scale.astype(np.float64) * self.y_scale_)

    def predict_quantiles(self, X, *, as_frame=False):
        """The fitted quantiles of the target for windows ``X`` (as for
        ``predict``), increasing.

        Parameters
        ----------
        X : array-like of windows
        as_frame : bool, default=False
            Return a DataFrame with ``X``'s index (pandas ``X``) and one column
            per level (``"q0.1"``, ...; per (output, level) for 2-D targets).

        Returns
        -------
        quantiles : ndarray of shape (n_samples, n_levels) or \
                (n_samples, n_outputs, n_levels), or DataFrame
            At the levels of ``quantiles`` (0.5 added), sorted; they never cross.
        """
        values = self._quantile_outputs(X)
        levels = self._quantile_levels(self._fitted_param("quantiles"))
        return self._per_row_output(X, values, [f"q{level:g}" for level in levels], as_frame)

    def _per_row_output(self, X, values, names, as_frame):
        """``values`` (n, n_outputs, k) as the estimator's output shape, or as a
        DataFrame indexed like ``X`` with columns ``names`` (per output when
        there are several)."""
        if not as_frame:
            return values[:, 0] if self._single_output else values
        import pandas as pd

        index = X.index if is_pandas(X) else None
        if self._single_output:
            return pd.DataFrame(values[:, 0], index=index, columns=names)
        columns = pd.MultiIndex.from_product([range(values.shape[1]), names],
                                             names=["output", None])
        return pd.DataFrame(values.reshape(len(values), -1), index=index, columns=columns)

    def _interval_for(self, coverage, levels):
        """``(number, (low, high))``: which pair of the quantile ``levels``
        gives ``coverage`` (ValueError naming the coverages there are)."""
        pairs = self._interval_pairs(levels)
        widths = [levels[high] - levels[low] for low, high in pairs]
        matches = [number for number, width in enumerate(widths) if np.isclose(width, coverage)]
        if not matches:
            raise ValueError(
                f"coverage={coverage} needs the quantiles {(1 - coverage) / 2:g} and "
                f"{(1 + coverage) / 2:g}; this model has {list(levels)}, which give the "
                f"coverages {[round(width, 6) for width in widths]}."
            )
        return matches[0], pairs[matches[0]]

    def predict_interval(self, X, coverage=0.8, *, as_frame=False):
        """Prediction intervals that should hold the target ``coverage`` of the time.

        The quantiles at ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``
        (both must be among ``quantiles``), widened or narrowed on both sides
        by the conformal correction measured at fit (``interval_offsets_``, in
        units of each window's spread in the level-free form): the
        split-conformal one of the newest (validation) windows, or the same
        order statistic over all windows of the fit where that is larger (a
        calm validation stretch does not narrow them), so that the stated
        coverage holds on data the model has not seen, on every scale.

        Parameters
        ----------
        X : array-like of windows
        coverage : float, default=0.8
        as_frame : bool, default=False
            Return a DataFrame with ``X``'s index and the columns "lower" and
            "upper" (per output for 2-D targets).

        Returns
        -------
        interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2), \
                or DataFrame
            Lower and upper bounds.
        """
        if isinstance(coverage, bool) or not isinstance(coverage, Real) or not 0 < coverage < 1:
            raise ValueError(f"coverage must be a number between 0 and 1, got {coverage!r}.")
        self._quantile_outputs(X[:1])  # checks that the model is fitted with quantiles
        levels = self._quantile_levels(self._fitted_param("quantiles"))
        number, (low, high) = self._interval_for(coverage, levels)
        values, scale = self._quantiles_and_scales(X, levels)
        shift = self.interval_offsets_[number] * scale
        interval = np.stack([values[..., low] - shift, values[..., high] + shift], axis=-1)
        # a negative correction cannot turn the interval inside out
        interval[..., 1] = np.maximum(interval[..., 1], interval[..., 0])
        return self._per_row_output(X, interval, ["lower", "upper"], as_frame)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class AttentionLSTMClassifier(ClassifierMixin, _BaseAttentionRNN):
    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)``; rows with an unknown label are left out
        with ``missing_target="ignore"``."""
        return self._score_known(super().score, X, y, sample_weight)

    __doc__ = (
        """Attention-RNN classifier for windows of time series.

    The networks of :class:`AttentionLSTMRegressor` with a softmax head,
    trained with cross-entropy. Binary and multiclass, any label type.
"""
        + _PARAMETERS_DOC
        + """
    Attributes
    ----------"""
        + _ATTRIBUTES_DOC
        + """    classes_ : ndarray of shape (n_classes,)
        The class labels.

    See Also
    --------
    AttentionLSTMRegressor : The same networks for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import AttentionLSTMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8, 2))
    >>> y = np.where(X[:, 3, 0] > 0, "up", "down")
    >>> clf = AttentionLSTMClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
    )

    _losses = {"log_loss": torch.nn.CrossEntropyLoss}
    _y_numeric = False

    def _constant_loss(self, targets, loss_scale=None, weight=None):
        frequencies = np.bincount(targets, weights=weight) / (
            len(targets) if weight is None else np.sum(weight))
        frequencies = frequencies[frequencies > 0]
        return float(-(frequencies * np.log(frequencies)).sum())

    def _find_target_feature(self, X, targets, series_scale=None):
        if self.target_feature not in ("auto", None):
            raise ValueError(
                f"target_feature={self.target_feature!r} is for regression; "
                f"{type(self).__name__} takes target_feature='auto' or None."
            )
        self.target_feature_ = None
        return None

    def _encode_target(self, y, refit):
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} supports one target column; y has shape {y.shape}."
            )
        check_classification_targets(y)
        if not refit:
            unknown = np.setdiff1d(y, self.classes_)
            if unknown.size:
                raise ValueError(
                    f"warm_start=True continues a network trained on classes "
                    f"{list(self.classes_)}; y has new labels {list(unknown)}."
                )
            return np.searchsorted(self.classes_, y).astype(np.int64), len(self.classes_)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"Classifier can't train when only one class is present: y holds only "
                f"{self.classes_[0]!r}; at least 2 classes are needed."
            )
        return encoder.transform(y).astype(np.int64), len(self.classes_)

    def predict_proba(self, X):
        """Class probabilities for windows ``X``.

        Parameters
        ----------
        X : array-like, as in ``fit``

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits = torch.from_numpy(self._raw_predict(X).astype(np.float64))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Predict class labels for windows ``X``.

        Parameters
        ----------
        X : array-like, as in ``fit``

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        scores = self._raw_predict(X)
        return self.classes_[scores.argmax(axis=1)]
