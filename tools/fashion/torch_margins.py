#!/usr/bin/python3
"""PyTorch's top-1 margins on the Fashion-MNIST test images, and the float error bound
tests/test_fashion_mnist.c compares them with.

For each of the 10,000 test images, the margin is PyTorch's top-1 logit less its
second-highest logit (the logits are the input of the final softmax, `out` in
examples/lenet5.dnn), evaluated in float32 exactly as train_lenet5.py evaluates
(batches of 1000, 2 threads). Writes

  tests/data/lenet5_fashion_torch_margins.npy   float32 [10000]

and checks that the top-1 classes are those of the committed
tests/data/lenet5_fashion_torch_predictions.npy.

It also prints a bound on how far the margin dnnc's reference executor computes
(float32 values, every dot product summed in double and rounded once) can be from
PyTorch's (float32 throughout), derived from the weights (docs/fashion-mnist.md,
"How close is close"): on an image whose margin exceeds it, both must pick the same
class. And, as a check on the bound, the largest differences actually seen between
PyTorch in float32 and in float64 (which, like the reference, rounds almost nothing).

Run from anywhere with /usr/bin/python3 (the interpreter that has torch); the
weights must be the ones the predictions were made with.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_lenet5 import (DATA, REPO, LeNet5, cyclic_windows, load_split,  # noqa: E402
                          read_safetensors)

U = 2.0 ** -24          # unit roundoff of float32
TANH_ULPS = 4           # PyTorch's float32 tanh (SLEEF u10 on vector paths: 1 ulp), generously


def gamma(n):
    """Higham's gamma_n = n u / (1 - n u): the relative error bound of a sum of n
    float32 terms in any order (and of a dot product of n - 1 terms plus a bias)."""
    return n * U / (1 - n * U)


def logits(model, x, batch=1000):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model.logits(x[i:i + batch]))
    return torch.cat(out)


def margins_of(z, top):
    """z[top] less the largest other logit, per row."""
    z = z.astype(np.float64)
    best = z[np.arange(len(z)), top]
    others = z.copy()
    others[np.arange(len(z)), top] = -np.inf
    return best - others.max(axis=1)


def a_priori_bound(wts):
    """A bound for any image with pixels in [0, 1], from the weights alone:
    each layer's input error carried through its largest row sum of |W|, plus
    PyTorch's float32 dot-product error gamma_{n+1} (sum |w x| + |b|) and the
    reference's one rounding u |y|, tanh taken as 1-Lipschitz. It compounds
    the worst case of every layer and comes out far too large to be of use;
    printed only to show why the bound used is computed per image."""
    def layer(w, b, err, vmax):
        w = w.reshape(w.shape[0], -1).astype(np.float64)
        rows = np.abs(w).sum(axis=1)
        out_max = float((rows * vmax + np.abs(b.astype(np.float64))).max())
        return float(rows.max()) * err + (gamma(w.shape[1] + 1) + U) * out_max, out_max
    err, vmax = layer(wts["c1.weight"], wts["c1.bias"], 0.0, 1.0)
    err, vmax = err + (TANH_ULPS + 0.5) * U + (gamma(3) + 0.5 * U), 1.0
    parts = [layer(wts[f"{n}.weight"], wts[f"{n}.bias"], err, vmax)
             for n in ("c3_a", "c3_b", "c3_c", "c3_d")]
    err = max(p[0] for p in parts) + (TANH_ULPS + 0.5) * U + (gamma(3) + 0.5 * U)
    for name in ("c5", "f6"):
        err, vmax = layer(wts[f"{name}.weight"], wts[f"{name}.bias"], err, 1.0)
        err += (TANH_ULPS + 0.5) * U
    return layer(wts["out.weight"], wts["out.bias"], err, 1.0)[0]


class Bounded:
    """examples/lenet5.dnn in float64, carrying with every activation a bound
    (per element) on how far the reference's value and PyTorch's can be apart.

    A conv or fc output y = W x + b whose inputs differ by at most d:
      |W| d                 the input difference carried through the weights
      + gamma_{n+1} (|W| |x| + |b|)   PyTorch's float32 dot product of n terms
                                      and the bias, in whatever order it sums
      + u |y|               the reference's one rounding of its double sum
    (the reference's double rounding errors, about 1e-16 relative, are below
    the slack of these terms). tanh: the difference times the largest slope
    of tanh between y - d and y + d (mean value theorem), plus PyTorch's
    TANH_ULPS ulps and the reference's half ulp (an ulp of |t| < 1 is at most
    2^-24). 2x2 average pooling: the mean of the differences, plus PyTorch's
    float32 sum of 4 terms (the division by 4 is exact) and the reference's
    rounding. Slices and concatenations move values unchanged."""

    def __init__(self, wts):
        self.w = {k: torch.from_numpy(v.astype(np.float64)) for k, v in wts.items()}

    def conv(self, name, x, d, groups=1, pad=0):
        w, b = self.w[name + ".weight"], self.w[name + ".bias"]
        y = F.conv2d(x, w, b, padding=pad, groups=groups)
        mag = F.conv2d(x.abs(), w.abs(), b.abs(), padding=pad, groups=groups)
        n = w[0].numel()
        return y, F.conv2d(d, w.abs(), None, padding=pad, groups=groups) + gamma(n + 1) * mag + U * y.abs()

    def fc(self, name, x, d):
        w, b = self.w[name + ".weight"], self.w[name + ".bias"]
        y = x @ w.T + b
        mag = x.abs() @ w.abs().T + b.abs()
        return y, d @ w.abs().T + gamma(w.shape[1] + 1) * mag + U * y.abs()

    @staticmethod
    def tanh(y, d):
        nearest = (y.abs() - d).clamp(min=0)  # the point of the interval nearest 0
        slope = 1 - torch.tanh(nearest) ** 2
        return torch.tanh(y), slope * d + (TANH_ULPS + 0.5) * U

    @staticmethod
    def avgpool(t, d):
        return (F.avg_pool2d(t, 2, 2),
                F.avg_pool2d(d, 2, 2) + (gamma(3) + 0.5 * U) * F.avg_pool2d(t.abs(), 2, 2))

    def logit_bounds(self, x):
        """Per image, the largest bound over the 10 logits."""
        d = torch.zeros_like(x)
        y, d = self.conv("c1", x, d, pad=2)
        t, d = self.tanh(y, d)
        s2, ds2 = self.avgpool(t, d)
        s2x2, ds2x2 = torch.cat((s2, s2), 1), torch.cat((ds2, ds2), 1)

        def pairs(z):  # c3_in_c: m01, m34, m12, m45, m50, m23
            return torch.cat((z[:, 0:2], z[:, 3:5], z[:, 1:3], z[:, 4:6], z[:, 5:7], z[:, 2:4]), 1)
        a, da = self.conv("c3_a", cyclic_windows(s2x2, 3), cyclic_windows(ds2x2, 3), groups=6)
        b, db = self.conv("c3_b", cyclic_windows(s2x2, 4), cyclic_windows(ds2x2, 4), groups=6)
        c, dc = self.conv("c3_c", pairs(s2x2), pairs(ds2x2), groups=3)
        e, de = self.conv("c3_d", s2, ds2)
        t, d = self.tanh(torch.cat((a, b, c, e), 1), torch.cat((da, db, dc, de), 1))
        s4, ds4 = self.avgpool(t, d)
        y, d = self.conv("c5", s4, ds4)
        t, d = self.tanh(y, d)
        y, d = self.fc("f6", t.flatten(1), d.flatten(1))
        t, d = self.tanh(y, d)
        _, d = self.fc("out", t, d)
        return d.max(dim=1).values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory with the *-ubyte.gz files")
    ap.add_argument("--weights", default=os.path.join(REPO, "examples", "lenet5-fashion.safetensors"))
    ap.add_argument("--predictions",
                    default=os.path.join(REPO, "tests", "data", "lenet5_fashion_torch_predictions.npy"))
    ap.add_argument("--margins",
                    default=os.path.join(REPO, "tests", "data", "lenet5_fashion_torch_margins.npy"))
    args = ap.parse_args()

    torch.set_num_threads(2)
    x, _ = load_split(args.data, "t10k")
    wts = read_safetensors(args.weights)
    model = LeNet5()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in wts.items()})
    model.eval()

    z32 = logits(model, x).numpy()
    top = z32.argmax(axis=1)
    committed = np.load(args.predictions)
    if not np.array_equal(top, committed):
        sys.exit(f"top-1 differs from {args.predictions} on {(top != committed).sum()} images: "
                 "not the weights the predictions were made with")
    m32 = margins_of(z32, top)

    z64 = logits(model.double(), x.double()).numpy()
    m64 = margins_of(z64, top)

    bounded = Bounded(wts)
    with torch.no_grad():
        per_image = torch.cat([bounded.logit_bounds(x[i:i + 1000].double())
                               for i in range(0, len(x), 1000)]).numpy()
    # The margin is a difference of two logits: it moves by at most twice the
    # logit bound. The bound stated is the largest over the test images.
    margin_bound = 2 * per_image.max()
    np.save(args.margins, m32.astype(np.float32))

    print(f"wrote {args.margins} ({len(m32)} margins)")
    print(f"smallest margin {m32.min():.3e}, median {np.median(m32):.3f}")
    print(f"a-priori bound from the weights alone: |logit difference| <= {a_priori_bound(wts):.3e} "
          "(useless)")
    print(f"per-image bound: |logit difference| <= {per_image.max():.3e} on every image "
          f"(median {np.median(per_image):.3e}); margin difference <= {margin_bound:.3e}")
    # The bound the test states: rounded up to two significant digits.
    digits = 10.0 ** (np.floor(np.log10(margin_bound)) - 1)
    stated = np.ceil(margin_bound / digits) * digits
    print(f"stated (MARGIN_BOUND in tests/test_fashion_mnist.c): {stated:.2g}; images whose "
          f"margin exceeds it: {(m32 > stated).sum()} of {len(m32)} "
          f"(whose margin exceeds their own bound: {(m32 > 2 * per_image).sum()})")
    print(f"seen, float32 vs float64 PyTorch: max |logit difference| {np.abs(z32 - z64).max():.3e}, "
          f"max |margin difference| {np.abs(m32 - m64).max():.3e}")


if __name__ == "__main__":
    sys.exit(main())
