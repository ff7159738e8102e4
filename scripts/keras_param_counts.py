#!/usr/bin/env python3
"""Parameter counts of the chapter's CNN architectures, built with Keras 3 (no weights loaded).

Prints one line per model: total, trainable and non-trainable parameters. Nothing is
downloaded (keras.applications with weights=None) and nothing is trained, so this runs in
seconds on the CPU. The figures are in docs/architectures.md.

    .venv-anchors/bin/python scripts/keras_param_counts.py                  # the table
    .venv-anchors/bin/python scripts/keras_param_counts.py --summaries F    # and every model's summary in F

The models (chapter 14 of Geron's "Hands-On Machine Learning", 3rd edition):

  vgg16, xception    keras.applications, weights=None (224x224x3 and 299x299x3, 1,000 classes)
  resnet34           the book's ResNet-34 (224x224x3, DefaultConv2D and ResidualUnit, Dense(10))
  lenet5             LeNet-5 with plain convolutions (32x32x1, tanh, average pooling)
  alexnet            table 14-2 (227x227x3, LRN as a Lambda without weights)
  googlenet          figure 14-14 without the auxiliary classifiers (224x224x3)
  se_resnet_block    one SE-ResNet unit on a 56x56x256 input (ResidualUnit(256) + SE, ratio 16)
  small_resnet       the small ResNet of scripts/anchor_bench.py (28x28x1): the same builder

The residual units come from scripts/anchor_bench.py (keras_residual_unit), so the small
ResNet counted here is the model that the benchmark times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up chatter
# `anchor_bench` is imported from this script's folder, which Python puts first on the
# module path when it runs a script (`python scripts/keras_param_counts.py`).

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from anchor_bench import (  # noqa: E402
    keras_default_conv2d, keras_model, keras_param_counts, keras_residual_unit)


def vgg16():
    return keras.applications.VGG16(weights=None)


def xception():
    return keras.applications.Xception(weights=None)


def resnet34():
    """The book's ResNet-34: a 7x7/2 stem, 3+4+6+3 residual units, Dense(10, softmax)."""
    inputs = keras.Input(shape=(224, 224, 3))
    z = keras_default_conv2d(64, kernel_size=7, strides=2)(inputs)
    z = layers.BatchNormalization()(z)
    z = layers.Activation("relu")(z)
    z = layers.MaxPool2D(pool_size=3, strides=2, padding="same")(z)
    prev_filters = 64
    for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
        strides = 1 if filters == prev_filters else 2
        z = keras_residual_unit(z, filters, strides=strides)
        prev_filters = filters
    z = layers.GlobalAvgPool2D()(z)
    z = layers.Flatten()(z)
    outputs = layers.Dense(10, activation="softmax")(z)
    return keras.Model(inputs, outputs, name="resnet34")


def lenet5():
    return keras.Sequential([
        keras.Input(shape=(32, 32, 1)),
        layers.Conv2D(6, 5, activation="tanh"),
        layers.AvgPool2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AvgPool2D(2),
        layers.Conv2D(120, 5, activation="tanh"),
        layers.Flatten(),
        layers.Dense(84, activation="tanh"),
        layers.Dense(10, activation="softmax"),
    ], name="lenet5")


def lrn():
    """Local response normalization with the book's hyperparameters; it has no weights."""
    return layers.Lambda(lambda x: tf.nn.local_response_normalization(
        x, depth_radius=2, bias=1.0, alpha=0.00002, beta=0.75))


