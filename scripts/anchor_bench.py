#!/usr/bin/env python3
"""Anchor benchmark: the lecture's Fashion-MNIST CNN in PyTorch and in Keras/TensorFlow, on the CPU.

The Rust crate's own benchmark (`cargo run --release -p cnnkit --example bench`) measures
the same model; this script gives the two reference frameworks' figures so that the ratios
can be read off one session. `make bench-anchors` installs the pinned frameworks into
`.venv-anchors` and runs all three one after the other (see docs/performance.md).

The model (chapter 14 lecture, Keras notation):

    Conv2D(64, 7, same, relu) - MaxPool(2)
    Conv2D(128, 3, same, relu) x 2 - MaxPool(2)
    Conv2D(256, 3, same, relu) x 2 - MaxPool(2)
    Flatten - Dense(128, relu) - Dropout(0.5) - Dense(64, relu) - Dropout(0.5) - Dense(10, softmax)
    optimizer nadam (learning rate 0.001), loss sparse categorical cross-entropy

`--model small_resnet` measures a small ResNet instead (the ResidualUnit of Geron's HOML,
chapter 14; 679,594 parameters, of which 2,112 are BatchNorm's moving means and variances):

    Conv2D(32, 3, same, no bias) - BatchNormalization - ReLU
    ResidualUnit(32, 1) - ResidualUnit(64, 2) - ResidualUnit(64, 1)
    ResidualUnit(128, 2) - ResidualUnit(128, 1)
    GlobalAveragePooling2D - Dense(10)   (logits; softmax cross-entropy from the logits)
    optimizer nadam (learning rate 0.001)

    ResidualUnit(filters, strides):
      main: Conv2D(filters, 3, strides, same, no bias) - BN - ReLU - Conv2D(filters, 3, 1, same, no bias) - BN
      skip: the input if strides == 1, else Conv2D(filters, 1, strides, same, no bias) - BN
      output: ReLU(main + skip)

BatchNormalization has Keras' defaults in both frameworks (momentum 0.99, epsilon 1e-3;
PyTorch's momentum=0.01 is the same thing), and the convolutions start He-normal like the
book's DefaultConv2D. PyTorch pads the stride-2 3x3 convolutions as TensorFlow's "same"
does (one extra row and column at the bottom and right only), so both frameworks compute
the same function (checked to 4e-6 with copied weights). Both print the parameter count on a `#` line before the measurements.

What is measured, in this order:

  1. training: WARMUP steps (not timed), then STEPS timed steps at batch BATCH -> images/s
  2. inference: the 10,000 test images at batch --predict-batch (256) -> images/s
  3. only when EPOCHS > 0: the lecture's full setup on a freshly built model (first 55,000
     training images for training, the last 5,000 for validation, batch 32, EPOCHS epochs)
     -> seconds and test accuracy

The measurement lines keep the format of the script that produced the figures in
docs/performance.md, so new and old figures can be compared line by line:

    torch train: <images/s> img/s (batch <BATCH>, <STEPS> steps, <seconds>s, threads <N>)
    torch predict: <images/s> img/s
    keras train: <images/s> img/s (batch <BATCH>, <STEPS> steps, <seconds>s)
    keras predict: <images/s> img/s
    keras <EPOCHS> epochs: <seconds>s test_acc=<accuracy>

(`torch <EPOCHS> epochs: ...` is new: the earlier script trained the full setup in Keras only.)

Usage:

    python scripts/anchor_bench.py torch 1000 32         # 1,000 steps at batch 32
    python scripts/anchor_bench.py keras 100 32 10       # and then the lecture's 10 epochs
    python scripts/anchor_bench.py torch 1000 32 --model small_resnet
    python scripts/anchor_bench.py --check-data          # only read and check the data set

Data: the four IDX files of Fashion-MNIST (`train-images-idx3-ubyte.gz`, ...) from --data,
else $FASHION_MNIST_DIR, else /usr/share/datasets/fashion-mnist (the Debian package
dataset-fashion-mnist). Reading and checking them needs only the standard library, so a
missing framework is reported after the data has been found.

Differences from a textbook run, stated so that nobody is surprised:
  * PyTorch has no softmax layer here: nn.CrossEntropyLoss takes the logits (the same
    function as softmax followed by sparse categorical cross-entropy). The small ResNet
    ends in logits in Keras too (loss with from_logits=True).
  * PyTorch computes in NCHW, its native layout; Keras in NHWC.
  * PyTorch's NAdam and Keras' Nadam use their own defaults (epsilon 1e-8 vs 1e-7, and
    slightly different momentum schedules); the learning rate is 0.001 in both.
  * Keras' first timed `fit` still includes part of its warm-up (tracing, data adapter):
    compare Keras over 1,000 steps, not 100.
"""

