#!/usr/bin/env bash
# Runs librdkafka's own test suite (tests/test-runner of librdkafka 2.15.1, unmodified)
# against a brookd of its own.  See tests/librdkafka/README.md.
#
#   run.sh [options] [BROOKD]
#     --tests LIST       test numbers for TESTS (comma list; default 0030,0099,0102);
#                        "all" = no TESTS filter (every non-manual test)
#     --skip LIST        TESTS_SKIP (comma list of test numbers)
#     --runner-args ARGS extra test-runner arguments, word-split (e.g. "-L -Q")
#     --parallel N       tests run at once (test.concurrent.max; default 1)
#     --multiplier X     test.timeout.multiplier (default 2)
#     --scenario NAME    default | noautocreate (brookd auto.create.topics.enable=false)
#     --broker-set K=V   extra brookd config (repeatable)
#     --timeout S        limit for a test-runner run (default 600)
#     --each             one test-runner run per test number (same brookd): a test that
#                        times out (the runner then kills itself) does not stop the rest;
#                        --timeout is then per test number
#     --subtests LIST    one test-runner run per sub-test name (comma list; each passed as
#                        SUBTESTS, a substring of the sub-tests to run), same brookd; a
#                        test fails if it failed in any of the runs
#     --require-pass     every test number in --tests must have a PASSED row
#     --log FILE         also copy the runner's output there (and brookd's to FILE.brookd)
#     --quiet            show only the runner's per-test lines (start, result, failures)
#     --prepare-only     only download and build the suite
#
# Env: BROOKD (default build/brookd), LIBRDKAFKA_SUITE_DIR (cache, default
# build/librdkafka-suite), LIBRDKAFKA_SUITE_TMP (parent of the temp dir), TEST_DEBUG,
# TEST_LEVEL, SUBTESTS (passed to the runner), BROOK_KEEP_TMP=1 (keep data + logs).
#
# Exit: 0 all ran tests passed; 1 a test failed (or the runner failed/timed out, or
# nothing passed); 2 usage; 77 (ctest: skipped) the suite cannot be obtained or built
# here: npm cannot fetch the package (offline, not cached) or no C/C++ compiler/make.
set -euo pipefail

# Everything is in main(), so bash has read the whole file before running any of it: the
# script can be edited while a long run is under way.
main() {
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Pinned: @confluentinc/kafka-javascript 1.10.1 bundles librdkafka 2.15.1 (with its tests/)
# in package/deps/librdkafka.  sha512 from the registry's dist.integrity.
NPM_SPEC="@confluentinc/kafka-javascript@1.10.1"
TGZ_NAME="confluentinc-kafka-javascript-1.10.1.tgz"
TGZ_SHA512="29578f5019f6d44a8254ff667f1cc4b8cdd26091c7105ed7fa2882d9ee374108034b211a92c2279821a8a13df0e6af9c340764482acaef58f42027eaa12a992f"
RDK_VERSION="2.15.1"
KAFKA_VERSION_FOR_TESTS="3.9.0"   # TEST_KAFKA_VERSION: the API level brookd speaks

TESTS_LIST="0030,0099,0102"
SKIP_LIST=""
RUNNER_ARGS=""
PARALLEL=1
MULTIPLIER=2
SCENARIO=default
BROKER_SET=()
RUN_TIMEOUT=600
REQUIRE_PASS=0
EACH=0
SUBTEST_LIST=""
LOG_COPY=""
QUIET=0
PREPARE_ONLY=0
BROOKD_ARG=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tests) TESTS_LIST="${2:?}"; shift 2 ;;
        --skip) SKIP_LIST="${2?}"; shift 2 ;;
        --runner-args) RUNNER_ARGS="${2?}"; shift 2 ;;
        --parallel) PARALLEL="${2:?}"; shift 2 ;;
        --multiplier) MULTIPLIER="${2:?}"; shift 2 ;;
        --scenario) SCENARIO="${2:?}"; shift 2 ;;
        --broker-set) BROKER_SET+=("${2:?}"); shift 2 ;;
        --timeout) RUN_TIMEOUT="${2:?}"; shift 2 ;;
        --require-pass) REQUIRE_PASS=1; shift ;;
        --each) EACH=1; shift ;;
        --subtests) SUBTEST_LIST="${2:?}"; shift 2 ;;
        --log) LOG_COPY="${2:?}"; shift 2 ;;
        --quiet) QUIET=1; shift ;;
        --prepare-only) PREPARE_ONLY=1; shift ;;
        -h|--help) usage ;;
        -*) echo "run.sh: unknown option $1" >&2; usage ;;
        *) BROOKD_ARG="$1"; shift ;;
    esac
