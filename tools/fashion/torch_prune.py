#!/usr/bin/python3
"""PyTorch's global magnitude pruning of the committed Fashion-MNIST networks,
the figure `dnnc prune` is held to (issue 14: without fine-tuning, dnnc's
magnitude pruning at a given overall density keeps at least the accuracy that
PyTorch's global magnitude pruning keeps at the same density).

For each density D, torch.nn.utils.prune.global_unstructured with L1Unstructured
prunes the weights of every Conv2d and Linear together, keeping round(D * n) of
their n weights (biases kept, batch norms untouched: the same weights `dnnc prune
--density D` ranks, before batch norms are folded), and the 10,000 test images
are classified. Prints a table and writes tools/fashion/torch_prune_results.json.

Run with /usr/bin/python3 (the interpreter that has torch); a minute or two.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from torch.nn.utils import prune

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_lenet5 import DATA, REPO, LeNet5, evaluate, load_split, read_safetensors  # noqa: E402

DENSITIES = [0.5, 0.3, 0.2, 0.1, 0.05]


def lenet5():
    model = LeNet5()
    path = os.path.join(REPO, "examples", "lenet5-fashion.safetensors")
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()})
    return model.eval()


def fashion_bn():
    from train_fashion_bn import FashionBN, load_weights  # the second network, if present
    return load_weights(FashionBN(), os.path.join(REPO, "examples", "fashion_bn.safetensors")).eval()


def pruned_accuracy(make, density, x, y):
    model = make()
    params = [(m, "weight") for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    total = sum(m.weight.numel() for m, _ in params)
    keep = round(density * total)
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=total - keep)
    kept = sum(int((m.weight != 0).sum()) for m, _ in params)
    _, correct = evaluate(model, x, y)
    return {"density": density, "weights": total, "kept": kept, "correct": correct,
            "accuracy": round(100 * correct / len(y), 2)}


def main():
    torch.set_num_threads(2)
    x, y = load_split(DATA, "t10k")
    results = {"torch": torch.__version__, "method": "global_unstructured, L1Unstructured, "
               "Conv2d and Linear weights, no fine-tuning", "networks": {}}
    for name, make in (("lenet5", lenet5), ("fashion_bn", fashion_bn)):
        try:
            make()
        except (ImportError, FileNotFoundError) as e:
            print(f"{name}: skipped ({e})")
            continue
        _, dense = evaluate(make(), x, y)
        rows = [pruned_accuracy(make, d, x, y) for d in DENSITIES]
        results["networks"][name] = {"float32": round(100 * dense / len(y), 2), "pruned": rows}
        print(f"{name}: float32 {100 * dense / len(y):.2f}%")
        for r in rows:
            print(f"  density {r['density']:.2f}: kept {r['kept']} of {r['weights']}, "
                  f"top-1 {r['accuracy']:.2f}%")
    out = os.path.join(REPO, "tools", "fashion", "torch_prune_results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
