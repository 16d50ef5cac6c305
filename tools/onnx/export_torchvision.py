#!/usr/bin/python3
"""Torchvision classifiers (and a tiny CNN for CI) exported to ONNX, with a
random input and PyTorch's output, to check `dnnc import` / `dnnc run`.

Run with the system interpreter (it has torch 1.13, torchvision and onnx):

    /usr/bin/python3 tools/onnx/export_torchvision.py [OUT_DIR] [options]

For every model M it writes, into OUT_DIR (default /tmp/dnnc-models):

    M.onnx          BatchNormalization kept as nodes (training=PRESERVE with
                    the model in eval mode)
    M-folded.onnx   the default export (training=EVAL): torch 1.13 folds every
                    BatchNormalization into the Conv before it
    M.input.npy     float32 [N, 3, H, W] (N = --batch, default 1), uniform in [-1, 1)
    M.expected.npy  float32, PyTorch's output for M.input.npy (eval mode)

Models: resnet50, googlenet, mobilenet_v2, squeezenet1_1, vgg16 (torchvision,
weights=None; googlenet with aux_logits=False, init_weights=True), and tiny,
the purpose-built small CNN committed under tests/onnx/models/ (conv, batch
norm, relu, max pooling, a residual add, global average pooling, flatten,
linear, softmax). squeezenet1_0, resnet18 and alexnet (used by bench/run.sh)
are also available but not in the default set.

With --batch N (default 1) the input is [N, 3, H, W] (the model's batch is
static in the .onnx) and, for N > 1, every file name gets "-bN" after the
model's name (resnet50-b8.onnx, resnet50-b8.input.npy, ...).

Weights: torchvision's own random initialisation after torch.manual_seed(SEED)
(seeded again for every model, so each model is independent of which others
are exported), except that every BatchNorm layer's weight, bias, running_mean
and running_var are then redrawn from mild distributions (scale U[0.8, 1.2],
shift N(0, 0.1), mean N(0, 0.1), var U[0.8, 1.2]): with torchvision's
initialisation (1, 0, 0, 1) batch norm would be the identity up to eps, and
nothing would show whether the importer reads scale, shift, mean and var, in
the right order, with the right eps.

Export flags (both files): torch.onnx.export(model, x, path,
opset_version=OPSET (default 13), do_constant_folding=True,
input_names=["input"], output_names=["output"], training=...). torch 1.13
warns that constant folding is not recommended with PRESERVE; it folds only
constants here (there are no training-only subgraphs in eval mode).

With --f64 it also writes M.expected64.npy, PyTorch's output with the model
and input converted to float64, and --check then prints how far dnnc's and
PyTorch's float32 outputs each are from it (relative to its max |output|).

With --check DNNC, each model (both exports unless --no-folded) is then run
through `DNNC import` and `DNNC run M.onnx --input M.input.npy --output ...`,
compared with M.expected.npy (max |dnnc - torch| / max |torch|, the issue's
criterion is <= 1e-4), and the .dnn written by import is run with its
safetensors weights, which must give the same bits as running the .onnx. One
summary line per model is printed, and --stats adds `dnnc stats` totals.

--ci DIR writes the tiny model in the committed layout instead:
DIR/tiny_cnn.onnx, DIR/tiny_cnn.input.npy, DIR/tiny_cnn.expected.npy (the
tests/onnx/models/ files; see tools/onnx/README.md).

Deterministic: torch on one thread with deterministic algorithms; the same
torch / NumPy versions give byte-identical .npy files. The .onnx bytes may
differ between torch versions (node names, producer version).
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

SEED = 20240601
DEFAULT_MODELS = ["resnet50", "googlenet", "mobilenet_v2", "squeezenet1_1", "vgg16"]


# --------------------------------------------------------------------------
# The tiny CNN for CI


class TinyCNN(nn.Module):
    """3x32x32 -> 10 classes, about 6k parameters. Every op the CI test is
    meant to cover: Conv (with and without bias, stride 1 and 2, padding),
    BatchNormalization, Relu, MaxPool, Add (a residual block), GlobalAveragePool,
    Flatten, Gemm, Softmax."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)                      # 32 -> 16
        self.b1_conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b1_bn1 = nn.BatchNorm2d(8)
        self.b1_conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b1_bn2 = nn.BatchNorm2d(8)
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)  # 16 -> 8, with bias
        self.down_bn = nn.BatchNorm2d(16, eps=1e-3)      # a non-default eps
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)
        with torch.no_grad():  # logits of a few units, so that softmax is not near-uniform
            self.fc.weight.mul_(8.0)

    def forward(self, x):
        x = self.pool(torch.relu(self.stem_bn(self.stem(x))))
        y = torch.relu(self.b1_bn1(self.b1_conv1(x)))
        y = self.b1_bn2(self.b1_conv2(y))
        x = torch.relu(x + y)
        x = torch.relu(self.down_bn(self.down(x)))
        x = torch.flatten(self.gap(x), 1)
        return torch.softmax(self.fc(x), dim=1)