done
case "$SCENARIO" in default|noautocreate) ;; *) echo "run.sh: unknown scenario $SCENARIO" >&2; exit 2 ;; esac
[[ "$TESTS_LIST" == all || "$TESTS_LIST" =~ ^[0-9]{4}(,[0-9]{4})*$ ]] ||
    { echo "run.sh: --tests wants all or test numbers (0030,0099)" >&2; exit 2; }
[ -z "$SUBTEST_LIST" ] || [ "$EACH" = 0 ] ||
    { echo "run.sh: --subtests and --each do not go together" >&2; exit 2; }
[[ "$PARALLEL" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --parallel wants a number" >&2; exit 2; }
[[ "$RUN_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --timeout wants seconds" >&2; exit 2; }

SUITE_DIR="${LIBRDKAFKA_SUITE_DIR:-$REPO/build/librdkafka-suite}"
mkdir -p "$SUITE_DIR"
SUITE_DIR="$(cd "$SUITE_DIR" && pwd)"
SRC="$SUITE_DIR/librdkafka-$RDK_VERSION"
say() { echo "librdkafka-suite: $*" >&2; }
skip() { say "SKIPPED: $*"; exit 77; }

# Prints the last lines of a build step's log and fails.
step_failed() {
    say "$1 failed (log $2); last lines:"
    tail -n 40 "$2" >&2 || true
    exit 1
}

# ----------------------------------------------------------------- 1. prepare (cached)
prepare() {
    local t0=$SECONDS tgz="$SUITE_DIR/$TGZ_NAME"
    # (a) the package tarball
    if [ -f "$tgz" ] && ! echo "$TGZ_SHA512  $tgz" | sha512sum -c --status; then
        say "cached $TGZ_NAME has the wrong checksum; fetching again"
        rm -f "$tgz"
    fi
    if [ ! -f "$tgz" ]; then
        command -v npm >/dev/null 2>&1 || skip "npm not found and $tgz not cached"
        local dl; dl="$(mktemp -d "$SUITE_DIR/.npm-pack.XXXXXX")"
        say "npm pack $NPM_SPEC"
        # Bounded: npm gives up on the network after a few short retries; the local npm
        # cache is used first, so a machine that fetched it once works offline.
        if ! (cd "$dl" && timeout -k 10 180 npm pack "$NPM_SPEC" --prefer-offline \
                  --ignore-scripts --no-audit --no-fund --fetch-retries=2 \
                  --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
                  >"$dl/npm.log" 2>&1) || [ ! -f "$dl/$TGZ_NAME" ]; then
            tail -n 5 "$dl/npm.log" >&2 || true
            rm -rf "$dl"
            skip "cannot fetch $NPM_SPEC (offline and not in the npm cache?)"
        fi
        if ! echo "$TGZ_SHA512  $dl/$TGZ_NAME" | sha512sum -c --status; then
            rm -rf "$dl"
            say "$TGZ_NAME from npm does not match the pinned sha512"
            exit 1
        fi
        mv "$dl/$TGZ_NAME" "$tgz"
        rm -rf "$dl"
    fi
    # (b) librdkafka's source tree, extracted to a temp dir then renamed (all or nothing)
    if [ ! -x "$SRC/configure" ] || [ ! -f "$SRC/tests/test.c" ]; then
        rm -rf "$SRC" "$SUITE_DIR"/.extract.*
        local ex; ex="$(mktemp -d "$SUITE_DIR/.extract.XXXXXX")"
        timeout 120 tar -xzf "$tgz" -C "$ex" package/deps/librdkafka
        mv "$ex/package/deps/librdkafka" "$SRC"
        rm -rf "$ex"
        grep -q "RD_KAFKA_VERSION  *0x020f01ff" "$SRC/src/rdkafka.h" ||
            { say "$SRC is not librdkafka $RDK_VERSION"; exit 1; }
    fi
    # (c) configure + libs: librdkafka's own configure on the installed Debian libraries
    # (no downloads, no libcurl), without -O2: the suite waits on brokers, not on the CPU,
    # and the library and runner build in about half the time (58 against 115 s on 2 cores,
    # which CI pays on every fresh clone).  Its Makefile rebuilds nothing when up to date.
    for tool in cc c++ make; do
        command -v "$tool" >/dev/null 2>&1 || skip "$tool not found (build-essential)"
    done
    if [ ! -f "$SRC/.brook-libs-built" ]; then
        if [ ! -f "$SRC/Makefile.config" ]; then
            say "configure"
            (cd "$SRC" && timeout -k 10 300 ./configure --no-download --disable-curl \
                 --disable-optimization >"$SUITE_DIR/configure.log" 2>&1) ||
                { rm -f "$SRC/Makefile.config"; step_failed configure "$SUITE_DIR/configure.log"; }
        fi
        say "make libs (about 30 s on 2 cores)"
        (cd "$SRC" && timeout -k 10 900 make -j2 libs >"$SUITE_DIR/make-libs.log" 2>&1) ||
            step_failed "make libs" "$SUITE_DIR/make-libs.log"
        touch "$SRC/.brook-libs-built"
    fi
    # (d) the test runner (and the interceptor_test plugin of test 0066)
    if [ ! -f "$SRC/tests/.brook-runner-built" ] || [ ! -x "$SRC/tests/test-runner" ]; then
        say "make test-runner (about 30 s on 2 cores)"
        (cd "$SRC/tests" && timeout -k 10 900 make -j2 build >"$SUITE_DIR/make-tests.log" 2>&1) ||
            step_failed "make test-runner" "$SUITE_DIR/make-tests.log"
        touch "$SRC/tests/.brook-runner-built"
    fi
    # The runner must use the librdkafka it was built with, not Debian's librdkafka1.
    local libs
    libs="$(cd "$SRC/tests" && LD_LIBRARY_PATH=../src:../src-cpp ldd ./test-runner | grep 'librdkafka')"
    if echo "$libs" | grep -v "=> \.\./src" | grep -q .; then
        say "test-runner does not resolve librdkafka from $SRC:"; echo "$libs" >&2; exit 1
    fi
    [ $((SECONDS - t0)) -gt 1 ] && say "suite ready in $((SECONDS - t0)) s ($SRC)"
    return 0
}

# Several runs (ctest, make librdkafka-suite) may share the cache: prepare under a lock.
exec 9>"$SUITE_DIR/.prepare.lock"
flock -w 2400 9 || { say "timed out waiting for $SUITE_DIR/.prepare.lock"; exit 1; }
prepare
flock -u 9
exec 9>&-
if [ "$PREPARE_ONLY" = 1 ]; then
    say "prepared: $SRC/tests/test-runner"
    exit 0
fi

# ----------------------------------------------------------------- 2. brookd
BROOKD="${BROOKD_ARG:-${BROOKD:-$REPO/build/brookd}}"
[ -x "$BROOKD" ] || { say "brookd not found at $BROOKD (build it, or pass BROOKD=...)"; exit 1; }
BROOKD="$(cd "$(dirname "$BROOKD")" && pwd)/$(basename "$BROOKD")"

TMP="$(mktemp -d "${LIBRDKAFKA_SUITE_TMP:-${TMPDIR:-/tmp}}/brook-librdkafka.XXXXXX")"
BLOG="$TMP/brookd.log"
RLOG="$TMP/runner.log"
BPID=""
RPID=""

BROOKD_RC=""
# Stops brookd (SIGTERM, SIGKILL after 10 s); its exit code goes to BROOKD_RC.
stop_brookd() {
    local rc=0
    if [ -n "$BPID" ]; then
        kill -TERM "$BPID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$BPID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$BPID" 2>/dev/null; then
            say "brookd did not stop on SIGTERM within 10 s: SIGKILL"
            kill -KILL "$BPID" 2>/dev/null || true
        fi
        wait "$BPID" 2>/dev/null || rc=$?
        BPID=""
        BROOKD_RC=$rc
    fi
}

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$RPID" ] && kill -0 "$RPID" 2>/dev/null; then
        kill -TERM "$RPID" 2>/dev/null || true   # timeout(1) passes it on to the runner
        wait "$RPID" 2>/dev/null || true
    fi
    stop_brookd
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -f "$BLOG" ]; then
        echo "----- brookd log tail ($BLOG) -----" >&2
        tail -n 60 "$BLOG" >&2 || true
        echo "-----" >&2
    fi
    if [ "${BROOK_KEEP_TMP:-}" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ARGV=("$BROOKD" "--listeners=PLAINTEXT://127.0.0.1:0" "--log.dirs=$TMP/data")
if "$BROOKD" --help-config 2>&1 | grep -q '^ *admin\.listeners '; then
    ARGV+=("--admin.listeners=")
fi
# The suite's scenarios (tests/scenarios/*.json) create auto-created topics with 4 partitions.
ARGV+=("--num.partitions=4")
[ "$SCENARIO" = noautocreate ] && ARGV+=("--auto.create.topics.enable=false")
for kv in ${BROKER_SET[@]+"${BROKER_SET[@]}"}; do ARGV+=("--$kv"); done
mkdir -p "$TMP/data"
# setpriv --pdeathsig: brookd dies with this script even if it is SIGKILLed (ctest timeout).
PDEATH=()
setpriv --help 2>/dev/null | grep -q -- --pdeathsig && PDEATH=(setpriv --pdeathsig KILL --)
echo "===== run.sh: ${ARGV[*]}" >"$BLOG"
${PDEATH[@]+"${PDEATH[@]}"} "${ARGV[@]}" </dev/null >>"$BLOG" 2>&1 &
BPID=$!

PORT=""
for _ in $(seq 1 300); do   # 30 s
    PORT="$(grep -v 'admin ready' "$BLOG" | grep -o 'ready listener=127\.0\.0\.1:[0-9]*' | head -n1 | sed 's/.*://' || true)"
    [ -n "$PORT" ] && break
    kill -0 "$BPID" 2>/dev/null || { say "brookd exited before ready"; BPID=""; exit 1; }
    sleep 0.1
done
[ -n "$PORT" ] || { say "brookd not ready after 30 s"; exit 1; }
say "brookd ready at 127.0.0.1:$PORT (pid $BPID, $BROOKD)"

# ----------------------------------------------------------------- 3. the tests
# test.conf lives in the temp dir (RDKAFKA_TEST_CONF), so runs sharing the cache do not
# overwrite each other's.  test.* keys are the runner's own (tests/test.c).
cat >"$TMP/test.conf" <<EOF
bootstrap.servers=127.0.0.1:$PORT
test.concurrent.max=$PARALLEL
test.timeout.multiplier=$MULTIPLIER
EOF

# The runner works in a directory of its own (it writes stats_*.json files into its working
# directory): links to the suite's tests/ entries, and ../src, ../src-cpp for the libraries.
mkdir -p "$TMP/run/tests"
ln -s "$SRC/src" "$TMP/run/src"
ln -s "$SRC/src-cpp" "$TMP/run/src-cpp"
for f in "$SRC/tests"/* "$SRC/tests"/.[!.]*; do
    [ -e "$f" ] && ln -s "$f" "$TMP/run/tests/"
done

# BROKERS: for the tests that run Kafka's kafka-topics.sh from $KAFKA_PATH/bin (when set).
RUNNER_ENV=(LD_LIBRARY_PATH=../src:../src-cpp RDKAFKA_TEST_CONF="$TMP/test.conf"
            TEST_KAFKA_VERSION="$KAFKA_VERSION_FOR_TESTS" BROKERS="127.0.0.1:$PORT")
[ -n "$SKIP_LIST" ] && RUNNER_ENV+=(TESTS_SKIP="$SKIP_LIST")
# shellcheck disable=SC2206  # word-split on purpose
RARGS=($RUNNER_ARGS)
[ "$SCENARIO" != default ] && RARGS+=(-s "$SCENARIO")

# One test-runner run: TESTS=$1 ("" = no filter), output to $2 (and shown: all of it, or
# with --quiet each test's start, result and failure).  `env -u CI`: the runner changes its
# timeouts and parallelism when CI is set; a run here must behave the same on a laptop and
# in CI.  Started in the background and waited for, so that a signal to this script is
# handled at once (cleanup stops the runner).  Exit code in LAST_RC.
run_runner() {
    local env=("${RUNNER_ENV[@]}")
    [ -n "$1" ] && env+=(TESTS="$1")
    [ -n "${3:-}" ] && env+=(SUBTESTS="$3")
    : >"$2"   # before tail opens it
    (cd "$TMP/run/tests" && exec timeout -k 30 "$RUN_TIMEOUT" ${PDEATH[@]+"${PDEATH[@]}"} \
         env -u CI "${env[@]}" ./test-runner ${RARGS[@]+"${RARGS[@]}"}) </dev/null >"$2" 2>&1 &
    RPID=$!
    if [ "$QUIET" = 1 ]; then
        tail -n +1 -f --pid="$RPID" "$2" |
            awk 'next_too { print; next_too = 0; fflush() }
                 /### Test / { print; next_too = 1; fflush(); next }
                 /=== Running test |=== Test [0-9]+_[^ ]* (PASSED|FAILED|SKIPPED) / { print; fflush() }' &
    else
        tail -n +1 -f --pid="$RPID" "$2" &
    fi
    local tailpid=$!
    LAST_RC=0
    wait "$RPID" 2>/dev/null || LAST_RC=$?   # (no "Aborted" job notice: the rc is reported)
    RPID=""
    wait "$tailpid" || true
}

PER=""
[ "$EACH" = 1 ] && PER=" per test number"
say "test-runner: TESTS=$TESTS_LIST${SKIP_LIST:+ TESTS_SKIP=$SKIP_LIST} ${RARGS[*]-} (scenario $SCENARIO, $PARALLEL at once, timeout multiplier $MULTIPLIER, limit ${RUN_TIMEOUT}s$PER)"
T0=$SECONDS
RUNNER_RC=0
if [ "$EACH" = 1 ]; then
    # The test numbers: the list given, or every 0nnn number in the suite's test table
    # (tests[] in test.c) with a test not flagged TEST_F_MANUAL (manual tests, such as 8000
    # idle, run only when named, as they would be here).
    if [ "$TESTS_LIST" = all ]; then
        mapfile -t NUMS < <(awk '
            /^struct test tests\[\] = \{/ { on = 1 }
            on { buf = buf $0 " " }
            on && /^\};/ { exit }
            END { n = split(buf, e, /_TEST\(/)
                  for (i = 2; i <= n; i++) {
                      num = substr(e[i], 1, 4)
                      if (num ~ /^0[0-9][0-9][0-9]$/ && e[i] !~ /TEST_F_MANUAL/ && !seen[num]++)
                          print num } }' "$SRC/tests/test.c")
        [ ${#NUMS[@]} -gt 0 ] || { say "no tests found in $SRC/tests/test.c"; exit 1; }
    else
        IFS=, read -r -a NUMS <<<"$TESTS_LIST"
    fi
    : >"$RLOG"
    for n in "${NUMS[@]}"; do
        case ",$SKIP_LIST," in *",$n,"*) continue ;; esac
        run_runner "$n" "$TMP/runner-$n.log"
        cat "$TMP/runner-$n.log" >>"$RLOG"
        if [ "$LAST_RC" -ne 0 ]; then
            RUNNER_RC=$LAST_RC
            say "test-runner for $n exited with $LAST_RC"
        fi
    done
elif [ -n "$SUBTEST_LIST" ]; then
    IFS=, read -r -a SUBS <<<"$SUBTEST_LIST"
    : >"$RLOG"
    for s in "${SUBS[@]}"; do
        say "sub-tests matching $s"
        run_runner "$([ "$TESTS_LIST" = all ] || echo "$TESTS_LIST")" "$TMP/runner-sub.log" "$s"
        cat "$TMP/runner-sub.log" >>"$RLOG"
        if [ "$LAST_RC" -ne 0 ]; then
            RUNNER_RC=$LAST_RC
            say "test-runner for sub-tests $s exited with $LAST_RC"
        fi
    done
else
    run_runner "$([ "$TESTS_LIST" = all ] || echo "$TESTS_LIST")" "$RLOG"
    RUNNER_RC=$LAST_RC
fi
stop_brookd
ELAPSED=$((SECONDS - T0))
if [ -n "$LOG_COPY" ]; then
    cp "$RLOG" "$LOG_COPY"
    cp "$BLOG" "$LOG_COPY.brookd"
fi

# ----------------------------------------------------------------- 4. the verdict
# Each test's state, first seen first: the summary table's rows ("| 0030_offset_commit |
# PASSED | 49.1s |", colours stripped; printed twice when a test times out: the last row
# wins).  When the runner died before its table (abort), the per-test lines are used:
# "### Test "NAME ..." failed", "===== Test NAME PASSED|FAILED|SKIPPED", and a test only
# seen starting ("===== Running test NAME") was still RUNNING.  Rows of tests filtered out
# (-L, TESTS_SKIP, another scenario) are left out; DNS rows ("did not start": the runner stopped before
# reaching them) become NOTRUN, except with --each (where other runs ran them, or they were
# not asked for).
ROWS="$(sed 's/\x1b\[[0-9;]*m//g' "$RLOG" | awk -v each="$EACH" -v sticky="${SUBTEST_LIST:+1}" '
    function see(name) { if (!(name in seen)) { seen[name] = 1; order[n++] = name } }
    /^\| *[0-9][0-9][0-9][0-9]_[^ |]* *\| *[A-Z]+ *\|/ {
        split($0, f, "|"); name = f[2]; st = f[3]; gsub(/ /, "", name); gsub(/ /, "", st)
        # Filtered out: a reason from the runner filters, or none (silent: another scenario).
        reason = f[5]; gsub(/^ +| +$/, "", reason)
        if (st == "SKIPPED" && (reason == "" || reason ~ /[Ff]iltered due to|included in TESTS_SKIP list|requires test scenario|manual test|not included in TESTS list/)) next
        if (st == "DNS") { if (!each) { see(name); dns[name] = 1 } next }
        # With --subtests a test runs several times: one FAILED row is its verdict.
        see(name); if (!(sticky && table[name] == "FAILED")) table[name] = st; next }
    /### Test "[0-9][0-9][0-9][0-9]_/ {
        name = $0; sub(/.*### Test "/, "", name); sub(/[ "].*/, "", name)
        see(name); failed[name] = 1; next }
    /================= Running test [0-9][0-9][0-9][0-9]_/ {
        name = $0; sub(/.*Running test /, "", name); sub(/ .*/, "", name); see(name); next }
    /================= Test [0-9][0-9][0-9][0-9]_[^ ]* (PASSED|FAILED|SKIPPED) =/ {
        name = $0; sub(/.*================= Test /, "", name); st = name
        sub(/ .*/, "", name); sub(/^[^ ]* /, "", st); sub(/ .*/, "", st)
        see(name); banner[name] = st; next }
    END {
        for (i = 0; i < n; i++) {
            t = order[i]
            if (t in table) st = table[t]
            else if (t in failed) st = "FAILED"
            else if (t in banner) st = banner[t]
            else if (t in dns) st = "NOTRUN"
            else st = "RUNNING"
            print t, st
        }
    }')"
count() { [ -z "$ROWS" ] && { echo 0; return; }; echo "$ROWS" | awk -v s="$1" '$2 == s' | wc -l; }
PASSED=$(count PASSED)
# RUNNING in the final table: still running when the runner gave up (timed out).
FAILED=$(( $(count FAILED) + $(count RUNNING) ))
SKIPPED=$(count SKIPPED)
NOTRUN=$(count NOTRUN)

NOTES=()
[ "$BROOKD_RC" = 0 ] || NOTES+=("brookd exit code on SIGTERM was $BROOKD_RC (expected 0)")
if [ "$RUNNER_RC" -eq 124 ]; then
    NOTES+=("test-runner stopped after the ${RUN_TIMEOUT}s limit")
elif [ "$RUNNER_RC" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    NOTES+=("test-runner exited with $RUNNER_RC")
fi
if [ "$PASSED" -eq 0 ] && [ "$FAILED" -eq 0 ]; then
    NOTES+=("no test ran")
fi
if [ "$NOTRUN" -gt 0 ]; then
    NOTES+=("$NOTRUN tests not reached: the runner stopped first ($(echo "$ROWS" | awk '$2 == "NOTRUN" { printf "%s%s", sep, substr($1, 1, 4); sep = " " }' | tr ' ' '\n' | uniq | tr '\n' ' ')); --each runs each test number on its own")
fi
if [ "$REQUIRE_PASS" = 1 ] && [ "$TESTS_LIST" != all ]; then
    IFS=, read -r -a WANT <<<"$TESTS_LIST"
    for t in "${WANT[@]}"; do
        echo "$ROWS" | grep -q "^${t}_[^ ]* PASSED$" || NOTES+=("$t has no PASSED row")
    done
fi
if [ -n "$ROWS" ]; then
    echo "librdkafka: results (${ELAPSED}s):"
    echo "$ROWS" | awk '$2 != "NOTRUN" { printf "  %-52s %s\n", $1, $2 }'
fi
for n in ${NOTES[@]+"${NOTES[@]}"}; do say "$n"; done
SKIPNOTE=""
[ "$SKIPPED" -gt 0 ] && SKIPNOTE=" ($SKIPPED skipped)"
echo "librdkafka: $PASSED passed, $FAILED failed$SKIPNOTE"
if [ "$FAILED" -gt 0 ] || [ ${#NOTES[@]} -gt 0 ]; then
    exit 1
fi
exit 0
}

main "$@"
