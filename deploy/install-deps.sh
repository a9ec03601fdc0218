#!/usr/bin/env bash
# Installs what psc needs to build, test and run the demo on Debian 12.
# Run as root (or with sudo available). Safe to run again: apt-get skips
# what is already installed.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
    libjansson-dev libopenblas-dev libcurl4-openssl-dev zlib1g-dev
    libonnx-dev libmicrohttpd-dev
    dataset-fashion-mnist
    python3 iproute2 procps
    # psc-lab report's plots.
    gnuplot-nox
    clang-format clang-tidy
    # The fuzz build (tests/fuzz): clang, and libFuzzer with clang's
    # sanitizer runtimes (libclang_rt.fuzzer-x86_64.a), which Debian 12
    # ships in libclang-rt-14-dev; clang only recommends it, and recommends
    # are not installed here.
    clang libclang-rt-14-dev
    # psc-serve's tests (tests/serve_test.sh): the chapter's client, load,
    # the scraper and the page's browser.
    python3-requests wrk prometheus chromium curl
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: everything is installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-deps: run as root to install: ${missing[*]}" >&2
        exit 2
    }
    sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
