#!/usr/bin/python3
"""PyTorch's top-1 margins for the batch-norm network on the Fashion-MNIST test images,
and the float error bound tests/test_fashion_mnist.c compares them with.

torch_margins.py for examples/fashion_bn.dnn (weights examples/fashion_bn.safetensors,
module train_fashion_bn.py's), with one difference: the margins are those of
PyTorch in float64, not float32. Writes

  tests/data/fashion_bn_torch_margins.npy   float32 [10000]: per test image, the
      float64 logit of PyTorch's class (its float32 top-1, the committed
      tests/data/fashion_bn_torch_predictions.npy) less the largest other
      float64 logit (the logits are `out`, the input of the final softmax)

after checking that the float32 top-1 classes are the committed predictions.

Why float64. The bound on how far dnnc's reference executor can be from PyTorch
in float32 (torch_margins.py's, for LeNet-5) adds, layer by layer, PyTorch's
float32 sums of n products (gamma_n, any order) and carries them through |W|
and batch norm's scale: through three conv + batchnorm + relu blocks and two fc
layers that comes to about 0.48 on a margin (the script prints it), which 96%
of the test images exceed. The reference (every sum in double, one rounding to
float32 per layer) against PyTorch in float64 (rounding almost nothing) differs
by the reference's own roundings only, a bound a hundred times smaller (about
0.004) that nearly every image exceeds. Where PyTorch's float64 margin for its
float32 class exceeds it, that class is also the float64 top-1, and dnnc's
reference must choose it.

The bound, per image and per element, d on |reference - PyTorch float64|, with
u = 2^-24, v = 2^-53, gamma_n = n u / (1 - n u), delta_n = n v / (1 - n v):

  conv, fc      |W| d + u |y| + 2 delta_(n+1) (|W| |x| + |b|): the input
                difference through the weights, the reference's rounding to
                float32, both double sums of n products and the bias
  batchnorm     |a| d + u |y| + 2 BN_ULPS v (|a x| + |a mean| + |beta|),
                a = weight / sqrt(var + eps): both in double (PyTorch's
                alpha = weight / sqrt(var + eps), beta - mean alpha, x alpha + beta)
  relu          d, or 0 where y + d <= 0 (both values are then <= 0)
  maxpool       the largest d of the window (max is exact and 1-Lipschitz)

y is PyTorch's float64 value and |x| its input's; everything is multiplied by
1 + 2^-10, which covers the rounding of the bound's own float32 arithmetic
and the second-order terms (u times d). For comparison the script also prints
the bound against PyTorch in float32 (the same, with PyTorch's float32
roundings: gamma_(n+1) (|W| |x| + |b|) and BN_ULPS u (...)).

Run with /usr/bin/python3; about four minutes (the float64 convolutions).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_margins import U, gamma, logits, margins_of  # noqa: E402
from train_fashion_bn import FashionBN, load_weights  # noqa: E402
from train_lenet5 import DATA, REPO, load_split, read_safetensors  # noqa: E402

V = 2.0 ** -53          # unit roundoff of float64
BN_ULPS = 10            # roundings in batch norm in inference, generously (about 7)
SLACK = 1 + 2.0 ** -10


def delta(n):
    """gamma_n for float64."""
    return n * V / (1 - n * V)


class Bounded:
    """examples/fashion_bn.dnn evaluated by PyTorch in float64 (the values y),
    carrying with every activation two bounds per element: d64 on how far
    dnnc's reference can be from it, and d32 on how far the reference can be
    from PyTorch in float32. The bounds are computed in float32 (sums of
    non-negative terms, within SLACK)."""

    def __init__(self, wts):
        self.w64 = {k: torch.from_numpy(v.astype(np.float64)) for k, v in wts.items()}
        self.abs32 = {k: torch.from_numpy(np.abs(v)) for k, v in wts.items()}

    def conv(self, name, x, d64, d32, pad):
        w, wabs = self.w64[name + ".weight"], self.abs32[name + ".weight"]
        y = F.conv2d(x, w, padding=pad)
        mag = F.conv2d(x.abs().float(), wabs, padding=pad)
        n = w[0].numel()
        ref = U * y.abs().float()
        return (y,
                SLACK * (F.conv2d(d64, wabs, padding=pad) + ref + 2 * delta(n + 1) * mag),
                SLACK * (F.conv2d(d32, wabs, padding=pad) + ref + gamma(n + 1) * mag))

    def batchnorm(self, name, x, d64, d32, eps=1e-5):
        w, b = self.w64[name + ".weight"], self.w64[name + ".bias"]
        mean, var = self.w64[name + ".running_mean"], self.w64[name + ".running_var"]
        y = F.batch_norm(x, mean, var, w, b, False, 0.0, eps)
        a = (w / torch.sqrt(var + eps))[None, :, None, None]
        mag = ((x * a).abs() + (mean[None, :, None, None] * a).abs()
               + b[None, :, None, None].abs()).float()
        aabs, ref = a.abs().float(), U * y.abs().float()
        return (y,
                SLACK * (aabs * d64 + ref + 2 * BN_ULPS * V * mag),
                SLACK * (aabs * d32 + ref + BN_ULPS * U * mag))

    def fc(self, name, x, d64, d32):
        w, b = self.w64[name + ".weight"], self.w64[name + ".bias"]
        wabs, babs = self.abs32[name + ".weight"], self.abs32[name + ".bias"]
        y = F.linear(x, w, b)
        mag = F.linear(x.abs().float(), wabs, babs)
        n = w.shape[1]
        ref = U * y.abs().float()
        return (y,
                SLACK * (F.linear(d64, wabs) + ref + 2 * delta(n + 1) * mag),
                SLACK * (F.linear(d32, wabs) + ref + gamma(n + 1) * mag))

    @staticmethod
    def relu(y, d64, d32):
        # Where y + d64 <= 0, the reference's value is <= 0 too: both are 0
        # after relu. PyTorch's float32 value is within d32 + d64 of y.
        y32, zero = y.float(), torch.zeros_like(d64)
        return (F.relu(y), torch.where(y32 + d64 > 0, d64, zero),
                torch.where(y32 + d64 + d32 > 0, d32, zero))

    @staticmethod
    def maxpool(y, d64, d32, kernel):
        return (F.max_pool2d(y, kernel, 2), F.max_pool2d(d64, kernel, 2),
                F.max_pool2d(d32, kernel, 2))

    def conv_bn_relu(self, name, x, d64, d32, pad):
        y, d64, d32 = self.conv(name + ".conv", x, d64, d32, pad)
        y, d64, d32 = self.batchnorm(name + ".bn", y, d64, d32)
        return self.relu(y, d64, d32)

    def run(self, x):
        """The float64 logits, and per image the largest bound over the 10
        logits against float64 and against float32."""
        x = x.double()
        d64 = d32 = torch.zeros(x.shape)
        y, d64, d32 = self.conv_bn_relu("b1", x, d64, d32, pad=1)
        y, d64, d32 = self.maxpool(y, d64, d32, 2)
        y, d64, d32 = self.conv_bn_relu("b2", y, d64, d32, pad=1)
        y, d64, d32 = self.maxpool(y, d64, d32, 2)
        y, d64, d32 = self.conv_bn_relu("b3", y, d64, d32, pad=1)
        y, d64, d32 = self.maxpool(y, d64, d32, 3)
        y, d64, d32 = self.fc("f4", y.flatten(1), d64.flatten(1), d32.flatten(1))
        y, d64, d32 = self.relu(y, d64, d32)
        y, d64, d32 = self.fc("out", y, d64, d32)
        return y, d64.max(dim=1).values.double(), d32.max(dim=1).values.double()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory with the *-ubyte.gz files")
    ap.add_argument("--weights", default=os.path.join(REPO, "examples", "fashion_bn.safetensors"))
    ap.add_argument("--predictions",
                    default=os.path.join(REPO, "tests", "data", "fashion_bn_torch_predictions.npy"))
    ap.add_argument("--margins",
                    default=os.path.join(REPO, "tests", "data", "fashion_bn_torch_margins.npy"))
    ap.add_argument("--threads", type=int, default=1, help="as train_fashion_bn.py")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    x, _ = load_split(args.data, "t10k")
    model = load_weights(FashionBN(), args.weights).eval()

    z32 = logits(model, x).numpy()
    top = z32.argmax(axis=1)
    committed = np.load(args.predictions)
    if not np.array_equal(top, committed):
        sys.exit(f"top-1 differs from {args.predictions} on {(top != committed).sum()} images: "
                 "not the weights the predictions were made with")
    m32 = margins_of(z32, top)

    bounded = Bounded(read_safetensors(args.weights))
    z64, b64, b32 = [], [], []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            z, d64, d32 = bounded.run(x[i:i + 1000])
            z64.append(z)
            b64.append(d64)
            b32.append(d32)
    z64 = torch.cat(z64).numpy()
    b64, b32 = torch.cat(b64).numpy(), torch.cat(b32).numpy()
    m64 = margins_of(z64, top)      # for PyTorch's float32 class; negative if float64 disagrees
    np.save(args.margins, m64.astype(np.float32))

    # The margin is a difference of two logits: it moves by at most twice the
    # logit bound. The bound stated is the largest over the test images,
    # rounded up to two significant digits.
    margin_bound = 2 * b64.max()
    digits = 10.0 ** (np.floor(np.log10(margin_bound)) - 1)
    stated = np.ceil(margin_bound / digits) * digits
    print(f"wrote {args.margins} ({len(m64)} float64 margins for the float32 top-1)")
    print(f"smallest margin {m64.min():.3e} (float32: {m32.min():.3e}), median {np.median(m64):.3f}; "
          f"float64 top-1 differs from float32 on {(z64.argmax(axis=1) != top).sum()} images")
    print(f"bound, dnnc reference vs PyTorch float64: |logit difference| <= {b64.max():.3e} on every "
          f"image (median {np.median(b64):.3e}); margin difference <= {margin_bound:.3e}")
    print(f"stated (BN_MARGIN_BOUND in tests/test_fashion_mnist.c): {stated:.2g}; images whose "
          f"margin exceeds it: {(m64 > stated).sum()} of {len(m64)}, of the first 2000: "
          f"{(m64[:2000] > stated).sum()} (whose margin exceeds their own bound: "
          f"{(m64 > 2 * b64).sum()})")
    print(f"for comparison, dnnc reference vs PyTorch float32: margin difference <= {2 * b32.max():.3e} "
          f"(median {2 * np.median(b32):.3e}); images whose float32 margin exceeds it: "
          f"{(m32 > 2 * b32.max()).sum()} of {len(m32)}")
    print(f"seen, float32 vs float64 PyTorch: max |logit difference| {np.abs(z32 - z64).max():.3e}, "
          f"max |margin difference| {np.abs(m32 - m64).max():.3e}")


if __name__ == "__main__":
    sys.exit(main())
