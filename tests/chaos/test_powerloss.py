#!/usr/bin/python3
"""The power-loss shim (powerloss.c) and nemesis.py's power_cut on a child process: a file
fsynced and then extended keeps only its synced part, a file never fsynced is emptied, a
file that existed before keeps what it had, a file written, fsynced and renamed into place
keeps everything under its new name, an unlinked file is left alone; a file fsynced with a
run of zeros and then overwritten in place (pwrite, as a segment's append into its zeros
written ahead) keeps only what precedes the lowest unsynced overwrite, and one whose
overwrite was fsynced keeps all of it. The child is python3
itself under LD_PRELOAD (its open, fsync and rename are libc's). BROOK_POWERLOSS_LIB names
the shim; exit 77 (skipped) without it."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from nemesis import power_cut  # noqa: E402

CHILD = r"""
import os, sys
d = sys.argv[1]
def write(name, data, sync):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.close(fd)
write("synced", b"a" * 100, True)
write("synced", b"b" * 50, False)
write("never", b"c" * 30, False)
write("old", b"d" * 7, False)
write("tmp", b"e" * 40, True)
os.rename(os.path.join(d, "tmp"), os.path.join(d, "renamed"))
write("gone", b"f" * 10, False)
os.unlink(os.path.join(d, "gone"))
def zeros_then(name, sync_after):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"g" * 20 + bytes(80), 0)
    os.fdatasync(fd)
    os.pwrite(fd, b"h" * 30, 20)
    if sync_after:
        os.fdatasync(fd)
    os.pwrite(fd, b"i" * 10, 95)  # below the durable size too, but not the lowest
    os.close(fd)
zeros_then("overwritten", False)
zeros_then("overwritten-synced", True)
"""


class FakeNode:
    def __init__(self, state):
        self.extra_env = {"BROOK_POWERLOSS_STATE": state}


def main():
    lib = os.environ.get("BROOK_POWERLOSS_LIB", "")
    if not os.path.exists(lib):
        print("test_powerloss: no shim (BROOK_POWERLOSS_LIB); skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="powerloss-") as d:
        with open(os.path.join(d, "old"), "wb") as f:  # there before: durable
            f.write(b"x" * 5)
        state = os.path.join(d, "state")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(lib), BROOK_POWERLOSS_STATE=state)
        subprocess.run([sys.executable, "-c", CHILD, d], env=env, check=True, timeout=60)
        dropped = power_cut(FakeNode(state))
        sizes = {n: os.path.getsize(os.path.join(d, n))
                 for n in ("synced", "never", "old", "renamed", "overwritten",
                           "overwritten-synced")}
        want = {"synced": 100, "never": 0, "old": 5, "renamed": 40, "overwritten": 20,
                "overwritten-synced": 95}
        if sizes != want or dropped != 50 + 30 + 7 + 85 + 10:
            raise AssertionError(f"after the cut: {sizes} (want {want}), dropped {dropped}")
        with open(os.path.join(d, "overwritten-synced"), "rb") as f:
            kept = f.read()
        if kept != b"g" * 20 + b"h" * 30 + bytes(45):
            raise AssertionError(f"overwritten-synced holds {kept!r}")
    print("test_powerloss: OK (unsynced tails and overwrites dropped, synced data, overwrites "
          "and renames kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
