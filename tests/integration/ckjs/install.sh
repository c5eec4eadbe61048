#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript 1.10.1 (the Node binding of librdkafka, pinned in
# package-lock.json next to this script) from its npm source, on the librdkafka 2.15.1 that
# the package bundles in deps/librdkafka, into a cache under the build tree:
#
#   install.sh [DIR]        DIR: $CKJS_DIR, else <repo>/build/ckjs
#
#   DIR/app/node_modules/@confluentinc/kafka-javascript   the package, binding built from source
#   DIR/librdkafka/{include,lib}                          librdkafka 2.15.1 (make install prefix)
#   DIR/logs/*.log                                        every step's output
#   DIR/.installed                                        written last: what was built from what
#
# Nothing is downloaded except the npm packages (npm cache first); no other network use.
#  1. `npm ci --ignore-scripts` in DIR/app (package.json + package-lock.json copied there):
#     fetches the packages, runs no install script yet;
#  2. librdkafka 2.15.1: the package's deps/librdkafka copied to DIR/librdkafka-src,
#     `./configure --no-download --disable-curl --prefix=DIR/librdkafka` (mklove, on Debian's
#     libraries as installed: openssl, zlib, zstd, ...), `make -j2 libs`,
#     `make install-subdirs`; the source copy is then removed;
#  3. the binding: `npm rebuild @confluentinc/kafka-javascript` with
#     npm_config_build_from_source=true (= --build-from-source: the package's own install
#     script, node-pre-gyp -> npm's node-gyp, compiles it; no prebuilt binary is fetched) and
#       BUILD_LIBRDKAFKA=0   binding.gyp links -lrdkafka -lrdkafka++ instead of building
#                            deps/librdkafka a second time (with an unbounded `make -j`);
#       CKJS_LINKING=dynamic;
#       npm_config_nodedir=/usr   Debian's nodejs headers (/usr/include/node): node-gyp
#                            downloads no headers;
#       JOBS=2, npm_config_jobs=2;
#       CXXFLAGS=-iquote DIR/librdkafka/include/librdkafka   the sources #include
#                            "rdkafkacpp.h"; -iquote dirs are searched before binding.gyp's
#                            -I/usr/include/librdkafka (Debian's librdkafka-dev 2.0.2 headers);
#       LDFLAGS=-LDIR/librdkafka/lib -Wl,-rpath,DIR/librdkafka/lib   found before Debian's
#                            librdkafka1 2.0.2 at link and at run time (no LD_LIBRARY_PATH).
#     (npm 11 warns "Unknown env config" about build_from_source and jobs: harmless, npm
#     passes the environment on to the scripts.)
#  4. checks, each a failure if it fails: `ldd` of the .node file resolves librdkafka.so.1
#     and librdkafka++.so.1 to DIR/librdkafka/lib and no other librdkafka; the compiler's
#     dependency files show every source compiled against DIR's rdkafkacpp.h and nothing from
#     /usr/include/librdkafka; require(...).librdkafkaVersion is 2.15.1.
#
# Idempotent: when DIR/.installed matches (package-lock.json, this script, node's ABI) and the
# package still loads with 2.15.1, nothing is done (~0.2 s).  Concurrent runs wait for each
# other (flock on DIR/.lock).  Otherwise everything is rebuilt from scratch.
# Time here (2 shared cores, npm cache warm): 40-100 s in all, depending on the load:
# librdkafka 27-73 s, the binding's 11 C++ files 9-29 s, npm ci ~3 s.  Then cached for the
# rest of the CI run (build/ is per run).
#
# Every step is bounded (timeout); SIGTERM/SIGINT stop the step under way.
# Exit: 0 installed; 77 (ctest: skipped) only when the package cannot be obtained: no
# node/npm, or `npm ci` failed and the npm registry does not answer (`npm ping`); 1 on any
# other failure (a build or a check that fails is a failure, never a skip).
set -euo pipefail

CHILD=""
# shellcheck disable=SC2317  # run by the traps
on_signal() {
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null   # timeout(1) passes it on
    exit "$1"
}
trap 'on_signal 143' TERM
trap 'on_signal 130' INT
trap 'on_signal 129' HUP

