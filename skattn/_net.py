"""The skorch side: a net whose data stays in one tensor, and a time-ordered split.

skorch's default path wraps arrays in a Dataset, collates one item at a time
through a DataLoader and validates on the oldest fifth of the rows. Here the
windows are a single float32 tensor (moved to the device once); a mini-batch
is a slice or an index of it, and validation uses the newest rows.
"""

import copy
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping


class TensorDataset(torch.utils.data.Dataset):
    """Windows ``X`` and targets ``y`` held as tensors (``y`` may be None).

    With ``loss_scale`` (one positive value per row: the scale of the row's
    series in a panel) and/or ``weight`` (one positive value per row, mean 1:
    the fit's ``sample_weight``) an item's target is the triple ``(y,
    loss_scale, weight)`` (None for the one not given), and
    :class:`AttentionNet` measures the row's error in those units and
    weighs it.
    """

    def __init__(self, X, y=None, loss_scale=None, weight=None):
        self.X = X
        self.y = y
        self.loss_scale = loss_scale
        self.weight = weight

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.target(index)

    def target(self, index):
        """What the loss compares with for the rows ``index``."""
        if self.y is None or (self.loss_scale is None and self.weight is None):
            return None if self.y is None else self.y[index]
        return tuple(None if values is None else values[index]
                     for values in (self.y, self.loss_scale, self.weight))

    def _part(self, index):
        return TensorDataset(*(None if values is None else values[index] for values in
                               (self.X, self.y, self.loss_scale, self.weight)))

    def select(self, mask):
        """The rows where the boolean tensor ``mask`` holds, as a new dataset."""
        return self._part(mask)

    def rows(self, start, stop):
        """The rows ``start:stop`` as a new dataset (views, no copy)."""
        return self._part(slice(start, stop))


class TensorBatches:
    """Mini-batches drawn by slicing (or indexing, when shuffled) the tensors.

    Used as skorch's ``iterator_train`` / ``iterator_valid``: it takes the
    same ``batch_size`` and ``shuffle`` arguments as a DataLoader. Iterating
    again starts a new epoch (with a new order when shuffled); the order comes
    from a generator seeded with ``seed``, not from global state.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, seed=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        dataset = self.dataset
        n_samples = len(dataset.X)
        if not self.shuffle:
            for start in range(0, n_samples, self.batch_size):
                rows = slice(start, start + self.batch_size)
                yield dataset.X[rows], dataset.target(rows)
            return
        order = torch.randperm(n_samples, generator=self.generator).to(dataset.X.device)
        for start in range(0, n_samples, self.batch_size):
            index = order[start : start + self.batch_size]
            yield dataset.X[index], dataset.target(index)


class TailSplit:
    """skorch ``train_split`` that validates on the newest rows.

    The last ``validation_fraction`` of the rows (at least one) becomes the
    validation set, the rows before it the training set: the model is always
    validated on data that comes after what it was trained on.

    With ``valid_rows`` (a boolean mask, e.g. the newest rows of every series
    of a panel) those rows are the validation set instead.
    """

    def __init__(self, validation_fraction, valid_rows=None):
        self.validation_fraction = validation_fraction
        self.valid_rows = valid_rows

    def n_valid(self, n_samples):
        """How many of ``n_samples`` rows the split holds out."""
        if self.valid_rows is not None and len(self.valid_rows) == n_samples:
            return int(self.valid_rows.sum())
        return max(1, int(math.ceil(self.validation_fraction * n_samples)))

    def leaves_both_sides(self, n_samples):
        """Whether the split of ``n_samples`` rows leaves training and
        validation rows (a panel of one-row series, or a large
        validation_fraction, may not)."""
        return 0 < self.n_valid(n_samples) < n_samples

    def __call__(self, dataset, y=None, **fit_params):
        if self.valid_rows is not None and len(self.valid_rows) == len(dataset):
            valid = torch.as_tensor(self.valid_rows, device=dataset.X.device)
            if not self.leaves_both_sides(len(dataset)):
                raise ValueError("The panel leaves no training or no validation rows.")
            return dataset.select(~valid), dataset.select(valid)
        n_samples = len(dataset)
        n_valid = self.n_valid(n_samples)
        if n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training "
                f"rows out of {n_samples}; lower it or pass more samples."
            )
        n_train = n_samples - n_valid
        return dataset.rows(0, n_train), dataset.rows(n_train, n_samples)


class EarlyStoppingFromStart(EarlyStopping):
    """skorch's EarlyStopping that counts the untrained model as epoch 0.

    A regressor in the level-free form (or with a linear skip) starts as a
    forecast: its output layer is zero, so it gives the level map alone (the
    newest value plus drift) or the linear part. When no epoch beats that
    start on the newest windows, training taught nothing those windows
    confirm, and the start is what is kept; ``best_epoch_`` is then 0. With
    ``include_start=False`` (a network that starts at random weights) it is
    skorch's EarlyStopping.
    """

    def __init__(self, *args, include_start=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.include_start = include_start

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        if (not self.include_start or len(net.history) != 1 or dataset_valid is None
                or not self.load_best):
            return
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in net.get_iterator(dataset_valid, training=False):
                n_rows = len(batch[0])
                total += float(net.validation_step(batch)["loss"]) * n_rows
                count += n_rows
        if count and math.isfinite(total):
            self.dynamic_threshold_ = self._calc_new_threshold(total / count)
            self.best_model_weights_ = copy.deepcopy(net.module_.state_dict())
            self.best_epoch_ = 0


class TrainingDiverged(Exception):
    """Raised inside the fit loop when an epoch's training loss is not finite."""


