#!/usr/bin/python3
"""Train examples/fashion_bn.dnn on Fashion-MNIST with PyTorch and export it for dnnc.

The second Fashion-MNIST network (issue 13's accuracy table): three 3x3
convolutions without bias (16, 32, 64 filters, padding 1), each followed by
batch normalisation and relu, 2x2 max pooling after the first two and 3x3/2
after the third, fc 128 + relu, fc 10, softmax. The module below mirrors
examples/fashion_bn.dnn op for op, and its parameters carry the dnnc tensor
names: the block instance b1 of conv_bn_relu has the layers b1.conv and b1.bn,
so the weights are "b1.conv.weight" [16, 1, 3, 3], "b1.bn.weight",
"b1.bn.bias", "b1.bn.running_mean", "b1.bn.running_var" (each [16]), ...,
"f4.weight" [128, 576], "out.weight" [10, 128]. The state_dict is written to
safetensors unchanged except for BatchNorm2d's int64 num_batches_tracked,
which dnnc has no use for. Batch norm's eps is 1e-5 in both.

Data loading, safetensors and evaluation are train_lenet5.py's: the same
preprocessing as `dnnc run` with IDX images (byte / 255, no normalisation).

Writes (paths relative to the repository root, overridable):
  examples/fashion_bn.safetensors                 the trained weights (F32)
  tests/data/fashion_bn_torch_predictions.npy     uint8 [10000] top-1 predictions
and prints PyTorch's test accuracy.

Run with /usr/bin/python3 (the interpreter that has torch); see README.md.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_lenet5 import (DATA, REPO, evaluate, load_split, read_safetensors,  # noqa: E402
                          write_safetensors)


# --------------------------------------------------------------------------
# The network: examples/fashion_bn.dnn, line for line.

class ConvBnRelu(nn.Module):
    """block conv_bn_relu(x, filters, pad=0): conv 3x3 without bias, batchnorm, relu."""

    def __init__(self, in_channels, filters, pad=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, filters, 3, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(filters, eps=1e-5)
        self.relu = nn.ReLU()     # a module, so that PyTorch's quantisation can fuse it

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class FashionBN(nn.Module):
    def __init__(self):
        super().__init__()
        # Attribute names = dnnc layer names.
        self.b1 = ConvBnRelu(1, 16, pad=1)       # 16@28x28
        self.p1 = nn.MaxPool2d(2, 2)             # 16@14x14
        self.b2 = ConvBnRelu(16, 32, pad=1)      # 32@14x14
        self.p2 = nn.MaxPool2d(2, 2)             # 32@7x7
        self.b3 = ConvBnRelu(32, 64, pad=1)      # 64@7x7
        self.p3 = nn.MaxPool2d(3, 2)             # 64@3x3, overlapping windows
        self.f4 = nn.Linear(64 * 3 * 3, 128)     # f4.weight [128, 576]
        self.f4_act = nn.ReLU()
        self.out = nn.Linear(128, 10)            # out.weight [10, 128]

    def logits(self, data):
        b1 = self.b1(data)
        p1 = self.p1(b1)
        b2 = self.b2(p1)
        p2 = self.p2(b2)
        b3 = self.b3(p2)
        p3 = self.p3(b3)
        # fc flattens its input in C order: [N, 64, 3, 3] -> [N, 576].
        f4 = self.f4(torch.flatten(p3, 1))
        f4_act = self.f4_act(f4)
        return self.out(f4_act)

    def forward(self, data):
        # output prob = softmax(out)
        return torch.softmax(self.logits(data), dim=1)


def dnnc_tensors(model):
    """The state_dict as (dnnc name, float32 array), without num_batches_tracked."""
    return [(name, value.detach().numpy()) for name, value in model.state_dict().items()
            if not name.endswith(".num_batches_tracked")]


def load_weights(model, path):
    """Load a safetensors file written by this script into model."""
    missing, unexpected = model.load_state_dict(
        {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()}, strict=False)
    if unexpected or any(not k.endswith(".num_batches_tracked") for k in missing):
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory with the *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam peak learning rate")
    ap.add_argument("--weight-decay", type=float, default=5e-4,
                    help="AdamW decoupled weight decay")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="PyTorch threads (the weights depend on it; 1 reproduces the committed ones)")
    ap.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    ap.add_argument("--weights", default=os.path.join(REPO, "examples", "fashion_bn.safetensors"))
    ap.add_argument("--predictions",
                    default=os.path.join(REPO, "tests", "data", "fashion_bn_torch_predictions.npy"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}", flush=True)

    model = FashionBN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(x_train) / args.batch)
    total_steps = args.epochs * steps_per_epoch
    # One-cycle-like schedule: short linear warm-up, then cosine decay to 0.
    warmup = steps_per_epoch // 2

    def lr_at(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total_steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()             # batch statistics; evaluate() switches to running ones
        perm = torch.randperm(len(x_train), generator=gen)
        total_loss = 0.0
        for i in range(0, len(x_train), args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            if not args.no_flip:
                # Clothes are left-right symmetric: flip half of the batch
                # (pixels are only permuted, the /255 scaling is unchanged).
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model.logits(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        _, correct = evaluate(model, x_test, y_test)
        print(f"epoch {epoch + 1:2d}/{args.epochs}: loss {total_loss / len(x_train):.4f}  "
              f"test {100.0 * correct / len(x_test):.2f}%  ({time.time() - t0:.0f} s)", flush=True)
    train_seconds = time.time() - t0

    preds, correct = evaluate(model, x_test, y_test)
    accuracy = 100.0 * correct / len(x_test)

    tensors = dnnc_tensors(model)
    os.makedirs(os.path.dirname(args.weights), exist_ok=True)
    write_safetensors(args.weights, tensors)
    os.makedirs(os.path.dirname(args.predictions), exist_ok=True)
    np.save(args.predictions, preds.numpy().astype(np.uint8))

    # Read the file back and re-evaluate from it, so what was written is
    # what was measured.
    check = load_weights(FashionBN(), args.weights)
    preds2, correct2 = evaluate(check, x_test, y_test)
    assert torch.equal(preds, preds2) and correct2 == correct

    n_weights = sum(v.size for _, v in tensors)
    print(f"training: {args.epochs} epochs in {train_seconds:.0f} s")
    print(f"wrote {args.weights} ({n_weights} weights, {os.path.getsize(args.weights)} bytes)")
    print(f"wrote {args.predictions} ({len(preds)} predictions)")
    print(f"PyTorch test accuracy: {accuracy:.2f}% ({correct}/{len(x_test)})")


if __name__ == "__main__":
    sys.exit(main())