main() {
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
DIR="${1:-${CKJS_DIR:-$REPO/build/ckjs}}"
PKG="@confluentinc/kafka-javascript"
PKG_VERSION="1.10.1"
RDK_VERSION="2.15.1"
RDK_HEX="0x020f01ff"   # RD_KAFKA_VERSION of 2.15.1 in rdkafka.h

say() { echo "ckjs-install: $*" >&2; }
skip() { say "SKIPPED: $*"; exit 77; }
fail() { say "FAILED: $*"; exit 1; }
# bounded SECS LOG CMD...: runs CMD in the background under timeout(1), output appended to
# LOG, and waits for it (so that a signal is handled at once); returns CMD's exit code.
bounded() {
    local secs="$1" log="$2" rc=0; shift 2
    timeout -k 10 "$secs" "$@" >>"$log" 2>&1 </dev/null &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}
# step NAME SECS CMD...: a build step with its output in DIR/logs/NAME.log; on failure shows
# the log's tail and fails (exit 1).
step() {
    local name="$1" secs="$2" log="$DIR/logs/$1.log" t0=$SECONDS rc=0; shift 2
    say "$name ..."
    bounded "$secs" "$log" "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 124 ] && say "$name: timed out after $secs s"
        say "$name failed (exit $rc) after $((SECONDS - t0)) s (log $log); last lines:"
        tail -n 60 "$log" >&2 || true
        exit 1
    fi
    say "$name done in $((SECONDS - t0)) s"
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    skip "node/npm not found: $PKG cannot be installed"
fi
for tool in cc c++ make python3 ldd flock timeout; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (needed to build $PKG from source)"
done

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
APP="$DIR/app"
MOD="$APP/node_modules/$PKG"
NODE_FILE="$MOD/build/Release/confluent-kafka-javascript.node"
RDK_SRC="$DIR/librdkafka-src"
RDK_PREFIX="$DIR/librdkafka"
STAMP="$DIR/.installed"

# What the cache was built from: a change to any of these rebuilds everything.
KEY="pkg=$PKG@$PKG_VERSION librdkafka=$RDK_VERSION node-abi=$(node -p process.versions.modules)"
KEY="$KEY lock=$(sha256sum <"$HERE/package-lock.json" | cut -c1-16)"
KEY="$KEY script=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)"

# Loads the built package and prints librdkafka's version (rd_kafka_version_str() of the
# library it loaded), without LD_LIBRARY_PATH: the rpath alone must find it.
loaded_version() {
    (cd "$APP" && env -u LD_LIBRARY_PATH timeout 60 node -e \
        "process.stdout.write(require('$PKG').librdkafkaVersion)" 2>/dev/null </dev/null)
}
cached_ok() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] && [ -f "$NODE_FILE" ] &&
        [ "$(loaded_version || true)" = "$RDK_VERSION" ]
}

exec 9>"$DIR/.lock"
flock -w 1000 9 || fail "timed out waiting for $DIR/.lock (another install running?)"
if cached_ok; then
    exit 0
fi
T0=$SECONDS
say "building $PKG $PKG_VERSION from source on librdkafka $RDK_VERSION into $DIR (once; 40-100 s here)"
rm -f "$STAMP"
rm -rf "$APP" "$RDK_SRC" "$RDK_PREFIX" "$DIR/logs"
mkdir -p "$APP" "$DIR/logs"
cp "$HERE/package.json" "$HERE/package-lock.json" "$APP/"
cd "$APP"

# ---------------------------------------------------------------- 1. the npm packages
# npm gives up on the network after a few short retries.  No install script runs here.
NPM_FETCH=(--ignore-scripts --no-audit --no-fund --fetch-retries=2
           --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000)
say "npm ci (fetch only) ..."
if ! bounded 300 "$DIR/logs/npm-ci.log" npm ci --prefer-offline "${NPM_FETCH[@]}" &&
   ! bounded 120 "$DIR/logs/npm-ci.log" npm ci --offline "${NPM_FETCH[@]}"; then
    tail -n 20 "$DIR/logs/npm-ci.log" >&2 || true
    # Not obtainable (skip) only when the registry does not answer; anything else fails.
    if ! bounded 60 "$DIR/logs/npm-ping.log" npm ping --fetch-retries=1; then
        cd "$DIR" && rm -rf "$APP"
        skip "npm ci failed and the npm registry does not answer (offline, not cached)"
    fi
    fail "npm ci failed although the registry answers (log $DIR/logs/npm-ci.log)"
fi
grep -q "\"version\": \"$PKG_VERSION\"" "$MOD/package.json" || fail "$MOD is not $PKG $PKG_VERSION"
grep -q "RD_KAFKA_VERSION  *$RDK_HEX" "$MOD/deps/librdkafka/src/rdkafka.h" ||
    fail "$MOD/deps/librdkafka is not librdkafka $RDK_VERSION"

