#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then
#   1. ctest on the normal build: unit, integration (real clients, crash tests) and the
#      chaos campaign's bounded slice (tests/chaos);
#   2. the unit tests again built with -fsanitize=address,undefined;
#   3. the libFuzzer targets (clang), each for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ -f tests/integration/js/install.sh ]; then
    bash tests/integration/js/install.sh
fi

bash scripts/build.sh
echo "== ctest: unit and simulation (two at a time: CPU-bound, no timing windows)"
(cd build && ctest --output-on-failure -j2 -L "unit|sim" -LE "integration|chaos|long")
echo "== ctest: integration and the chaos slice (one at a time: real servers, timing)"
# (label "long": suites CI leaves to `make test-long`; see tests/integration/CMakeLists.txt)
(cd build && ctest --output-on-failure -j1 -L "integration|chaos" -LE long)

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DBROOK_SANITIZE=ON -DBROOK_UNIT_ONLY=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j2
(cd build-asan && ctest --output-on-failure -j2 -L unit)

echo "== fuzzers (bounded)"
CC=clang cmake -S . -B build-fuzz -DBROOK_FUZZ=ON -DBROOK_UNIT_ONLY=ON -DBROOK_FUZZ_SECONDS=12 >/dev/null
cmake --build build-fuzz -j2
(cd build-fuzz && ctest --output-on-failure -j2 -L fuzz)
