#!/bin/sh
# Install the pinned kafkajs, @platformatic/kafka and playwright-core (package-lock.json;
# playwright-core drives Debian's Chromium in test_console.py, no browser download) into
# node_modules.
# Offline-tolerant: already installed -> nothing to do; otherwise `npm ci` preferring the
# local npm cache.  Exit 0 on success, 77 (ctest "skipped") if npm/node are missing or the
# package cannot be fetched.
set -u
cd "$(dirname "$0")" || exit 1
if [ -f node_modules/kafkajs/package.json ] &&
   grep -q '"version": "2.2.4"' node_modules/kafkajs/package.json &&
   [ -f node_modules/playwright-core/package.json ] &&
   grep -q '"version": "1.65.1"' node_modules/playwright-core/package.json &&
   [ -f node_modules/@platformatic/kafka/package.json ] &&
   grep -q '"version": "1.35.0"' node_modules/@platformatic/kafka/package.json; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install.sh: node/npm not found; skipping" >&2
  exit 77
fi
# Bounded: npm gives up on the network after a few short retries.
if timeout 300 npm ci --no-audit --no-fund --prefer-offline \
     --fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 >&2; then
  exit 0
fi
if timeout 120 npm ci --no-audit --no-fund --offline >&2; then
  exit 0
fi
echo "install.sh: could not install kafkajs/@platformatic/kafka/playwright-core (offline and not cached); skipping" >&2
exit 77
