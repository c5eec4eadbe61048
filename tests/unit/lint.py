#!/usr/bin/env python3
"""Brook's source lint, run as a unit test (docs: shared STYLE.md, "a lint that runs as a test").

Checks:
  1. every line of src/**/*.c and src/**/*.h is at most 100 columns;
  2. no banned function is called in src/ or tests/ C files (.c, .h): sprintf, vsprintf,
     strcpy, strcat, atoi, atol, atoll, gets. Comments and string literals are ignored, so
     a comment may name a banned function;
  3. every file in src/ opens with a comment that says what it is for.

Usage: lint.py [REPO_ROOT]   (default: two levels above this script)
Prints one "path:line: problem" per finding and exits 1 if there is any.
"""
import os
import re
import sys

MAX_COLUMNS = 100
BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "atoi", "atol", "atoll", "gets")
BANNED_RE = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(BANNED) + r")\s*\(")
SKIP_DIRS = {".git", "corpus"}


def c_files(root, top):
    base = os.path.join(root, top)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("build"))
        for name in sorted(filenames):
            if name.endswith((".c", ".h")):
                yield os.path.join(dirpath, name)


def strip_comments_and_strings(text):
    """Blanks out comments and string/char literals, keeping newlines (and so line numbers)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lint(root):
    problems = []

    def report(path, line, msg):
        problems.append("%s:%d: %s" % (os.path.relpath(path, root), line, msg))

    for path in c_files(root, "src"):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for no, line in enumerate(text.split("\n"), 1):
            cols = len(line.expandtabs(4))
            if cols > MAX_COLUMNS:
                report(path, no, "line is %d columns (max %d)" % (cols, MAX_COLUMNS))
        first = text.lstrip()
        if not (first.startswith("/*") or first.startswith("//")):
            report(path, 1, "file does not open with a comment saying what it is for")

    for top in ("src", "tests"):
        for path in c_files(root, top):
            with open(path, encoding="utf-8", errors="replace") as f:
                code = strip_comments_and_strings(f.read())
            for no, line in enumerate(code.split("\n"), 1):
                for m in BANNED_RE.finditer(line):
                    report(path, no, "banned function %s()" % m.group(1))
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_root = os.path.dirname(os.path.dirname(here))
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else default_root
    if not os.path.isdir(os.path.join(root, "src")):
        print("lint: no src/ under %s" % root, file=sys.stderr)
        return 2
    problems = lint(root)
    for p in problems:
        print(p)
    print("lint: %d problem%s" % (len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
