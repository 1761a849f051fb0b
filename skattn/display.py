"""Matplotlib displays of attention weights and forecasts, in scikit-learn's Display style.

matplotlib is an optional dependency (``pip install skattn[plot]``). It is
imported when a display draws, never on ``import skattn`` or
``import skattn.display``.

Each display follows scikit-learn's pattern (``PredictionErrorDisplay``,
``ConfusionMatrixDisplay``): ``from_estimator`` / ``from_predictions``
compute what to show and call ``plot``, which draws on ``ax`` (a new figure
when None) and stores the matplotlib artists as attributes ending in ``_``.
"""

import operator
from numbers import Integral

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._estimators import HEADED_ATTENTIONS, _BaseAttentionRNN

_KINDS = ("bar", "heatmap")
# Beyond this many ticks on an axis only every k-th one is labelled.
_MAX_TICK_LABELS = 25


def _import_pyplot(caller):
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with "
            "`pip install skattn[plot]` (or `pip install matplotlib`)."
        ) from error
    return plt


def _new_axes_if_none(ax, caller):
    plt = _import_pyplot(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _tick_text(label):
    """A tick label: timestamps as their date (and time of day when there is one),
    not the full ISO form."""
    import pandas as pd

    if isinstance(label, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(label)
        return stamp.strftime("%Y-%m-%d" if stamp == stamp.normalize() else "%Y-%m-%d %H:%M")
    return str(label)


def _set_sparse_ticks(set_ticks, labels, **kwargs):
    """Label every tick, or every k-th one when there are too many to read."""
    every = max(1, int(np.ceil(len(labels) / _MAX_TICK_LABELS)))
    positions = np.arange(len(labels))[::every]
    set_ticks(positions, [_tick_text(label) for label in list(labels)[::every]], **kwargs)


def _first_rows(X, n_rows):
    return X.iloc[:n_rows] if hasattr(X, "iloc") else X[:n_rows]


def _rows(X, start, stop):
    return X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]


def _skattn_model(estimator, X, caller, *, attention=True):
    """The fitted skattn estimator in ``estimator`` and ``X`` as that estimator sees it.

    ``estimator`` is a skattn estimator or a fitted Pipeline ending in one; for a
    Pipeline, ``X`` goes through the steps before the last one. With
    ``attention`` the estimator must have attention weights to show.
    """
    model = estimator
    if isinstance(estimator, Pipeline):
        model = estimator[-1]
        if X is not None and len(estimator) > 1:
            X = estimator[:-1].transform(X)
    if not isinstance(model, _BaseAttentionRNN):
        raise TypeError(
            f"{caller} needs a fitted AttentionLSTMRegressor or AttentionLSTMClassifier, "
            f"or a Pipeline whose last step is one; got {type(model).__name__}."
        )
    check_is_fitted(model)
    if attention and model.attention == "none":
        raise ValueError(
            f"{caller} shows attention weights, but this {type(model).__name__} has "
            "attention='none' (the same network without attention, for comparison), "
            "so it has none. Fit it with an attention, e.g. attention='temporal'."
        )
    return model, X


def _check_window_count(max_windows):
    if isinstance(max_windows, bool) or not isinstance(max_windows, Integral) or max_windows < 1:
        raise ValueError(f"max_windows must be a positive int, got {max_windows!r}.")


class AttentionDisplay:
    """Attention weights of a fitted skattn estimator, as bars or a heat map.

    Build it with :meth:`from_estimator`; the constructor takes weights that
    are already computed.

    Parameters
    ----------
    weights : array-like of shape (n_steps,) or (n_rows, n_steps)
        For ``kind="bar"``: one bar per step; 2-D weights give one group of
        bars per row (e.g. per head). For ``kind="heatmap"``: 2-D, rows are
        windows (or heads), columns are steps.
    labels : array-like of str of shape (n_steps,), default=None
        Names of the steps (``time_labels_``, ``feature_labels_``); None
        numbers them from 0.
    kind : {"bar", "heatmap"}, default="bar"
        How to draw.
    row_labels : array-like of shape (n_rows,), default=None
        Names of the rows of 2-D weights; None numbers them from 0.
    step_name : str, default="time step"
        x-axis label.
    row_name : str, default="window"
        What a row of 2-D weights is: the y-axis label of a heat map.
    estimator_name : str, default=None
        Shown in the title.

    Attributes
    ----------
    weights_ : ndarray of shape (n_steps,) or (n_rows, n_steps)
        The weights drawn.
    labels_ : ndarray of str of shape (n_steps,)
        The step names.
    bars_ : matplotlib BarContainer, or list of them for 2-D weights
        The bars (``kind="bar"``); ``len(bars_)`` is the number of steps.
    image_ : matplotlib AxesImage
        The heat map (``kind="heatmap"``).
    colorbar_ : matplotlib Colorbar
        The heat map's colour bar.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    ForecastDisplay : Truth and prediction over time with one window's attention.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import AttentionLSTMRegressor
    >>> from skattn.display import AttentionDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 6, 1))
    >>> reg = AttentionLSTMRegressor(hidden_size=4, max_epochs=2, random_state=0)
    >>> reg = reg.fit(X, X[:, 2, 0])
    >>> display = AttentionDisplay.from_estimator(reg)
    >>> len(display.bars_), list(display.labels_[:2])
    (6, ['lag5', 'lag4'])
    >>> AttentionDisplay.from_estimator(reg, X, kind="heatmap").image_.get_array().shape
    (50, 6)
    """

    def __init__(
        self,
        weights,
        *,
        labels=None,
        kind="bar",
        row_labels=None,
        step_name="time step",
        row_name="window",
        estimator_name=None,
    ):
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
        weights = np.asarray(weights, dtype=float)
        if weights.ndim not in (1, 2) or (kind == "heatmap" and weights.ndim != 2):
            expected = "2-D (n_rows, n_steps)" if kind == "heatmap" else "1-D or 2-D"
            raise ValueError(
                f"weights must be {expected} for kind={kind!r}, got shape {weights.shape}."
            )
        n_steps = weights.shape[-1]
        labels = np.arange(n_steps) if labels is None else np.asarray(labels)
        if len(labels) != n_steps:
            raise ValueError(f"labels has {len(labels)} entries, weights has {n_steps} steps.")
        self.weights_ = weights
        self.labels_ = labels.astype(str).astype(object)
        self.kind = kind
        self.row_labels = row_labels
        self.step_name = step_name
        self.row_name = row_name
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls, estimator, X=None, *, kind="bar", ax=None, max_windows=50, per_head=False, **kwargs
    ):
        """Draw the attention of a fitted skattn estimator.

        Parameters
        ----------
        estimator : AttentionLSTMRegressor, AttentionLSTMClassifier or Pipeline
            Fitted, with an attention other than ``"none"``; a Pipeline ends in
            one and ``X`` goes through its earlier steps first.
        X : array-like, default=None
            Windows (or a Pipeline's raw input). Bars: None shows
            ``attention_weights_`` (the mean over the training windows), else
            the mean of ``predict_attention(X)``. Heat map: required.
        kind : {"bar", "heatmap"}, default="bar"
            Bars of the mean attention per step, or a heat map of windows x
            steps (the first ``max_windows`` rows of ``X``).
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        max_windows : int, default=50
            Rows of ``X`` in the heat map.
        per_head : bool, default=False
            With ``attention="multihead"``: one row per head, the mean attention
            of each head (``head_weights_``, or over ``X`` when given), drawn
            as grouped bars or a heads x steps heat map.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : AttentionDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
        _check_window_count(max_windows)
        model, X_model = _skattn_model(estimator, X, caller)
        if per_head and model._fitted_param("attention") not in HEADED_ATTENTIONS:
            raise ValueError(
                f"per_head=True needs one of the attentions with heads {HEADED_ATTENTIONS}, "
                f"not {model._fitted_param('attention')!r}."
            )
        over_features = model.attention == "feature"
        labels = model.feature_labels_ if over_features else model.time_labels_
        row_labels, row_name = None, "window"
        if per_head:
            weights = (
                model.head_weights_
                if X is None
                else model.predict_attention(X_model, per_head=True).mean(axis=0)
            )
            row_labels, row_name = [f"head {head}" for head in range(len(weights))], "head"
        elif kind == "bar":
            weights = (
                model.attention_weights_
                if X is None
                else model.predict_attention(X_model).mean(axis=0)
            )
        else:
            if X is None:
                raise ValueError(
                    "kind='heatmap' shows the attention of each window: pass the windows X."
                )
            weights = model.predict_attention(_first_rows(X_model, max_windows))
            row_labels = (
                np.asarray(X.index[: len(weights)])
                if hasattr(X, "iloc")
                else np.arange(len(weights))
            )
        display = cls(
            weights,
            labels=labels,
            kind=kind,
            row_labels=row_labels,
            step_name="feature" if over_features else "time step (oldest first)",
            row_name=row_name,
            estimator_name=type(model).__name__,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, colorbar=True, **kwargs):
        """Draw the weights.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        colorbar : bool, default=True
            Add a colour bar to a heat map.
        **kwargs
            Passed to ``ax.bar`` or ``ax.imshow``.

        Returns
        -------
        display : AttentionDisplay
            ``self``, with the artists stored.
        """
        ax = _new_axes_if_none(ax, f"{type(self).__name__}.plot")
        weights = self.weights_
        n_steps = weights.shape[-1]
        row_labels = (
            np.arange(len(weights)) if self.row_labels is None else np.asarray(self.row_labels)
        )
        if self.kind == "bar":
            positions = np.arange(n_steps)
            if weights.ndim == 1:
                self.bars_ = ax.bar(positions, weights, **{"color": "C0", **kwargs})
            else:
                width = 0.8 / len(weights)
                self.bars_ = [
                    ax.bar(
                        positions - 0.4 + width * (row + 0.5),
                        row_weights,
                        width=width,
                        label=str(row_labels[row]),
                        **kwargs,
                    )
                    for row, row_weights in enumerate(weights)
                ]
                ax.legend(fontsize="small")
            ax.set_ylabel("attention weight")
        else:
            self.image_ = ax.imshow(
                weights,
                **{"aspect": "auto", "interpolation": "nearest", "vmin": 0.0, **kwargs},
            )
            _set_sparse_ticks(ax.set_yticks, row_labels)
            ax.set_ylabel(self.row_name)
            if colorbar:
                self.colorbar_ = ax.figure.colorbar(self.image_, ax=ax, label="attention weight")
        _set_sparse_ticks(ax.set_xticks, self.labels_, rotation=90 if n_steps > 8 else 0)
        ax.set_xlabel(self.step_name)
        title = "attention" if self.estimator_name is None else f"{self.estimator_name} attention"
        ax.set_title(title)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class ForecastDisplay:
    """Truth and prediction over time, with one window's attention below them.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`.

    The x axis is the row of ``X`` each prediction is made from (or ``index``
    at that row): ``y[t]`` is the target of the window that ends at row ``t``,
    so with :func:`~skattn.make_supervised` it is the value ``horizon`` steps
    later. A window's attention is drawn as bars on a second y axis, each step
    at the row of ``X`` it holds: lag ``k`` at row ``window - k - lead``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
    index : array-like of shape (n_samples,), default=None
        x value of each sample (numbers or datetimes); None takes the index of
        a pandas ``y_true``, else ``0 .. n_samples - 1``.
    window : int, default=None
        Row whose attention is given in ``window_weights``.
    window_weights : array-like of shape (n_timesteps,), default=None
        Attention of that window, oldest step first.
    lead : int, default=0
        Rows from a window's last step to where its target is drawn. 0 when
        ``index`` is the time of the window's last row (make_supervised's
        index); the horizon when ``index`` is the time each target forecasts,
        so that each bar sits under the truth value it looked at.
    estimator_name : str, default=None
        Label of the prediction line.
    interval : array-like of shape (n_samples, 2), default=None
        Lower and upper bounds of a prediction interval, drawn as a band.
    coverage : float, default=None
        The interval's stated coverage, for its label.

    Attributes
    ----------
    lines_ : list of two matplotlib Line2D
        The truth line, then the prediction line.
    band_ : matplotlib PolyCollection
        The interval band (only with an interval).
    attention_ax_ : matplotlib Axes
        The second y axis with the window's attention (only with a window).
    attention_bars_ : matplotlib BarContainer
        One bar per step of the window inside the plotted range.
    window_line_ : matplotlib Line2D
        Vertical line at the window's row.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    AttentionDisplay : Mean attention per step, or a heat map of windows.

    Examples
    --------
    >>> from skattn.display import ForecastDisplay
    >>> display = ForecastDisplay.from_predictions([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    >>> display.lines_[1].get_ydata().tolist()
    [1.1, 1.9, 3.2]
    """

    def __init__(
        self,
        y_true,
        y_pred,
        *,
        index=None,
        window=None,
        window_weights=None,
        lead=0,
        estimator_name=None,
        interval=None,
        coverage=None,
    ):
        self.y_true = y_true
        self.y_pred = y_pred
        self.index = index
        self.window = window
        self.window_weights = window_weights
        self.lead = lead
        self.estimator_name = estimator_name
        self.interval = interval
        self.coverage = coverage

    @classmethod
    def from_estimator(cls, estimator, X, y, *, index=None, window=None, lead=0, coverage=None,
                       ax=None, **kwargs):
        """Predict ``X`` with ``estimator`` and draw the predictions against ``y``.

        Parameters
        ----------
        estimator : fitted regressor or Pipeline
            Any estimator with ``predict``; with ``window`` a skattn estimator
            with attention, or a Pipeline ending in one.
        X : array-like
            Input of ``estimator.predict``, rows in time order.
        y : array-like of shape (n_samples,)
            True targets of the rows of ``X``.
        index : array-like of shape (n_samples,), default=None
            x values; see the class docstring.
        window : int, default=None
            Row of ``X`` (negative counts from the end) whose attention is
            drawn under the lines.
        lead : int, default=0
            See the class docstring.
        coverage : float, default=None
            Draw the model's ``predict_interval(X, coverage)`` as a band (a
            skattn regressor fitted with ``quantiles``, or a Pipeline ending
            in one).
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ForecastDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        y_pred = estimator.predict(X)
        interval = window_weights = None
        if coverage is not None or window is not None:
            model, X_model = _skattn_model(estimator, X, caller, attention=window is not None)
        if coverage is not None:
            interval = model.predict_interval(X_model, coverage)
        if window is not None:
            if model.attention == "feature":
                raise ValueError(
                    "window= draws attention over time steps; attention='feature' "
                    "attends over features. Use AttentionDisplay instead."
                )
            n_rows = len(y_pred)
            window = operator.index(window)
            if not -n_rows <= window < n_rows:
                raise ValueError(f"window={window} is outside the {n_rows} rows of X.")
            window %= n_rows
            window_weights = model.predict_attention(_rows(X_model, window, window + 1))[0]
        name = type(estimator[-1] if isinstance(estimator, Pipeline) else estimator).__name__
        display = cls(
            y,
            y_pred,
            index=index,
            window=window,
            window_weights=window_weights,
            lead=lead,
            estimator_name=name,
            interval=interval,
            coverage=coverage,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, index=None, interval=None, coverage=None,
                         ax=None, **kwargs):
        """Draw predictions against the truth.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
        y_pred : array-like of shape (n_samples,)
        index : array-like of shape (n_samples,), default=None
            x values; None takes the index of a pandas ``y_true``, else
            ``0 .. n_samples - 1``.
        interval : array-like of shape (n_samples, 2), default=None
            Bounds of a prediction interval, drawn as a band.
        coverage : float, default=None
            The interval's stated coverage, for its label.
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ForecastDisplay
        """
        return cls(y_true, y_pred, index=index, interval=interval, coverage=coverage).plot(
            ax=ax, **kwargs)

    def _one_column(self, values, name):
        values = np.asarray(values, dtype=float)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(
                f"{name} must hold one target per row, got shape {values.shape}; "
                "pass one column of a multi-output forecast."
            )
        return values

    def plot(self, ax=None, *, truth_kwargs=None, prediction_kwargs=None, bar_kwargs=None):
        """Draw the lines (and the window's attention).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        truth_kwargs, prediction_kwargs, bar_kwargs : dict, default=None
            Passed to ``ax.plot`` for each line and to ``ax.bar`` for the
            attention.

        Returns
        -------
        display : ForecastDisplay
            ``self``, with the artists stored.
        """
        ax = _new_axes_if_none(ax, f"{type(self).__name__}.plot")
        y_true = self._one_column(self.y_true, "y_true")
        y_pred = self._one_column(self.y_pred, "y_pred")
        if len(y_true) != len(y_pred):
            raise ValueError(
                f"y_true has {len(y_true)} rows and y_pred has {len(y_pred)}; they must match."
            )
        index = self.index
        if index is None and hasattr(self.y_true, "iloc"):
            index = self.y_true.index
        index = np.arange(len(y_true)) if index is None else np.asarray(index)
        if len(index) != len(y_true):
            raise ValueError(f"index has {len(index)} entries, y_true has {len(y_true)}.")
        truth = ax.plot(index, y_true, **{"color": "C0", "label": "truth", **(truth_kwargs or {})})
        prediction_label = self.estimator_name or "prediction"
        prediction = ax.plot(
            index,
            y_pred,
            **{
                "color": "C1",
                "linestyle": "--",
                "label": prediction_label,
                **(prediction_kwargs or {}),
            },
        )
        self.lines_ = [*truth, *prediction]
        handles = list(self.lines_)
        if self.interval is not None:
            bounds = np.asarray(self.interval, dtype=float)
            if bounds.shape != (len(y_true), 2):
                raise ValueError(
                    f"interval must have shape ({len(y_true)}, 2): a lower and an upper bound "
                    f"per row; got {bounds.shape}."
                )
            label = "interval" if self.coverage is None else f"{self.coverage:.0%} interval"
            self.band_ = ax.fill_between(index, bounds[:, 0], bounds[:, 1], color="C1",
                                         alpha=0.2, linewidth=0, label=label)
            handles.append(self.band_)
        if self.window_weights is not None:
            handles += self._plot_window(ax, index, bar_kwargs or {})
        ax.legend(handles=handles, loc="upper left", fontsize="small")
        ax.set_xlabel("time")
        name = getattr(self.y_true, "name", None)
        ax.set_ylabel("value" if name is None else str(name))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _plot_window(self, ax, index, bar_kwargs):
        weights = np.asarray(self.window_weights, dtype=float)
        lags = np.arange(len(weights) - 1, -1, -1)
        # Lag k was row window - k of X, drawn ``lead`` rows before its target's row.
        rows = self.window - lags - self.lead
        inside = (rows >= 0) & (rows < len(index))
        spacing = np.diff(index).min() if len(index) > 1 else 1
        self.attention_ax_ = ax.twinx()
        self.attention_bars_ = self.attention_ax_.bar(
            index[rows[inside]],
            weights[inside],
            **{
                "width": spacing * 0.8,
                "color": "C2",
                "alpha": 0.5,
                "label": f"attention of window {self.window}",
                **bar_kwargs,
            },
        )
        self.attention_ax_.set_ylim(0, 3 * max(weights.max(), 1e-12))
        self.attention_ax_.set_ylabel("attention weight")
        self.window_line_ = ax.axvline(
            index[self.window], color="0.4", linestyle=":", label="window's target"
        )
        return [self.attention_bars_, self.window_line_]
