#!/usr/bin/python3
"""The web console (web/, served by brookd's admin listener) in a real headless browser:
Debian's Chromium driven through playwright-core (tests/integration/js/console_driver.js).

One node: a topic with records, a consumer group that committed part of them (its member
still in the group), and a transaction left hanging by a confluent_kafka producer.  In the
browser every page (Overview, Topics, Groups, Transactions, Metrics) loads with no console
error, page error or failed request; Topics shows the topic with its offsets; Groups shows
the group's lag as /v1/groups computes it, and the lag shown grows when more records are
produced (live, without reloading); Transactions shows the hanging transaction, and its
Abort button (the confirm() dialog accepted) ends it: /v1/transactions/{id} says
CompleteAbort and the producer's commit fails as fenced; Metrics draws its charts (points
plotted, canvas not blank).  The JSON endpoints are checked directly too (CORS header,
Content-Types, ETag and 304, HEAD, 404 for an unknown file).

Three nodes (skipped without ZooKeeper): the Overview of node 1 lists the 3 nodes with
their admin addresses and the controller, and Topics shows a replicated topic's leaders
spread across the nodes, merged from every node's answer.

A PNG of each page goes to $BROOK_TEST_ARTIFACTS, else ./artifacts/console/ (ctest's
working directory); the path is printed.  Exit 77 (skip) only when Chromium is missing;
node and playwright-core (tests/integration/js/install.sh) are required."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Broker, Check, find_brookd, run_main, wait_until  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
TOPIC, GROUP, TXN_ID = "console-t", "console-g", "console-txn"
PAGES = ["overview", "topics", "groups", "transactions", "metrics"]


# --------------------------------------------------------------------- helpers
def http_req(admin, method, path, headers=None, timeout=10):
    host, port = admin.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def get_json(admin, path):
    status, _, body = http_req(admin, "GET", path)
    if status != 200:
        raise AssertionError(f"GET {path}: {status} {body[:200]!r}")
    return json.loads(body)


def artifacts_dir():
    d = os.environ.get("BROOK_TEST_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts", "console")
    os.makedirs(d, exist_ok=True)
    return d


class Browser:
    """The node driver process: one JSON command per line, one answer per line."""

    def __init__(self, node):
        self.proc = subprocess.Popen([node, os.path.join(JS_DIR, "console_driver.js")], cwd=JS_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.n = 0
        self.lock = threading.Lock()

    def call(self, op, timeout=40, **kw):
        with self.lock:
            self.n += 1
            self.proc.stdin.write(json.dumps(dict(kw, op=op, id=self.n)) + "\n")
            self.proc.stdin.flush()
            box = {}
            t = threading.Thread(target=lambda: box.setdefault("line", self.proc.stdout.readline()),
                                 daemon=True)
            t.start()
            t.join(timeout)
            if "line" not in box or not box["line"]:
                raise AssertionError(f"browser driver: no answer to {op} within {timeout}s")
            a = json.loads(box["line"])
            if not a.get("ok"):
                raise AssertionError(f"browser {op} {kw}: {a.get('error')}")
            return a.get("result")

    def close(self):
        try:
            self.call("close", timeout=15)
        except Exception:
            pass
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except Exception:
            self.proc.kill()


def node_with_playwright():
    """node, once install.sh has playwright-core in place. Only a missing Chromium skips
    the test: without node or playwright-core it fails, saying why."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise AssertionError("node not found (Debian package nodejs; scripts/install-deps.sh)")
    try:
        rc = subprocess.run(["sh", os.path.join(JS_DIR, "install.sh")], timeout=480).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    if rc != 0:
        raise AssertionError(f"tests/integration/js/install.sh could not install playwright-core "
                             f"(rc {rc}): run it with network access once")
    return node


def show(br, page, timeout_ms=15000):
    """Opens a page (hash route) and waits until the console has rendered it once."""
    br.call("eval", expr=f"location.hash = '#{page}'")
    br.call("wait", expr=f"document.body.dataset.loaded === '{page}'", timeout_ms=timeout_ms)


def wait_text(br, selector, want, timeout_ms=10000):
    """Waits until the element's text is want (the page refreshes itself)."""
    try:
        br.call("wait", expr=f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent === {json.dumps(want)}",
                timeout_ms=timeout_ms)
    except AssertionError:
        raise AssertionError(f"{selector}: {text(br, selector)!r}, wanted {want!r}")


def check_events(ck, br, where):
    """No console error or warning, page error or failed request since the last check."""
    bad = [e for e in br.call("events") if e["kind"] != "dialog"]
    for e in bad:
        print(f"  {where}: {e['kind']}: {e['text'][:300]}")
    ck(not bad, f"{where}: no console errors, page errors or failed requests ({len(bad)})")


