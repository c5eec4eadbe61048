#!/usr/bin/env python3
"""Checks that docs/protocol.md lists exactly the APIs and versions of g_apis (src/proto/api.c).

The table in the doc is the one whose header is: API | Key | Min | Max | Flexible-from.
Flexible-from is a version number, or "none" where api.c says NOFLEX / INT16_MAX.
API key numbers come from enum api_key in src/proto/api.h.

Usage: check_protocol_doc.py [REPO_ROOT]   (default: two levels above this script)
Exits 0 when they agree, 1 with one line per difference otherwise, 2 if a file cannot be
parsed.
"""
import os
import re
import sys

HEADER = ["API", "Key", "Min", "Max", "Flexible-from"]
NO_FLEX = {"NOFLEX", "INT16_MAX", "32767"}


class ParseError(Exception):
    pass


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def cell(s):
    """A table cell without markdown emphasis or code marks."""
    return re.sub(r"[*`]", "", s).strip()


def split_row(line):
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split("|")]


def parse_doc(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    tables = []
    for i, line in enumerate(lines):
        cells = split_row(line)
        if cells is None or [cell(c) for c in cells] != HEADER:
            continue
        rows = {}
        for no in range(i + 2, len(lines)):  # skip the |---| line
            r = split_row(lines[no])
            if r is None:
                break
            r = [cell(c) for c in r]
            if len(r) != len(HEADER):
                raise ParseError("%s:%d: expected %d cells, found %d"
                                 % (path, no + 1, len(HEADER), len(r)))
            name, key, vmin, vmax, flex = r
            try:
                key, vmin, vmax = int(key), int(vmin), int(vmax)
                flex = None if flex.lower() == "none" else int(flex)
            except ValueError:
                raise ParseError("%s:%d: Key, Min, Max must be numbers and Flexible-from a "
                                 "number or none: %s" % (path, no + 1, lines[no].strip()))
            if key in rows:
                raise ParseError("%s:%d: key %d listed twice" % (path, no + 1, key))
            rows[key] = (name, vmin, vmax, flex)
        tables.append(rows)
    if len(tables) != 1:
        raise ParseError("%s: expected one table with header | %s |, found %d"
                         % (path, " | ".join(HEADER), len(tables)))
    return tables[0]


def parse_code(api_c, api_h):
    with open(api_h, encoding="utf-8") as f:
        h = strip_c_comments(f.read())
    enum = re.search(r"enum\s+api_key\s*\{(.*?)\}", h, re.S)
    if not enum:
        raise ParseError("%s: enum api_key not found" % api_h)
    keys = {m.group(1): int(m.group(2))
            for m in re.finditer(r"\b(API_[A-Z0-9_]+)\s*=\s*(\d+)", enum.group(1))}
    with open(api_c, encoding="utf-8") as f:
        c = strip_c_comments(f.read())
    table = re.search(r"\bg_apis\s*\[\s*\]\s*=\s*\{(.*?)\};", c, re.S)
    if not table:
        raise ParseError("%s: g_apis[] not found" % api_c)
    body = table.group(1)
    row_re = re.compile(r"\{\s*(\w+)\s*,\s*\"([^\"]*)\"\s*,"
                        r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\w+)\s*\}")
    rows = {}
    for m in row_re.finditer(body):
        sym, name, vmin, vmax, flex = m.groups()
        key = int(sym) if sym.isdigit() else keys.get(sym)
        if key is None:
            raise ParseError("%s: %s is not in enum api_key" % (api_c, sym))
        if flex in NO_FLEX:
            flex = None
        elif flex.isdigit():
            flex = int(flex)
        else:
            raise ParseError("%s: flexible start %s of %s not understood" % (api_c, flex, name))
        if key in rows:
            raise ParseError("%s: key %d listed twice" % (api_c, key))
        rows[key] = (name, int(vmin), int(vmax), flex)
    leftover = row_re.sub("", body).replace(",", "").strip()
    if leftover:
        raise ParseError("%s: g_apis has rows this script cannot read: %.60s"
                         % (api_c, leftover))
    if not rows:
        raise ParseError("%s: g_apis is empty" % api_c)
    return rows


def fmt(row):
    name, vmin, vmax, flex = row
    return "%s %d..%d, flexible from %s" % (name, vmin, vmax, "none" if flex is None else flex)


def compare(doc, code):
    diffs = []
    for key in sorted(set(doc) | set(code)):
        if key not in doc:
            diffs.append("key %d (%s) is in g_apis but not in docs/protocol.md"
                         % (key, fmt(code[key])))
        elif key not in code:
            diffs.append("key %d (%s) is in docs/protocol.md but not in g_apis"
                         % (key, fmt(doc[key])))
        elif doc[key] != code[key]:
            diffs.append("key %d: docs/protocol.md says %s; g_apis says %s"
                         % (key, fmt(doc[key]), fmt(code[key])))
    return diffs


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_root = os.path.dirname(os.path.dirname(here))
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else default_root
    try:
        doc = parse_doc(os.path.join(root, "docs", "protocol.md"))
        code = parse_code(os.path.join(root, "src", "proto", "api.c"),
                          os.path.join(root, "src", "proto", "api.h"))
    except (OSError, ParseError) as e:
        print("check_protocol_doc: %s" % e)
        return 2
    diffs = compare(doc, code)
    for d in diffs:
        print(d)
    if diffs:
        print("check_protocol_doc: docs/protocol.md and src/proto/api.c disagree (%d)"
              % len(diffs))
        return 1
    print("check_protocol_doc: %d APIs agree" % len(code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