# --------------------------------------------------------------------------
# Models


def build(name):
    """The model in eval mode and its input size (H = W)."""
    torch.manual_seed(SEED)
    tv = torchvision.models
    if name == "tiny":
        model, size = TinyCNN(), 32
    elif name == "resnet50":
        model, size = tv.resnet50(weights=None), 224
    elif name == "googlenet":
        model, size = tv.googlenet(weights=None, aux_logits=False, init_weights=True), 224
    elif name == "mobilenet_v2":
        model, size = tv.mobilenet_v2(weights=None), 224
    elif name == "squeezenet1_0":
        model, size = tv.squeezenet1_0(weights=None), 224
    elif name == "squeezenet1_1":
        model, size = tv.squeezenet1_1(weights=None), 224
    elif name == "vgg16":
        model, size = tv.vgg16(weights=None), 224
    elif name == "resnet18":
        model, size = tv.resnet18(weights=None), 224
    elif name == "alexnet":
        model, size = tv.alexnet(weights=None), 224
    else:
        raise SystemExit(f"unknown model '{name}'")
    # Non-trivial batch-norm parameters and statistics (see the docstring).
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.8 + 0.4 * torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.8 + 0.4 * torch.rand(c, generator=g))
    model.eval()
    return model, size


def make_input(size, batch=1):
    rng = np.random.default_rng(SEED + 2)
    return rng.uniform(-1.0, 1.0, size=(batch, 3, size, size)).astype(np.float32)


def export(model, x, path, opset, bn):
    mode = torch.onnx.TrainingMode.PRESERVE if bn == "preserve" else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, torch.from_numpy(x), path, opset_version=opset,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["output"], training=mode)
    assert not model.training, "the export must leave the model in eval mode"


def op_counts(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    counts = {}
    for n in m.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def write_model(name, out_dir, opset, folded, stem=None, f64=False, batch=1):
    """Exports `name` into out_dir; returns the file paths."""
    model, size = build(name)
    x = make_input(size, batch)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    stem = stem or (name if batch == 1 else f"{name}-b{batch}")
    paths = {"onnx": os.path.join(out_dir, stem + ".onnx"),
             "input": os.path.join(out_dir, stem + ".input.npy"),
             "expected": os.path.join(out_dir, stem + ".expected.npy")}
    np.save(paths["input"], x)
    np.save(paths["expected"], y)
    export(model, x, paths["onnx"], opset, "preserve")
    if folded:
        paths["folded"] = os.path.join(out_dir, stem + "-folded.onnx")
        export(model, x, paths["folded"], opset, "eval")
    if f64:
        # The same weights and input in float64: close to the exact result,
        # it shows how much of the difference is PyTorch's float32 rounding.
        paths["expected64"] = os.path.join(out_dir, stem + ".expected64.npy")
        with torch.no_grad():
            y64 = model.double()(torch.from_numpy(x).double()).numpy()
        np.save(paths["expected64"], y64)
    return paths


# --------------------------------------------------------------------------
# Checking with dnnc


def run_timed(argv):
    t = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True)
    return r, time.perf_counter() - t


def check(dnnc, onnx_path, paths, with_stats, work_dir=None, run_args=()):
    """Imports and runs one .onnx (dnnc run with run_args, e.g. -O3 or
    --target cpu), writing M.dnn, M.safetensors and the outputs beside it
    (or into work_dir); returns a dict of results."""
    base = onnx_path[:-len(".onnx")]
    if work_dir:
        base = os.path.join(work_dir, os.path.basename(base))
    res = {"model": os.path.basename(onnx_path)}
    r, res["import_s"] = run_timed([dnnc, "import", onnx_path, "-o", base + ".dnn"])
    if r.returncode != 0:
        res["error"] = "import: " + (r.stderr.strip() or r.stdout.strip())
        return res
    res["layers"] = int(r.stdout.split("(")[1].split()[0])
    out_onnx = base + ".dnnc-out.npy"
    out_dnn = base + ".dnnc-dnn-out.npy"
    r, res["run_s"] = run_timed([dnnc, "run", onnx_path, *run_args, "--input", paths["input"],
                                 "--output", out_onnx])
    if r.returncode != 0:
        res["error"] = "run: " + (r.stderr.strip() or r.stdout.strip())
        return res
    # The imported .dnn with its weights must compute the same bits.
    r, res["run_dnn_s"] = run_timed([dnnc, "run", base + ".dnn", *run_args, "--weights",
                                     base + ".safetensors", "--input", paths["input"],
                                     "--output", out_dnn])
    if r.returncode != 0:
        res["error"] = "run .dnn: " + (r.stderr.strip() or r.stdout.strip())
        return res
    got_dnn = np.load(out_dnn)
    got = np.load(out_onnx)
    res["dnn_bit_identical"] = got_dnn.tobytes() == got.tobytes()
    want = np.load(paths["expected"])
    if got.shape != want.shape:
        res["error"] = f"output shape {got.shape}, PyTorch's {want.shape}"
        return res
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    res["max_abs_diff"] = float(diff.max())
    res["max_abs_out"] = float(np.abs(want).max())
    res["rel"] = res["max_abs_diff"] / res["max_abs_out"]
    res["same_top1"] = int(got.argmax()) == int(want.argmax())
    if "expected64" in paths:
        exact = np.load(paths["expected64"])
        scale = np.abs(exact).max()
        res["rel_dnnc_f64"] = float(np.abs(got - exact).max() / scale)
        res["rel_torch_f64"] = float(np.abs(want - exact).max() / scale)
    if with_stats:
        import json
        r, _ = run_timed([dnnc, "stats", "--json", onnx_path])
        if r.returncode == 0:
            total = json.loads(r.stdout)["total"]
            res["stats"] = total
        else:
            res["stats_error"] = r.stderr.strip()
    return res


