#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are valid inputs, encoded here independently of Brook's C code, following
shared/kafka/SCHEMAS.txt:
  fuzz_request: for each API of g_apis (src/proto/api.c), at its lowest and highest version
                and at each version that adds a field, both a "selector" input (4-byte row
                and version selector, then the body) and a whole request (header + body);
  fuzz_record:  RecordBatch v2 batches: plain, with headers, control markers, a compressed
                one, two batches back to back, and a torn one;
  fuzz_config:  properties files.
Run it again after changing the version table. Usage: gen_corpus.py [REPO_ROOT]
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
import check_protocol_doc  # noqa: E402  (reads g_apis)


# ---- primitive encoders (classic and compact) ----

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def boolean(v): return b"\x01" if v else b"\x00"


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint(v): return uvarint((v << 1) ^ (v >> 63))  # zigzag


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


# ---- CRC-32C and RecordBatch v2 ----

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record(offset_delta, key, value, headers=()):
    body = i8(0) + varint(offset_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + body


def batch(records, count=None, attributes=0, producer_id=-1, epoch=-1, base_seq=-1,
          ts=1700000000000, raw=None):
    payload = raw if raw is not None else b"".join(records)
    n = count if count is not None else len(records)
    after_crc = (i16(attributes) + i32(n - 1) + i64(ts) + i64(ts) + i64(producer_id)
                 + i16(epoch) + i32(base_seq) + i32(n) + payload)
    tail = i32(0) + i8(2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return i64(0) + i32(len(tail)) + tail


def control(kind, producer_id=1000, epoch=1, coordinator_epoch=0):
    key = i16(0) + i16(kind)
    value = i16(0) + i32(coordinator_epoch)
    return batch([record(0, key, value)], attributes=0x30, producer_id=producer_id,
                 epoch=epoch, base_seq=-1)


# ---- request bodies, per SCHEMAS.txt ----

def body_produce(v):
    records = batch([record(0, b"k", b"v"), record(1, None, b"value")])
    part = lambda p: i32(p) + nbytes(records if p == 0 else None)
    topic = lambda t: string(t) + array([0, 1], part)
    return string("txn" if v >= 7 else None) + i16(-1) + i32(30000) + array(["t"], topic)


# Flexible versions: compact strings and arrays, a tag buffer after each struct.
def flex_string(flex):
    return compact_string if flex else string


def flex_array(flex):
    if not flex:
        return array
    return lambda items, enc: (uvarint(0) if items is None
                               else uvarint(len(items) + 1) + b"".join(enc(x) for x in items))


def tags(flex):
    return uvarint(0) if flex else b""


TOPIC_ID = bytes(range(0x10, 0x20))  # a topic id (Kafka's UUID: 16 bytes)


def body_fetch(v):
    flex = v >= 12
    s, arr, tg = flex_string(flex), flex_array(flex), tags(flex)

    def part(p):
        out = i32(p)
        if v >= 9:
            out += i32(0)
        out += i64(10)
        if v >= 12:
            out += i32(-1)  # LastFetchedEpoch
        if v >= 5:
            out += i64(0)
        return out + i32(1 << 20) + tg
    topic_name = (lambda t: TOPIC_ID) if v >= 13 else s  # v13+: topics by id
    out = i32(-1) if v <= 14 else b""  # v15+: ReplicaId moved into ReplicaState
    out += i32(500) + i32(1) + i32(50 << 20) + i8(1 if v >= 4 else 0)
    if v >= 7:
        out += i32(0) + i32(-1)
    out += arr(["t"], lambda t: topic_name(t) + arr([0, 1], part) + tg)
    if v >= 7:
        out += arr(["old"], lambda t: topic_name(t) + arr([1, 2], i32) + tg)
    if v >= 11:
        out += s("rack-a")
    if flex:  # ClusterId (tag 0), and from v15 ReplicaState (tag 1)
        fields = [(0, compact_string("cluster"))]
        if v >= 15:
            fields.append((1, i32(2) + i64(7) + uvarint(0)))
        out += uvarint(len(fields)) + b"".join(uvarint(t) + uvarint(len(b)) + b
                                               for t, b in fields)
    return out


def body_listoffsets(v):
    out = i32(-1)
    if v >= 2:
        out += i8(1)
    parts = lambda t: string(t) + array([(0, -1), (1, -2)], lambda p: i32(p[0]) + i64(p[1]))
    return out + array(["t"], parts)


def body_metadata(v):
    flex = v >= 9
    s, arr, tg = flex_string(flex), flex_array(flex), tags(flex)
    if v >= 12:  # by id (null name) and by name
        out = arr([(TOPIC_ID, None), (bytes(16), "bc")], lambda t: t[0] + s(t[1]) + tg)
    elif v >= 10:
        out = arr(["a", "bc"], lambda t: bytes(16) + s(t) + tg)
    else:
        out = arr(["a", "bc"], lambda t: s(t) + tg)
    if v >= 4:
        out += boolean(True)
    if 8 <= v <= 10:
        out += boolean(False)  # IncludeClusterAuthorizedOperations
    if v >= 8:
        out += boolean(True)  # IncludeTopicAuthorizedOperations
    return out + tg


def body_apiversions(v):
    if v >= 3:
        return compact_string("librdkafka") + compact_string("2.0.2") + uvarint(0)
    return b""


def body_createtopics(v):
    flex = v >= 5
    s, arr, tg = flex_string(flex), flex_array(flex), tags(flex)
    assignment = lambda a: i32(a) + arr([1], i32) + tg
    config = lambda kv: s(kv[0]) + s(kv[1]) + tg
    topic = lambda t: (s(t) + i32(3) + i16(1) + arr([0], assignment)
                       + arr([("cleanup.policy", "compact"), ("x", None)], config) + tg)
    out = arr(["t", "u"], topic) + i32(5000)
    if v >= 1:
        out += boolean(False)
    return out + tg


def body_deletetopics(v):
    flex = v >= 4
    s, arr, tg = flex_string(flex), flex_array(flex), tags(flex)
    if v >= 6:  # by name and by id
        out = arr([("a", bytes(16)), (None, TOPIC_ID)], lambda t: s(t[0]) + t[1] + tg)
    else:
        out = arr(["a", "b"], s)
    return out + i32(1000) + tg


def body_deleterecords(v):
    parts = lambda t: string(t) + array([0], lambda p: i32(p) + i64(5))
    return array(["t"], parts) + i32(1000)


def body_describeconfigs(v):
    res = lambda r: i8(r[0]) + string(r[1]) + array(r[2], string)
    out = array([(2, "t", None), (4, "1", ["log.dirs"])], res)
    if v >= 1:
        out += boolean(True)
    return out


def body_alterconfigs(v):
    config = lambda kv: string(kv[0]) + string(kv[1])
    res = lambda r: i8(2) + string(r) + array([("retention.ms", "1000"), ("x", None)], config)
    return array(["t"], res) + boolean(False)


def body_createpartitions(v):
    topic = lambda t: string(t[0]) + i32(t[1]) + array(t[2], lambda a: array(a, i32))
    return array([("t", 6, None), ("u", 3, [[1], [1]])], topic) + i32(1000) + boolean(True)


def body_findcoordinator(v):
    return string("txn-1") + (i8(1) if v >= 1 else b"")


def body_initproducerid(v):
    flexible = v >= 2
    out = (compact_string if flexible else string)("tx") + i32(60000)
    if v >= 3:
        out += i64(1000) + i16(2)
    return out + uvarint(0) if flexible else out


TAG_GROUPS = 10000  # Brook's tag on an AddPartitionsToTxn v4+ transaction: [GroupId]


def body_addpartitionstotxn(v):
    flex = v >= 3
    s, arr, tg = flex_string(flex), flex_array(flex), tags(flex)
    topic = lambda t: s(t) + arr([0, 7], i32) + tg
    if v < 4:
        return s("tx") + i64(1000) + i16(2) + arr(["t", "u"], topic) + tg
    # v4+: a batch of transactions (KIP-890), the first with Brook's group tag.
    groups = arr(["grp-1", "grp-2"], s)
    group_tag = uvarint(1) + uvarint(TAG_GROUPS) + uvarint(len(groups)) + groups

    def txn(x):
        name, verify, with_groups = x
        return (s(name) + i64(1000) + i16(2) + boolean(verify) + arr(["t", "u"], topic)
                + (group_tag if with_groups else tg))
    return arr([("tx-1", False, True), ("tx-2", True, False)], txn) + tg


def body_endtxn(v):
    flex = v >= 3
    return flex_string(flex)("tx") + i64(1000) + i16(2) + boolean(True) + tags(flex)


# The transaction admin APIs (KIP-664, KIP-994) and DescribeCluster: flexible from v0.
def body_describecluster(v):
    out = boolean(True)  # IncludeClusterAuthorizedOperations
    if v >= 1:
        out += i8(1)  # EndpointType: brokers
    return out + tags(True)


def body_describeproducers(v):
    arr, tg = flex_array(True), tags(True)
    topic = lambda t: compact_string(t[0]) + arr(t[1], i32) + tg
    return arr([("t", [0, 1]), ("u", [])], topic) + tg


def body_describetransactions(v):
    return flex_array(True)(["tx-1", "tx-2"], compact_string) + tags(True)


def body_listtransactions(v):
    arr = flex_array(True)
    out = arr(["Ongoing", "PrepareCommit"], compact_string) + arr([1000, 1 << 40], i64)
    if v >= 1:
        out += i64(60000)  # DurationFilter (KIP-994)
    return out + tags(True)


def body_describelogdirs(v):
    flex = v >= 2
    arr, st, tg = flex_array(flex), flex_string(flex), tags(flex)
    topic = lambda t: st(t) + arr([0, 7], i32) + tg
    return arr(["t", "u"], topic) + tg


def body_incrementalalterconfigs(v):
    flex = v >= 1
    arr, st, tg = flex_array(flex), flex_string(flex), tags(flex)
    config = lambda c: st(c[0]) + i8(c[1]) + (st(c[2]) if c[2] is not None else
                                             (uvarint(0) if flex else i16(-1))) + tg
    res = lambda r: i8(r[0]) + st(r[1]) + arr(r[2], config) + tg
    ops = [("retention.ms", 0, "1000"), ("segment.ms", 1, None), ("cleanup.policy", 2, "delete")]
    return arr([(2, "t", ops), (4, "1", [])], res) + boolean(True) + tg


# KIP-848 consumer groups: flexible from v0.
def body_consumergroupheartbeat(v):
    arr, s, tg = flex_array(True), compact_string, tags(True)
    owned = lambda t: t[0] + arr(t[1], i32) + tg  # TopicId, Partitions
    out = s("grp") + s("m-1") + i32(5) + s("inst-1") + s(None) + i32(45000)
    out += arr(["t", "u"], s)  # SubscribedTopicNames
    if v >= 1:
        out += s("^t.*")  # SubscribedTopicRegex
    out += s("uniform") + arr([(TOPIC_ID, [0, 2]), (bytes(16), [])], owned)
    return out + tg


def body_consumergroupdescribe(v):
    return flex_array(True)(["g1", "g2"], compact_string) + boolean(True) + tags(True)


BODIES = {
    "FindCoordinator": (body_findcoordinator, [1]),
    "InitProducerId": (body_initproducerid, [1, 2, 3]),
    "AddPartitionsToTxn": (body_addpartitionstotxn, [3, 4]),
    "EndTxn": (body_endtxn, [3]),
    "Produce": (body_produce, [5]),
    "Fetch": (body_fetch, [5, 7, 9, 12, 13, 15]),
    "ListOffsets": (body_listoffsets, [2]),
    "Metadata": (body_metadata, [1, 4, 8, 9, 10, 11]),
    "ApiVersions": (body_apiversions, []),
    "CreateTopics": (body_createtopics, [1, 5]),
    "DeleteTopics": (body_deletetopics, [4, 5]),
    "DeleteRecords": (body_deleterecords, []),
    "DescribeConfigs": (body_describeconfigs, []),
    "AlterConfigs": (body_alterconfigs, []),
    "DescribeLogDirs": (body_describelogdirs, [1, 2, 3]),
    "IncrementalAlterConfigs": (body_incrementalalterconfigs, []),
    "CreatePartitions": (body_createpartitions, []),
    "DescribeCluster": (body_describecluster, []),
    "DescribeProducers": (body_describeproducers, []),
    "DescribeTransactions": (body_describetransactions, []),
    "ListTransactions": (body_listtransactions, []),
    "ConsumerGroupHeartbeat": (body_consumergroupheartbeat, [1]),
    "ConsumerGroupDescribe": (body_consumergroupdescribe, []),
}


def header(key, v, flexible):
    out = i16(key) + i16(v) + i32(7) + string("fuzz")
    return out + uvarint(0) if flexible else out


CONFIGS = {
    "basic": "# broker\nport=9092\nretention.ms: 604800000\nflag true\nname = brook\n",
    "escapes": "na\\=me = a\\tb\\nc\\\\d\\u0041\npolicy:compact\r\n",
    "continuation": "name = first,\\\n     second,\\\r\n  third\n! comment\nport=0\n",
    "errors": "port=70000\nflag=maybe\npolicy=both\nunknown.key=1\n\n   \n",
    "numbers": "retention.ms=-9223372036854775808\nport=+80\nport= 0x10\n",
}


def write(dirpath, name, data):
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(data)


def main():
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "..", "..")
    rows = check_protocol_doc.parse_code(os.path.join(root, "src", "proto", "api.c"),
                                         os.path.join(root, "src", "proto", "api.h"))
    keys = sorted(rows)
    corpus = os.path.join(HERE, "corpus")

    out = os.path.join(corpus, "fuzz_request")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for index, key in enumerate(keys):
        name, vmin, vmax, flex = rows[key]
        if name not in BODIES:
            print("gen_corpus: no seed encoder for %s; add one to BODIES" % name)
            continue
        enc, extra = BODIES[name]
        for v in sorted({vmin, vmax} | {x for x in extra if vmin <= x <= vmax}):
            body = enc(v)
            selector = index + len(keys) * (v - vmin)
            write(out, "%s_v%d_body" % (name, v), struct.pack(">I", selector) + body)
            flexible = flex is not None and v >= flex
            write(out, "%s_v%d_request" % (name, v), header(key, v, flexible) + body)

    out = os.path.join(corpus, "fuzz_record")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    one = batch([record(0, b"key", b"value")])
    three = batch([record(0, None, b"a" * 200, [(b"h", b"v"), (b"n", None)]),
                   record(1, b"", b""), record(2, b"k", None)])
    write(out, "one_record", one)
    write(out, "three_records_headers", three)
    write(out, "control_abort", control(0))
    write(out, "control_commit", control(1, coordinator_epoch=5))
    write(out, "gzip_opaque", batch(None, count=4, attributes=1, raw=b"\x1f\x8b" + b"\x00" * 30))
    write(out, "idempotent", batch([record(0, b"k", b"v")], producer_id=42, epoch=0, base_seq=7))
    write(out, "two_batches", one + three)
    write(out, "torn_tail", one + three[: len(three) // 2])

    out = os.path.join(corpus, "fuzz_config")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, text in CONFIGS.items():
        write(out, name, text.encode())

    for target in sorted(os.listdir(corpus)):
        print("%s: %d seeds" % (target, len(os.listdir(os.path.join(corpus, target)))))


if __name__ == "__main__":
    main()
