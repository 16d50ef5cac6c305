#!/usr/bin/python3
"""PyTorch's own post-training static int8 quantisation of the two Fashion-MNIST networks.

The baseline of issue 13's accuracy table: the committed LeNet-5
(examples/lenet5.dnn with examples/lenet5-fashion.safetensors; the module is
train_lenet5.py's) and the batch-norm network (examples/fashion_bn.dnn with
examples/fashion_bn.safetensors; train_fashion_bn.py's), quantised by
torch.ao.quantization in FX graph mode and evaluated on the 10,000 test images.

Schemes (both int8 static, MinMax observers, no histogram or percentile):
  int8 per-tensor    weights qint8 per-tensor symmetric (MinMaxObserver,
                     per_tensor_symmetric), activations quint8 per-tensor affine
                     (MinMaxObserver, per_tensor_affine, full range 0..255)
  int8 per-channel   the same, with weights per output channel symmetric
                     (PerChannelMinMaxObserver, per_channel_symmetric)
Each is run twice: every layer PyTorch can quantise (PyTorch's usual way), and
with the first conv and the last fc left in float32 (the default issue 13
gives dnnc; for comparing like with like).

Calibration: images 0 to 999 (the first 1000) of train-images-idx3-ubyte.gz,
in file order, preprocessed as for inference (byte / 255, no flips), in one
batch. Evaluation: the 10,000 images of t10k-images-idx3-ubyte.gz in batches of
1000; the class is the argmax of the logits (the input of the final softmax,
which stays outside the quantised graph: PyTorch's default quantised softmax
has a fixed output scale of 1/256 and would create ties).

Engine: onednn (PyTorch's x86 int8 backend here: this torch 1.13 has only
onednn and qnnpack, no fbgemm). Its int8 convolution and linear kernels use
VNNI on CPUs that have it; activations use the full u8 range (reduce_range
false, as PyTorch's onednn default).

How PyTorch quantises (prepare_fx with the native backend configuration):
  * batch norm is folded into the convolution before observers are inserted
    (conv + bn + relu becomes one fused ConvReLU2d, then QuantizedConvReLU2d);
    fc + relu becomes QuantizedLinearReLU;
  * tanh runs quantised, but with PyTorch's fixed output parameters (scale
    2/256, zero point 128, i.e. [-1, 1) in 256 steps), not calibrated ones:
    the qconfig mapping below sets them for torch.tanh as
    get_default_qconfig_mapping does (prepare_fx rejects any other qconfig
    for tanh: "QConfigMapping must specify fixed qparams observer for fixed
    qparams op");
  * the slices (getitem) of LeNet-5 run in float: FX dequantises the doubled
    S2 maps before them and quantises each slice again on the scale
    calibrated for the concat that reads it (2/255, zero point 127, against
    tanh's 2/256 and 128): one more rounding;
  * average pooling, max pooling, relu, flatten and concat run on quantised
    tensors and keep their input's scale (concat's inputs share one observer);
  * the script prints, for each network and scheme, which nodes of the
    converted graph computed on quantised tensors and which in float
    (measured: each node's output is checked while the test set runs).

Writes tools/fashion/torch_ptq_results.json and prints a table. Run with
/usr/bin/python3 (the interpreter that has torch); see README.md.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.fx
from torch.ao.quantization import (MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                   QConfigMapping)
from torch.ao.quantization.observer import default_fixed_qparams_range_neg1to1_observer
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_fashion_bn import FashionBN, load_weights  # noqa: E402
from train_lenet5 import DATA, REPO, LeNet5, load_split, read_idx, read_safetensors  # noqa: E402

ENGINE = "onednn"
N_CALIBRATION = 1000


# --------------------------------------------------------------------------
# The networks, with the logits as output.

class LeNet5Logits(LeNet5):
    forward = LeNet5.logits


class FashionBNLogits(FashionBN):
    forward = FashionBN.logits


def lenet5(path):
    model = LeNet5Logits()
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in read_safetensors(path).items()})
    return model.eval()


def fashion_bn(path):
    return load_weights(FashionBNLogits(), path).eval()


NETWORKS = [
    # name, weights, constructor, the first and last layers as modules, and
    # as (function, index among that function's calls): LeNet-5's first layer
    # is c1 and the first tanh (c1_act), the batch-norm network's b1 (its
    # conv, bn and relu).
    ("lenet5", "examples/lenet5-fashion.safetensors", lenet5, (("c1", "out"), ((torch.tanh, 0),))),
    ("fashion_bn", "examples/fashion_bn.safetensors", fashion_bn, (("b1", "out"), ())),
]


# --------------------------------------------------------------------------
# Schemes

def qconfig(per_channel):
    activation = MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine,
                                          reduce_range=False)
    if per_channel:
        weight = PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                    qscheme=torch.per_channel_symmetric)
    else:
        weight = MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    return QConfig(activation=activation, weight=weight)


def qconfig_mapping(per_channel, float_layers=None):
    """The global MinMax qconfig; tanh with PyTorch's fixed output parameters
    (as get_default_qconfig_mapping has them); float_layers (modules, and
    function calls of the top-level forward) left unquantised.

    The first tanh of LeNet-5 has to be named too when c1 stays in float: the
    input of a quantised tanh is observed with tanh's own fixed-parameter
    observer when its producer is not quantised, which would clip c1's output
    to [-1, 1) in steps of 2/256 before the tanh."""
    tanh = QConfig(activation=default_fixed_qparams_range_neg1to1_observer,
                   weight=qconfig(per_channel).weight)
    mapping = QConfigMapping().set_global(qconfig(per_channel))
    for op in (torch.tanh, torch.nn.Tanh, "tanh"):
        mapping.set_object_type(op, tanh)
    if float_layers:
        modules, functions = float_layers
        for name in modules:
            mapping.set_module_name(name, None)
        for function, index in functions:
            mapping.set_module_name_object_type_order("", function, index, None)
    return mapping


SCHEMES = [
    # key, description, per-channel weights, first and last layers float
    ("int8_per_tensor", "int8 static, per-tensor weights", False, False),
    ("int8_per_channel", "int8 static, per-channel weights", True, False),
    ("int8_per_tensor_first_last_float", "int8 per-tensor, first and last layers float", False, True),
    ("int8_per_channel_first_last_float", "int8 per-channel, first and last layers float", True, True),
]


def quantise(model, mapping, calibration):
    prepared = prepare_fx(model, mapping, example_inputs=(calibration[:1],))
    with torch.no_grad():
        prepared(calibration)
    return convert_fx(prepared)


# --------------------------------------------------------------------------
# Evaluation, recording which nodes computed on quantised tensors.

class Recorder(torch.fx.Interpreter):
    """Runs a converted GraphModule and notes, per node, whether its output
    was a quantised tensor."""

    def __init__(self, module):
        super().__init__(module)
        self.quantised = {}

    def run_node(self, n):
        out = super().run_node(n)
        if isinstance(out, torch.Tensor) and n.op in ("call_module", "call_function", "call_method"):
            self.quantised[n] = out.is_quantized
        return out


# Module classes by PyTorch's own abbreviations: nnq quantised, nniq fused and
# quantised, nni fused (float), nn float.
MODULE_PREFIXES = [("torch.ao.nn.intrinsic.quantized", "nniq"), ("torch.nn.intrinsic.quantized", "nniq"),
                   ("torch.ao.nn.quantized", "nnq"), ("torch.nn.quantized", "nnq"),
                   ("torch.ao.nn.intrinsic", "nni"), ("torch.nn.intrinsic", "nni"), ("torch.nn", "nn")]


def node_label(gm, n):
    if n.op == "call_module":
        cls = type(gm.get_submodule(n.target))
        prefix = next((short for long, short in MODULE_PREFIXES if cls.__module__.startswith(long)),
                      cls.__module__)
        return f"{n.target} ({prefix}.{cls.__name__})"
    return getattr(n.target, "__name__", str(n.target))


def describe(gm, recorder):
    """Which computing nodes ran on quantised tensors and which in float
    (quantize_per_tensor and dequantize themselves are left out)."""
    skip = {"quantize_per_tensor", "dequantize"}
    quantised, floating = [], []
    for n, q in recorder.quantised.items():
        label = node_label(gm, n)
        if label in skip:
            continue
        (quantised if q else floating).append(label)
    return quantised, floating


def evaluate(model, x, y, batch=1000, record=False):
    """Top-1 predictions (argmax of the logits) and the number correct."""
    runner = Recorder(model) if record else model
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = runner.run(x[i:i + batch]) if record else runner(x[i:i + batch])
            preds.append(out.argmax(dim=1))
    preds = torch.cat(preds)
    return preds, int((preds == y).sum()), runner if record else None


def compact(labels):
    """['getitem', 'getitem', 'cat'] -> 'getitem x2, cat' (first-seen order)."""
    counts = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(k if c == 1 else f"{k} x{c}" for k, c in counts.items())


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DATA, help="directory with the *-ubyte.gz files")
    ap.add_argument("--results", default=os.path.join(REPO, "tools", "fashion", "torch_ptq_results.json"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--engine", default=ENGINE,
                    help=f"quantised engine (default {ENGINE}; qnnpack is the other one here)")
    args = ap.parse_args()

    engine = args.engine
    if engine not in torch.backends.quantized.supported_engines:
        sys.exit(f"this PyTorch has no {engine} engine ({torch.backends.quantized.supported_engines})")
    torch.backends.quantized.engine = engine
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    train_images = os.path.join(args.data, "train-images-idx3-ubyte.gz")
    calib = read_idx(train_images)[:N_CALIBRATION]
    calibration = torch.from_numpy(calib.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    x_test, y_test = load_split(args.data, "t10k")

    results = {
        "torch": torch.__version__,
        "engine": engine,
        "observers": "MinMax; activations quint8 per-tensor affine 0..255, weights qint8 symmetric "
                     "(per-tensor or per-channel); tanh with fixed scale 2/256, zero point 128",
        "calibration": {"file": "train-images-idx3-ubyte.gz", "images": f"0-{N_CALIBRATION - 1}",
                        "count": N_CALIBRATION, "preprocessing": "byte / 255"},
        "test_images": len(x_test),
        "networks": {},
    }
    t_start = time.time()
    for name, weights, build, first_last in NETWORKS:
        path = os.path.join(REPO, weights)
        model = build(path)
        t0 = time.time()
        float_preds, correct, _ = evaluate(model, x_test, y_test)
        net = {"weights": weights,
               "float32": {"correct": correct, "accuracy": round(100.0 * correct / len(x_test), 2)}}
        print(f"{name}: float32 {100.0 * correct / len(x_test):.2f}% ({correct}/{len(x_test)}), "
              f"{time.time() - t0:.1f} s", flush=True)
        for key, description, per_channel, first_last_float in SCHEMES:
            t0 = time.time()
            mapping = qconfig_mapping(per_channel, first_last if first_last_float else None)
            qmodel = quantise(build(path), mapping, calibration)
            preds, correct, recorder = evaluate(qmodel, x_test, y_test, record=True)
            quantised, floating = describe(qmodel, recorder)
            net[key] = {
                "scheme": description,
                "correct": correct,
                "accuracy": round(100.0 * correct / len(x_test), 2),
                "same_top1_as_float32": int((preds == float_preds).sum()),
                "quantised_nodes": compact(quantised),
                "float_nodes": compact(floating),
            }
            print(f"{name}: {description}: {100.0 * correct / len(x_test):.2f}% "
                  f"({correct}/{len(x_test)}), {time.time() - t0:.1f} s", flush=True)
            print(f"    quantised: {compact(quantised)}")
            print(f"    float:     {compact(floating) or '-'}", flush=True)
        results["networks"][name] = net

    with open(args.results + ".tmp", "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    os.replace(args.results + ".tmp", args.results)

    rows = [("float32", "float32")] + [(key, description) for key, description, _, _ in SCHEMES]
    names = [name for name, _, _, _ in NETWORKS]
    print()
    print(f"PyTorch {torch.__version__}, engine {engine}, calibrated on images 0-{N_CALIBRATION - 1} "
          f"of train-images-idx3-ubyte.gz; top-1 on the {len(x_test)} test images")
    print(f"| {'scheme':46s} | " + " | ".join(f"{n:>10s}" for n in names) + " |")
    print(f"|{'-' * 48}|" + "|".join("-" * 12 for _ in names) + "|")
    for key, description in rows:
        cells = [f"{results['networks'][n][key]['accuracy']:9.2f}%" for n in names]
        print(f"| {description:46s} | " + " | ".join(cells) + " |")
    print(f"wrote {args.results} ({time.time() - t_start:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
