#!/usr/bin/python3
"""`brook run` exactly once into a topic, PostgreSQL and files, through crashes.

A real brookd and a real PostgreSQL server (tests/integration/pg_harness.py) on free
loopback ports. A pipeline counts clicks per user per one-minute event-time window and
writes each final window to a topic, to a PostgreSQL table (plain INSERT under a primary
key, so a duplicate row would be refused rather than hidden) and to files.

  crash    the `brook run` process is SIGKILLed at random points while input arrives in
           batches, and brookd itself is SIGKILLed and restarted once; a last run drains.
  shared   two `brook run` processes share the input through the consumer group; one is
           SIGKILLed and the other takes its partitions over (fencing it, resolving what
           it left prepared).
  refuse   a PostgreSQL with max_prepared_transactions = 0 is refused at start with the
           reason; a bad pipeline file is refused naming the key.

Each scenario then checks: the committed output topic, the table and the files each hold
every expected window exactly once and nothing else; no prepared transaction is left in
PostgreSQL and no part file in the directory; malformed input went to the dead-letter topic
once each. Usage: test_stream_run.py [crash|shared|refuse ...] (default: all).
"""

import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from brook_harness import (Broker, Check, _pdeathsig, find_cli, run_main,  # noqa: E402
                           wait_until)
from pg_harness import Postgres, free_port  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

# A killed run's member holds its partitions until its session expires, and every cycle of
# the scenarios waits for that: sessions of 3 s (heartbeats every 0.5 s) where librdkafka's
# default is 45 s and Kafka's smallest allowed 6 s, so the broker allows 1 s.
SESSION_MS = 3000
BROKER_CONF = {"group.min.session.timeout.ms": "1000"}

PARTITIONS = 4
MINUTE = 60000
LATENESS = 5000
T0 = 1_700_000_040_000 - (1_700_000_040_000 % MINUTE)


def create_topic(bootstrap, name, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(30)


def make_input(seed, batches, per_batch):
    """Batches of (partition, value bytes); users map to partitions (u<i> -> i % 4) so the
    grouping key matches the input partitioning. Returns (batches, expected windows,
    malformed count). Event times grow with small disorder inside the allowed lateness."""
    rng = random.Random(seed)
    ts = {p: T0 for p in range(PARTITIONS)}
    expected = {}
    bad = 0
    out = []
    for _ in range(batches):
        batch = []
        for _ in range(per_batch):
            u = rng.randrange(16)
            p = u % PARTITIONS
            ts[p] += rng.randrange(0, 400)
            t = ts[p] - (rng.randrange(0, 3000) if rng.random() < 0.1 else 0)
            if rng.random() < 0.01:
                batch.append((p, b"{not json"))
                bad += 1
                continue
            action = "click" if rng.random() < 0.8 else "view"
            n = rng.randrange(1, 10)
            batch.append((p, json.dumps({"user": f"u{u}", "ts": t, "action": action,
                                         "n": n}).encode()))
            if action == "click":
                k = (f"u{u}", t - t % MINUTE)
                c, s = expected.get(k, (0, 0))
                expected[k] = (c + 1, s + n)
        out.append(batch)
    flush = [(p, json.dumps({"user": "__flush", "ts": max(ts.values()) + 10 * MINUTE,
                             "action": "click", "n": 0}).encode()) for p in range(PARTITIONS)]
    return out, flush, expected, bad


def produce(bootstrap, records, topic="clicks"):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5})
    for part, v in records:
        p.produce(topic, value=v, partition=part)
        p.poll(0)
    if p.flush(60) != 0:
        raise RuntimeError("input not delivered")


def pipeline_text(name, bootstrap, pg, outdir, table, source, extra=""):
    return extra + f"""# {name}: clicks per user per minute, exactly once (tests/integration)
pipeline.name={name}
bootstrap.servers={bootstrap}
source.topic={source}
op.1=filter action == "click"
op.2=key_by user
op.3=window tumbling 1m time ts lateness 5s
op.4=aggregate count, sum n
sink.topic={name}-out
sink.postgres={pg.conninfo}
sink.postgres.table={table}
sink.postgres.columns=key,window_start,window_end,count,sum
sink.files.dir={outdir}
commit.interval.ms=100
client.session.timeout.ms={SESSION_MS}
client.heartbeat.interval.ms=500
"""


