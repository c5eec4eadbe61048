#!/usr/bin/env bash
# Quick start: install what is missing, build, and run brookd with the embedded
# single-node default (127.0.0.1:9092, data in ./data). Extra arguments go to brookd,
# e.g. scripts/run.sh --log.flush.mode=interval
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec ./build/brookd --log.dirs=./data "$@"
