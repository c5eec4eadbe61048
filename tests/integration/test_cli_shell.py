#!/usr/bin/python3
"""The `brook` CLI's own surface, no broker needed: `brook --version` and `brook version`
print the project version (from CMake), `brook help` lists every command, `brook help all`
also prints each command's flags, an unknown command exits 2 naming it, and the bash
completion script (`brook completion bash`, run by a real bash) completes commands,
subcommands and flags from the binary's own help: "to" -> topic, "topic " -> its five
subcommands, "txn list --" -> its flags, "group describe --b" -> --bootstrap."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from brook_harness import Check, find_cli, run_checked, run_main  # noqa: E402


def main():
    ck = Check("cli_shell")
    cli = find_cli()
    r = run_checked([cli, "--version"], 10)
    ck(r.returncode == 0 and re.fullmatch(rb"brook \d+\.\d+\.\d+\n", r.stdout),
       f"--version: {r.returncode} {r.stdout!r}")
    ck.eq(run_checked([cli, "version"], 10).stdout, r.stdout, "`version` says the same")
    r = run_checked([cli, "help"], 10)
    ck.eq(r.returncode, 0, "help exits 0")
    for word in ("topic", "produce", "consume", "group", "config", "txn", "user", "acl",
                 "cluster", "bench", "completion"):
        ck(re.search(rb"^  " + word.encode() + rb" ", r.stdout, re.M), f"help lists {word}")
    r = run_checked([cli, "help", "all"], 10)
    for flag in (b"--bootstrap", b"--partitions", b"--min-age-ms", b"--admin", b"--client-prop"):
        ck(flag in r.stdout, f"help all shows {flag!r}")
    r = run_checked([cli, "no-such-command"], 10)
    ck(r.returncode == 2 and b"unknown command 'no-such-command'" in r.stderr,
       f"unknown command: {r.returncode} {r.stderr!r}")

    script = run_checked([cli, "completion", "bash"], 10).stdout.decode()
    ck("complete -F _brook brook" in script, "completion script registers _brook")
    probe = (script + "\n"
             't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _brook; '
             'echo "${COMPREPLY[*]}"; }\n'
             "t brook to\nt brook topic ''\nt brook txn list --\nt brook group describe --b\n")
    env = dict(os.environ, PATH=os.path.dirname(cli) + ":" + os.environ.get("PATH", ""))
    out = subprocess.run(["bash", "-c", probe], capture_output=True, timeout=60, env=env)
    lines = out.stdout.decode().splitlines()
    ck.eq(len(lines), 4, f"four completions ({out.stderr!r})")
    ck.eq(lines[0], "topic", "'to' completes to topic")
    ck.eq(sorted(lines[1].split()), ["alter", "create", "delete", "describe", "list"],
          "topic's subcommands")
    ck({"--bootstrap", "--state", "--json"} <= set(lines[2].split()), f"txn list flags: {lines[2]}")
    ck.eq(lines[3], "--bootstrap", "'--b' completes to --bootstrap")
    r = run_checked([cli, "completion", "zsh"], 10)
    ck.eq(r.returncode, 2, "completion for another shell is a usage error")
    ck.done()
    return 0


if __name__ == "__main__":
    run_main(main)