# ---------------------------------------------------------------- 2. librdkafka 2.15.1
cp -a "$MOD/deps/librdkafka" "$RDK_SRC"
step librdkafka-configure 180 bash -c "cd '$RDK_SRC' && exec ./configure --no-download --disable-curl --prefix='$RDK_PREFIX'"
step librdkafka-make 600 make -C "$RDK_SRC" -j2 libs
step librdkafka-install 120 make -C "$RDK_SRC" install-subdirs
for f in include/librdkafka/rdkafka.h include/librdkafka/rdkafkacpp.h \
         lib/librdkafka.so.1 lib/librdkafka++.so.1; do
    [ -e "$RDK_PREFIX/$f" ] || fail "$RDK_PREFIX/$f missing after make install"
done
rm -rf "$RDK_SRC"   # its objects; the prefix has all that is needed

# ---------------------------------------------------------------- 3. the binding
NODEDIR=()
[ -f /usr/include/node/node.h ] && NODEDIR=(npm_config_nodedir=/usr)
step binding-build 600 env -u LD_LIBRARY_PATH ${NODEDIR[@]+"${NODEDIR[@]}"} \
    npm_config_build_from_source=true BUILD_LIBRDKAFKA=0 CKJS_LINKING=dynamic \
    JOBS=2 npm_config_jobs=2 \
    CXXFLAGS="-iquote $RDK_PREFIX/include/librdkafka" \
    LDFLAGS="-L$RDK_PREFIX/lib -Wl,-rpath,$RDK_PREFIX/lib" \
    npm rebuild "$PKG" --foreground-scripts --no-audit --no-fund --offline
[ -f "$NODE_FILE" ] || fail "$NODE_FILE not built (log $DIR/logs/binding-build.log)"
grep -q "build requesting source compile" "$DIR/logs/binding-build.log" ||
    fail "node-pre-gyp did not compile the binding from source (log $DIR/logs/binding-build.log)"

# ---------------------------------------------------------------- 4. checks
# (a) ldd: both libraries from the prefix, never Debian's librdkafka 2.0.2 in /usr/lib.
LDD="$(env -u LD_LIBRARY_PATH ldd "$NODE_FILE")"
grep 'librdkafka' <<<"$LDD" >&2 || true
for lib in 'librdkafka\.so\.1' 'librdkafka\+\+\.so\.1'; do
    grep -Eq "^[[:space:]]*$lib => $RDK_PREFIX/lib/" <<<"$LDD" ||
        fail "ldd: $lib does not resolve to $RDK_PREFIX/lib"
done
OTHERS="$(grep 'librdkafka' <<<"$LDD" | grep -v "=> $RDK_PREFIX/lib/" || true)"
[ -z "$OTHERS" ] || fail "ldd: a librdkafka outside $RDK_PREFIX/lib: $OTHERS"
# (b) the headers: node-gyp's make writes a dependency file per object (its first line,
# cmd_..., is the compiler command, which names binding.gyp's -I/usr/include/librdkafka).
NDEPS=0
while IFS= read -r d; do
    NDEPS=$((NDEPS + 1))
    body="$(grep -v '^cmd_' "$d" || true)"   # (no pipe into grep -q: pipefail + SIGPIPE)
    if grep -q '/usr/include/librdkafka\|/usr/local/include/librdkafka' <<<"$body"; then
        fail "$d: compiled against a system librdkafka's headers"
    fi
    grep -q "$RDK_PREFIX/include/librdkafka/rdkafkacpp.h" <<<"$body" ||
        fail "$d: not compiled against $RDK_PREFIX/include/librdkafka/rdkafkacpp.h"
done < <(find "$MOD/build" -name '*.o.d' -path '*confluent-kafka-javascript*')
[ "$NDEPS" -ge 11 ] || fail "expected the binding's 11 dependency files, found $NDEPS"
# (c) loading it.
GOT="$(loaded_version || true)"
[ "$GOT" = "$RDK_VERSION" ] || fail "require('$PKG').librdkafkaVersion is '$GOT', expected $RDK_VERSION"

echo "$KEY" >"$STAMP"
say "$PKG $PKG_VERSION built on librdkafka $GOT in $((SECONDS - T0)) s: $NODE_FILE"
}

main "$@"
