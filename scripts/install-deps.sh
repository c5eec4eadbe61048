#!/usr/bin/env bash
# Installs what Brook needs to build and test on Debian bookworm, only what is missing.
# Runs as root (or through sudo). Safe to run again.
#   --bench  kept for older instructions: PostgreSQL and libpq-dev, which bench/cluster.sh's
#            comparison peer needs, are now installed always (`brook run` links libpq).
set -euo pipefail

# zookeeper (the server, run with java) and libzookeeper-mt-dev (its C client) are for the
# cluster mode; python3-kazoo is the ZooKeeper client of the cluster tests.
# zlib1g-dev, libsnappy-dev, liblz4-dev and libzstd-dev: the record batch codecs Brook links
# (gzip, snappy, lz4, zstd: proto/compress.c).
# iproute2, nftables, libfaketime: the chaos campaign's network namespaces, its partitions
# (packet filters in those namespaces) and its clock jumps (tests/chaos, chaos_short).
# postgresql and libpq-dev: `brook run`'s PostgreSQL participant (libpq) and the stream
# tests' PostgreSQL server (started by the tests on a free loopback port).
# libssl-dev and zlib1g-dev: librdkafka 2.15.1 built from source for its own test suite
# (tests/librdkafka/run.sh: SSL and gzip support; its configure also uses python3, make, g++).
# libssl-dev is also brookd's TLS (sec/tls.c: libssl); openssl (the CLI) makes the
# certificates of the TLS test (integration_tls).
pkgs=(build-essential cmake pkg-config libuv1-dev librdkafka-dev uthash-dev libcjson-dev
      kcat python3 python3-confluent-kafka clang libclang-rt-14-dev procps
      zookeeper libzookeeper-mt-dev python3-kazoo libssl-dev openssl zlib1g-dev
      libsnappy-dev liblz4-dev libzstd-dev iproute2 nftables libfaketime
      postgresql libpq-dev
      chromium)  # chromium: the web console test (test_console.py) drives it headless
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: everything is installed"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
