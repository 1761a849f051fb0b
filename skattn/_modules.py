"""The torch modules: a recurrent encoder with one of several attentions.

Forward contract, written once in :class:`AttentionRNN`: the module takes a
float32 batch of windows ``(batch, n_timesteps, n_features)`` in which NaN
marks missing values, and returns ``(prediction, weights)``. ``prediction``
is ``(batch, n_outputs)``; ``weights`` is a dict that holds ``"temporal"``
``(batch, n_timesteps)`` and/or ``"feature"`` ``(batch, n_features)``
attention, each non-negative and summing to 1 over its last axis, with
exactly 0 on missing steps. Multi-head attention also gives ``"heads"``
``(batch, n_heads, n_timesteps)``.

Every temporal attention scores the steps from the recurrent states. What it
sums with those weights (its *values*) is a choice:

- ``"inputs"`` (default): a linear projection of each step's own input. The
  prediction can then only use a step's value through that step's weight, so
  the weights show where the information came from.
- ``"states"``: the recurrent states themselves, as the reference recipes do.
  A state carries information from all earlier steps, so a weight on step
  ``t`` may stand for a value seen before ``t``.
"""

import math

import torch
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
ATTENTIONS = ("temporal", "per_feature", "feature", "dual", "multihead", "none")
TEMPORAL_ATTENTIONS = ("temporal", "per_feature", "dual", "multihead")
FEATURE_ATTENTIONS = ("feature", "dual")
ATTENTION_VALUES = ("inputs", "states")
WINDOW_NORMS = ("none", "last")


def masked_softmax(scores, observed, dim):
    """Softmax over ``dim`` that gives exactly 0 where ``observed`` is False.

    A slice with nothing observed gives all zeros instead of NaN.
    """
    # The lowest finite number rather than -inf: exp of it is exactly 0 next to
    # any observed score, and a slice with nothing observed stays finite, so
    # there is no NaN to repair (a repair exported graphs do not reliably keep).
    filled = scores.masked_fill(~observed, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=dim).masked_fill(~observed, 0.0)


def last_observed(values, observed):
    """The last observed value of each feature in each window, (batch, 1, features).

    Features never observed in a window give 0.
    """
    n_timesteps = values.shape[1]
    steps = torch.arange(1, n_timesteps + 1, device=values.device).view(1, -1, 1)
    last_step = (observed * steps).argmax(dim=1, keepdim=True)
    return torch.gather(values, 1, last_step)


