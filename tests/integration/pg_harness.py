#!/usr/bin/python3
"""A real PostgreSQL server for tests: initdb in a temp dir, started on a free loopback
port, stopped and removed at the end. Standard library only (queries go through psql).

    from pg_harness import Postgres
    with Postgres(max_prepared_transactions=16) as pg:
        pg.sql("CREATE TABLE t (k text PRIMARY KEY)")
        rows = pg.rows("SELECT k FROM t")        # list of tuples of strings
        print(pg.conninfo)                       # "host=127.0.0.1 port=P user=postgres ..."

The binaries come from /usr/lib/postgresql/<newest>/bin (Debian's postgresql package).
initdb refuses to run as root, so as root the server runs as the `postgres` OS user
(created by that package). The server gets PR_SET_PDEATHSIG, so it never outlives the test.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from brook_harness import _pdeathsig


def pg_bindir():
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(cands[-1]) if cands else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, max_prepared_transactions=16, keep_tmp=None):
        self.bindir = pg_bindir()
        if not self.bindir:
            raise RuntimeError("PostgreSQL not found under /usr/lib/postgresql "
                               "(scripts/install-deps.sh installs it)")
        self.mpt = max_prepared_transactions
        self.keep = os.environ.get("BROOK_KEEP_TMP") == "1" if keep_tmp is None else keep_tmp
        self.tmp = tempfile.mkdtemp(prefix="brook-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.log = os.path.join(self.tmp, "postgres.log")
        self.port = None
        self.proc = None
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
            self._ids = (pw.pw_uid, pw.pw_gid)

    def _as_owner(self):
        def pre():
            _pdeathsig()
            if self.user:
                os.setgid(self._ids[1])
                os.setuid(self._ids[0])
        return pre

    def start(self, timeout=60):
        r = subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U",
                            "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
                           capture_output=True, timeout=120, preexec_fn=self._as_owner())
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout.decode() + r.stderr.decode())
        self.port = free_port()
        return self._run(timeout)

    def kill_restart(self, down_s=0.0, timeout=60):
        """SIGKILLs the postmaster (its backends die with it: crash recovery at the next
        start; prepared transactions survive) and starts it again on the same port."""
        self.proc.kill()
        self.proc.wait(30)
        deadline = time.monotonic() + 30
        while os.path.exists(os.path.join(self.data, "postmaster.pid")):
            # the backends exit once they notice the postmaster is gone
            r = subprocess.run(["pgrep", "-f", f"postgres.*{self.data}"], capture_output=True)
            if r.returncode != 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(down_s)
        return self._run(timeout)

    def _run(self, timeout):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "postgres"), "-D", self.data, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.tmp,
             "-c", f"max_prepared_transactions={self.mpt}", "-c", "fsync=on"],
            stdout=logf, stderr=subprocess.STDOUT, preexec_fn=self._as_owner())
        logf.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.log_tail())
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-h", "127.0.0.1",
                                "-p", str(self.port), "-U", "postgres"], capture_output=True)
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("postgres not ready in time: " + self.log_tail())
            time.sleep(0.1)
        return self

    @property
    def conninfo(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def psql(self, sql, timeout=30):
        return subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                               "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                               str(self.port), "-U", "postgres", "-d", "postgres", "-c", sql],
                              capture_output=True, timeout=timeout)

    def sql(self, sql):
        r = self.psql(sql)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr.decode()}")
        return r.stdout.decode()

    def rows(self, sql):
        out = self.sql(sql)
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def log_tail(self, n=30):
        try:
            with open(self.log, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def close(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("postgres log tail:\n" + self.log_tail())
        self.close()
