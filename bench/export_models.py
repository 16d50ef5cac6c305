#!/usr/bin/python3
"""Fallback exporter for bench/run.sh, used only when tools/onnx/export_torchvision.py
is absent: torchvision classifiers to ONNX, batch Nx3x224x224 (N = --batch, default 1),
opset 13, eval mode,
random weights (torch.manual_seed(20240601) before each model; latency does not
depend on the values).

    /usr/bin/python3 bench/export_models.py [OUT_DIR] [--models a,b,...] [--batch N]

Writes OUT_DIR/M.onnx (M-bN.onnx for N > 1; default OUT_DIR /tmp/dnnc-models), BatchNormalization kept as
nodes (training=PRESERVE), the same file name and export flags as
tools/onnx/export_torchvision.py, so that the two are interchangeable for timing.
"""

import argparse
import os

import torch
import torchvision

MODELS = ["resnet50", "vgg16", "googlenet", "mobilenet_v2", "squeezenet1_1"]
EXTRA = ["squeezenet1_0", "resnet18", "alexnet"]


def build(name):
    tv = torchvision.models
    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=True)
    if name in MODELS + EXTRA:
        return getattr(tv, name)(weights=None)
    raise SystemExit(f"export_models: unknown model '{name}'")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default="/tmp/dnnc-models")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated; also " + ", ".join(EXTRA))
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    if a.batch < 1:
        raise SystemExit("export_models: --batch must be at least 1")
    os.makedirs(a.out_dir, exist_ok=True)
    for name in a.models.split(","):
        torch.manual_seed(20240601)
        model = build(name).eval()
        x = torch.rand(a.batch, 3, 224, 224) * 2 - 1
        stem = name if a.batch == 1 else f"{name}-b{a.batch}"
        path = os.path.join(a.out_dir, stem + ".onnx")
        torch.onnx.export(model, x, path, opset_version=13, do_constant_folding=True,
                          input_names=["input"], output_names=["output"],
                          training=torch.onnx.TrainingMode.PRESERVE)
        print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