from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
EXPECTED_COUNT = {"train": 60_000, "test": 10_000}
TRAIN, VALID = 55_000, 5_000  # the lecture's split of the 60,000 training images
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class BenchError(Exception):
    """A problem the user can fix; printed without a traceback."""


# --- data ----------------------------------------------------------------------------------


@dataclass
class Idx:
    """One IDX file: its shape (count first) and its raw uint8 payload."""

    shape: tuple[int, ...]
    data: bytes


def read_idx(folder: Path, stem: str) -> Idx:
    """Reads `stem.gz` (or the uncompressed `stem`) from folder and checks its header."""
    for path, opener in ((folder / f"{stem}.gz", gzip.open), (folder / stem, open)):
        if path.is_file():
            break
    else:
        raise BenchError(
            f"Fashion-MNIST file {stem}.gz not found in {folder}.\n"
            "  Install the Debian package:   sudo apt-get install dataset-fashion-mnist\n"
            "  or point to a folder with the four IDX files:   --data DIR   or   FASHION_MNIST_DIR=DIR"
        )
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise BenchError(f"cannot read {path}: {e}") from e
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise BenchError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = 1
    for d in shape:
        expected *= d
    if len(raw) - header != expected:
        raise BenchError(f"{path}: header says {shape} ({expected} bytes), file has {len(raw) - header}")
    return Idx(shape, raw[header:])


@dataclass
class FashionMnist:
    folder: Path
    train_images: Idx
    train_labels: Idx
    test_images: Idx
    test_labels: Idx

    def arrays(self):
        """NumPy arrays: images float32 in [0, 1] with shape (n, 28, 28), labels int64."""
        import numpy as np

        def images(idx: Idx):
            return np.frombuffer(idx.data, np.uint8).reshape(idx.shape).astype(np.float32) / 255.0

        def labels(idx: Idx):
            return np.frombuffer(idx.data, np.uint8).astype(np.int64)

        return (images(self.train_images), labels(self.train_labels),
                images(self.test_images), labels(self.test_labels))


def data_folder(arg: str | None) -> Path:
    return Path(arg or os.environ.get("FASHION_MNIST_DIR") or DEFAULT_DATA_DIR)


def load_fashion_mnist(folder: Path) -> FashionMnist:
    if not folder.is_dir():
        raise BenchError(
            f"Fashion-MNIST folder {folder} does not exist.\n"
            "  Install the Debian package:   sudo apt-get install dataset-fashion-mnist\n"
            "  or point to a folder with the four IDX files:   --data DIR   or   FASHION_MNIST_DIR=DIR"
        )
    parts = {key: read_idx(folder, stem) for key, stem in FILES.items()}
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        n = EXPECTED_COUNT[split]
        if images.shape != (n, 28, 28) or labels.shape != (n,):
            raise BenchError(
                f"{folder}: {split} images {images.shape} and labels {labels.shape}, "
                f"expected ({n}, 28, 28) and ({n},): not the Fashion-MNIST files?"
            )
        if max(labels.data) > 9:
            raise BenchError(f"{folder}: {split} labels outside 0..9")
    return FashionMnist(folder, **parts)


