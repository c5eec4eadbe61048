#!/usr/bin/python3
"""librdkafka 2.15.1's own tests (unmodified) against a 3-node cluster over a real
ZooKeeper, every topic replicated 3 times with min.insync.replicas 2 (issue #11): by
default the transactions test 0103 (it creates its topics with replication factor 3);
`--tests 0030,0045 --consumer-protocol` runs the named tests with
TEST_CONSUMER_GROUP_PROTOCOL=consumer (KIP-848 groups whose coordinator is one of three
nodes and whose records are replicated, issue #10).

The suite comes from tests/librdkafka/run.sh --prepare-only (downloaded with npm and built
once into $LIBRDKAFKA_SUITE_DIR; exit 77, skipped, when it cannot be had here).  The
runner is librdkafka's tests/test-runner with TESTS set, its own librdkafka
(LD_LIBRARY_PATH), TEST_KAFKA_VERSION=3.9.0, one test at a time; it must exit 0 and print
PASSED for every test named.  Bounded: 10 minutes."""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Check, run_main  # noqa: E402
from cluster_harness import Cluster, require_cluster_support  # noqa: E402
from raw_kafka import TAGS, Conn, carr, cstr, flex_request  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2, "num.partitions": 4}


def group_types(c):
    """{group id: type} over every node (ListGroups v5: each node lists the groups it
    coordinates)."""
    out = {}
    for n in c.nodes:
        with Conn(n.bootstrap, answer_within=15) as conn:
            rd = flex_request(conn, 16, 5, carr([], cstr) + carr([], cstr) + TAGS, "ListGroups v5")
            rd.take(">i")
            err = rd.take(">h")
            if err:
                raise AssertionError(f"ListGroups v5 on node {n.node_id}: error {err}")
            for _ in range(rd.count()):
                gid = rd.cstring()
                rd.cstring()
                rd.cstring()
                out[gid] = rd.cstring()
                rd.tags()
            rd.tags()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", default="0103", help="comma-separated test numbers")
    ap.add_argument("--consumer-protocol", action="store_true",
                    help="TEST_CONSUMER_GROUP_PROTOCOL=consumer (KIP-848)")
    args = ap.parse_args()
    tests = [t.strip() for t in args.tests.split(",") if t.strip()]
    ck = Check("librdkafka-cluster")
    require_cluster_support(os.environ.get("BROOKD"))
    suite = os.environ.get("LIBRDKAFKA_SUITE_DIR", os.path.join(REPO, "build", "librdkafka-suite"))
    env = dict(os.environ, LIBRDKAFKA_SUITE_DIR=suite)
    prep = subprocess.run(["bash", os.path.join(REPO, "tests", "librdkafka", "run.sh"),
                           "--prepare-only"], env=env, timeout=900)
    if prep.returncode == 77:
        print("librdkafka's suite cannot be had here; skipped")
        return 77
    ck.eq(prep.returncode, 0, "the suite is prepared")
    tests_dir = os.path.join(suite, "librdkafka-2.15.1", "tests")
    with Cluster(3, config=CONFIG, name="lrkc") as c:
        c.wait_ready(60)
        with tempfile.TemporaryDirectory(prefix="lrkc-") as tmp:
            conf = os.path.join(tmp, "test.conf")
            with open(conf, "w") as f:
                f.write(f"bootstrap.servers={c.bootstrap_all}\ntest.concurrent.max=1\n"
                        "test.timeout.multiplier=2\n")
            renv = {k: v for k, v in os.environ.items() if k != "CI"}
            renv.update(LD_LIBRARY_PATH="../src:../src-cpp", RDKAFKA_TEST_CONF=conf,
                        TEST_KAFKA_VERSION="3.9.0", TESTS=",".join(tests),
                        BROKERS=c.bootstrap_all)
            if args.consumer_protocol:
                renv["TEST_CONSUMER_GROUP_PROTOCOL"] = "consumer"
            r = subprocess.run(["./test-runner", "-L"], cwd=tests_dir, env=renv,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            out = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout.decode("utf-8", "replace"))
            summary = [ln for ln in out.splitlines() if "| PASSED" in ln or "| FAILED" in ln
                       or "|     PASSED" in ln]
            missing = [t for t in tests if not any(f" {t}_" in ln and "PASSED" in ln
                                                   for ln in out.splitlines())]
            if r.returncode != 0 or missing:
                print(out[-6000:])
            print("\n".join(summary))
            ck.eq(r.returncode, 0, "test-runner exit code")
            ck.eq(missing, [], f"every test PASSED against the replicated cluster: {tests}")
            if args.consumer_protocol:
                # The groups the tests left behind say which protocol they spoke (offsets
                # committed outside any membership make classic "simple" groups, in Kafka too).
                types = group_types(c)
                print(f"groups left by the tests: {types}")
                # 0099 assigns and commits (a classic group); the others subscribe, each
                # leaving one KIP-848 group at least (their names do not always say whose).
                subscribing = [t for t in tests if t != "0099"]
                ck(subscribing and sum(1 for t in types.values() if t == "consumer") >=
                   len(subscribing),
                   f"the tests' subscribing consumers made KIP-848 consumer groups: {types}")
    return ck.done()


if __name__ == "__main__":
    run_main(main)