def shot(br, name):
    """Saves a screenshot of the page, after checking it shows no value rendered as a
    JavaScript object ("[object ...]", "undefined", "NaN"), which no other check sees."""
    junk = br.call("eval", expr="""(() => { const t = document.querySelector('main, body').innerText;
        const m = t.match(/\\[object \\w+\\]|\\bundefined\\b|\\bNaN\\b/); return m ? m[0] : ''; })()""")
    if junk:
        raise AssertionError(f"console page {name!r} shows {junk!r}")
    path = os.path.join(artifacts_dir(), name + ".png")
    br.call("screenshot", path=path)
    print(f"screenshot: {path}")
    return path


def text(br, selector):
    return br.call("eval", expr=f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || null")


def produce(bootstrap, n, start=0):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(n):
        p.produce(TOPIC, value=f"v{start + i}".encode(), partition=i % 3)
    if p.flush(30) != 0:
        raise AssertionError("produce: records left unsent")


# --------------------------------------------------------------------- HTTP checks
def check_http(ck, admin):
    status, hdr, body = http_req(admin, "GET", "/")
    ck.eq(status, 200, "GET / serves the console")
    ck(hdr.get("content-type", "").startswith("text/html"), f"index is text/html: {hdr}")
    ck(b"/console/app.js" in body, "index loads /console/app.js")
    etag = hdr.get("etag")
    ck(etag and etag.startswith('"'), f"static file has an ETag: {etag}")
    status, _, body = http_req(admin, "GET", "/", headers={"If-None-Match": etag})
    ck.eq((status, body), (304, b""), "If-None-Match gets 304 without a body")
    for path, ctype in (("/console/app.js", "text/javascript"), ("/console/style.css", "text/css"),
                        ("/console/", "text/html")):
        status, hdr, body = http_req(admin, "GET", path)
        ck(status == 200 and hdr.get("content-type", "").startswith(ctype) and body,
           f"GET {path}: {status} {hdr.get('content-type')}")
    status, hdr, body = http_req(admin, "HEAD", "/console/app.js")
    ck(status == 200 and body == b"" and int(hdr.get("content-length", "0")) > 1000,
       f"HEAD: head only ({status}, {len(body)} bytes, length {hdr.get('content-length')})")
    for path in ("/console/nope.js", "/console/../admin.c", "/console/a/b", "/index.htm"):
        status, _, _ = http_req(admin, "GET", path)
        ck.eq(status, 404, f"GET {path}")
    for path in ("/v1/cluster", "/v1/topics", "/v1/groups", "/v1/transactions", "/metrics"):
        status, hdr, _ = http_req(admin, "GET", path)
        ck(status == 200 and hdr.get("access-control-allow-origin") == "*",
           f"GET {path}: 200 with Access-Control-Allow-Origin: * ({status}, {hdr})")
    status, hdr, _ = http_req(admin, "POST", "/v1/topics")
    ck.eq(status, 405, "POST /v1/topics is refused (read-only)")


# --------------------------------------------------------------------- one node
def single_node(ck, node, chromium):
    with Broker(name="console") as b:
        admin = b.admin_address()
        print(f"brookd at {b.bootstrap}, admin http://{admin}/")
        check_http(ck, admin)
        ac = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in ac.create_topics([NewTopic(TOPIC, 3, 1)]).values():
            f.result(30)
        produce(b.bootstrap, 30)
        cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": GROUP, "client.id": "console-c",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 30000})
        cons.subscribe([TOPIC])
        got = 0
        deadline = time.monotonic() + 30
        while got < 30 and time.monotonic() < deadline:
            got += len([m for m in cons.consume(100, 0.5) if m.error() is None])
        ck.eq(got, 30, "the group's consumer read every record")
        cons.commit(offsets=[TopicPartition(TOPIC, p, 4) for p in range(3)], asynchronous=False)
        txp = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": TXN_ID,
                        "transaction.timeout.ms": 120000})
        txp.init_transactions(30)
        txp.begin_transaction()
        for i in range(3):
            txp.produce(TOPIC, value=f"t{i}".encode(), partition=0)
        txp.flush(30)

        groups = get_json(admin, "/v1/groups")["groups"]
        g = next((x for x in groups if x["group"] == GROUP), None)
        ck(g is not None and g["members"] and g["members"][0]["assignment"],
           f"/v1/groups shows {GROUP} with its member and assignment: {g}")
        lag = sum(o["lag"] for o in g["offsets"])
        ck.eq(lag, 3 * (10 - 4) + 3, "/v1/groups lag: 6 per partition + 3 transactional records")
        topics = get_json(admin, "/v1/topics")["topics"]
        t = next((x for x in topics if x["name"] == TOPIC), None)
        ck(t and [p["log_end_offset"] for p in t["partitions"]] == [13, 10, 10] and
           all(p["size_bytes"] > 0 and p["replicas"] == [1] and p["isr"] == [1] for p in t["partitions"]),
           f"/v1/topics: {TOPIC} offsets, sizes, replicas: {t}")
        ck(t["partitions"][0]["last_stable_offset"] == 10, "LSO stays below the open transaction")
        cl = get_json(admin, "/v1/cluster")
        ck(cl["mode"] == "single" and cl["controller"] == 1 and cl["nodes"][0]["admin"] == admin,
           f"/v1/cluster: {cl}")

        br = Browser(node)
        try:
            print("chromium", br.call("launch", executable=chromium))
            br.call("goto", url=f"http://{admin}/")
            # Overview
            show(br, "overview")
            br.call("wait", expr="document.querySelectorAll('#nodes-table tbody tr').length === 1")
            ck("node 1" in (text(br, "#card-controller .v") or ""), "Overview: controller node 1")
            ck(text(br, "#card-topics .v") == "1", f"Overview: 1 user topic ({text(br, '#card-topics .v')})")
            shot(br, "overview")
            check_events(ck, br, "overview")
            # Topics
            show(br, "topics")
            sel = f"[data-topic='{TOPIC}'] tbody tr"
            br.call("wait", expr=f"document.querySelectorAll({json.dumps(sel)}).length === 3")
            row0 = br.call("eval", expr=f"[...document.querySelector({json.dumps(sel)}).cells].map(c => c.textContent)")
            ck(row0[1] == "node 1" and row0[7] == "13" and row0[6] == "10",
               f"Topics: partition 0 leader, log end 13, last stable 10: {row0}")
            shot(br, "topics")
            check_events(ck, br, "topics")
            # Groups: the lag, then live growth
            show(br, "groups")
            total = f"[data-group='{GROUP}'] .total-lag"
            br.call("wait", expr=f"(document.querySelector({json.dumps(total)}) || {{}}).textContent === '{lag}'")
            ck(True, f"Groups: total lag {lag} shown")
            members = br.call("eval", expr=f"document.querySelector(\"[data-group='{GROUP}']\").textContent")
            ck("console-c" in members and f"{TOPIC}-0" in members, "Groups: member and its assignment")
            shot(br, "groups")
            produce(b.bootstrap, 30, start=30)
            br.call("wait", expr=f"(document.querySelector({json.dumps(total)}) || {{}}).textContent === '{lag + 30}'",
                    timeout_ms=10000)
            ck(True, f"Groups: the lag shown grew live to {lag + 30}")
            shot(br, "groups-after-produce")
            check_events(ck, br, "groups")
            # Transactions: abort the hanging one
            show(br, "transactions")
            btn = f"#txn-open-table button.abort[data-txn='{TXN_ID}']"
            br.call("wait", expr=f"!!document.querySelector({json.dumps(btn)})")
            row = br.call("eval", expr=f"document.querySelector(\"#txn-open-table tr[data-txn='{TXN_ID}']\").textContent")
            ck("Ongoing" in row and f"{TOPIC}-0" in row, f"Transactions: {TXN_ID} Ongoing with its participant: {row}")
            shot(br, "transactions")
            br.call("click", selector=btn)
            dialogs = [e for e in br.call("events") if e["kind"] == "dialog"]
            ck(len(dialogs) == 1 and dialogs[0]["text"].startswith("confirm:") and TXN_ID in dialogs[0]["text"],
               f"Abort asks for confirmation: {dialogs}")
            wait_until(lambda: get_json(admin, f"/v1/transactions/{TXN_ID}")["state"] == "CompleteAbort",
                       15, what="the aborted transaction to complete")
            ck(True, "after Abort, /v1/transactions/{id} says CompleteAbort")
            br.call("wait", expr=f"!!document.querySelector(\"#txn-recent-table tr[data-txn='{TXN_ID}'][data-state='CompleteAbort']\")")
            ck("started" in (text(br, "#txn-message") or ""), f"Transactions: {text(br, '#txn-message')}")
            shot(br, "transactions-after-abort")
            check_events(ck, br, "transactions")
            try:
                txp.commit_transaction(10)
                ck(False, "the fenced producer's commit must fail")
            except KafkaException as e:
                ck(True, f"the producer is fenced: {e.args[0].str()[:120]}")
            # Metrics: produce while the charts poll
            show(br, "metrics")
            stop = threading.Event()

            committer = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "console-commits"})
            committer.init_transactions(30)

            def keep_producing():
                i = 100
                while not stop.is_set():
                    produce(b.bootstrap, 20, start=i)
                    committer.begin_transaction()
                    committer.produce(TOPIC, value=b"c", partition=1)
                    committer.commit_transaction(30)
                    i += 20
                    time.sleep(0.2)
            th = threading.Thread(target=keep_producing, daemon=True)
            th.start()
            try:
                br.call("wait", expr="window.brookConsole.chartPoints >= 4", timeout_ms=15000)
            finally:
                stop.set()
                th.join(30)
            inked = br.call("eval", expr="""['chart-produce','chart-fetch','chart-latency','chart-txn'].map(id => {
                const c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })""")
            ck(all(n > 500 for n in inked), f"Metrics: every chart drawn (inked pixels {inked})")
            rate = br.call("eval", expr="Math.max(...window.brookConsole.samples.filter(s => s.rates).map(s => s.rates.produce))")
            ck(rate > 0, f"Metrics: a produce rate above 0 was plotted ({rate:.1f} rec/s)")
            fetch = br.call("eval", expr="Math.max(...window.brookConsole.samples.filter(s => s.rates).map(s => s.rates.fetch))")
            ck(fetch > 0, f"Metrics: a consumer fetch rate above 0 was plotted ({fetch:.1f} B/s)")
            lat = br.call("eval", expr="Math.max(0, ...window.brookConsole.samples.filter(s => s.rates && s.rates.latMean !== null).map(s => s.rates.latMean))")
            ck(lat > 0, f"Metrics: a commit latency was plotted ({lat:.2f} ms)")
            shot(br, "metrics")
            check_events(ck, br, "metrics")
        finally:
            br.close()
            cons.close()


