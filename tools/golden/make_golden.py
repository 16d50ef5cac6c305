#!/usr/bin/python3
"""Golden data for the reference executor, computed by PyTorch.

Run from anywhere with the system interpreter (it has torch and numpy):

    /usr/bin/python3 tools/golden/make_golden.py

For every case below it writes tests/golden/<case>/ with

    model.dnn            the network in the dnnc language
    weights.safetensors  its weights (a file with an empty header "{}" when the
                         network has none: the executor needs weights bound)
    input.npy            float32, the only graph input
    expected.npy         float32, PyTorch's output (float32, eval mode)

and tests/golden/MANIFEST, the case names one a line, which tests/test_golden.c
checks against the folders it finds. A dev-time tool: tests and CI only read
the files it wrote; nothing in CI runs it.

Everything is deterministic: each case draws its inputs and weights from a
NumPy generator seeded with the CRC-32 of the case name, PyTorch runs on one
thread with deterministic algorithms. The PyTorch side is written
independently of the reference executor, with torch.nn.functional calls that
follow dnnc's documented semantics (docs/language.md, runtime/reference/*.c):

    asymmetric padding [top, left, bottom, right]  F.pad before conv / pooling
                                                   (-inf for max pooling)
    maxout (consecutive channels)                  view(N, C/p, p, ...).amax(2)
    fc on a rank > 2 input                         flatten in C order, F.linear
    LRN (odd sizes)                                nn.LocalResponseNorm (= ONNX)

The script also runs every case in float64 and prints the largest difference
between PyTorch's float32 and float64 results next to the output's magnitude:
that is PyTorch's own rounding error, which bounds what tests/test_golden.c
has to tolerate (the reference executor rounds once per layer).
"""

import json
import os
import struct
import sys
import textwrap
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "golden")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------
# File formats


