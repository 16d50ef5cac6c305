#!/bin/sh
# The main job: build dnnc, install it with its runtime, build the classify
# example against the installed runtime (it compiles the LeNet-5 bundle with
# dnnc) and classify the 10,000 Fashion-MNIST test images.
set -eu
cd "$(dirname "$0")/.."
DATA=/usr/share/datasets/fashion-mnist

cmake -S . -B build -G Ninja -DDNNC_TESTS=OFF >/dev/null
cmake --build build -j2
cmake --install build --prefix "$PWD/build/install" >/dev/null
cmake -S examples/classify -B build/classify -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
cmake --build build/classify
build/classify/classify build/classify/lenet.weights \
    "$DATA/t10k-images-idx3-ubyte.gz" "$DATA/t10k-labels-idx1-ubyte.gz" 2