def read_all(bootstrap, topic, partitions, timeout=60):
    """Every committed record of topic (read_committed), to the end."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}",
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = [], set()
    deadline = time.monotonic() + timeout
    while len(eof) < partitions and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
            continue
        eof.discard(m.partition())
        got.append(m.value())
    c.close()
    if len(eof) < partitions:
        raise AssertionError(f"{topic}: end not reached in {timeout}s")
    return got


def windows_of(values):
    """[(key, window_start, count, sum)] from output JSON values, __flush left out."""
    out = []
    for v in values:
        j = json.loads(v)
        if j["key"] == "__flush":
            continue
        out.append((j["key"], int(j["window_start"]), int(j["count"]), int(j["sum"])))
    return out


def check_exactly_once(ck, what, rows, expected):
    want = sorted((k, w, c, s) for (k, w), (c, s) in expected.items())
    keys = [(k, w) for k, w, _, _ in rows]
    ck.eq(len(keys) - len(set(keys)), 0, f"{what}: windows written more than once")
    missing = sorted(set(want) - set(rows))
    extra = sorted(set(rows) - set(want))
    ck(not missing and not extra,
       f"{what}: {len(rows)} windows written, {len(want)} expected; missing {len(missing)} "
       f"(first: {missing[:5]}), unexpected {len(extra)} (first: {extra[:5]})")


def check_sinks(ck, b, pg, outdir, name, table, expected, bad, dlq_partitions=PARTITIONS):
    check_exactly_once(ck, "output topic",
                       windows_of(read_all(b.bootstrap, f"{name}-out", PARTITIONS)), expected)
    rows = [(k, int(w), int(c), int(s)) for k, w, c, s in
            pg.rows(f"SELECT key, window_start, count, sum FROM {table}") if k != "__flush"]
    check_exactly_once(ck, "PostgreSQL table", rows, expected)
    ck.eq(pg.rows("SELECT gid FROM pg_prepared_xacts"), [], "prepared transactions left")
    lines = []
    for f in sorted(glob.glob(os.path.join(outdir, "*.jsonl"))):
        with open(f, "rb") as fh:
            lines += [ln for ln in fh.read().splitlines() if ln]
    check_exactly_once(ck, "files", windows_of(lines), expected)
    ck.eq([f for f in os.listdir(outdir) if f.startswith(".")], [], "part files left")
    dlq = read_all(b.bootstrap, f"{name}-dlq", dlq_partitions)
    ck.eq(len(dlq), bad, "dead letters (one per malformed record)")
    ck(all(json.loads(v)["error"] for v in dlq), "every dead letter carries its reason")


def start_run(cli, conf, logpath, extra=(), env=None):
    """Starts `brook run`, its output appended to logpath after a marker line."""
    with open(logpath, "ab") as log:
        log.write(f"===== brook run {' '.join(extra)}\n".encode())
        log.flush()
        p = subprocess.Popen([cli, "run", conf, "--progress-ms", "1000", *extra],
                             stdout=log, stderr=subprocess.STDOUT, env=env,
                             preexec_fn=_pdeathsig)  # never outlives the test
    p.logpath = logpath
    p.log_start = os.path.getsize(logpath)
    return p


def wait_assigned(logpath, p, timeout=60):
    """Until this run of `brook run` has been given its partitions (a group rebalance
    waits for killed members' sessions to expire: session.timeout.ms)."""
    def assigned():
        if p.poll() is not None:
            raise AssertionError(f"brook run exited early with {p.returncode}")
        with open(logpath, "rb") as f:
            f.seek(p.log_start)
            return b"assigned" in f.read()
    wait_until(assigned, timeout, 0.1, "brook run to be assigned partitions")


def wait_exit(p, timeout, logpath):
    """The program's exit status, or None when it was still running after timeout: it is
    then killed (by us: no status of its own to check) and the last lines of its log are
    printed, so a hang in CI says where it hung."""
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
        with open(logpath, "rb") as f:
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                     if not ln.startswith("%7")]
        print(f"still running after {timeout} s; {logpath} (last 40 lines):\n"
              + "\n".join(lines[-40:]), flush=True)
        return None