def alexnet():
    return keras.Sequential([
        keras.Input(shape=(227, 227, 3)),
        layers.Conv2D(96, 11, strides=4, padding="valid", activation="relu"),
        lrn(),
        layers.MaxPool2D(3, strides=2, padding="valid"),
        layers.Conv2D(256, 5, padding="same", activation="relu"),
        lrn(),
        layers.MaxPool2D(3, strides=2, padding="valid"),
        layers.Conv2D(384, 3, padding="same", activation="relu"),
        layers.Conv2D(384, 3, padding="same", activation="relu"),
        layers.Conv2D(256, 3, padding="same", activation="relu"),
        layers.MaxPool2D(3, strides=2, padding="valid"),
        layers.Flatten(),
        layers.Dense(4096, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(4096, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1000, activation="softmax"),
    ], name="alexnet")


def inception(x, c1, c3_reduce, c3, c5_reduce, c5, pool_proj):
    """An inception module: four branches concatenated on the channel axis."""
    def conv(filters, size, z):
        return layers.Conv2D(filters, size, padding="same", activation="relu")(z)

    b1 = conv(c1, 1, x)
    b2 = conv(c3, 3, conv(c3_reduce, 1, x))
    b3 = conv(c5, 5, conv(c5_reduce, 1, x))
    b4 = conv(pool_proj, 1, layers.MaxPool2D(3, strides=1, padding="same")(x))
    return layers.Concatenate(axis=-1)([b1, b2, b3, b4])


def googlenet():
    inputs = keras.Input(shape=(224, 224, 3))
    z = layers.Conv2D(64, 7, strides=2, padding="same", activation="relu")(inputs)
    z = layers.MaxPool2D(3, strides=2, padding="same")(z)
    z = lrn()(z)
    z = layers.Conv2D(64, 1, activation="relu")(z)
    z = layers.Conv2D(192, 3, padding="same", activation="relu")(z)
    z = lrn()(z)
    z = layers.MaxPool2D(3, strides=2, padding="same")(z)
    z = inception(z, 64, 96, 128, 16, 32, 32)      # 3a
    z = inception(z, 128, 128, 192, 32, 96, 64)    # 3b
    z = layers.MaxPool2D(3, strides=2, padding="same")(z)
    z = inception(z, 192, 96, 208, 16, 48, 64)     # 4a
    z = inception(z, 160, 112, 224, 24, 64, 64)    # 4b
    z = inception(z, 128, 128, 256, 24, 64, 64)    # 4c
    z = inception(z, 112, 144, 288, 32, 64, 64)    # 4d
    z = inception(z, 256, 160, 320, 32, 128, 128)  # 4e
    z = layers.MaxPool2D(3, strides=2, padding="same")(z)
    z = inception(z, 256, 160, 320, 32, 128, 128)  # 5a
    z = inception(z, 384, 192, 384, 48, 128, 128)  # 5b
    z = layers.GlobalAvgPool2D()(z)
    z = layers.Dropout(0.4)(z)
    outputs = layers.Dense(1000, activation="softmax")(z)
    return keras.Model(inputs, outputs, name="googlenet")


def se_resnet_block():
    inputs = keras.Input(shape=(56, 56, 256))
    outputs = keras_residual_unit(inputs, 256, strides=1, se_units=16)
    return keras.Model(inputs, outputs, name="se_resnet_block")


def small_resnet():
    return keras_model("small_resnet")


MODELS = {
    "vgg16": vgg16,
    "xception": xception,
    "resnet34": resnet34,
    "lenet5": lenet5,
    "alexnet": alexnet,
    "googlenet": googlenet,
    "se_resnet_block": se_resnet_block,
    "small_resnet": small_resnet,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="keras_param_counts.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", metavar="MODEL",
                    help=f"models to count (default all: {', '.join(MODELS)})")
    ap.add_argument("--summaries", metavar="FILE", help="also write each model's Keras summary to FILE")
    args = ap.parse_args(argv)
    names = args.models or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}; choose from {', '.join(MODELS)}")

    print(f"# keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}",
          flush=True)
    print(f"{'model':<16} {'total':>12} {'trainable':>12} {'non_trainable':>14}")
    summaries = []
    for name in names:
        model = MODELS[name]()
        total, trainable, non_trainable = keras_param_counts(model)
        assert total == trainable + non_trainable, name
        print(f"{name:<16} {total:>12,} {trainable:>12,} {non_trainable:>14,}", flush=True)
        if args.summaries:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                model.summary(line_length=120)
            summaries.append(f"== {name}\n{out.getvalue()}")
        del model
        keras.backend.clear_session()
    if args.summaries:
        Path(args.summaries).write_text("\n".join(summaries))
        print(f"# summaries written to {args.summaries}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