def describe(data: FashionMnist) -> str:
    first = " ".join(str(b) for b in data.train_labels.data[:10])
    return (f"data: {data.folder}: {data.train_images.shape[0]:,} training and "
            f"{data.test_images.shape[0]:,} test images of 28x28; first training labels {first} "
            f"({CLASS_NAMES[data.train_labels.data[0]]}, ...)")


# --- models --------------------------------------------------------------------------------

MODELS = {
    "lecture_cnn": {"logits": False, "help": "the lecture's CNN (chapter 14, 1,413,834 parameters)"},
    "small_resnet": {"logits": True, "help": "a small ResNet of HOML's ResidualUnit (679,594 parameters)"},
}
# The small ResNet: (filters, strides) of its residual units, after a 32-filter stem.
SMALL_RESNET_UNITS = [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]


def torch_model(name: str):
    """The PyTorch model `name` (NCHW input of 1x28x28, 10 logits)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    if name == "lecture_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 64, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
            nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(64, 10),  # logits: CrossEntropyLoss applies the softmax
        )
    assert name == "small_resnet", name

    class SameConv2d(nn.Conv2d):
        """Conv2d without bias, padded like TensorFlow's "same" (asymmetric for stride 2),
        He-normal like the book's DefaultConv2D (kernel_initializer="he_normal")."""

        def __init__(self, cin: int, cout: int, k: int, stride: int = 1):
            super().__init__(cin, cout, k, stride, padding=k // 2 if stride == 1 else 0, bias=False)
            nn.init.kaiming_normal_(self.weight, mode="fan_in", nonlinearity="relu")

        def forward(self, x):
            s, k = self.stride[0], self.kernel_size[0]
            if s > 1:
                h, w = x.shape[-2:]
                ph = max((-(-h // s) - 1) * s + k - h, 0)
                pw = max((-(-w // s) - 1) * s + k - w, 0)
                if ph or pw:
                    x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            return super().forward(x)

    def bn(c: int):
        return nn.BatchNorm2d(c, momentum=0.01, eps=1e-3)  # Keras: momentum 0.99, epsilon 1e-3

    class ResidualUnit(nn.Module):
        def __init__(self, cin: int, filters: int, strides: int):
            super().__init__()
            self.main = nn.Sequential(
                SameConv2d(cin, filters, 3, strides), bn(filters), nn.ReLU(),
                SameConv2d(filters, filters, 3), bn(filters))
            self.skip = (nn.Identity() if strides == 1 else
                         nn.Sequential(SameConv2d(cin, filters, 1, strides), bn(filters)))

        def forward(self, x):
            return torch.relu(self.main(x) + self.skip(x))

    layers, cin = [SameConv2d(1, 32, 3), bn(32), nn.ReLU()], 32
    for filters, strides in SMALL_RESNET_UNITS:
        layers.append(ResidualUnit(cin, filters, strides))
        cin = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]  # logits
    return nn.Sequential(*layers)


def torch_param_counts(model) -> tuple[int, int]:
    """(parameters, buffers): BatchNorm's running means and variances count as buffers,
    its num_batches_tracked counter not at all (Keras has no such weight)."""
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    return params, buffers


def keras_default_conv2d(filters: int, kernel_size: int = 3, strides: int = 1, **kwargs):
    """The book's DefaultConv2D: 3x3, stride 1, same, He-normal, no bias."""
    import keras

    kwargs = {"padding": "same", "kernel_initializer": "he_normal", "use_bias": False, **kwargs}
    return keras.layers.Conv2D(filters, kernel_size, strides=strides, **kwargs)


def keras_residual_unit(x, filters: int, strides: int = 1, se_units: int | None = None):
    """HOML's ResidualUnit (chapter 14) in the functional API: the same layers and weights
    as the book's Layer subclass. With se_units, an SE block (GlobalAvgPool - Dense(se_units,
    relu) - Dense(filters, sigmoid) - multiply) rescales the main path before the addition."""
    import keras
    from keras import layers

    z = keras_default_conv2d(filters, strides=strides)(x)
    z = layers.BatchNormalization()(z)
    z = layers.Activation("relu")(z)
    z = keras_default_conv2d(filters)(z)
    z = layers.BatchNormalization()(z)
    if se_units:
        s = layers.GlobalAveragePooling2D()(z)
        s = layers.Dense(se_units, activation="relu")(s)
        s = layers.Dense(filters, activation="sigmoid")(s)
        z = layers.Multiply()([z, layers.Reshape((1, 1, filters))(s)])
    skip = x
    if strides > 1:
        skip = keras_default_conv2d(filters, kernel_size=1, strides=strides)(x)
        skip = layers.BatchNormalization()(skip)
    return layers.Activation("relu")(layers.Add()([z, skip]))


def keras_model(name: str):
    """The Keras model `name` (NHWC input of 28x28x1, not compiled)."""
    import keras
    from keras import layers

    if name == "lecture_cnn":
        return keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, 7, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Conv2D(128, 3, activation="relu", padding="same"),
            layers.Conv2D(128, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Conv2D(256, 3, activation="relu", padding="same"),
            layers.Conv2D(256, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ], name=name)
    assert name == "small_resnet", name
    inputs = keras.Input(shape=(28, 28, 1))
    z = keras_default_conv2d(32)(inputs)
    z = layers.BatchNormalization()(z)  # Keras' defaults: momentum 0.99, epsilon 1e-3
    z = layers.Activation("relu")(z)
    for filters, strides in SMALL_RESNET_UNITS:
        z = keras_residual_unit(z, filters, strides)
    z = layers.GlobalAveragePooling2D()(z)
    outputs = layers.Dense(10)(z)  # logits
    return keras.Model(inputs, outputs, name=name)


def keras_param_counts(model) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) weights of a built Keras model."""
    import math

    def count(weights) -> int:
        return sum(math.prod(w.shape) for w in weights)

    return model.count_params(), count(model.trainable_weights), count(model.non_trainable_weights)


# --- frameworks ----------------------------------------------------------------------------


def missing_framework(what: str, error: ImportError) -> BenchError:
    """The error for a framework (or NumPy) that this Python cannot import."""
    if error.name == "numpy":
        what = "NumPy"
    return BenchError(
        f"{what} is not installed for this Python ({sys.executable}): {error}.\n"
        "  make bench-anchors installs the pinned versions into .venv-anchors and runs everything;\n"
        "  by hand, from the repository's root folder:\n"
        "    python3 -m venv .venv-anchors\n"
        "    .venv-anchors/bin/pip install -r scripts/anchor-requirements.txt\n"
        "    .venv-anchors/bin/python scripts/anchor_bench.py ..."
    )


def run_torch(args: argparse.Namespace, data: FashionMnist) -> None:
    try:
        import numpy  # noqa: F401  (FashionMnist.arrays needs it)
        import torch
        from torch import nn
    except ImportError as e:
        raise missing_framework("PyTorch", e) from e

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, seed {args.seed}", flush=True)

    def build() -> nn.Module:
        return torch_model(args.model)

    x_train, y_train, x_test, y_test = data.arrays()
    X = torch.from_numpy(x_train[:, None])  # NCHW
    Y = torch.from_numpy(y_train)
    X_test = torch.from_numpy(x_test[:, None])
    Y_test = torch.from_numpy(y_test)
    loss_fn = nn.CrossEntropyLoss()

    model = build()
    params, buffers = torch_param_counts(model)
    print(f"# model {args.model}: {params + buffers:,} = {params:,} parameters + {buffers:,} buffers "
          "(BatchNorm running means/variances; num_batches_tracked not counted)", flush=True)
    opt = torch.optim.NAdam(model.parameters(), lr=1e-3)
    batches = len(X) // args.batch  # steps beyond one epoch start again at the first images

    def step(i: int) -> None:
        j = i % batches
        xb, yb = X[j * args.batch:(j + 1) * args.batch], Y[j * args.batch:(j + 1) * args.batch]
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()

    model.train()
    for i in range(args.warmup):
        step(i)
    t = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    dt = time.perf_counter() - t
    print(f"torch train: {args.steps * args.batch / dt:.1f} img/s (batch {args.batch}, "
          f"{args.steps} steps, {dt:.2f}s, threads {torch.get_num_threads()})", flush=True)

    def predict(model: nn.Module, x, batch: int):
        model.eval()
        with torch.no_grad():
            return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])

    for _ in range(args.predict_runs):
        t = time.perf_counter()
        predict(model, X_test, args.predict_batch)
        dt = time.perf_counter() - t
        print(f"torch predict: {len(X_test) / dt:.1f} img/s", flush=True)

    if args.epochs:
        torch.manual_seed(args.seed)
        model = build()
        opt = torch.optim.NAdam(model.parameters(), lr=1e-3)
        x_tr, y_tr = X[:TRAIN], Y[:TRAIN]
        x_va, y_va = X[TRAIN:TRAIN + VALID], Y[TRAIN:TRAIN + VALID]
        gen = torch.Generator().manual_seed(args.seed)
        t_all = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            t = time.perf_counter()
            model.train()
            order = torch.randperm(TRAIN, generator=gen)  # Keras' fit shuffles every epoch too
            total_loss = correct = 0.0
            for i in range(0, TRAIN, 32):
                idx = order[i:i + 32]
                xb, yb = x_tr[idx], y_tr[idx]
                opt.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                opt.step()
                total_loss += loss.item() * len(idx)
                correct += (out.argmax(1) == yb).sum().item()
            val = predict(model, x_va, args.predict_batch)
            val_loss = loss_fn(val, y_va).item()
            val_acc = (val.argmax(1) == y_va).float().mean().item()
            print(f"epoch {epoch}/{args.epochs}: {time.perf_counter() - t:.0f}s "
                  f"loss={total_loss / TRAIN:.4f} accuracy={correct / TRAIN:.4f} "
                  f"val_loss={val_loss:.4f} val_accuracy={val_acc:.4f}", flush=True)
        seconds = time.perf_counter() - t_all
        test_acc = (predict(model, X_test, args.predict_batch).argmax(1) == Y_test).float().mean().item()
        print(f"torch {args.epochs} epochs: {seconds:.0f}s test_acc={test_acc:.4f}", flush=True)


def run_keras(args: argparse.Namespace, data: FashionMnist) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter
    try:
        import numpy as np
        import tensorflow as tf
        import keras
    except ImportError as e:
        raise missing_framework("Keras/TensorFlow", e) from e

    if args.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        except RuntimeError as e:  # TensorFlow refuses once its runtime has started
            raise BenchError(f"--threads: TensorFlow did not accept the setting ({e})") from e
    keras.utils.set_random_seed(args.seed)
    print(f"# keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}, "
          f"threads {args.threads or 'default'}, seed {args.seed}", flush=True)

    def build():
        model = keras_model(args.model)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=MODELS[args.model]["logits"])
        model.compile(loss=loss, optimizer="nadam", metrics=["accuracy"])
        return model

    x_train, y_train, x_test, y_test = data.arrays()
    x_train, x_test = x_train[..., None], x_test[..., None]  # NHWC

    def first(n: int):
        """The first n training images, starting again at the beginning past 60,000."""
        idx = np.arange(n) % len(x_train)
        return x_train[idx], y_train[idx]

    model = build()
    total, trainable, non_trainable = keras_param_counts(model)
    print(f"# model {args.model}: {total:,} parameters = {trainable:,} trainable + "
          f"{non_trainable:,} non-trainable", flush=True)
    if args.warmup:
        xw, yw = first(args.warmup * args.batch)
        model.fit(xw, yw, batch_size=args.batch, epochs=1, verbose=0)
    xs, ys = first(args.steps * args.batch)
    t = time.perf_counter()
    model.fit(xs, ys, batch_size=args.batch, epochs=1, verbose=0)
    dt = time.perf_counter() - t
    print(f"keras train: {args.steps * args.batch / dt:.1f} img/s "
          f"(batch {args.batch}, {args.steps} steps, {dt:.2f}s)", flush=True)

    for _ in range(args.predict_runs):
        t = time.perf_counter()
        model.predict(x_test, batch_size=args.predict_batch, verbose=0)
        dt = time.perf_counter() - t
        print(f"keras predict: {len(x_test) / dt:.1f} img/s", flush=True)

    if args.epochs:
        keras.utils.set_random_seed(args.seed)
        model = build()
        t = time.perf_counter()
        valid = (x_train[TRAIN:TRAIN + VALID], y_train[TRAIN:TRAIN + VALID])
        model.fit(x_train[:TRAIN], y_train[:TRAIN], batch_size=32, epochs=args.epochs,
                  validation_data=valid, verbose=2)
        seconds = time.perf_counter() - t
        test_acc = model.evaluate(x_test, y_test, batch_size=args.predict_batch, verbose=0)[1]
        print(f"keras {args.epochs} epochs: {seconds:.0f}s test_acc={test_acc:.4f}", flush=True)


# --- command line --------------------------------------------------------------------------


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="anchor_bench.py",
        description="The lecture's Fashion-MNIST CNN (or --model small_resnet) in PyTorch or "
                    "Keras/TensorFlow on the CPU: "
                    "training and inference images/s, optionally the lecture's full training.",
        epilog="Example: anchor_bench.py torch 1000 32   then   anchor_bench.py keras 1000 32. "
               "Compare only figures measured one after the other (see docs/performance.md).",
    )
    ap.add_argument("framework", nargs="?", choices=["torch", "keras"], help="which framework to measure")
    ap.add_argument("steps", nargs="?", type=positive, default=1000,
                    help="timed training steps (default 1000)")
    ap.add_argument("batch", nargs="?", type=positive, default=32, help="training batch size (default 32)")
    ap.add_argument("epochs", nargs="?", type=not_negative, default=0,
                    help="then train a fresh model this many epochs on 55,000/5,000 images, batch 32, "
                         "and print the test accuracy (default 0: skip)")
    ap.add_argument("--model", choices=list(MODELS), default="lecture_cnn",
                    help="which model: " + "; ".join(f"{k}: {v['help']}" for k, v in MODELS.items())
                         + " (default lecture_cnn)")
    ap.add_argument("--data", metavar="DIR",
                    help=f"folder with the four IDX files (default $FASHION_MNIST_DIR, else {DEFAULT_DATA_DIR})")
    ap.add_argument("--warmup", type=not_negative, metavar="N", default=3,
                    help="untimed training steps first (default 3)")
    ap.add_argument("--predict-batch", type=positive, metavar="N", default=256,
                    help="inference batch size (default 256)")
    ap.add_argument("--predict-runs", type=positive, metavar="N", default=1,
                    help="time inference this many times, one line each (default 1)")
    ap.add_argument("--threads", type=positive, metavar="N",
                    help="CPU threads for the framework (default: the framework's own choice)")
    ap.add_argument("--seed", type=int, metavar="N", default=42, help="random seed (default 42)")
    ap.add_argument("--check-data", action="store_true",
                    help="only read and check the data set, then exit")
    args = ap.parse_args(argv)
    if args.framework is None and not args.check_data:
        ap.error("name a framework (torch or keras), or give --check-data")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = load_fashion_mnist(data_folder(args.data))
        print(describe(data), flush=True)
        if args.check_data:
            return 0
        {"torch": run_torch, "keras": run_keras}[args.framework](args, data)
    except BenchError as e:
        print(f"anchor_bench: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