def fmt(res):
    if "error" in res:
        return f"{res['model']:<26} FAILED: {res['error']}"
    s = (f"{res['model']:<26} import {res['import_s']:7.2f} s  run {res['run_s']:8.2f} s  "
         f"layers {res['layers']:4d}  max|diff| {res['max_abs_diff']:.3e}  "
         f"max|out| {res['max_abs_out']:.3e}  rel {res['rel']:.3e} "
         f"{'PASS' if res['rel'] <= 1e-4 else 'FAIL'}  "
         f"top-1 {'same' if res['same_top1'] else 'DIFFERS'}  "
         + ".dnn " + ("bit-identical" if res["dnn_bit_identical"] else "DIFFERS"))
    if "rel_dnnc_f64" in res:
        s += (f"  vs PyTorch float64: dnnc {res['rel_dnnc_f64']:.2e}, "
              f"PyTorch float32 {res['rel_torch_f64']:.2e}")
    if "stats" in res:
        st = res["stats"]
        s += f"  weights {st['weights']}  MACs {st['macs']}"
    return s


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", default="/tmp/dnnc-models")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma-separated; also tiny, squeezenet1_0, resnet18, alexnet")
    ap.add_argument("--batch", type=int, default=1,
                    help="batch size of the exported input (default 1); files are named "
                         "M-bN.* when N > 1")
    ap.add_argument("--opset", type=int, default=13, help="11 to 17 (default 13)")
    ap.add_argument("--no-folded", action="store_true",
                    help="skip the BN-folded (training=EVAL) export")
    ap.add_argument("--check", metavar="DNNC", help="import and run every export with this dnnc")
    ap.add_argument("--stats", action="store_true", help="with --check: add dnnc stats totals")
    ap.add_argument("--run-args", default="", metavar="ARGS",
                    help="with --check: extra arguments for dnnc run, e.g. '-O3' or "
                         "'--target cpu --threads 2' (default: the reference at -O0)")
    ap.add_argument("--f64", action="store_true",
                    help="also run PyTorch in float64 (M.expected64.npy); with --check, print "
                         "how far dnnc and PyTorch float32 are from it")
    ap.add_argument("--ci", metavar="DIR",
                    help="write only the tiny model as DIR/tiny_cnn.{onnx,input.npy,expected.npy}")
    args = ap.parse_args()
    if not 11 <= args.opset <= 17:
        raise SystemExit("--opset must be between 11 and 17")
    if args.batch < 1:
        raise SystemExit("--batch must be at least 1")

    if args.ci:
        os.makedirs(args.ci, exist_ok=True)
        paths = write_model("tiny", args.ci, args.opset, False, stem="tiny_cnn")
        print(f"wrote {paths['onnx']} ({os.path.getsize(paths['onnx'])} bytes), "
              f"{paths['input']}, {paths['expected']}")
        print("ops:", op_counts(paths["onnx"]))
        if args.check:
            import tempfile
            with tempfile.TemporaryDirectory(prefix="dnnc-ci-") as work:
                print(fmt(check(args.check, paths["onnx"], paths, args.stats, work,
                                args.run_args.split())))
        return 0

    os.makedirs(args.out_dir, exist_ok=True)
    failed = False
    for name in args.models.split(","):
        t = time.perf_counter()
        paths = write_model(name, args.out_dir, args.opset, not args.no_folded, f64=args.f64,
                            batch=args.batch)
        print(f"{name}: exported in {time.perf_counter() - t:.1f} s; "
              f"ops {op_counts(paths['onnx'])}", flush=True)
        if not args.check:
            continue
        for key in ("onnx", "folded"):
            if key in paths:
                res = check(args.check, paths[key], paths, args.stats, run_args=args.run_args.split())
                failed |= "error" in res or res["rel"] > 1e-4 or res["dnn_bit_identical"] is False
                print(fmt(res), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