# --------------------------------------------------------------------- three nodes
def three_nodes(ck, node, chromium):
    from cluster_harness import Cluster, zk_available
    if not zk_available():
        print("ZooKeeper not available: the 3-node part is skipped")
        return
    with Cluster(3, name="console-c") as c:
        c.start()
        admins = {n.node_id: n.admin_address() for n in c.nodes}

        def registered():
            cl = get_json(admins[1], "/v1/cluster")
            return cl if ({n["id"]: n["admin"] for n in cl["nodes"]} == admins and
                          cl["controller"] is not None) else None
        cl = wait_until(registered, 20, interval=0.2, what="every node's admin address registered")
        ck.eq(cl["mode"], "cluster", "/v1/cluster mode")
        ac = AdminClient({"bootstrap.servers": c.bootstrap_all})
        for f in ac.create_topics([NewTopic("console-ct", 6, 3)]).values():
            f.result(30)

        def led():
            md = ac.list_topics("console-ct", timeout=5).topics["console-ct"]
            leaders = {p.leader for p in md.partitions.values()}
            return leaders if len(md.partitions) == 6 and -1 not in leaders else None
        leaders = wait_until(led, 30, interval=0.2, what="console-ct led")
        br = Browser(node)
        try:
            br.call("launch", executable=chromium)
            br.call("goto", url=f"http://{admins[1]}/")
            show(br, "overview")
            br.call("wait", expr="document.querySelectorAll('#nodes-table tbody tr').length === 3")
            br.call("wait", expr="document.querySelectorAll('#nodebar .dot.ok').length === 3")
            ctl = text(br, "#card-controller .v")
            ck.eq(ctl, f"node {cl['controller']}", "Overview (3 nodes): the controller")
            ck.eq(text(br, "#card-nodes .v"), "3 / 3 up", "Overview (3 nodes): every node up")
            shot(br, "cluster-overview")
            check_events(ck, br, "cluster overview")
            show(br, "topics")
            sel = "[data-topic='console-ct'] tbody tr"
            br.call("wait", expr=f"document.querySelectorAll({json.dumps(sel)}).length === 6 && "
                                 f"[...document.querySelectorAll({json.dumps(sel)})].every(r => r.cells[5].textContent !== '-')")
            shown = br.call("eval", expr=f"[...document.querySelectorAll({json.dumps(sel)})].map(r => +r.dataset.leader)")
            ck(set(shown) == leaders and len(leaders) > 1,
               f"Topics (3 nodes): leaders {shown} match Metadata's {sorted(leaders)}, across nodes")
            answered = br.call("eval", expr=f"[...document.querySelectorAll({json.dumps(sel)})].map(r => r.cells[9].textContent)")
            ck(answered == [f"node {x}" for x in shown], f"each partition's figures come from its leader: {answered}")
            shot(br, "cluster-topics")
            check_events(ck, br, "cluster topics")
            cluster_groups_and_txn(ck, c, br, admins)
            cluster_node_down(ck, c, br, admins)
        finally:
            br.close()


