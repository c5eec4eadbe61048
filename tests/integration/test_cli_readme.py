#!/usr/bin/python3
"""The README's quick start, as written: the shell block after "Try it from another
terminal" is taken from README.md and run line by line by bash against a fresh brookd
(`build/brook` replaced by the CLI under test, which finds the broker through
$BROOK_BOOTSTRAP as the README's commands name none), and the console URL the README gives
is fetched from the broker's admin listener (its port swapped for the test's).  The topic
is created with 3 partitions, both records come back as key=value with partition/offset,
`topic describe` shows the 3 partitions, and the console answers with its HTML page."""

import http.client
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from brook_harness import Broker, Check, find_cli, run_main  # noqa: E402

README = os.path.join(HERE, "..", "..", "README.md")


def quick_start():
    """(commands, console URL) from the README."""
    text = open(README, encoding="utf-8").read()
    m = re.search(r"Try it from another\s+terminal.*?```sh\n(.*?)```\n\n(.*?)\n\n", text, re.S)
    if not m:
        raise AssertionError("README: no quick-start block after 'Try it from another terminal'")
    cmds = [ln for ln in m.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    url = re.search(r"<(http://127\.0\.0\.1:\d+/)>", m.group(2))
    return cmds, url.group(1) if url else None


def main():
    ck = Check("cli_readme")
    cmds, url = quick_start()
    ck(len(cmds) >= 3 and any("topic create" in c for c in cmds), f"quick start: {cmds}")
    ck(url is not None, "the README gives the console URL")
    with Broker() as b:
        env = dict(os.environ, BROOK_BOOTSTRAP=b.bootstrap, BROOK_ADMIN=b.admin_address())
        outs = []
        for c in cmds:
            line = c.replace("build/brook", find_cli())
            r = subprocess.run(["bash", "-c", line], capture_output=True, timeout=60, env=env)
            print(f"$ {c}\n{r.stdout.decode()}{r.stderr.decode()}", flush=True)
            ck.eq(r.returncode, 0, f"README command exits 0: {c}")
            outs.append(r.stdout.decode())
        consumed = next(o for c, o in zip(cmds, outs) if " consume " in c)
        got = sorted(re.sub(r" @\d+/\d+$", "", ln) for ln in consumed.splitlines())
        ck.eq(got, ["k1=hello", "k2=world"], "the records come back as the README shows")
        ck(all(re.search(r" @[0-2]/\d+$", ln) for ln in consumed.splitlines()),
           f"with partition/offset: {consumed!r}")
        described = next(o for c, o in zip(cmds, outs) if "topic describe" in c)
        rows = re.findall(r"(?m)^\s*([0-2])\s+1\s+1\s+1\s", described)  # partition, leader, ...
        ck.eq(sorted(rows), ["0", "1", "2"], f"describe shows the 3 partitions: {described!r}")
        host, port = b.admin_address().rsplit(":", 1)
        path = "/" + url.split("/", 3)[3]
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        ck.eq(resp.status, 200, f"GET {path} on the admin listener")
        ck(resp.getheader("Content-Type", "").startswith("text/html") and b"<html" in body.lower(),
           "the console's page is HTML")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
