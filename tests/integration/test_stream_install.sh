#!/usr/bin/env bash
# libbrook-stream installed: `cmake --install` into a temporary prefix, then the embedding
# example compiled and linked against the installed header and library through pkg-config
# alone (no path into the source tree), and run far enough to print its usage.
# Usage: test_stream_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/brook_stream.h"
pc=$(find "$tmp/prefix" -name brook-stream.pc)
test -n "$pc"
export PKG_CONFIG_PATH=$(dirname "$pc")
cp "$src/examples/stream_embed.c" "$tmp/"
cc -std=c11 -D_GNU_SOURCE -Wall -Werror "$tmp/stream_embed.c" \
   $(pkg-config --cflags --libs brook-stream) -o "$tmp/stream_embed"
set +e
out=$("$tmp/stream_embed" 2>&1)
rc=$?
set -e
if [ "$rc" -ne 2 ] || [[ "$out" != usage:* ]]; then
    echo "the installed example should print its usage and exit 2; got $rc: $out" >&2
    exit 1
fi
echo "ok: installed libbrook-stream builds and links the example via pkg-config"