def cluster_groups_and_txn(ck, c, br, admins):
    """A group whose coordinator may not lead the partitions (lag from the leaders' high
    watermarks), and an abort posted to another node's admin listener (cross-origin)."""
    from cluster_harness import coordinator_address
    p = Producer({"bootstrap.servers": c.bootstrap_all, "acks": "all"})
    for i in range(60):
        p.produce("console-ct", value=b"x", partition=i % 6)
    ck.eq(p.flush(30), 0, "60 records produced to console-ct")
    cons = Consumer({"bootstrap.servers": c.bootstrap_all, "group.id": "console-cg",
                     "enable.auto.commit": False})
    cons.commit(offsets=[TopicPartition("console-ct", i, 2) for i in range(6)], asynchronous=False)
    cons.close()
    show(br, "groups")
    wait_text(br, "[data-group='console-cg'] .total-lag", "48")
    ck(True, "Groups (3 nodes): lag 48 over 6 partitions, merged from the leaders")
    shot(br, "cluster-groups")
    check_events(ck, br, "cluster groups")
    by_port = {n.bootstrap: n.node_id for n in c.nodes}
    tid = next(f"console-ctxn-{i}" for i in range(200)
               if by_port.get(coordinator_address(c.bootstrap, f"console-ctxn-{i}", 1)) != 1)
    coord = by_port[coordinator_address(c.bootstrap, tid, 1)]
    txp = Producer({"bootstrap.servers": c.bootstrap_all, "transactional.id": tid,
                    "transaction.timeout.ms": 120000})
    txp.init_transactions(30)
    txp.begin_transaction()
    txp.produce("console-ct", value=b"t", partition=0)
    txp.flush(30)
    show(br, "transactions")
    btn = f"#txn-open-table button.abort[data-txn='{tid}']"
    br.call("wait", expr=f"!!document.querySelector({json.dumps(btn)})")
    row = br.call("eval", expr=f"document.querySelector(\"#txn-open-table tr[data-txn='{tid}']\").textContent")
    ck(f"node {coord}" in row, f"Transactions (3 nodes): {tid} coordinated by node {coord}: {row}")
    br.call("click", selector=btn)
    wait_until(lambda: get_json(admins[coord], f"/v1/transactions/{tid}")["state"] == "CompleteAbort",
               15, what="the remote abort")
    ck(True, f"Abort posted from node 1's console to node {coord} ended {tid}")
    br.call("wait", expr=f"!!document.querySelector(\"#txn-recent-table tr[data-txn='{tid}'][data-state='CompleteAbort']\")")
    shot(br, "cluster-transactions")
    events = br.call("events")
    ck(any(e["kind"] == "dialog" for e in events), "the abort asked for confirmation")
    bad = [e for e in events if e["kind"] != "dialog"]
    ck(not bad, f"cluster transactions: no console errors or failed requests: {bad}")


