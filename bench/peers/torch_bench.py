#!/usr/bin/python3
"""Times PyTorch (eager, CPU) on a torchvision classifier, the peer of
`dnnc bench MODEL.onnx` and bench/peers/ort_bench.js: batch N (default 1),
3x224x224 random float32 input, eval mode under torch.inference_mode(), torch.set_num_threads(N),
median latency of --runs runs after --warmup untimed runs.

    /usr/bin/python3 bench/peers/torch_bench.py MODEL [--threads N] [--runs N]
            [--warmup N] [--batch N] [--json] [--config]

MODEL is a torchvision name (resnet50, resnet18, vgg16, googlenet, mobilenet_v2,
squeezenet1_1, squeezenet1_0, alexnet) or a path whose file name starts with one
(/tmp/dnnc-models/resnet50.onnx -> resnet50), so that bench/run.sh can pass the
same argument to all three tools. A file name with "-bN" after the model's name
(resnet50-b8.onnx, as tools/onnx/export_torchvision.py --batch 8 names it) sets
the batch to N unless --batch is given. The model is built with weights=None (random
initialisation, seed 0): latency does not depend on the weight values.
--config prints torch.__config__.show() and the BLAS library that the process
has loaded, then exits.

--blas picks the BLAS behind Debian's libblas.so.3 for this process alone:
`system` (default) takes whatever the libblas.so.3 alternative points to;
`reference` and `openblas` re-run the script with LD_LIBRARY_PATH set to
/usr/lib/x86_64-linux-gnu/blas or /usr/lib/x86_64-linux-gnu/openblas-openmp
(package libopenblas0-openmp). Debian's torch 1.13 is built with
BLAS_INFO=generic: its convolutions mostly go through oneDNN (MKL-DNN), but
Linear layers and the im2col/1x1 convolutions that oneDNN does not take run
on libblas.so.3, which is the slow reference BLAS unless OpenBLAS is
installed. The JSON output names the BLAS library that was loaded.

Run it with /usr/bin/python3 (Debian's python3-torch and python3-torchvision);
the python3 first on PATH may not have torch.
"""

import argparse
import json
import os
import statistics
import sys
import time

BLAS_DIRS = {"reference": "/usr/lib/x86_64-linux-gnu/blas",
             "openblas": "/usr/lib/x86_64-linux-gnu/openblas-openmp"}
MODELS = ["resnet50", "resnet18", "googlenet", "mobilenet_v2", "squeezenet1_1", "squeezenet1_0",
          "vgg16", "alexnet"]


def model_name(arg):
    base = os.path.basename(arg)
    # longest match first, so that squeezenet1_1 is not taken for squeezenet1_0 etc.
    for m in sorted(MODELS, key=len, reverse=True):
        if base == m or base.startswith(m + ".") or base.startswith(m + "-"):
            return m
    raise SystemExit(f"torch_bench: '{arg}' names none of {', '.join(MODELS)}")


def batch_of(arg, name):
    """N from a file name M-bN.onnx (or M-bN), else 1."""
    import re
    m = re.match(re.escape(name) + r"-b(\d+)(\.|-|$)", os.path.basename(arg))
    return int(m.group(1)) if m else 1


def loaded_blas():
    """Shared libraries of this process that look like a BLAS (Linux only)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                name = os.path.basename(p)
                if any(k in name for k in ("blas", "mkl", "blis", "atlas")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


def build(name):
    import torchvision
    tv = torchvision.models
    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=True)
    return getattr(tv, name)(weights=None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None,
                    help="batch size (default: N of a file name M-bN.onnx, else 1)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--config", action="store_true")
    ap.add_argument("--blas", choices=["system", "reference", "openblas"], default="system")
    a = ap.parse_args()

    if a.blas != "system" and os.environ.get("TORCH_BENCH_BLAS") != a.blas:
        d = BLAS_DIRS[a.blas]
        if not os.path.exists(os.path.join(d, "libblas.so.3")):
            hint = " (apt-get install libopenblas0-openmp)" if a.blas == "openblas" else ""
            raise SystemExit(f"torch_bench: {d}/libblas.so.3 is missing{hint}")
        env = dict(os.environ, TORCH_BENCH_BLAS=a.blas)
        env["LD_LIBRARY_PATH"] = d + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)

    import torch
    if a.config:
        import torch.nn.functional as F
        # One matmul so that the BLAS library, loaded lazily, shows in the maps.
        F.linear(torch.ones(1, 64), torch.ones(64, 64))
        print(torch.__config__.show())
        print("torch", torch.__version__)
        print("mkldnn available:", torch.backends.mkldnn.is_available())
        print("BLAS libraries loaded:", ", ".join(loaded_blas()) or "none found")
        return
    if a.model is None:
        ap.error("MODEL is required")
    if a.threads < 1 or a.runs < 1 or a.warmup < 0:
        ap.error("--threads and --runs must be >= 1, --warmup >= 0")

    name = model_name(a.model)
    batch = a.batch if a.batch is not None else batch_of(a.model, name)
    if batch < 1:
        ap.error("--batch must be >= 1")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(name).eval()
    x = torch.rand(batch, 3, 224, 224) * 2 - 1

    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            model(x)
        for _ in range(a.runs):
            t = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t) * 1e3)
    med = statistics.median(times)
    if a.json:
        print(json.dumps({
            "runtime": "pytorch", "version": torch.__version__, "model": name, "batch": batch,
            "threads": torch.get_num_threads(), "runs": a.runs, "warmup": a.warmup,
            "median_ms": round(med, 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "blas": loaded_blas(),
        }))
    else:
        print(f"{name}, batch {batch}: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
              f"median {med:.3f} ms of {a.runs} runs (min {min(times):.3f}, "
              f"max {max(times):.3f})")


if __name__ == "__main__":
    sys.exit(main())