class AdditiveAttention(nn.Module):
    """``score_t = v^T tanh(W s_t + U s_T + b)``, softmax over t, ``sum_t w_t value_t``.

    ``s_t`` is the recurrent state at step t and ``s_T`` the last one, the
    query (Bahdanau attention): where the window looks can depend on how it
    ends, e.g. on the phase of a season.

    With ``n_heads`` > 1 each head has its own ``v`` and sums its own slice
    of the values, so the prediction can weigh two steps with opposite signs
    (an autoregression's coefficients), which one softmax cannot. The
    reported ``"temporal"`` weights are the mean over heads and ``"heads"``
    gives each head's: a step's value reaches the prediction only through its
    weights in the heads.
    """

    def __init__(self, state_size, n_heads=1):
        super().__init__()
        self.n_heads = n_heads
        self.project = nn.Linear(state_size, state_size)
        self.query = nn.Linear(state_size, state_size, bias=False)
        self.score = nn.Linear(state_size, n_heads, bias=False)

    def forward(self, states, values, observed):
        query = self.query(states[:, -1:])
        scores = self.score(torch.tanh(self.project(states) + query))  # (batch, time, heads)
        weights = masked_softmax(scores.transpose(1, 2), observed.unsqueeze(1), dim=-1)
        batch, n_timesteps, size = values.shape
        split = values.view(batch, n_timesteps, self.n_heads, size // self.n_heads)
        context = torch.einsum("bht,bthd->bhd", weights, split).flatten(start_dim=1)
        return context, {"temporal": weights.mean(dim=1), "heads": weights}


def additive_heads(state_size):
    """Heads of the additive attention: one per pair of state dimensions
    (one per dimension when the state size is odd). Measured on the 14 series
    of benchmarks/accuracy.py: 16 heads of 2 dimensions (hidden_size 32) gave
    a MASE 2-3% lower than one head, with the same planted-step hit rate."""
    return state_size // 2 if state_size % 2 == 0 else state_size


class PerDimensionAttention(nn.Module):
    """Keras ``attention_3d_block``: a softmax over time for each state dimension.

    Scores come from a dense layer over the time axis of each dimension; with
    ``single_vector`` the per-dimension weights are averaged into one vector
    shared by all dimensions. The reported temporal weights are the mean over
    dimensions (exactly the shared vector when ``single_vector`` is True).
    """

    def __init__(self, n_timesteps, single_vector):
        super().__init__()
        self.score = nn.Linear(n_timesteps, n_timesteps)
        self.single_vector = single_vector

    def forward(self, states, values, observed):
        scores = self.score(states.transpose(1, 2))  # (batch, state, time)
        weights = masked_softmax(scores, observed.unsqueeze(1), dim=-1)
        if self.single_vector:
            weights = weights.mean(dim=1, keepdim=True)
        context = (weights.transpose(1, 2) * values).sum(dim=1)
        return context, {"temporal": weights.mean(dim=1)}


class MultiHeadAttentionPooling(nn.Module):
    """Scaled dot-product self-attention with ``n_heads`` heads, mean-pooled.

    Every observed step attends to all observed steps; the outputs are
    averaged over the observed query steps. Averaging commutes with the
    weighted sum, so the pooled output is exactly ``sum_t a_t value_t`` with
    ``a`` the attention averaged over queries: those are the reported weights
    (per head, and their mean over heads).
    """

    def __init__(self, state_size, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.head_size = max(1, math.ceil(state_size / n_heads))
        inner_size = self.head_size * n_heads
        self.query = nn.Linear(state_size, inner_size)
        self.key = nn.Linear(state_size, inner_size)
        self.value = nn.Linear(state_size, inner_size)
        self.out = nn.Linear(inner_size, state_size)

    def _split_heads(self, tensor):
        batch, n_timesteps, _ = tensor.shape
        return tensor.view(batch, n_timesteps, self.n_heads, self.head_size).transpose(1, 2)

    def forward(self, states, values, observed):
        query = self._split_heads(self.query(states))
        key = self._split_heads(self.key(states))
        value = self._split_heads(self.value(values))
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.head_size)
        attention = masked_softmax(scores, observed[:, None, None, :], dim=-1)
        query_mask = observed[:, None, :, None].to(attention.dtype)
        head_weights = (attention * query_mask).sum(dim=2) / query_mask.sum(dim=2)
        context = (head_weights.unsqueeze(-1) * value).sum(dim=2)  # (batch, heads, head)
        context = self.out(context.flatten(start_dim=1))
        return context, {"temporal": head_weights.mean(dim=1), "heads": head_weights}


class FeatureAttention(nn.Module):
    """Attention over the input features of each step (which series matters).

    Each feature value gets its own embedding ``e_tk = x_tk * a_k + c_k``;
    ``score_tk = v^T tanh(W e_tk + b)``, softmax over the features k, and the
    step's input to the recurrent layer is ``sum_k alpha_tk e_tk``. The
    recurrent layer sees the features only through these weights. Missing
    values get weight 0. Reported per window: the mean of ``alpha_t`` over
    the observed steps, shape (batch, n_features).
    """

    def __init__(self, n_features, embed_size):
        super().__init__()
        bound = 1.0 / math.sqrt(embed_size)
        self.scale = nn.Parameter(torch.empty(n_features, embed_size).uniform_(-1.0, 1.0))
        self.shift = nn.Parameter(torch.empty(n_features, embed_size).uniform_(-bound, bound))
        self.project = nn.Linear(embed_size, embed_size)
        self.score = nn.Linear(embed_size, 1, bias=False)

    def forward(self, inputs, observed_values):
        embedded = inputs.unsqueeze(-1) * self.scale + self.shift  # (batch, time, feature, embed)
        scores = self.score(torch.tanh(self.project(embedded))).squeeze(-1)
        weights = masked_softmax(scores, observed_values, dim=-1)
        mixed = (weights.unsqueeze(-1) * embedded).sum(dim=2)
        observed_steps = observed_values.any(dim=-1, keepdim=True).to(weights.dtype)
        mean_weights = (weights * observed_steps).sum(dim=1) / observed_steps.sum(dim=1)
        return mixed, {"feature": mean_weights}


class InputNormalization(nn.Module):
    """What the network sees of a window, and how its output maps back to the target.

    Every value is standardised with the ``center`` and ``scale`` of its step
    and feature over the training windows (buffers of shape (n_timesteps,
    n_features) the estimator sets; 0 and 1 until then). For the target's own
    history both are per step, which is what a ``StandardScaler`` in front of
    the flattened windows does, so raw windows and scaled ones reach the
    network the same; on a trending series it also takes the average trend
    out of the window's shape. Other features share one centre and scale
    over their steps, so a constant shift of a whole window moves every step
    by the same amount. With ``window_norm="last"`` each window is also
    shifted by its last observed value per feature.

    With a ``target_feature`` (the index of the feature that is the target's
    own history) the forecast is level-free, a reversible per-window
    normalisation in the spirit of RevIN (Kim et al., ICLR 2022): that
    feature enters the network relative to its newest observed value and
    divided by the window's spread (the mean absolute step-to-step change of
    its standardised values), and the network's output is a change in those
    units, mapped back as

        prediction = level + spread * scale * output,
        level = level_intercept + level_slope * newest value,

    with ``level_*`` the map from the feature's units to the (standardised)
    targets, set by the estimator (on one series: the newest value plus the
    average change, so the untrained network is a random walk with drift),
    and the spread converted to the target's units with the newest step's
    scale and ``|level_slope|``.

    The recurrent part (not the attention's values) also reads the feature's
    standardised level, clipped to the range seen in training
    (``history_bounds``): where the attention looks may depend on how high
    the series is (on sunspots, a fall after a record peak ends near zero),
    while a level outside the training range looks like the nearest one seen
    and moves the forecast only through the level map.
    """

    def __init__(self, n_features, n_outputs, n_timesteps=1, *, window_norm="none",
                 target_feature=None):
        super().__init__()
        self.window_norm = window_norm
        self.target_feature = target_feature
        self.register_buffer("center", torch.zeros(n_timesteps, n_features))
        self.register_buffer("scale", torch.ones(n_timesteps, n_features))
        self.register_buffer("level_slope", torch.zeros(n_outputs))
        self.register_buffer("level_intercept", torch.zeros(n_outputs))
        self.register_buffer("spread_floor", torch.ones(()))
        self.register_buffer("history_bounds", torch.tensor([-1.0, 1.0]))

    def forward(self, windows, observed_values):
        """Return ``(inputs, level, spread, history)``; the last three are None
        without a target feature, else ``level`` and ``spread`` are
        ``(batch, n_outputs)`` and ``history`` ``(batch, n_timesteps)``."""
        zero = torch.zeros((), dtype=windows.dtype, device=windows.device)
        standardized = torch.where(observed_values, (windows - self.center) / self.scale, zero)
        inputs = standardized
        if self.window_norm == "last":
            shifted = inputs - last_observed(inputs, observed_values)
            inputs = torch.where(observed_values, shifted, zero)
        if self.target_feature is None:
            return inputs, None, None, None
        feature = self.target_feature
        seen = observed_values[:, :, feature]
        raw = forward_filled(windows[:, :, feature], seen,
                             fallback=self.center[-1, feature])
        filled = forward_filled(standardized[:, :, feature], seen, fallback=zero)
        newest = filled[:, -1:]
        steps = (filled[:, 1:] - filled[:, :-1]).abs()
        spread = steps.mean(dim=1, keepdim=True) if steps.shape[1] else zero.expand_as(newest)
        spread = torch.maximum(spread, self.spread_floor / self.scale[-1, feature])
        relative = torch.where(seen, (filled - newest) / spread, zero)
        is_target = torch.arange(windows.shape[-1], device=windows.device) == feature
        inputs = torch.where(is_target, relative.unsqueeze(-1), inputs)
        level = self.level_intercept + raw[:, -1:] * self.level_slope
        low, high = self.history_bounds
        history = torch.where(seen, standardized[:, :, feature].clamp(low, high), zero)
        return inputs, level, spread * self.scale[-1, feature] * self.level_slope.abs(), history


def forward_filled(values, observed, fallback):
    """``values`` (batch, time) with each missing value set to the last observed
    one before it; before the first observed value (or where there is none),
    to the newest observed value, or ``fallback`` when nothing is observed."""
    last_seen = newest_seen_step(observed)
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    known = torch.where(observed, values, zero)
    filled = torch.gather(known, 1, last_seen)
    any_seen = observed.any(dim=1, keepdim=True)
    newest = torch.where(any_seen, filled[:, -1:], fallback.to(values.dtype))
    seen_before = observed.cumsum(dim=1) > 0
    return torch.where(seen_before, filled, newest)


def newest_seen_step(observed):
    """For each step of ``observed`` (batch, time), the index of the newest
    observed step at or before it; 0 before the first observed step."""
    n_timesteps = observed.shape[1]
    steps = torch.arange(n_timesteps, device=observed.device).expand_as(observed)
    seen = torch.where(observed, steps, torch.zeros_like(steps))
    if not torch.onnx.is_in_onnx_export():
        return seen.cummax(dim=1).values
    # ONNX has no running maximum: the same integers from the maximum with
    # copies shifted by 1, 2, 4, ... steps (a separate path because it costs
    # a few times cummax on every forward pass)
    shift = 1
    while shift < n_timesteps:
        shifted = torch.cat([seen[:, :shift], seen[:, : n_timesteps - shift]], dim=1)
        seen = torch.maximum(seen, shifted)
        shift *= 2
    return seen


class AttentionRNN(nn.Module):
    """Recurrent encoder, optional feature attention, temporal attention, linear head.

    Parameters
    ----------
    n_features : int
        Features per time step.
    n_timesteps : int
        Time steps per window (used by ``attention="per_feature"``).
    n_outputs : int
        Width of the prediction (targets, or classes for classification).
    cell : {"lstm", "gru", "rnn"}, default="lstm"
    hidden_size : int, default=32
    num_layers : int, default=1
    dropout : float, default=0.0
        Dropout between stacked recurrent layers and before the head.
    bidirectional : bool, default=False
    attention : {"temporal", "per_feature", "feature", "dual", "multihead", "none"}
    attention_values : {"inputs", "states"}, default="inputs"
        What the temporal attention sums; see the module docstring.
    n_heads : int, default=4
        Heads of ``attention="multihead"``.
    single_attention_vector : bool, default=False
        Share one temporal vector across dimensions (``attention="per_feature"``).
    window_norm : {"none", "last"}, default="none"
        "last": the recurrent part sees each window minus its last observed
        value (per feature), so it models shapes, not levels, and a level
        outside the training range does not push it off its inputs.
    target_feature : int, default=None
        Index of the feature that is the target's own history: the forecast
        is then level-free (see :class:`InputNormalization`).
    value_changes : bool, default=True
        With a target feature, each step's attention value also sees that
        feature's change into the step (measurably more accurate on single
        series). False (the estimator's choice on panels): a step's value is
        that step's own inputs alone, so a weight on a step cannot stand for
        its neighbour's value.
    n_quantiles : int, default=1
        Values per output: with more than one, quantiles of the target in
        increasing order that cannot cross (see ``_quantile_values``); the
        output is flattened output-major, (batch, n_outputs * n_quantiles).
    median_index : int, default=0
        Which of the quantiles is the median (the free one).
    linear_skip : bool, default=False
        Add a fixed linear map of the whole window to the prediction (the
        autoregressive component of LSTNet). The estimator sets it to a
        closed-form ridge fit before training and it is not trained; the
        network output models what the linear part misses (it takes the
        place of the level of a target feature). It reads the raw window,
        each missing value replaced by its feature's last observed value.

    ``normalization`` (:class:`InputNormalization`) holds the per-feature
    standardisation of the inputs and the level-free form; the estimator
    sets its buffers from the training windows.
    """

    # defaults for modules pickled before these options existed
    value_changes = True
    n_quantiles = 1
    median_index = 0

    def __init__(
        self,
        n_features,
        n_timesteps,
        n_outputs,
        *,
        cell="lstm",
        hidden_size=32,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        attention="temporal",
        attention_values="inputs",
        n_heads=4,
        single_attention_vector=False,
        window_norm="none",
        target_feature=None,
        value_changes=True,
        linear_skip=False,
        n_quantiles=1,
        median_index=0,
    ):
        super().__init__()
        self.value_changes = value_changes
        self.n_quantiles = n_quantiles
        self.median_index = median_index
        self.normalization = InputNormalization(
            n_features, n_outputs, n_timesteps, window_norm=window_norm,
            target_feature=target_feature,
        )
        input_size = n_features
        self.feature_attention = None
        if attention in FEATURE_ATTENTIONS:
            self.feature_attention = FeatureAttention(n_features, hidden_size)
            input_size = hidden_size
        # with a target feature, the recurrent part also reads its level
        self.encoder = CELLS[cell](
            input_size + int(target_feature is not None),
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        state_size = hidden_size * (2 if bidirectional else 1)
        self.temporal_attention = None
        self.value = None
        if attention in TEMPORAL_ATTENTIONS:
            if attention == "per_feature":
                self.temporal_attention = PerDimensionAttention(
                    n_timesteps, single_attention_vector
                )
            elif attention == "multihead":
                self.temporal_attention = MultiHeadAttentionPooling(state_size, n_heads)
            else:
                self.temporal_attention = AdditiveAttention(state_size, additive_heads(state_size))
            if attention_values == "inputs":
                # with a target feature, each step's value also sees that
                # feature's change into the step (in units of the window spread)
                extra = int(target_feature is not None and value_changes)
                self.value = nn.Linear(input_size + extra, state_size)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(state_size, n_outputs * n_quantiles)
        self.skip = None
        if linear_skip:
            # set by the estimator (a closed-form fit), never trained; the model
            # starts as the linear part alone and the network learns the rest
            self.skip = nn.Linear(n_timesteps * n_features, n_outputs)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
            self.skip.requires_grad_(False)
        if linear_skip or target_feature is not None:
            # the model starts as the linear part, or as the level alone
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, windows):
        observed_values = ~torch.isnan(windows)
        observed_steps = observed_values.any(dim=-1)
        inputs, level, spread, history = self.normalization(windows, observed_values)
        changes = None
        if level is not None and self.value is not None and self.value_changes:
            relative = inputs[:, :, self.normalization.target_feature]
            changes = torch.diff(relative, dim=1, prepend=relative[:, :1]).unsqueeze(-1)
        weights = {}
        if self.feature_attention is not None:
            inputs, feature_weights = self.feature_attention(inputs, observed_values)
            weights.update(feature_weights)
        encoder_inputs = inputs
        if history is not None:
            encoder_inputs = torch.cat([inputs, history.unsqueeze(-1)], dim=-1)
        states, _ = self.encoder(encoder_inputs)
        if self.temporal_attention is None:
            summary = states[:, -1]
        else:
            if self.value is None:
                values = states
            elif changes is None:
                values = self.value(inputs)
            else:
                values = self.value(torch.cat([inputs, changes], dim=-1))
            summary, temporal_weights = self.temporal_attention(states, values, observed_steps)
            weights.update(temporal_weights)
        prediction = self._quantile_values(self.head(self.dropout(summary)))
        if spread is not None:
            prediction = prediction * spread.unsqueeze(-1)
            weights["window_scale"] = spread  # what one unit of the head's output is worth
        if self.skip is not None:
            zero = torch.zeros((), dtype=windows.dtype, device=windows.device)
            raw_inputs = torch.where(observed_values, windows, zero)
            latest = last_observed(raw_inputs, observed_values)
            filled = torch.where(observed_values, raw_inputs, latest)
            prediction = prediction + self.skip(filled.flatten(start_dim=1)).unsqueeze(-1)
        elif level is not None:
            prediction = prediction + level.unsqueeze(-1)
        return prediction.flatten(start_dim=1), weights

    def _quantile_values(self, head_output):
        """(batch, n_outputs, n_quantiles) from the head's output. With several
        quantiles the median is free and the others lie at positive distances
        (softplus) below and above it, summed outwards: they cannot cross."""
        values = head_output.unflatten(-1, (-1, self.n_quantiles))
        if self.n_quantiles == 1:
            return values
        center = self.median_index
        median = values[..., center : center + 1]
        below = nn.functional.softplus(values[..., :center]).flip(-1).cumsum(-1).flip(-1)
        above = nn.functional.softplus(values[..., center + 1 :]).cumsum(-1)
        return torch.cat([median - below, median, median + above], dim=-1)


class PinballLoss(nn.Module):
    """Mean pinball (quantile) loss of flattened quantile predictions.

    ``prediction`` is (batch, n_outputs * K), output-major, for the K levels in
    ``quantiles``; ``target`` is (batch, n_outputs). For level q the loss of an
    error e = target - prediction is max(q e, (q - 1) e): minimised by the
    q-quantile of the target. ``reduction="none"`` returns (batch, n_outputs * K).
    """

    def __init__(self, quantiles=(0.5,), reduction="mean"):
        super().__init__()
        self.register_buffer("quantiles", torch.as_tensor(quantiles, dtype=torch.float32))
        self.reduction = reduction

    def forward(self, prediction, target):
        levels = self.quantiles.to(prediction.dtype)
        values = prediction.unflatten(-1, (-1, len(levels)))
        error = target.reshape(values.shape[:-1]).unsqueeze(-1) - values
        loss = torch.maximum(levels * error, (levels - 1) * error).flatten(start_dim=1)
        return loss if self.reduction == "none" else loss.mean()