def cluster_node_down(ck, c, br, admins):
    """Node 3 killed: the console keeps working and shows it down, with no dialog."""
    show(br, "overview")
    br.call("events")
    c.node(3).kill()
    br.call("wait", expr="!!document.querySelector('#nodebar [data-node=\"3\"] .dot.bad')", timeout_ms=20000)
    label = text(br, '#nodebar [data-node="3"]')
    ck("down" in label or "not answering" in label, f"node bar: {label}")
    show(br, "topics")
    br.call("wait", expr="document.querySelectorAll(\"[data-topic='console-ct'] tbody tr\").length === 6")
    shot(br, "cluster-node-down")
    events = br.call("events")
    ck(not [e for e in events if e["kind"] == "dialog"], "no dialog when a node goes away")
    # The browser itself reports a refused connection to the dead node; nothing else.
    other = [e for e in events if admins[3] not in e["text"] and "ERR_CONNECTION_REFUSED" not in e["text"]]
    for e in other:
        print(f"  node down: {e['kind']}: {e['text'][:300]}")
    ck(not other, f"node down: no errors but the refused connections to node 3 ({len(events)} events)")


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found (Debian package chromium): skipped")
        return 77
    node = node_with_playwright()
    find_brookd()
    ck = Check("console")
    t0 = time.monotonic()
    single_node(ck, node, chromium)
    print(f"one node: {time.monotonic() - t0:.1f}s")
    three_nodes(ck, node, chromium)
    print(f"total: {time.monotonic() - t0:.1f}s; screenshots in {artifacts_dir()}")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