class AttentionNet(NeuralNet):
    """skorch NeuralNet for modules that return ``(prediction, weights)``.

    The loss sees only the prediction. Data passed as tensors is wrapped in a
    :class:`TensorDataset` without copies. Rows with a loss scale (series of
    a panel) are compared in those units: ``criterion(prediction / scale,
    y / scale)``, so a series a thousand times larger does not count a
    thousand (or a million) times more.

    Faults during training never leave broken weights behind: the weights of
    the last finished epoch are kept (a CPU copy), and restored when an epoch
    ends with a non-finite training loss or non-finite weights (the history
    row of that epoch gets
    ``"diverged": True`` and training stops) or when training is interrupted
    with Ctrl-C (``"interrupted": True``; skorch then ends training as usual).
    """

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.last_good_state = self._module_state()
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except TrainingDiverged:
            self.module_.load_state_dict(self.last_good_state)
            self.history.record("diverged", True)
            return self
        except KeyboardInterrupt:
            # skorch's EarlyStopping stops training the same way, after an
            # epoch has finished; any other stop (Ctrl-C, a callback) is an
            # interruption, and only a stop mid-epoch loses work
            if "train_loss" not in self.history[-1]:
                self.module_.load_state_dict(self.last_good_state)
                self.history.record("interrupted", True)
            elif not self._stopped_early():
                self.history.record("interrupted", True)
            raise
        finally:
            del self.last_good_state

    def _stopped_early(self):
        return any(
            getattr(callback, "misses_", 0) >= getattr(callback, "patience", float("inf"))
            for _, callback in self.callbacks_
        )

    def _module_state(self):
        return {name: value.detach().to("cpu", copy=True) for name, value in
                self.module_.state_dict().items()}

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorDataset):
            return X
        if isinstance(X, torch.Tensor):
            return TensorDataset(X, y)
        return super().get_dataset(X, y)

    def infer(self, x, **fit_params):
        if isinstance(x, torch.Tensor) and x.device == torch.device(self.device):
            return self.module_(x, **fit_params)
        return super().infer(x, **fit_params)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, with one device synchronisation per epoch.

        skorch calls ``loss.item()`` after every batch, which makes the host
        wait for the GPU at each step. Here the batch losses stay tensors on
        the device until the epoch ends and are then written to the history
        as floats in one transfer, before any ``on_epoch_end`` callback reads
        them. Callbacks still get every batch at ``on_batch_end``.
        """
        if iterator is None:
            return
        losses = []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            losses.append(loss)
            # a float where reading it costs nothing (what a ProgressBar shows);
            # on an accelerator the tensor, replaced by floats once per epoch
            self.history.record_batch(prefix + "_loss",
                                      loss if loss.device.type != "cpu" else loss.item())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses:
            values = torch.stack(losses).tolist()
            batches = self.history[-1]["batches"][-len(losses) :]
            for row, value in zip(batches, values, strict=True):
                row[prefix + "_loss"] = value
            if training and not all(math.isfinite(value) for value in values):
                raise TrainingDiverged
        self.history.record(prefix + "_batch_count", len(losses))
        if training:
            # the loss is computed before each step: the last step can still
            # leave NaN or inf weights behind (SGD with a huge lr)
            state = self._module_state()
            if not all(bool(torch.isfinite(value).all()) for value in state.values()
                       if value.is_floating_point()):
                raise TrainingDiverged
            self.last_good_state = state

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(y_pred, tuple):
            y_pred = y_pred[0]
        if isinstance(y_true, tuple):
            y_true, loss_scale, weight = y_true
            if loss_scale is not None:
                loss_scale = loss_scale.reshape(-1, *([1] * (y_pred.dim() - 1)))
                y_pred, y_true = y_pred / loss_scale, y_true / loss_scale
            if weight is not None:
                # each row's mean loss over its outputs, weighted (the weights
                # have mean 1 over the fit, so a batch's loss stays in the
                # criterion's units)
                elementwise = copy.copy(self.criterion_)
                elementwise.reduction = "none"
                losses = elementwise(y_pred, y_true)
                return (losses.reshape(len(losses), -1).mean(dim=1) * weight).mean()
        if isinstance(y_true, torch.Tensor) and y_true.device == y_pred.device:
            return self.criterion_(y_pred, y_true)
        return super().get_loss(y_pred, y_true, X=X, training=training)