def write_safetensors(path, tensors):
    """tensors: dict name -> float32 ndarray, written sorted by name."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        data = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype="<f4"), allow_pickle=False)


# --------------------------------------------------------------------------
# Weight construction (NumPy, float32) and the PyTorch side of each op


class Weights:
    """Named float32 weights drawn from the case's generator."""

    def __init__(self, rng):
        self.rng = rng
        self.w = {}

    def add(self, name, a):
        assert name not in self.w, name
        self.w[name] = np.asarray(a, dtype=np.float32)

    def conv(self, name, filters, channels, kh, kw, groups=1, bias=True):
        fan_in = channels // groups * kh * kw
        self.add(name + ".weight",
                 self.rng.normal(0, np.sqrt(2.0 / fan_in), (filters, channels // groups, kh, kw)))
        if bias:
            self.add(name + ".bias", self.rng.normal(0, 0.1, filters))

    def fc(self, name, units, k, bias=True):
        self.add(name + ".weight", self.rng.normal(0, np.sqrt(2.0 / k), (units, k)))
        if bias:
            self.add(name + ".bias", self.rng.normal(0, 0.1, units))

    def bn(self, name, c, mean_scale=0.2):
        """Non-trivial running statistics and affine parameters."""
        self.add(name + ".weight", self.rng.uniform(0.5, 1.5, c) * self.rng.choice([-1, 1], c))
        self.add(name + ".bias", self.rng.normal(0, 0.2, c))
        self.add(name + ".running_mean", self.rng.normal(0, mean_scale, c))
        self.add(name + ".running_var", self.rng.uniform(0.3, 2.0, c))

    def prelu(self, name, c):
        self.add(name + ".weight", self.rng.uniform(-0.5, 1.5, c))


def pads4(p):
    """dnnc's pad attribute -> (top, left, bottom, right)."""
    if isinstance(p, int):
        return (p, p, p, p)
    if len(p) == 2:
        return (p[0], p[1], p[0], p[1])
    return tuple(p)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def t_conv(x, W, name, stride=1, pad=0, dilation=1, groups=1, bias=True):
    t, l, b, r = pads4(pad)
    if (t, l) == (b, r):
        padding = (t, l)
    else:
        x = F.pad(x, (l, r, t, b))
        padding = (0, 0)
    return F.conv2d(x, W[name + ".weight"], W[name + ".bias"] if bias else None,
                    stride=pair(stride), padding=padding, dilation=pair(dilation), groups=groups)


def t_fc(x, W, name, bias=True):
    return F.linear(x.reshape(x.shape[0], -1), W[name + ".weight"],
                    W[name + ".bias"] if bias else None)


def t_bn(x, W, name, eps=1e-5):
    return F.batch_norm(x, W[name + ".running_mean"], W[name + ".running_var"],
                        W[name + ".weight"], W[name + ".bias"], training=False, eps=eps)


def t_maxpool(x, kernel, stride=1, pad=0, ceil=False):
    t, l, b, r = pads4(pad)
    if (t, l) == (b, r):
        return F.max_pool2d(x, pair(kernel), pair(stride), (t, l), ceil_mode=ceil)
    # Asymmetric padding: pad with -inf (padding never wins). Only in floor
    # mode: PyTorch's ceil rule would then see the padding as input.
    assert not ceil
    return F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), pair(kernel), pair(stride))


def t_avgpool(x, kernel, stride=1, pad=0, ceil=False, count_include_pad=False):
    t, l, b, r = pads4(pad)
    if (t, l) == (b, r):
        return F.avg_pool2d(x, pair(kernel), pair(stride), (t, l), ceil_mode=ceil,
                            count_include_pad=count_include_pad)
    assert not ceil
    xp = F.pad(x, (l, r, t, b))
    if count_include_pad:
        return F.avg_pool2d(xp, pair(kernel), pair(stride))
    # Sum over the window divided by the number of real input elements in it.
    ones = F.pad(torch.ones_like(x[:1, :1]), (l, r, t, b))
    total = F.avg_pool2d(xp, pair(kernel), pair(stride), divisor_override=1)
    count = F.avg_pool2d(ones, pair(kernel), pair(stride), divisor_override=1)
    return total / count


def t_maxout(x, pieces):
    n, c = x.shape[0], x.shape[1]
    return x.reshape(n, c // pieces, pieces, *x.shape[2:]).amax(dim=2)


def t_prelu(x, W, name):
    return F.prelu(x, W[name + ".weight"])


def t_lrn(x, size=5, alpha=1e-4, beta=0.75, bias=1.0):
    assert size % 2 == 1, "torch's LRN matches ONNX only for odd sizes"
    return torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=bias)(x)


# --------------------------------------------------------------------------
# The cases

CASES = []


def case(desc):
    """Registers fn(rng) -> (dnn body, input ndarray, Weights, torch fn)."""
    def register(fn):
        CASES.append((fn.__name__, desc, fn))
        return fn
    return register


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ---- convolution

@case("conv 3x3, pad 1, bias, batch 2")
def conv_basic(rng):
    x = randn(rng, 2, 3, 7, 7)
    w = Weights(rng); w.conv("y", 4, 3, 3, 3)
    return "y = conv(x, filters=4, kernel=3, pad=1);", x, w, \
        lambda x, W: t_conv(x, W, "y", pad=1)


@case("conv stride 2 without padding on an even size: the last row and column are never read")
def conv_stride2(rng):
    x = randn(rng, 1, 3, 8, 8)
    w = Weights(rng); w.conv("y", 5, 3, 3, 3)
    return "y = conv(x, filters=5, kernel=3, stride=2);", x, w, \
        lambda x, W: t_conv(x, W, "y", stride=2)


@case("conv with a rectangular kernel [3, 5], stride [2, 1], padding [1, 2]")
def conv_stride_rect(rng):
    x = randn(rng, 1, 4, 7, 9)
    w = Weights(rng); w.conv("y", 3, 4, 3, 5)
    return "y = conv(x, filters=3, kernel=[3, 5], stride=[2, 1], pad=[1, 2]);", x, w, \
        lambda x, W: t_conv(x, W, "y", stride=(2, 1), pad=(1, 2))


@case("conv with asymmetric padding [top, left, bottom, right]: [0, 1, 2, 1] and, "
      "stride 2, [1, 0, 0, 2] (TensorFlow SAME style)")
def conv_pad_asym(rng):
    x = randn(rng, 1, 3, 6, 7)
    w = Weights(rng); w.conv("a", 4, 3, 3, 3); w.conv("y", 3, 4, 2, 3)
    body = """a = conv(x, filters=4, kernel=3, pad=[0, 1, 2, 1]);
y = conv(a, filters=3, kernel=[2, 3], stride=2, pad=[1, 0, 0, 2]);"""
    return body, x, w, lambda x, W: t_conv(
        t_conv(x, W, "a", pad=(0, 1, 2, 1)), W, "y", stride=2, pad=(1, 0, 0, 2))


@case("grouped conv: 6 channels, 9 filters, groups 3")
def conv_groups(rng):
    x = randn(rng, 2, 6, 6, 6)
    w = Weights(rng); w.conv("y", 9, 6, 3, 3, groups=3)
    return "y = conv(x, filters=9, kernel=3, pad=1, groups=3);", x, w, \
        lambda x, W: t_conv(x, W, "y", pad=1, groups=3)


@case("depthwise conv 3x3 stride 2 pad 1, no bias (MobileNet)")
def conv_depthwise(rng):
    x = randn(rng, 1, 8, 9, 9)
    w = Weights(rng); w.conv("y", 8, 8, 3, 3, groups=8, bias=False)
    return "y = conv(x, filters=8, kernel=3, stride=2, pad=1, groups=8, bias=false);", x, w, \
        lambda x, W: t_conv(x, W, "y", stride=2, pad=1, groups=8, bias=False)


@case("depthwise conv with channel multiplier 2 (filters = 2 x groups)")
def conv_depthwise_mult(rng):
    x = randn(rng, 1, 4, 6, 6)
    w = Weights(rng); w.conv("y", 8, 4, 3, 3, groups=4)
    return "y = conv(x, filters=8, kernel=3, pad=1, groups=4);", x, w, \
        lambda x, W: t_conv(x, W, "y", pad=1, groups=4)


@case("dilated conv: dilation 2, pad 2")
def conv_dilation(rng):
    x = randn(rng, 1, 3, 10, 10)
    w = Weights(rng); w.conv("y", 4, 3, 3, 3)
    return "y = conv(x, filters=4, kernel=3, pad=2, dilation=2);", x, w, \
        lambda x, W: t_conv(x, W, "y", pad=2, dilation=2)


@case("dilation [2, 3] with stride [2, 1] and padding [2, 1]")
def conv_dilation_rect(rng):
    x = randn(rng, 1, 3, 10, 10)
    w = Weights(rng); w.conv("y", 4, 3, 3, 3)
    return "y = conv(x, filters=4, kernel=3, stride=[2, 1], pad=[2, 1], dilation=[2, 3]);", \
        x, w, lambda x, W: t_conv(x, W, "y", stride=(2, 1), pad=(2, 1), dilation=(2, 3))


@case("pointwise (1x1) conv without bias, batch 2")
def conv_1x1_nobias(rng):
    x = randn(rng, 2, 8, 5, 5)
    w = Weights(rng); w.conv("y", 6, 8, 1, 1, bias=False)
    return "y = conv(x, filters=6, kernel=1, bias=false);", x, w, \
        lambda x, W: t_conv(x, W, "y", bias=False)


@case("7x7 stride 2 pad 3 conv (ResNet stem), 147-term dot products")
def conv_7x7_s2(rng):
    x = randn(rng, 1, 3, 16, 16)
    w = Weights(rng); w.conv("y", 8, 3, 7, 7)
    return "y = conv(x, filters=8, kernel=7, stride=2, pad=3);", x, w, \
        lambda x, W: t_conv(x, W, "y", stride=2, pad=3)


@case("everything at once: kernel [3, 2], stride [2, 3], pad [1, 0, 2, 1], "
      "dilation [2, 1], groups 2, no bias")
def conv_mixed(rng):
    x = randn(rng, 1, 4, 9, 8)
    w = Weights(rng); w.conv("y", 6, 4, 3, 2, groups=2, bias=False)
    body = ("y = conv(x, filters=6, kernel=[3, 2], stride=[2, 3], pad=[1, 0, 2, 1], "
            "dilation=[2, 1], groups=2, bias=false);")
    return body, x, w, lambda x, W: t_conv(x, W, "y", stride=(2, 3), pad=(1, 0, 2, 1),
                                           dilation=(2, 1), groups=2, bias=False)


# ---- fully connected

@case("fc with bias on a 4-D input (flattened in C order), batch 2")
def fc_4d(rng):
    x = randn(rng, 2, 3, 4, 5)
    w = Weights(rng); w.fc("y", 7, 60)
    return "y = fc(x, units=7);", x, w, lambda x, W: t_fc(x, W, "y")


@case("fc without bias on a 4-D input, batch 2")
def fc_4d_nobias(rng):
    x = randn(rng, 2, 4, 3, 3)
    w = Weights(rng); w.fc("y", 6, 36, bias=False)
    return "y = fc(x, units=6, bias=false);", x, w, lambda x, W: t_fc(x, W, "y", bias=False)


@case("fc with bias on a 2-D input, batch 3")
def fc_2d(rng):
    x = randn(rng, 3, 20)
    w = Weights(rng); w.fc("y", 5, 20)
    return "y = fc(x, units=5);", x, w, lambda x, W: t_fc(x, W, "y")


# ---- pooling

@case("max pooling 2x2 stride 2, batch 2")
def maxpool_basic(rng):
    x = randn(rng, 2, 3, 8, 8)
    return "y = maxpool(x, kernel=2, stride=2);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, 2, 2)


@case("max pooling 3x3/2 with ceil: the last column window is partial (8x10 input)")
def maxpool_ceil(rng):
    x = randn(rng, 1, 3, 8, 10)
    return "y = maxpool(x, kernel=3, stride=2, ceil=true);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, 3, 2, ceil=True)


@case("max pooling 3x3/2 pad 1 ceil on an all-negative input: padding never wins")
def maxpool_pad_negative(rng):
    x = (-np.abs(randn(rng, 1, 2, 7, 7)) - 0.5).astype(np.float32)
    return "y = maxpool(x, kernel=3, stride=2, pad=1, ceil=true);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, 3, 2, 1, ceil=True)


@case("max pooling 3x3/3 pad 1 ceil on 5x5: ceil would add a window of pure padding, "
      "which is dropped (output 2x2)")
def maxpool_ceil_drop(rng):
    x = randn(rng, 1, 2, 5, 5)
    return "y = maxpool(x, kernel=3, stride=3, pad=1, ceil=true);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, 3, 3, 1, ceil=True)


@case("max pooling with kernel [3, 2], stride [2, 1], asymmetric padding [1, 0, 0, 1]")
def maxpool_rect_pad_asym(rng):
    x = randn(rng, 1, 3, 9, 8)
    return "y = maxpool(x, kernel=[3, 2], stride=[2, 1], pad=[1, 0, 0, 1]);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, (3, 2), (2, 1), (1, 0, 0, 1))


@case("max pooling kernel [2, 3], stride 2, pad [0, 1], ceil: partial windows in both axes")
def maxpool_rect_ceil(rng):
    x = randn(rng, 1, 2, 7, 8)
    return "y = maxpool(x, kernel=[2, 3], stride=2, pad=[0, 1], ceil=true);", x, Weights(rng), \
        lambda x, W: t_maxpool(x, (2, 3), 2, (0, 1), ceil=True)


@case("average pooling 2x2 stride 2, batch 2")
def avgpool_basic(rng):
    x = randn(rng, 2, 3, 8, 8)
    return "y = avgpool(x, kernel=2, stride=2);", x, Weights(rng), \
        lambda x, W: t_avgpool(x, 2, 2)


@case("average pooling 3x3/2 pad 1 ceil, count_include_pad=true: the last windows "
      "reach past the padded input and divide by the part inside it")
def avgpool_ceil_incl(rng):
    x = randn(rng, 1, 3, 6, 8)
    return "y = avgpool(x, kernel=3, stride=2, pad=1, ceil=true, count_include_pad=true);", \
        x, Weights(rng), lambda x, W: t_avgpool(x, 3, 2, 1, ceil=True, count_include_pad=True)


@case("average pooling 3x3/2 pad 1 ceil, count_include_pad=false")
def avgpool_ceil_excl(rng):
    x = randn(rng, 1, 3, 6, 8)
    return "y = avgpool(x, kernel=3, stride=2, pad=1, ceil=true, count_include_pad=false);", \
        x, Weights(rng), lambda x, W: t_avgpool(x, 3, 2, 1, ceil=True, count_include_pad=False)


@case("average pooling 3x3/3 pad 1 ceil on 5x5 with count_include_pad=true: the pure "
      "padding window is dropped")
def avgpool_ceil_drop(rng):
    x = randn(rng, 1, 2, 5, 5)
    return "y = avgpool(x, kernel=3, stride=3, pad=1, ceil=true, count_include_pad=true);", \
        x, Weights(rng), lambda x, W: t_avgpool(x, 3, 3, 1, ceil=True, count_include_pad=True)


@case("average pooling with kernel [2, 3], stride [1, 2], no padding")
def avgpool_rect(rng):
    x = randn(rng, 1, 3, 7, 9)
    return "y = avgpool(x, kernel=[2, 3], stride=[1, 2]);", x, Weights(rng), \
        lambda x, W: t_avgpool(x, (2, 3), (1, 2))


@case("average pooling 3x3/2 with asymmetric padding [1, 0, 0, 1], count_include_pad=false")
def avgpool_pad_asym_excl(rng):
    x = randn(rng, 1, 3, 7, 7)
    return "y = avgpool(x, kernel=3, stride=2, pad=[1, 0, 0, 1]);", x, Weights(rng), \
        lambda x, W: t_avgpool(x, 3, 2, (1, 0, 0, 1))


@case("average pooling 3x3/2 with asymmetric padding [0, 2, 1, 0], count_include_pad=true")
def avgpool_pad_asym_incl(rng):
    x = randn(rng, 1, 3, 7, 7)
    return "y = avgpool(x, kernel=3, stride=2, pad=[0, 2, 1, 0], count_include_pad=true);", \
        x, Weights(rng), lambda x, W: t_avgpool(x, 3, 2, (0, 2, 1, 0), count_include_pad=True)


@case("global max pooling, batch 2, non-square")
def global_maxpool(rng):
    x = randn(rng, 2, 5, 6, 7)
    return "y = global_maxpool(x);", x, Weights(rng), \
        lambda x, W: x.amax(dim=(2, 3), keepdim=True)


@case("global max pooling of a rank-5 input")
def global_maxpool_rank5(rng):
    x = randn(rng, 1, 2, 3, 4, 5)
    return "y = global_maxpool(x);", x, Weights(rng), \
        lambda x, W: x.amax(dim=(2, 3, 4), keepdim=True)


@case("global average pooling, batch 2, non-square")
def global_avgpool(rng):
    x = randn(rng, 2, 5, 6, 7) + 1.0
    return "y = global_avgpool(x);", x, Weights(rng), \
        lambda x, W: F.adaptive_avg_pool2d(x, 1)


@case("global average pooling of a rank-3 input")
def global_avgpool_rank3(rng):
    x = randn(rng, 2, 4, 9)
    return "y = global_avgpool(x);", x, Weights(rng), \
        lambda x, W: x.mean(dim=2, keepdim=True)


# ---- activations

@case("relu")
def relu(rng):
    x = randn(rng, 2, 4, 5, 5, scale=2.0)
    return "y = relu(x);", x, Weights(rng), lambda x, W: F.relu(x)


@case("leaky_relu with alpha 0.2")
def leaky_relu(rng):
    x = randn(rng, 2, 4, 5, 5, scale=2.0)
    return "y = leaky_relu(x, alpha=0.2);", x, Weights(rng), \
        lambda x, W: F.leaky_relu(x, 0.2)


@case("prelu with per-channel slopes (negative, near 0, above 1)")
def prelu(rng):
    x = randn(rng, 2, 4, 5, 5, scale=2.0)
    w = Weights(rng); w.add("y.weight", [-0.3, 0.05, 0.25, 1.5])
    return "y = prelu(x);", x, w, lambda x, W: t_prelu(x, W, "y")


@case("elu with alpha 0.5")
def elu(rng):
    x = randn(rng, 2, 4, 5, 5, scale=3.0)
    return "y = elu(x, alpha=0.5);", x, Weights(rng), lambda x, W: F.elu(x, 0.5)


def with_extremes(x, extremes):
    flat = x.reshape(-1)
    flat[:len(extremes)] = extremes
    return x


@case("sigmoid, including saturated inputs (+-20, +-30, +-100) and tiny ones")
def sigmoid(rng):
    x = with_extremes(randn(rng, 2, 4, 5, 5, scale=3.0),
                      [20, -20, 30, -30, 100, -100, 1e-6, -1e-6, 0, 88, -88])
    return "y = sigmoid(x);", x, Weights(rng), lambda x, W: torch.sigmoid(x)


@case("tanh, including large magnitudes (+-10, +-20, +-100) and tiny inputs")
def tanh(rng):
    x = with_extremes(randn(rng, 2, 4, 5, 5, scale=2.0),
                      [10, -10, 20, -20, 100, -100, 1e-6, -1e-6, 0, 0.5, -0.5])
    return "y = tanh(x);", x, Weights(rng), lambda x, W: torch.tanh(x)


@case("maxout with 3 pieces: 12 channels -> 4 (consecutive channels), batch 2")
def maxout(rng):
    x = randn(rng, 2, 12, 3, 3)
    return "y = maxout(x, pieces=3);", x, Weights(rng), lambda x, W: t_maxout(x, 3)


@case("maxout with 2 pieces on a rank-2 input")
def maxout_2d(rng):
    x = randn(rng, 3, 10)
    return "y = maxout(x, pieces=2);", x, Weights(rng), lambda x, W: t_maxout(x, 2)


@case("softmax on large logits: around +1000 and around -1000")
def softmax_large(rng):
    x = randn(rng, 2, 10, scale=5.0)
    x[0] += 1000.0
    x[1] -= 1000.0
    return "y = softmax(x);", x, Weights(rng), lambda x, W: F.softmax(x, dim=1)


@case("softmax along axis 2 of a 4-D tensor")
def softmax_axis2(rng):
    x = randn(rng, 2, 3, 4, 5, scale=3.0)
    return "y = softmax(x, axis=2);", x, Weights(rng), lambda x, W: F.softmax(x, dim=2)


@case("softmax along axis -1 (the last) of a 4-D tensor, logits up to ~30")
def softmax_last(rng):
    x = randn(rng, 2, 3, 4, 6, scale=10.0)
    return "y = softmax(x, axis=-1);", x, Weights(rng), lambda x, W: F.softmax(x, dim=-1)


# ---- normalisation

@case("batchnorm with running statistics, signed scales, shifts and eps 1e-3")
def batchnorm(rng):
    w = Weights(rng); w.bn("y", 5, mean_scale=1.0)
    x = (randn(rng, 2, 5, 4, 4) * np.sqrt(w.w["y.running_var"])[None, :, None, None]
         + w.w["y.running_mean"][None, :, None, None]).astype(np.float32)
    return "y = batchnorm(x, eps=1e-3);", x, w, lambda x, W: t_bn(x, W, "y", eps=1e-3)


@case("batchnorm on a rank-2 input (after fc), default eps")
def batchnorm_2d(rng):
    w = Weights(rng); w.bn("y", 6)
    x = randn(rng, 4, 6)
    return "y = batchnorm(x);", x, w, lambda x, W: t_bn(x, W, "y")


@case("LRN with AlexNet's parameters: size 5, alpha 1e-4, beta 0.75, k 2, "
      "on activations large enough for the window term to matter")
def lrn_alexnet(rng):
    x = (np.abs(randn(rng, 1, 8, 5, 5)) * 40.0).astype(np.float32)
    return "y = lrn(x, size=5, alpha=1e-4, beta=0.75, bias=2);", x, Weights(rng), \
        lambda x, W: t_lrn(x, 5, 1e-4, 0.75, 2.0)


@case("LRN size 3, alpha 0.05, beta 0.6, k 1.5, batch 2")
def lrn_small(rng):
    x = randn(rng, 2, 6, 3, 3, scale=2.0)
    return "y = lrn(x, size=3, alpha=0.05, beta=0.6, bias=1.5);", x, Weights(rng), \
        lambda x, W: t_lrn(x, 3, 0.05, 0.6, 1.5)


@case("LRN size 7 wider than the 4 channels, on a rank-3 input")
def lrn_wide(rng):
    x = randn(rng, 2, 4, 6, scale=3.0)
    return "y = lrn(x, size=7, alpha=2e-2, beta=0.9, bias=1);", x, Weights(rng), \
        lambda x, W: t_lrn(x, 7, 2e-2, 0.9, 1.0)


# ---- tensor ops

@case("add with 3 operands (three channel slices of the input)")
def add3(rng):
    x = randn(rng, 2, 9, 4, 4)
    body = """a = slice(x, start=0, end=3);
b = slice(x, start=3, end=6);
c = slice(x, start=6, end=9);
y = add(a, b, c);"""
    return body, x, Weights(rng), lambda x, W: x[:, 0:3] + x[:, 3:6] + x[:, 6:9]


@case("residual add: relu(conv(x) + x)")
def add_residual(rng):
    x = randn(rng, 1, 4, 6, 6)
    w = Weights(rng); w.conv("c", 4, 4, 3, 3)
    body = """c = conv(x, filters=4, kernel=3, pad=1);
s = add(c, x);
y = relu(s);"""
    return body, x, w, lambda x, W: F.relu(t_conv(x, W, "c", pad=1) + x)


@case("concat of uneven channel counts: 2 + 4 + 3")
def concat_uneven(rng):
    x = randn(rng, 1, 4, 5, 5)
    w = Weights(rng); w.conv("a", 2, 4, 1, 1); w.conv("b", 3, 4, 3, 3)
    body = """a = conv(x, filters=2, kernel=1);
b = conv(x, filters=3, kernel=3, pad=1);
y = concat(a, x, b);"""
    return body, x, w, lambda x, W: torch.cat(
        [t_conv(x, W, "a"), x, t_conv(x, W, "b", pad=1)], dim=1)


@case("concat along the width (axis -1), the height (axis 2) and the batch (axis 0)")
def concat_axes(rng):
    x = randn(rng, 2, 3, 4, 6)
    body = """a = slice(x, axis=-1, start=4, end=6);
t = concat(a, x, axis=-1);
u = slice(t, axis=2, start=1, end=3);
v = concat(t, u, axis=2);
r = relu(v);
y = concat(v, r, axis=0);"""

    def f(x, W):
        t = torch.cat([x[..., 4:6], x], dim=3)
        v = torch.cat([t, t[:, :, 1:3]], dim=2)
        return torch.cat([v, F.relu(v)], dim=0)
    return body, x, Weights(rng), f


@case("flatten with axis 2 ([2, 3, 4, 5] -> [6, 20]), then softmax over the rows")
def flatten(rng):
    x = randn(rng, 2, 3, 4, 5, scale=2.0)
    body = """f = flatten(x, axis=2);
y = softmax(f);"""
    return body, x, Weights(rng), lambda x, W: F.softmax(x.reshape(6, 20), dim=1)


@case("reshape with 0 and -1 ([2, 3, 4, 5] -> [2, 6, 10]), then softmax on the last axis")
def reshape(rng):
    x = randn(rng, 2, 3, 4, 5, scale=2.0)
    body = """r = reshape(x, shape=[0, -1, 10]);
y = softmax(r, axis=-1);"""
    return body, x, Weights(rng), lambda x, W: F.softmax(x.reshape(2, 6, 10), dim=-1)


@case("dropout (identity at inference) after a conv")
def dropout(rng):
    x = randn(rng, 1, 3, 6, 6)
    w = Weights(rng); w.conv("c", 4, 3, 3, 3)
    body = """c = conv(x, filters=4, kernel=3);
y = dropout(c, rate=0.3);"""
    return body, x, w, lambda x, W: F.dropout(t_conv(x, W, "c"), 0.3, training=False)


@case("slice along the batch (axis 0), the width (axis -1) and the channels (default axis 1)")
def slice_axes(rng):
    x = randn(rng, 3, 6, 4, 5)
    body = """a = slice(x, axis=0, start=1, end=3);
b = slice(a, axis=-1, start=1, end=4);
y = slice(b, start=2, end=5);"""
    return body, x, Weights(rng), lambda x, W: x[1:3, 2:5, :, 1:4]


# ---- small networks

@case("LeNet-like: conv 5x5 pad 2, tanh, avgpool, conv 5x5, relu, maxpool, fc, relu, "
      "dropout, fc, softmax; blocks; batch 2 of 28x28 images")
def net_lenet(rng):
    x = rng.uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    w = Weights(rng)
    w.conv("s1.c", 6, 1, 5, 5); w.conv("s2.c", 16, 6, 5, 5)
    w.fc("f1", 64, 400); w.fc("f2", 10, 64)
    body = """block conv_pool(x, filters, k, pad=0) {
  c = conv(x, filters=filters, kernel=k, pad=pad);
  a = tanh(c);
  p = avgpool(a, kernel=2, stride=2);
  return p;
}
block conv_relu_max(x, filters, k) {
  c = conv(x, filters=filters, kernel=k);
  a = relu(c);
  p = maxpool(a, kernel=2, stride=2);
  return p;
}
s1 = conv_pool(x, 6, 5, pad=2);          # 6@14x14
s2 = conv_relu_max(s1, 16, 5);           # 16@5x5
f1 = fc(s2, units=64);
a1 = relu(f1);
d = dropout(a1, rate=0.5);
f2 = fc(d, units=10);
y = softmax(f2);"""

    def f(x, W):
        s1 = F.avg_pool2d(torch.tanh(t_conv(x, W, "s1.c", pad=2)), 2, 2)
        s2 = F.max_pool2d(F.relu(t_conv(s1, W, "s2.c")), 2, 2)
        a1 = F.relu(t_fc(s2, W, "f1"))
        return F.softmax(t_fc(a1, W, "f2"), dim=1)
    return body, x, w, f


@case("small ResNet: conv-bn-relu stem, two identity basic blocks, a stride-2 block "
      "with a 1x1 projection shortcut, another basic block, global avgpool, fc")
def net_resnet(rng):
    x = randn(rng, 1, 3, 16, 16)
    w = Weights(rng)
    w.conv("stem.c", 16, 3, 3, 3, bias=False); w.bn("stem.bn", 16)
    for blk, cin, cout in (("b1", 16, 16), ("b2", 16, 16), ("b3", 16, 32), ("b4", 32, 32)):
        w.conv(blk + ".a", cout, cin, 3, 3, bias=False); w.bn(blk + ".an", cout)
        w.conv(blk + ".b", cout, cout, 3, 3, bias=False); w.bn(blk + ".bn", cout)
    w.conv("b3.p", 32, 16, 1, 1, bias=False); w.bn("b3.pn", 32)
    w.fc("fc", 10, 32)
    body = """block conv_bn_relu(x, filters, k, stride=1) {
  c = conv(x, filters=filters, kernel=k, stride=stride, pad=k/2, bias=false);
  bn = batchnorm(c);
  r = relu(bn);
  return r;
}
block basic(x, out) {
  a = conv(x, filters=out, kernel=3, pad=1, bias=false);
  an = batchnorm(a);
  ar = relu(an);
  b = conv(ar, filters=out, kernel=3, pad=1, bias=false);
  bn = batchnorm(b);
  s = add(bn, x);
  r = relu(s);
  return r;
}
block down(x, out, stride) {
  a = conv(x, filters=out, kernel=3, stride=stride, pad=1, bias=false);
  an = batchnorm(a);
  ar = relu(an);
  b = conv(ar, filters=out, kernel=3, pad=1, bias=false);
  bn = batchnorm(b);
  p = conv(x, filters=out, kernel=1, stride=stride, bias=false);
  pn = batchnorm(p);
  s = add(bn, pn);
  r = relu(s);
  return r;
}
stem = conv_bn_relu(x, 16, 3);           # 16@16x16
b1 = basic(stem, 16);
b2 = basic(b1, 16);
b3 = down(b2, 32, 2);                    # 32@8x8
b4 = basic(b3, 32);
gap = global_avgpool(b4);
fc = fc(gap, units=10);
y = softmax(fc);"""

    def f(x, W):
        def cbr(x, n, stride=1):
            return F.relu(t_bn(t_conv(x, W, n + ".c", stride=stride, pad=1, bias=False),
                               W, n + ".bn"))

        def branch(x, n, stride=1):
            a = F.relu(t_bn(t_conv(x, W, n + ".a", stride=stride, pad=1, bias=False), W, n + ".an"))
            return t_bn(t_conv(a, W, n + ".b", pad=1, bias=False), W, n + ".bn")

        h = cbr(x, "stem")
        h = F.relu(branch(h, "b1") + h)
        h = F.relu(branch(h, "b2") + h)
        h = F.relu(branch(h, "b3", 2) +
                   t_bn(t_conv(h, W, "b3.p", stride=2, bias=False), W, "b3.pn"))
        h = F.relu(branch(h, "b4") + h)
        return F.softmax(t_fc(F.adaptive_avg_pool2d(h, 1), W, "fc"), dim=1)
    return body, x, w, f


INCEPTION_BLOCKS = """block conv_relu(x, filters, k) {
  c = conv(x, filters=filters, kernel=k, pad=k/2);
  r = relu(c);
  return r;
}
block inception(x, n1, n3r, n3, n5r, n5, proj) {
  b1 = conv_relu(x, n1, 1);
  b3r = conv_relu(x, n3r, 1);
  b3 = conv_relu(b3r, n3, 3);
  b5r = conv_relu(x, n5r, 1);
  b5 = conv_relu(b5r, n5, 5);
  pool = maxpool(x, kernel=3, stride=1, pad=1);
  pool_proj = conv_relu(pool, proj, 1);
  out = concat(b1, b3, b5, pool_proj);
  return out;
}
"""


@case("inception-style: LRN, two GoogLeNet inception modules (1x1, 3x3, 5x5 and "
      "pool-projection branches, uneven widths) with a ceil max pooling between, "
      "global avgpool, dropout, fc, softmax")
def net_inception(rng):
    x = np.abs(randn(rng, 1, 16, 12, 12)) * 4
    w = Weights(rng)

    def inception_w(n, cin, n1, n3r, n3, n5r, n5, proj):
        w.conv(n + ".b1.c", n1, cin, 1, 1)
        w.conv(n + ".b3r.c", n3r, cin, 1, 1); w.conv(n + ".b3.c", n3, n3r, 3, 3)
        w.conv(n + ".b5r.c", n5r, cin, 1, 1); w.conv(n + ".b5.c", n5, n5r, 5, 5)
        w.conv(n + ".pool_proj.c", proj, cin, 1, 1)
    inception_w("i1", 16, 8, 8, 12, 4, 6, 6)     # 32 channels
    inception_w("i2", 32, 12, 8, 16, 4, 8, 8)    # 44 channels
    w.fc("fc", 10, 44)
    body = INCEPTION_BLOCKS + """n = lrn(x, size=5, alpha=1e-4, beta=0.75);
i1 = inception(n, 8, 8, 12, 4, 6, 6);   # 32@12x12
p = maxpool(i1, kernel=3, stride=2, ceil=true);  # 32@6x6
i2 = inception(p, 12, 8, 16, 4, 8, 8);  # 44@6x6
gap = global_avgpool(i2);
d = dropout(gap, rate=0.4);
fc = fc(d, units=10);
y = softmax(fc);"""

    def f(x, W):
        def cr(x, n, k):
            return F.relu(t_conv(x, W, n + ".c", pad=k // 2))

        def inception(x, n):
            return torch.cat([cr(x, n + ".b1", 1),
                              cr(cr(x, n + ".b3r", 1), n + ".b3", 3),
                              cr(cr(x, n + ".b5r", 1), n + ".b5", 5),
                              cr(F.max_pool2d(x, 3, 1, 1), n + ".pool_proj", 1)], dim=1)
        h = inception(t_lrn(x, 5, 1e-4, 0.75, 1.0), "i1")
        h = inception(F.max_pool2d(h, 3, 2, ceil_mode=True), "i2")
        return F.softmax(t_fc(F.adaptive_avg_pool2d(h, 1), W, "fc"), dim=1)
    return body, x.astype(np.float32), w, f


@case("MobileNet-style: conv-bn-relu stride 2, three depthwise-separable blocks "
      "(depthwise 3x3 + bn + relu, pointwise 1x1 + bn + relu, one with stride 2), "
      "avgpool 6x6, fc, softmax")
def net_mobilenet(rng):
    x = randn(rng, 1, 3, 24, 24)
    w = Weights(rng)
    w.conv("c1.conv", 8, 3, 3, 3, bias=False); w.bn("c1.bn", 8)
    for n, cin, cout in (("c2", 8, 16), ("c3", 16, 32), ("c4", 32, 32)):
        w.conv(n + ".dw.conv", cin, cin, 3, 3, groups=cin, bias=False); w.bn(n + ".dw.bn", cin)
        w.conv(n + ".conv", cout, cin, 1, 1, bias=False); w.bn(n + ".bn", cout)
    w.fc("fc", 10, 32)
    body = """block conv_bn_relu(x, filters, k, stride=1, groups=1) {
  conv = conv(x, filters=filters, kernel=k, stride=stride, pad=k/2, groups=groups, bias=false);
  bn = batchnorm(conv);
  relu = relu(bn);
  return relu;
}
block dw_separable(x, channels, filters, stride=1) {
  dw = conv_bn_relu(x, channels, 3, stride, channels);
  pw = conv_bn_relu(dw, filters, 1);
  return pw;
}
c1 = conv_bn_relu(x, 8, 3, stride=2);      # 8@12x12
c2 = dw_separable(c1, 8, 16);              # 16@12x12
c3 = dw_separable(c2, 16, 32, stride=2);   # 32@6x6
c4 = dw_separable(c3, 32, 32);             # 32@6x6
pool = avgpool(c4, kernel=6);
fc = fc(pool, units=10);
y = softmax(fc);"""

    def f(x, W):
        def cbr(x, n, k, stride=1, groups=1):
            return F.relu(t_bn(t_conv(x, W, n + ".conv", stride=stride, pad=k // 2,
                                      groups=groups, bias=False), W, n + ".bn"))

        def dws(x, n, cin, stride=1):
            return cbr(cbr(x, n + ".dw", 3, stride, cin), n, 1)
        h = cbr(x, "c1", 3, 2)
        h = dws(h, "c2", 8)
        h = dws(h, "c3", 16, 2)
        h = dws(h, "c4", 32)
        return F.softmax(t_fc(F.avg_pool2d(h, 6), W, "fc"), dim=1)
    return body, x, w, f


@case("AlexNet-like: conv 11x11 stride 4 pad 2, relu, LRN, max pooling 3/2 ceil, "
      "grouped conv 5x5 (groups 2), relu, LRN, max pooling 3/2 ceil, fc, relu, fc")
def net_alexnet(rng):
    x = randn(rng, 1, 3, 35, 35)
    w = Weights(rng)
    w.conv("c1", 16, 3, 11, 11); w.conv("c2", 24, 16, 5, 5, groups=2)
    w.fc("f1", 32, 24 * 2 * 2); w.fc("y", 10, 32)
    body = """c1 = conv(x, filters=16, kernel=11, stride=4, pad=2);   # 16@8x8
r1 = relu(c1);
n1 = lrn(r1, size=5, alpha=1e-4, beta=0.75, bias=2);
p1 = maxpool(n1, kernel=3, stride=2, ceil=true);          # 16@4x4
c2 = conv(p1, filters=24, kernel=5, pad=2, groups=2);     # 24@4x4
r2 = relu(c2);
n2 = lrn(r2, size=5, alpha=1e-4, beta=0.75, bias=2);
p2 = maxpool(n2, kernel=3, stride=2, ceil=true);          # 24@2x2
f1 = fc(p2, units=32);
r3 = relu(f1);
y = fc(r3, units=10);"""

    def f(x, W):
        h = F.relu(t_conv(x, W, "c1", stride=4, pad=2))
        h = F.max_pool2d(t_lrn(h, 5, 1e-4, 0.75, 2.0), 3, 2, ceil_mode=True)
        h = F.relu(t_conv(h, W, "c2", pad=2, groups=2))
        h = F.max_pool2d(t_lrn(h, 5, 1e-4, 0.75, 2.0), 3, 2, ceil_mode=True)
        return t_fc(F.relu(t_fc(h, W, "f1")), W, "y")
    return body, x, w, f


@case("MLP on a rank-2 input: fc, maxout, batchnorm (eps 1e-4), prelu, fc, elu, "
      "leaky_relu, fc, sigmoid")
def net_mlp(rng):
    x = randn(rng, 4, 20)
    w = Weights(rng)
    w.fc("f1", 24, 20); w.bn("bn", 8); w.prelu("p", 8); w.fc("f2", 12, 8); w.fc("f3", 3, 12)
    body = """f1 = fc(x, units=24);
m = maxout(f1, pieces=3);
bn = batchnorm(m, eps=1e-4);
p = prelu(bn);
f2 = fc(p, units=12);
e = elu(f2, alpha=0.7);
l = leaky_relu(e, alpha=0.1);
f3 = fc(l, units=3);
y = sigmoid(f3);"""

    def f(x, W):
        h = t_maxout(t_fc(x, W, "f1"), 3)
        h = t_prelu(t_bn(h, W, "bn", eps=1e-4), W, "p")
        h = F.leaky_relu(F.elu(t_fc(h, W, "f2"), 0.7), 0.1)
        return torch.sigmoid(t_fc(h, W, "f3"))
    return body, x, w, f


# --------------------------------------------------------------------------
# Driver


def run_torch(fn, x, weights, dtype):
    with torch.no_grad():
        W = {k: torch.from_numpy(v).to(dtype) for k, v in weights.items()}
        return fn(torch.from_numpy(x).to(dtype), W).numpy()


def dims(shape):
    return ", ".join(str(d) for d in shape)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    names = [name for name, _, _ in CASES]
    assert len(set(names)) == len(names)
    total = 0
    print(f"{'case':24} {'output':18} {'max|e|':>10} {'f32-f64':>10}")
    for name, desc, fn in CASES:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        body, x, w, tfn = fn(rng)
        x = np.ascontiguousarray(x, dtype=np.float32)
        expected = run_torch(tfn, x, w.w, torch.float32).astype(np.float32)
        exact = run_torch(tfn, x, w.w, torch.float64)
        assert np.all(np.isfinite(expected)), name
        d = os.path.join(OUT_DIR, name)
        os.makedirs(d, exist_ok=True)
        about = textwrap.fill(desc + ".", 88, initial_indent="# ", subsequent_indent="# ")
        text = (f"# Golden case '{name}' (generated by tools/golden/make_golden.py):\n"
                f"{about}\n"
                f"input x: f32[{dims(x.shape)}];\n\n{body}\n\noutput y;\n")
        with open(os.path.join(d, "model.dnn"), "w") as f:
            f.write(text)
        write_safetensors(os.path.join(d, "weights.safetensors"), w.w)
        write_npy(os.path.join(d, "input.npy"), x)
        write_npy(os.path.join(d, "expected.npy"), expected)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        total += size
        err = float(np.max(np.abs(expected.astype(np.float64) - exact)))
        print(f"{name:24} {str(list(expected.shape)):18} {np.max(np.abs(expected)):10.4g} "
              f"{err:10.3g}")
    with open(os.path.join(OUT_DIR, "MANIFEST"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    stale = [e for e in sorted(os.listdir(OUT_DIR))
             if os.path.isdir(os.path.join(OUT_DIR, e)) and e not in names]
    for e in stale:
        print(f"warning: {os.path.join(OUT_DIR, e)} is not a case of this script", file=sys.stderr)
    print(f"{len(names)} cases, {total} bytes in {OUT_DIR}")


if __name__ == "__main__":
    main()
