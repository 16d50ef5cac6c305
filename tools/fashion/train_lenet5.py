#!/usr/bin/python3
"""Train examples/lenet5.dnn on Fashion-MNIST with PyTorch and export it for dnnc.

The module below mirrors examples/lenet5.dnn op for op (same slices, concats,
grouped convolutions, activations and pooling, in the same order) and its
parameters carry the dnnc tensor names ("c1.weight", "c3_a.bias", ...) with
dnnc's shapes (conv weight [F, C/groups, kh, kw], fc weight [units, in]), so
its state_dict is written to safetensors unchanged.

Preprocessing is exactly what `dnnc run` does with IDX images: uint8 [N,28,28]
-> float32 [N,1,28,28] / 255, no mean/std normalisation.

Writes (paths relative to the repository root, overridable):
  examples/lenet5-fashion.safetensors            the trained weights (F32)
  tests/data/lenet5_fashion_torch_predictions.npy  uint8 [10000] top-1 predictions
and prints PyTorch's test accuracy.

Run with /usr/bin/python3 (the interpreter that has torch); see README.md.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = "/usr/share/datasets/fashion-mnist"


# --------------------------------------------------------------------------
# Data (IDX, gzip-compressed)

def read_idx(path):
    """An IDX file as a numpy array (unsigned-byte data only, as in MNIST)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != math.prod(dims):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    # dnnc's idx_images_to_input: float32 [N, 1, H, W] = byte / 255.
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# --------------------------------------------------------------------------
# The network: examples/lenet5.dnn, line for line.

def cyclic_windows(x12, n):
    """block cyclic_windows(x12, n): six slices [i, i+n) side by side."""
    w0 = x12[:, 0:n]
    w1 = x12[:, 1:1 + n]
    w2 = x12[:, 2:2 + n]
    w3 = x12[:, 3:3 + n]
    w4 = x12[:, 4:4 + n]
    w5 = x12[:, 5:5 + n]
    return torch.cat((w0, w1, w2, w3, w4, w5), dim=1)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        # Attribute names = dnnc layer names, so state_dict keys are the dnnc
        # weight names.
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)          # c1.weight [6, 1, 5, 5]
        self.c3_a = nn.Conv2d(18, 6, 5, groups=6)        # [6, 3, 5, 5]
        self.c3_b = nn.Conv2d(24, 6, 5, groups=6)        # [6, 4, 5, 5]
        self.c3_c = nn.Conv2d(12, 3, 5, groups=3)        # [3, 4, 5, 5]
        self.c3_d = nn.Conv2d(6, 1, 5)                   # [1, 6, 5, 5]
        self.c5 = nn.Conv2d(16, 120, 5)                  # [120, 16, 5, 5]
        self.f6 = nn.Linear(120, 84)                     # [84, 120]
        self.out = nn.Linear(84, 10)                     # [10, 84]

    def logits(self, data):
        c1 = self.c1(data)
        c1_act = torch.tanh(c1)
        s2 = F.avg_pool2d(c1_act, kernel_size=2, stride=2)
        s2x2 = torch.cat((s2, s2), dim=1)
        c3_in3 = cyclic_windows(s2x2, 3)
        c3_a = self.c3_a(c3_in3)
        c3_in4 = cyclic_windows(s2x2, 4)
        c3_b = self.c3_b(c3_in4)
        m01 = s2x2[:, 0:2]
        m34 = s2x2[:, 3:5]
        m12 = s2x2[:, 1:3]
        m45 = s2x2[:, 4:6]
        m50 = s2x2[:, 5:7]
        m23 = s2x2[:, 2:4]
        c3_in_c = torch.cat((m01, m34, m12, m45, m50, m23), dim=1)
        c3_c = self.c3_c(c3_in_c)
        c3_d = self.c3_d(s2)
        c3 = torch.cat((c3_a, c3_b, c3_c, c3_d), dim=1)
        c3_act = torch.tanh(c3)
        s4 = F.avg_pool2d(c3_act, kernel_size=2, stride=2)
        c5 = self.c5(s4)
        c5_act = torch.tanh(c5)
        # fc flattens its input in C order: [N, 120, 1, 1] -> [N, 120].
        f6 = self.f6(torch.flatten(c5_act, 1))
        f6_act = torch.tanh(f6)
        return self.out(f6_act)

    def forward(self, data):
        # output prob = softmax(out)
        return torch.softmax(self.logits(data), dim=1)


# --------------------------------------------------------------------------
# safetensors, written by hand (no safetensors package here).

def write_safetensors(path, tensors):
    """tensors: list of (name, float32 numpy array), written in that order."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        b = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        assert e["dtype"] == "F32"
        out[name] = np.frombuffer(raw[base + b:base + end], dtype="<f4").reshape(e["shape"])
    return out


# --------------------------------------------------------------------------

def evaluate(model, x, y, batch=1000):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            preds.append(model(x[i:i + batch]).argmax(dim=1))
    preds = torch.cat(preds)
    return preds, (preds == y).sum().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory with the *-ubyte.gz files")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam peak learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    ap.add_argument("--weights", default=os.path.join(REPO, "examples", "lenet5-fashion.safetensors"))
    ap.add_argument("--predictions",
                    default=os.path.join(REPO, "tests", "data", "lenet5_fashion_torch_predictions.npy"))
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}", flush=True)

    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
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
        model.train()
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

    state = model.state_dict()
    tensors = [(name, state[name].detach().numpy()) for name in state]
    os.makedirs(os.path.dirname(args.weights), exist_ok=True)
    write_safetensors(args.weights, tensors)
    os.makedirs(os.path.dirname(args.predictions), exist_ok=True)
    np.save(args.predictions, preds.numpy().astype(np.uint8))

    # Read the file back and re-evaluate from it, so what was written is
    # what was measured.
    check = LeNet5()
    check.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in
                           read_safetensors(args.weights).items()})
    preds2, correct2 = evaluate(check, x_test, y_test)
    assert torch.equal(preds, preds2) and correct2 == correct

    n_weights = sum(v.numel() for v in state.values())
    print(f"training: {args.epochs} epochs in {train_seconds:.0f} s")
    print(f"wrote {args.weights} ({n_weights} weights, {os.path.getsize(args.weights)} bytes)")
    print(f"wrote {args.predictions} ({len(preds)} predictions)")
    print(f"PyTorch test accuracy: {accuracy:.2f}% ({correct}/{len(x_test)})")


if __name__ == "__main__":
    sys.exit(main())
