#!/usr/bin/python3
"""PyTorch's structured (filter) pruning of the committed Fashion-MNIST networks,
beside which `dnnc prune --structured` is measured (issue 14, item 1).

dnnc removes whole filters: each conv and fc layer whose channels can be followed
keeps round(D * K) of its K filters, those of largest L1 norm (Li et al., "Pruning
Filters for Efficient ConvNets"), and the layers after it lose those channels. The
layers it prunes: LeNet-5's c5 and f6 (c1 and C3's convs feed concats, the output
layer is the network's output), the BN network's b1-b3 convs and f4.

For each density D, on the same layers:
  - "zeroed": torch.nn.utils.prune.ln_structured(n=1, dim=0) keeps the same filters
    and zeroes the others' weights; biases and batch norms stay, so a pruned channel
    still carries a constant (its bias, or the batch norm's shift) to the next layer.
  - "removed": the same, with the pruned channels' biases and batch-norm scale and
    shift zeroed too, so that they carry nothing: what dnnc's smaller network computes.
Prints a table and writes tools/fashion/torch_prune_structured_results.json.
Run with /usr/bin/python3 (the interpreter that has torch); about a minute.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from torch.nn.utils import prune

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_prune import fashion_bn, lenet5  # noqa: E402
from train_lenet5 import DATA, REPO, evaluate, load_split  # noqa: E402

DENSITIES = [0.75, 0.5, 0.25]
LAYERS = {"lenet5": ["c5", "f6"], "fashion_bn": ["b1.conv", "b2.conv", "b3.conv", "f4"]}


def batch_norm_after(model, name):
    """The batch norm that reads conv `name` in a ConvBnRelu block, if any."""
    parent = name.rsplit(".", 1)[0] if "." in name else None
    block = model.get_submodule(parent) if parent else None
    return getattr(block, "bn", None) if block is not None else None


def pruned(make, net, density, remove):
    model = make()
    with torch.no_grad():
        for name in LAYERS[net]:
            layer = model.get_submodule(name)
            filters = layer.weight.shape[0]
            keep = max(1, round(density * filters))
            prune.ln_structured(layer, "weight", amount=filters - keep, n=1, dim=0)
            if not remove:
                continue
            gone = layer.weight_mask.flatten(1).sum(1) == 0
            if layer.bias is not None:
                layer.bias[gone] = 0
            bn = batch_norm_after(model, name)
            if bn is not None:
                bn.weight[gone] = 0
                bn.bias[gone] = 0
    return model


def main():
    torch.set_num_threads(2)
    x, y = load_split(DATA, "t10k")
    results = {"torch": torch.__version__, "method": "ln_structured(n=1, dim=0) on " + json.dumps(LAYERS) +
               "; removed: the pruned channels' biases and batch-norm scale and shift zeroed too",
               "networks": {}}
    for net, make in (("lenet5", lenet5), ("fashion_bn", fashion_bn)):
        rows = []
        for d in DENSITIES:
            row = {"density": d}
            for kind in ("zeroed", "removed"):
                _, correct = evaluate(pruned(make, net, d, kind == "removed"), x, y)
                row[kind] = correct
            print(f"{net:12s} {d:5.2f} zeroed {row['zeroed']:5d} removed {row['removed']:5d}")
            rows.append(row)
        results["networks"][net] = rows
    out = os.path.join(REPO, "tools", "fashion", "torch_prune_structured_results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
