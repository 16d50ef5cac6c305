#!/bin/sh
# Installs the Debian 12 packages dnnc needs to build, test and run its main
# job. Safe to re-run: it installs only what is missing. Run as root.
set -eu

PACKAGES="
  build-essential cmake ninja-build pkg-config
  flex bison
  libcmocka-dev libfftw3-dev zlib1g-dev libcjson-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
  clang libclang-rt-14-dev lld llvm-19-dev
  dataset-fashion-mnist
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  echo "bootstrap: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "bootstrap: all packages present"