def diagnose(cli, b, pg, logpath):
    """On a failure: the broker's transactions, the PostgreSQL leftovers, the runs' log."""
    r = subprocess.run([cli, "txn", "list", "--bootstrap", b.bootstrap], capture_output=True,
                       text=True, timeout=60)
    print("brook txn list:\n" + r.stdout + r.stderr)
    print("prepared:", pg.rows("SELECT gid FROM pg_prepared_xacts"))
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "diagnose"})
    for topic in ("clicks", "clicks-per-user-out", "clicks-per-user-progress"):
        marks = [c.get_watermark_offsets(TopicPartition(topic, p), 10) for p in range(4)]
        print(f"{topic}: watermarks {marks}")
    c.close()
    prog = read_all(b.bootstrap, "clicks-per-user-progress", PARTITIONS)
    print("progress records (committed):", [v.decode() for v in prog][-12:])
    with open(logpath, "rb") as f:
        lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                 if not ln.startswith("%")]
    print("brook run log (last 60 lines):\n" + "\n".join(lines[-60:]))


def make_table(pg, table):
    pg.sql(f"CREATE TABLE {table} (key text, window_start bigint, window_end bigint, "
           "count bigint, sum bigint, PRIMARY KEY (key, window_start))")


def produce_paced(bootstrap, records, seconds, topic="clicks"):
    """Produces records spread over about `seconds` (in a thread), so that kills land while
    the pipeline is working."""
    def go():
        p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                      "linger.ms": 5})
        chunk = max(1, len(records) // 20)
        for i in range(0, len(records), chunk):
            for part, v in records[i:i + chunk]:
                p.produce(topic, value=v, partition=part)
            p.poll(0)
            time.sleep(seconds / 20)
        if p.flush(60) != 0:
            raise RuntimeError("input not delivered")
    th = threading.Thread(target=go)
    th.start()
    return th


# What each cycle of the crash scenario does to the running `brook run`: a SIGKILL at a
# random moment, or a failpoint (src/stream/run.c) that SIGKILLs it at a chosen step of an
# interval's commit, or brookd or PostgreSQL SIGKILLed and restarted under it first.
CYCLES = ["kill", "prepared:3", "kill", "committed:2", "broker", "finishing:2", "postgres",
          "prepared:1", "committed:5"]


def scenario_crash(ck, cli, tmp):
    with Broker(config=BROKER_CONF) as b, Postgres(max_prepared_transactions=16) as pg:
        create_topic(b.bootstrap, "clicks", PARTITIONS)
        make_table(pg, "counts")
        outdir = os.path.join(tmp, "out-crash")
        os.mkdir(outdir)
        conf = os.path.join(tmp, "crash.conf")
        with open(conf, "w") as f:
            f.write(pipeline_text("clicks-per-user", b.bootstrap, pg, outdir, "counts",
                                  "clicks"))
        batches, flush, expected, bad = make_input(7, len(CYCLES), 1500)
        rng = random.Random(11)
        logpath = os.path.join(tmp, "run-crash.log")
        failpoints = 0
        for what, batch in zip(CYCLES, batches):
            env = dict(os.environ)
            if ":" in what:
                env["BROOK_STREAM_FAILPOINT"] = what
            t0 = time.monotonic()
            p = start_run(cli, conf, logpath, env=env)
            wait_assigned(logpath, p)
            t1 = time.monotonic()
            th = produce_paced(b.bootstrap, batch, 2.0)
            if ":" in what:
                # Killed by us after 60 s would not be the failpoint's SIGKILL: None fails.
                ck.eq(wait_exit(p, 60, logpath), -signal.SIGKILL,
                      f"failpoint {what} killed the run")
                failpoints += 1
            else:
                time.sleep(rng.uniform(0.3, 2.0))
                if what == "broker":
                    b.crash_restart()  # brookd SIGKILLed under the running pipeline
                    time.sleep(rng.uniform(1.0, 3.0))
                if what == "postgres":
                    # PostgreSQL SIGKILLed under the running pipeline and back 2 s later:
                    # the run's intervals fail, abort and recover on their own
                    pg.kill_restart(down_s=2.0)
                    time.sleep(rng.uniform(3.0, 5.0))
                    ck(p.poll() is None, "brook run outlives a PostgreSQL crash")
                p.kill()
                p.wait(10)
            th.join(120)
            print(f"crash cycle {what}: assigned in {t1 - t0:.1f} s, "
                  f"ran {time.monotonic() - t1:.1f} s", flush=True)
        produce(b.bootstrap, flush)
        p = start_run(cli, conf, logpath, ["--exit-when-idle", "5000"])
        rc = p.wait(240)
        ck.eq(rc, 0, "the last run drains the input and exits cleanly")
        with open(logpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        # The failpoints leave prepared participants behind: the next recovery must have
        # rolled some back (crash before the broker commit) and committed some (after).
        ck(") committed at recovery" in text, "a recovery committed a prepared transaction")
        ck(") rolled back at recovery" in text, "a recovery rolled back a prepared transaction")
        try:
            check_sinks(ck, b, pg, outdir, "clicks-per-user", "counts", expected, bad)
        except AssertionError:
            diagnose(cli, b, pg, logpath)
            raise
        print(f"crash: {len(CYCLES)} cycles ({failpoints} failpoints), {len(expected)} "
              f"windows, {bad} malformed records; resolved at recovery: "
              f"{text.count(') committed at recovery')} committed, "
              f"{text.count(') rolled back at recovery')} rolled back", flush=True)


def metrics_text(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return int(line.rsplit(" ", 1)[1])
    return None


def scenario_shared(ck, cli, tmp):
    """Two processes share the input; one is SIGKILLed mid-stream; the other takes its
    partitions over. The PostgreSQL sink upserts here (sink.postgres.key)."""
    with Broker(config=BROKER_CONF) as b, Postgres(max_prepared_transactions=16) as pg:
        create_topic(b.bootstrap, "clicks2", PARTITIONS)
        make_table(pg, "counts2")
        outdir = os.path.join(tmp, "out-shared")
        os.mkdir(outdir)
        conf = os.path.join(tmp, "shared.conf")
        with open(conf, "w") as f:
            f.write(pipeline_text("shared", b.bootstrap, pg, outdir, "counts2", "clicks2")
                    + "sink.postgres.key=key,window_start\n")
        batches, flush, expected, bad = make_input(23, 2, 3000)
        logs = [os.path.join(tmp, f"run-shared-{i}.log") for i in range(2)]
        port = free_port()
        a = start_run(cli, conf, logs[0])
        wait_assigned(logs[0], a)
        keep = start_run(cli, conf, logs[1], ["--metrics-port", str(port)])
        wait_assigned(logs[1], keep)
        th = produce_paced(b.bootstrap, batches[0], 3.0, "clicks2")
        time.sleep(1.5)
        a.kill()  # the other instance must fence it and finish its partitions
        a.wait(10)
        th.join(120)
        produce_paced(b.bootstrap, batches[1], 2.0, "clicks2").join(120)
        produce(b.bootstrap, flush, "clicks2")

        def done():
            return len(windows_of(read_all(b.bootstrap, "shared-out", PARTITIONS))) >= \
                len(expected)
        wait_until(done, 120, 1.0, "the surviving instance to finish every window")
        text = metrics_text(port)
        ck(metric(text, "brook_stream_records_in_total") > 0, "/metrics counts input records")
        ck(metric(text, "brook_stream_commits_total") > 0, "/metrics counts commits")
        ck(metric(text, "brook_stream_recoveries_total") >= PARTITIONS,
           "/metrics: the survivor recovered the killed instance's tasks too")
        keep.send_signal(signal.SIGTERM)
        ck.eq(keep.wait(60), 0, "SIGTERM stops the surviving instance cleanly")
        check_sinks(ck, b, pg, outdir, "shared", "counts2", expected, bad)
        print(f"shared: {len(expected)} windows through a takeover", flush=True)


def scenario_instances(ck, cli, tmp):
    """`brook run --instances 2`: two processes of one pipeline share the input."""
    with Broker(config=BROKER_CONF) as b, Postgres(max_prepared_transactions=16) as pg:
        create_topic(b.bootstrap, "clicks3", PARTITIONS)
        make_table(pg, "counts3")
        outdir = os.path.join(tmp, "out-instances")
        os.mkdir(outdir)
        conf = os.path.join(tmp, "instances.conf")
        with open(conf, "w") as f:
            f.write(pipeline_text("inst", b.bootstrap, pg, outdir, "counts3", "clicks3"))
        batches, flush, expected, bad = make_input(31, 1, 3000)
        produce(b.bootstrap, batches[0] + flush, "clicks3")
        logpath = os.path.join(tmp, "run-instances.log")
        p = start_run(cli, conf, logpath, ["--instances", "2", "--exit-when-idle", "5000"])
        ck.eq(p.wait(180), 0, "both instances drain the input and exit")
        with open(logpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        ck(text.count("running (group inst)") == 2, "two instances ran")
        check_sinks(ck, b, pg, outdir, "inst", "counts3", expected, bad)
    print("instances: --instances 2", flush=True)


def scenario_refuse(ck, cli, tmp):
    """Clear refusals, and a PostgreSQL that refuses rows leaves nothing half-committed."""
    bad_conf = os.path.join(tmp, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("pipeline.name=x\nsource.topic=t\nsink.topic=o\nop.1=filter a ==\n")
    r = subprocess.run([cli, "run", bad_conf], capture_output=True, text=True, timeout=30)
    ck.eq(r.returncode, 2, "a bad operator line is a usage error")
    ck("op.1" in r.stderr and "position" in r.stderr, f"the error names the line: {r.stderr}")
    with open(bad_conf, "w") as f:
        f.write("pipeline.name=x\nsource.topic=t\nsink.topic=o\nsink.tpoic=p\n")
    r = subprocess.run([cli, "run", bad_conf], capture_output=True, text=True, timeout=30)
    ck.eq(r.returncode, 2, "an unknown key is a usage error")
    ck("sink.tpoic" in r.stderr, f"the error names the key: {r.stderr}")
    with Broker(config=BROKER_CONF) as b:
        create_topic(b.bootstrap, "clicks", PARTITIONS)
        with Postgres(max_prepared_transactions=0) as pg0:
            make_table(pg0, "counts")
            conf = os.path.join(tmp, "noprep.conf")
            with open(conf, "w") as f:
                f.write(pipeline_text("noprep", b.bootstrap, pg0, tmp, "counts", "clicks"))
            r = subprocess.run([cli, "run", conf], capture_output=True, text=True, timeout=120)
            ck.eq(r.returncode, 1, "a PostgreSQL without prepared transactions is refused")
            ck("max_prepared_transactions" in r.stderr, f"the reason is given: {r.stderr[-500:]}")
        with Postgres(max_prepared_transactions=8) as pg:
            # Windows counting 60 clicks or more violate the CHECK: the interval holding
            # such a row aborts at each try; the run gives up after its attempts.
            pg.sql("CREATE TABLE counts (key text, window_start bigint, window_end bigint, "
                   "count bigint CHECK (count < 60), sum bigint, "
                   "PRIMARY KEY (key, window_start))")
            outdir = os.path.join(tmp, "out-refuse")
            os.mkdir(outdir)
            conf = os.path.join(tmp, "refuse.conf")
            with open(conf, "w") as f:
                f.write(pipeline_text("refuse", b.bootstrap, pg, outdir, "counts", "clicks",
                                      "recovery.max.attempts=2\n"))
            batches, flush, expected, bad = make_input(5, 1, 3000)
            produce(b.bootstrap, batches[0] + flush)
            r = subprocess.run([cli, "run", conf, "--exit-when-idle", "5000"],
                               capture_output=True, text=True, timeout=240)
            ck.eq(r.returncode, 1, "a refused row ends the run after its attempts")
            ck("violates check constraint" in r.stderr,
               f"the refusal is reported: {r.stderr[-800:]}")
            ck.eq(pg.rows("SELECT gid FROM pg_prepared_xacts"), [], "no prepared transaction")
            ck.eq([f for f in os.listdir(outdir) if f.startswith(".")], [], "no part file")
            topic = sorted(windows_of(read_all(b.bootstrap, "refuse-out", PARTITIONS)))
            rows = sorted((k, int(w), int(c), int(s)) for k, w, c, s in
                          pg.rows("SELECT key, window_start, count, sum FROM counts")
                          if k != "__flush")
            lines = []
            for fn in sorted(glob.glob(os.path.join(outdir, "*.jsonl"))):
                with open(fn, "rb") as fh:
                    lines += [ln for ln in fh.read().splitlines() if ln]
            ck.eq(rows, topic, "PostgreSQL holds exactly the committed windows of the topic")
            ck.eq(sorted(windows_of(lines)), topic, "the files hold exactly the same windows")
            ck(len(topic) < len(expected), "the refused windows were not committed anywhere")
            ck(all(c < 60 for _, _, c, _ in topic), "no window at or above the limit")
    print("refuse: bad files, max_prepared_transactions = 0 and a CHECK refusal", flush=True)


def scenario_readme(ck, cli, tmp):
    """The README's `brook run` example, as written (ports, paths and the CLI swapped for
    the test's), against a fresh brookd and a PostgreSQL started by scripts/pg.sh."""
    readme = open(os.path.join(HERE, "..", "..", "README.md"), encoding="utf-8").read()
    m = re.search(r"Clicks in, per-user\s+counts per minute out.*?```sh\n(.*?)```", readme, re.S)
    ck(m is not None, "README has the brook run example")
    port = free_port()
    repo = os.path.abspath(os.path.join(HERE, "..", ".."))
    script = (m.group(1).replace("bash scripts/pg.sh", f"bash {repo}/scripts/pg.sh")
              .replace("port=5433", f"port={port}").replace("build/brook", cli))
    env = dict(os.environ, BROOK_PG_PORT=str(port), BROOK_PG_DIR=os.path.join(tmp, "pgdata"))
    with Broker(config=BROKER_CONF) as b:
        env["BROOK_BOOTSTRAP"] = b.bootstrap
        try:
            r = subprocess.run(["bash", "-e", "-c", script], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=180)
        finally:
            subprocess.run(["bash", f"{repo}/scripts/pg.sh", "stop"], env=env,
                           capture_output=True, timeout=60)
        ck.eq(r.returncode, 0, f"the example runs: {r.stderr[-1500:]}")
        out = r.stdout
        ck('{"key":"ann","window_start":0,"window_end":60000,"count":2}' in out,
           f"the topic has ann's 2 clicks in the first minute: {out}")
        ck('{"key":"bob","window_start":60000,"window_end":120000,"count":1}' in out,
           "the topic has bob's click in the second minute")
        rows = [ln.split("|") for ln in out.splitlines() if ln.count("|") == 3]
        got = sorted((c[0].strip(), c[1].strip(), c[3].strip()) for c in rows
                     if c[0].strip() in ("ann", "bob"))
        ck.eq(got, [("ann", "0", "2"), ("bob", "60000", "1")], "the table's rows")
    print("readme: the example's topic and table", flush=True)


def scenario_join(ck, cli, tmp):
    """A stream-table join: clicks joined with a table read from a compacted topic of user
    profiles (a deleted profile drops its user's clicks: an inner join)."""
    with Broker(config=BROKER_CONF) as b:
        create_topic(b.bootstrap, "clicks4", 2)
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in a.create_topics([NewTopic("users", 2, 1,
                                           config={"cleanup.policy": "compact"})]).values():
            f.result(30)
        p = Producer({"bootstrap.servers": b.bootstrap})
        countries = {f"u{i}": ["fr", "de", "jp"][i % 3] for i in range(6)}
        for u, c in countries.items():
            p.produce("users", key=u, value=json.dumps({"country": c}))
        p.produce("users", key="u5", value=None)  # u5's profile deleted: no match
        clicks = [(i % 2, json.dumps({"user": f"u{i % 7}", "n": i}).encode())
                  for i in range(200)]
        for part, v in clicks:
            p.produce("clicks4", value=v, partition=part)
        ck.eq(p.flush(30), 0, "input delivered")
        conf = os.path.join(tmp, "join.conf")
        with open(conf, "w") as f:
            f.write(f"""pipeline.name=join
bootstrap.servers={b.bootstrap}
source.topic=clicks4
table.users.topic=users
op.1=join users on user as profile
op.2=project user, n, country = profile.country
sink.topic=join-out
""")
        logpath = os.path.join(tmp, "run-join.log")
        r = start_run(cli, conf, logpath, ["--exit-when-idle", "4000"])
        ck.eq(r.wait(120), 0, "the join pipeline drains its input")
        got = sorted((j["user"], j["n"], j["country"]) for j in
                     (json.loads(v) for v in read_all(b.bootstrap, "join-out", 2)))
        want = sorted((f"u{i % 7}", i, countries[f"u{i % 7}"]) for i in range(200)
                      if i % 7 < 5)
        ck.eq(got, want, "each click of a user with a profile, once, with its country")
        with open(conf.replace("join.conf", "join2.conf"), "w") as f:
            f.write("pipeline.name=j2\nsource.topic=clicks4\nsink.topic=o\n"
                    "op.1=join nosuch on user\n")
        bad = subprocess.run([cli, "run", conf.replace("join.conf", "join2.conf")],
                             capture_output=True, text=True, timeout=30)
        ck.eq(bad.returncode, 2, "a join on an undeclared table is a usage error")
        ck("table.nosuch.topic" in bad.stderr, f"the error names the key: {bad.stderr}")
    print("join: clicks joined with a table of profiles", flush=True)


def scenario_embed(ck, cli, tmp):
    """libbrook-stream embedded in a C program (examples/stream_embed.c): a built-in filter, a
    C operator splitting texts into words, a built-in filter on its output. The program is
    SIGKILLed by a failpoint right after a broker commit, then run again to the end: every
    word comes out once; records the C operator refuses go to the dead-letter topic with its
    reason."""
    embed = os.environ.get("BROOK_STREAM_EMBED") or os.path.join(
        os.path.dirname(cli), "stream_embed")
    ck(os.access(embed, os.X_OK), f"the example program is built: {embed}")
    r = subprocess.run([embed, "embed", "127.0.0.1:1", "texts", "words", "0", "bogus"],
                       capture_output=True, text=True, timeout=30)
    ck(r.returncode == 2 and "not KEY=VALUE: bogus" in r.stderr,
       f"a setting without '=' is refused: rc {r.returncode}, {r.stderr.strip()!r}")
    with Broker(config=BROKER_CONF) as b:
        create_topic(b.bootstrap, "texts", 2)
        records, want, bad = [], [], 0
        for i in range(600):
            if i % 50 == 7:
                records.append((i % 2, json.dumps({"lang": "en", "text": i}).encode()))
                bad += 1
                continue
            lang = "fr" if i % 5 == 0 else "en"
            words = [f"alpha{i}", "is", f"beta{i}", "the", f"gamma{i}"]
            records.append((i % 2, json.dumps({"lang": lang, "text": " ".join(words)}).encode()))
            if lang == "en":
                want += [(w, pos) for pos, w in enumerate(words) if len(w) > 3]
        logpath = os.path.join(tmp, "embed.log")
        with open(logpath, "ab") as log:
            env = dict(os.environ, BROOK_STREAM_FAILPOINT="committed:6")
            # The killed run's member holds the partitions until its session expires.
            p = subprocess.Popen([embed, "embed", b.bootstrap, "texts", "words", "0",
                                  f"client.session.timeout.ms={SESSION_MS}",
                                  "client.heartbeat.interval.ms=500"],
                                 stdout=log, stderr=subprocess.STDOUT, env=env,
                                 preexec_fn=_pdeathsig)
            p.log_start = 0
            wait_assigned(logpath, p)
            feeder = produce_paced(b.bootstrap, records, 4, topic="texts")
            rc = p.wait(120)
            ck.eq(rc, -signal.SIGKILL, "the failpoint killed the program after a commit")
            feeder.join(60)
            p = subprocess.Popen([embed, "embed", b.bootstrap, "texts", "words", "4000",
                                  f"client.session.timeout.ms={SESSION_MS}",
                                  "client.heartbeat.interval.ms=500"],
                                 stdout=log, stderr=subprocess.STDOUT, preexec_fn=_pdeathsig)
            ck.eq(wait_exit(p, 120, logpath), 0, "the second run drains the input and exits")
        got = [(j["word"], j["pos"]) for j in
               (json.loads(v) for v in read_all(b.bootstrap, "words", 2))]
        ck.eq(len(got) - len(set(got)), 0, "words written more than once")
        ck.eq(sorted(got), sorted(want), "every English word longer than 3, once")
        dlq = [json.loads(v) for v in read_all(b.bootstrap, "embed-dlq", 2)]
        ck.eq(len(dlq), bad, "dead letters (texts that are not strings)")
        ck(all("split_words: text is not a string" in d["error"] for d in dlq),
           f"each dead letter has the C operator's reason: {dlq[:1]}")
    print(f"embed: {len(got)} words from a C operator through a crash", flush=True)


def main():
    which = sys.argv[1:] or ["readme", "refuse", "instances", "join", "embed", "shared",
                             "crash"]
    cli = find_cli()
    ck = Check("stream_run")
    tmp = tempfile.mkdtemp(prefix="brook-stream-")
    os.chmod(tmp, 0o755)  # scripts/pg.sh's server runs as the postgres user
    try:
        for name, fn in (("readme", scenario_readme), ("refuse", scenario_refuse),
                         ("instances", scenario_instances), ("join", scenario_join),
                         ("embed", scenario_embed),
                         ("shared", scenario_shared),
                         ("crash", scenario_crash)):
            if name in which:
                t0 = time.monotonic()
                fn(ck, cli, tmp)
                print(f"[{name}: {time.monotonic() - t0:.1f} s]", flush=True)
    finally:
        if os.environ.get("BROOK_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
