#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are valid inputs, encoded here independently of Brook's C code, from the request
schemas in SCHEMAS below (transcribed from Kafka's message JSON,
clients/src/main/resources/common/message/<Name>Request.json, plus Brook's own tags and
APIs: docs/protocol.md, docs/cluster.md):
  fuzz_request: for every row of g_apis (src/proto/api.c) and every version in its range,
                a "selector" input <Api>_v<N>_body (4 bytes that select the row and the
                version the way fuzz_request.c does, then the body) and a whole request
                <Api>_v<N>_request (header + body); plus a few cut ones,
                <Api>_v<N>_<body|request>_invalid_cut, that must not decode;
  fuzz_record:  RecordBatch v2 batches: plain, with headers, control markers, a compressed
                one, two batches back to back, and a torn one;
  fuzz_config:  properties files;
  fuzz_http:    admin listener requests (a first byte 0: the listener's own limits), the
                routes of src/broker/admin.h, with and without bodies and the headers the
                parser keeps.
The selector depends on the position of the row in g_apis, so run this again whenever the
table changes (a row or a version added): tests/unit/test_fuzz_request_seeds.c fails until
then. An API of g_apis without a schema here is an error. Usage: gen_corpus.py [REPO_ROOT]
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


# ---- request schemas ----
#
# A schema is a list of fields, in wire order, as in Kafka's message JSON:
#   f(name, type, versions, null=versions, tag=number, fields=[...], value=...)
# type: int8, int16, int32, int64, bool, string, bytes, records, uuid, []int32, []int64,
# []string, "[]" (an array of structs: fields) or "{}" (one struct: fields). versions,
# null (nullableVersions) are "N", "N+" or "N-M". A field with a tag is a tagged field of
# its struct (flexible versions only), written when its value is not None. value (or a
# function of the version) replaces the default of the type; an array of structs takes a
# list of dicts, each naming the values of that element that differ from the fields'.
# Every struct of a flexible version ends with its tag buffer, the body included.

MISSING = object()


class Field:
    def __init__(self, name, type_, versions, null=None, tag=None, fields=None, value=MISSING):
        self.name, self.type, self.versions = name, type_, versions
        self.null, self.tag, self.fields, self.value = null, tag, fields, value


f = Field


def in_range(v, spec):
    if spec is None or spec == "none":
        return False
    if spec.endswith("+"):
        return v >= int(spec[:-1])
    lo, _, hi = spec.partition("-")
    return int(lo) <= v <= int(hi or lo)


def kebab(name):
    out = "".join("-" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("-")


def default_value(fd):
    return {"int8": 1, "int16": 1, "int32": 100, "int64": 1000, "bool": True,
            "string": kebab(fd.name), "bytes": b"\x00\x01\x02", "records": RECORDS,
            "uuid": TOPIC_ID, "[]int32": [0, 1], "[]int64": [1000, 1 << 40],
            "[]string": ["a", "bc"], "[]": [{}, {}], "{}": {}}[fd.type]


class SchemaError(Exception):
    pass


def enc_value(fd, val, v, flex, where):
    s = compact_string if flex else string
    if val is None:
        if fd.type == "records" or fd.type == "bytes":
            return uvarint(0) if flex else i32(-1)
        if fd.type == "string":
            return s(None)
        if fd.type.startswith("["):
            return uvarint(0) if flex else i32(-1)
        raise SchemaError("%s: a %s cannot be null" % (where, fd.type))
    t = fd.type
    if t in ("int8", "int16", "int32", "int64"):
        return {"int8": i8, "int16": i16, "int32": i32, "int64": i64}[t](val)
    if t == "bool":
        return boolean(val)
    if t == "string":
        return s(val)
    if t in ("bytes", "records"):
        return (uvarint(len(val) + 1) if flex else i32(len(val))) + val
    if t == "uuid":
        if len(val) != 16:
            raise SchemaError("%s: a uuid is 16 bytes" % where)
        return val
    if t == "{}":
        return enc_struct(fd.fields, val, v, flex, where)
    if t.startswith("[]"):
        n = uvarint(len(val) + 1) if flex else i32(len(val))
        if t == "[]":
            return n + b"".join(enc_struct(fd.fields, e, v, flex, "%s[%d]" % (where, i))
                                for i, e in enumerate(val))
        elem = Field(fd.name, t[2:], fd.versions)
        return n + b"".join(enc_value(elem, e, v, flex, where) for e in val)
    raise SchemaError("%s: unknown type %s" % (where, t))


def enc_struct(fields, vals, v, flex, where):
    """A struct at version v: its fields present at v, then (flex) its tag buffer."""
    out, tagged = b"", []
    known = set()
    for fd in fields:
        known.add(fd.name)
        if not in_range(v, fd.versions):
            continue
        name = "%s.%s" % (where, fd.name)
        if fd.name in vals:
            val = vals[fd.name]
        elif fd.value is not MISSING:
            val = fd.value
        elif fd.tag is not None:
            val = None  # a tagged field is left out unless given
        else:
            val = default_value(fd)
        if callable(val):
            val = val(v)
        if fd.tag is not None:
            if flex and val is not None:
                tagged.append((fd.tag, enc_value(fd, val, v, flex, name)))
            continue
        if val is None and not in_range(v, fd.null):
            raise SchemaError("%s (v%d) is not nullable" % (name, v))
        out += enc_value(fd, val, v, flex, name)
    unknown = set(vals) - known
    if unknown:
        raise SchemaError("%s: no field %s" % (where, ", ".join(sorted(unknown))))
    if flex:
        tagged.sort()
        out += uvarint(len(tagged)) + b"".join(uvarint(t) + uvarint(len(b)) + b
                                               for t, b in tagged)
    return out


TOPIC_ID = bytes(range(0x10, 0x20))  # a topic id (Kafka's UUID: 16 bytes)
ZERO_ID = bytes(16)
RECORDS = batch([record(0, b"k", b"v"), record(1, None, b"value")])

# Partition lists shared by several schemas.
TOPIC_PARTS = [{"Name": "t", "Partitions": [0, 7]}, {"Name": "u", "Partitions": []}]

SCHEMAS = {
    # Kafka 4.1: v12 is v11 (transactions v2); v13 names topics by id (KIP-516).
    "Produce": [
        f("TransactionalId", "string", "3+", null="3+", value=lambda v: "txn" if v >= 7 else None),
        f("Acks", "int16", "0+", value=-1),
        f("TimeoutMs", "int32", "0+", value=30000),
        f("TopicData", "[]", "0+", fields=[
            f("Name", "string", "0-12", value="t"),
            f("TopicId", "uuid", "13+"),
            f("PartitionData", "[]", "0+", value=[{"Index": 0}, {"Index": 1, "Records": None}],
              fields=[
                f("Index", "int32", "0+"),
                f("Records", "records", "0+", null="0+"),
            ]),
        ], value=[{}]),
    ],
    "Fetch": [
        f("ClusterId", "string", "12+", null="12+", tag=0, value="cluster"),
        f("ReplicaId", "int32", "0-14", value=-1),
        f("ReplicaState", "{}", "15+", tag=1, value={}, fields=[
            f("ReplicaId", "int32", "15+", value=2),
            f("ReplicaEpoch", "int64", "15+", value=7),
        ]),
        f("MaxWaitMs", "int32", "0+", value=500),
        f("MinBytes", "int32", "0+", value=1),
        f("MaxBytes", "int32", "3+", value=50 << 20),
        f("IsolationLevel", "int8", "4+", value=1),
        f("SessionId", "int32", "7+", value=0),
        f("SessionEpoch", "int32", "7+", value=-1),
        f("Topics", "[]", "0+", value=[{}], fields=[
            f("Topic", "string", "0-12", value="t"),
            f("TopicId", "uuid", "13+"),
            f("Partitions", "[]", "0+", value=[{"Partition": 0}, {"Partition": 1}], fields=[
                f("Partition", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "9+", value=0),
                f("FetchOffset", "int64", "0+", value=10),
                f("LastFetchedEpoch", "int32", "12+", value=-1),
                f("LogStartOffset", "int64", "5+", value=0),
                f("PartitionMaxBytes", "int32", "0+", value=1 << 20),
                f("ReplicaDirectoryId", "uuid", "17+", tag=0, value=ZERO_ID),
                f("HighWatermark", "int64", "18+", tag=1, value=42),  # Kafka 4.1 (KIP-1166)
            ]),
        ]),
        f("ForgottenTopicsData", "[]", "7+", value=[{}], fields=[
            f("Topic", "string", "7-12", value="old"),
            f("TopicId", "uuid", "13+", value=ZERO_ID),
            f("Partitions", "[]int32", "7+", value=[1, 2]),
        ]),
        f("RackId", "string", "11+", value="rack-a"),
    ],
    "ListOffsets": [
        f("ReplicaId", "int32", "0+", value=-1),
        f("IsolationLevel", "int8", "2+", value=1),
        f("Topics", "[]", "0+", value=[{}], fields=[
            f("Name", "string", "0+", value="t"),
            f("Partitions", "[]", "0+", value=[{"PartitionIndex": 0, "Timestamp": -1},
                                                {"PartitionIndex": 1, "Timestamp": -2}],
              fields=[
                f("PartitionIndex", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "4+", value=-1),
                f("Timestamp", "int64", "0+"),
                f("MaxNumOffsets", "int32", "0"),
            ]),
        ]),
        f("TimeoutMs", "int32", "10+", value=30000),
    ],
    # Kafka 4.1: v13's request is v12's (its answer adds ErrorCode, KIP-1102).
    "Metadata": [
        f("Topics", "[]", "0+", null="1+", fields=[
            f("TopicId", "uuid", "10+", value=ZERO_ID),
            f("Name", "string", "0+", null="10+"),
        ], value=lambda v: ([{"TopicId": TOPIC_ID, "Name": None}, {"Name": "bc"}] if v >= 12
                            else [{"Name": "a"}, {"Name": "bc"}])),
        f("AllowAutoTopicCreation", "bool", "4+", value=True),
        f("IncludeClusterAuthorizedOperations", "bool", "8-10", value=False),
        f("IncludeTopicAuthorizedOperations", "bool", "8+", value=True),
    ],
    "OffsetCommit": [
        f("GroupId", "string", "0+", value="grp"),
        f("GenerationIdOrMemberEpoch", "int32", "1+", value=3),
        f("MemberId", "string", "1+", value="m-1"),
        f("GroupInstanceId", "string", "7+", null="7+", value=lambda v: None if v == 7 else "i-1"),
        f("RetentionTimeMs", "int64", "2-4", value=-1),
        f("Topics", "[]", "0+", value=[{"Name": "t"}], fields=[
            f("Name", "string", "0+"),
            f("Partitions", "[]", "0+", value=[
                {"PartitionIndex": 0, "CommittedOffset": 42},
                {"PartitionIndex": 1, "CommittedOffset": 43, "CommittedMetadata": None}],
              fields=[
                f("PartitionIndex", "int32", "0+"),
                f("CommittedOffset", "int64", "0+"),
                f("CommittedLeaderEpoch", "int32", "6+", value=1),
                f("CommitTimestamp", "int64", "1", value=-1),
                f("CommittedMetadata", "string", "0+", null="0+", value="meta"),
            ]),
        ]),
    ],
    "OffsetFetch": [
        f("GroupId", "string", "0-7", value="grp"),
        f("Topics", "[]", "0-7", null="2-7", fields=[
            f("Name", "string", "0-7", value="t"),
            f("PartitionIndexes", "[]int32", "0-7"),
        ], value=lambda v: None if v == 3 else [{}]),  # null: every topic (v2+)
        f("Groups", "[]", "8+", fields=[
            f("GroupId", "string", "8+"),
            f("MemberId", "string", "9+", null="9+"),
            f("MemberEpoch", "int32", "9+"),
            f("Topics", "[]", "8+", null="8+", fields=[
                f("Name", "string", "8+", value="t"),
                f("PartitionIndexes", "[]int32", "8+"),
            ]),
        ], value=[{"GroupId": "g1", "MemberId": "m-1", "MemberEpoch": 5, "Topics": [{}]},
                  {"GroupId": "g2", "MemberId": None, "MemberEpoch": -1, "Topics": None}]),
        f("RequireStable", "bool", "7+"),
    ],
    "FindCoordinator": [
        f("Key", "string", "0-3", value="txn-1"),
        f("KeyType", "int8", "1+", value=1),
        f("CoordinatorKeys", "[]string", "4+", value=["txn-1", "txn-2"]),
    ],
    "JoinGroup": [
        f("GroupId", "string", "0+", value="grp"),
        f("SessionTimeoutMs", "int32", "0+", value=45000),
        f("RebalanceTimeoutMs", "int32", "1+", value=300000),
        f("MemberId", "string", "0+", value=""),
        f("GroupInstanceId", "string", "5+", null="5+", value=lambda v: None if v == 5 else "i-1"),
        f("ProtocolType", "string", "0+", value="consumer"),
        f("Protocols", "[]", "0+", value=[{"Name": "range"},
                                          {"Name": "roundrobin", "Metadata": b""}], fields=[
            f("Name", "string", "0+"),
            f("Metadata", "bytes", "0+", value=i16(3) + array(["t"], string) + nbytes(None)),
        ]),
        f("Reason", "string", "8+", null="8+", value="rejoin"),
    ],
    "Heartbeat": [
        f("GroupId", "string", "0+", value="grp"),
        f("GenerationId", "int32", "0+", value=3),
        f("MemberId", "string", "0+", value="m-1"),
        f("GroupInstanceId", "string", "3+", null="3+", value=None),
    ],
    "LeaveGroup": [
        f("GroupId", "string", "0+", value="grp"),
        f("MemberId", "string", "0-2", value="m-1"),
        f("Members", "[]", "3+", value=[{"MemberId": "m-1", "GroupInstanceId": None},
                                        {"MemberId": "", "GroupInstanceId": "i-2"}], fields=[
            f("MemberId", "string", "3+"),
            f("GroupInstanceId", "string", "3+", null="3+"),
            f("Reason", "string", "5+", null="5+", value="bye"),
        ]),
    ],
    "SyncGroup": [
        f("GroupId", "string", "0+", value="grp"),
        f("GenerationId", "int32", "0+", value=3),
        f("MemberId", "string", "0+", value="m-1"),
        f("GroupInstanceId", "string", "3+", null="3+", value=None),
        f("ProtocolType", "string", "5+", null="5+", value="consumer"),
        f("ProtocolName", "string", "5+", null="5+", value="range"),
        f("Assignments", "[]", "0+", value=[{"MemberId": "m-1"},
                                            {"MemberId": "m-2", "Assignment": b""}], fields=[
            f("MemberId", "string", "0+"),
            f("Assignment", "bytes", "0+",
              value=i16(3) + array([("t", [0, 1])], lambda t: string(t[0]) + array(t[1], i32))
              + nbytes(None)),
        ]),
    ],
    "DescribeGroups": [
        f("Groups", "[]string", "0+", value=["g1", "g2"]),
        f("IncludeAuthorizedOperations", "bool", "3+"),
    ],
    "ListGroups": [
        f("StatesFilter", "[]string", "4+", value=["Stable", "Empty"]),
        f("TypesFilter", "[]string", "5+", value=["consumer", "classic"]),
    ],
    "ApiVersions": [
        f("ClientSoftwareName", "string", "3+", value="librdkafka"),
        f("ClientSoftwareVersion", "string", "3+", value="2.0.2"),
    ],
    "CreateTopics": [
        f("Topics", "[]", "0+", value=[{"Name": "t"}, {
            "Name": "u", "NumPartitions": -1, "ReplicationFactor": -1, "Assignments": [],
            "Configs": []}], fields=[
            f("Name", "string", "0+"),
            f("NumPartitions", "int32", "0+", value=3),
            f("ReplicationFactor", "int16", "0+", value=1),
            f("Assignments", "[]", "0+", value=[{}], fields=[
                f("PartitionIndex", "int32", "0+", value=0),
                f("BrokerIds", "[]int32", "0+", value=[1]),
            ]),
            f("Configs", "[]", "0+", value=[{"Name": "cleanup.policy", "Value": "compact"},
                                            {"Name": "x", "Value": None}], fields=[
                f("Name", "string", "0+"),
                f("Value", "string", "0+", null="0+"),
            ]),
        ]),
        f("timeoutMs", "int32", "0+", value=5000),
        f("validateOnly", "bool", "1+", value=False),
    ],
    "DeleteTopics": [
        f("Topics", "[]", "6+", value=[{"Name": "a", "TopicId": ZERO_ID},
                                       {"Name": None, "TopicId": TOPIC_ID}], fields=[
            f("Name", "string", "6+", null="6+"),
            f("TopicId", "uuid", "6+"),
        ]),
        f("TopicNames", "[]string", "0-5", value=["a", "b"]),
        f("TimeoutMs", "int32", "0+", value=1000),
    ],
    "DeleteRecords": [
        f("Topics", "[]", "0+", value=[{}], fields=[
            f("Name", "string", "0+", value="t"),
            f("Partitions", "[]", "0+", value=[{"PartitionIndex": 0, "Offset": 5},
                                                {"PartitionIndex": 1, "Offset": -1}], fields=[
                f("PartitionIndex", "int32", "0+"),
                f("Offset", "int64", "0+"),
            ]),
        ]),
        f("TimeoutMs", "int32", "0+", value=1000),
    ],
    # Kafka 4.1: v5 is v4 (transactions v2).
    "InitProducerId": [
        f("TransactionalId", "string", "0+", null="0+", value=lambda v: None if v == 1 else "tx"),
        f("TransactionTimeoutMs", "int32", "0+", value=60000),
        f("ProducerId", "int64", "3+", value=1000),
        f("ProducerEpoch", "int16", "3+", value=2),
    ],
    "OffsetForLeaderEpoch": [
        f("ReplicaId", "int32", "3+", value=-1),
        f("Topics", "[]", "0+", value=[{}], fields=[
            f("Topic", "string", "0+", value="t"),
            f("Partitions", "[]", "0+", value=[{"Partition": 0}, {"Partition": 1}], fields=[
                f("Partition", "int32", "0+"),
                f("CurrentLeaderEpoch", "int32", "2+", value=5),
                f("LeaderEpoch", "int32", "0+", value=4),
            ]),
        ]),
    ],
    # v4+: Brook's tag 10000 on a transaction, its group participants ([GroupId]).
    "AddPartitionsToTxn": [
        f("Transactions", "[]", "4+", value=[{"TransactionalId": "tx-1", "VerifyOnly": False,
                                              "BrookGroups": ["grp-1", "grp-2"]},
                                             {"TransactionalId": "tx-2", "VerifyOnly": True}],
          fields=[
            f("TransactionalId", "string", "4+"),
            f("ProducerId", "int64", "4+", value=1000),
            f("ProducerEpoch", "int16", "4+", value=2),
            f("VerifyOnly", "bool", "4+"),
            f("Topics", "[]", "4+", value=TOPIC_PARTS, fields=[
                f("Name", "string", "0+"),
                f("Partitions", "[]int32", "0+"),
            ]),
            f("BrookGroups", "[]string", "4+", tag=10000),
        ]),
        f("V3AndBelowTransactionalId", "string", "0-3", value="tx"),
        f("V3AndBelowProducerId", "int64", "0-3", value=1000),
        f("V3AndBelowProducerEpoch", "int16", "0-3", value=2),
        f("V3AndBelowTopics", "[]", "0-3", value=TOPIC_PARTS, fields=[
            f("Name", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
        ]),
    ],
    # Kafka 4.1: v4 is v3 (transactions v2).
    "AddOffsetsToTxn": [
        f("TransactionalId", "string", "0+", value="tx"),
        f("ProducerId", "int64", "0+", value=1000),
        f("ProducerEpoch", "int16", "0+", value=2),
        f("GroupId", "string", "0+", value="grp"),
    ],
    "EndTxn": [
        f("TransactionalId", "string", "0+", value="tx"),
        f("ProducerId", "int64", "0+", value=1000),
        f("ProducerEpoch", "int16", "0+", value=2),
        f("Committed", "bool", "0+", value=True),
    ],
    # v1: Brook's tag 10000 on a marker, the coordinator's transaction sequence (int64).
    "WriteTxnMarkers": [
        f("Markers", "[]", "0+", value=[{"BrookTxnSeq": 42},
                                        {"ProducerId": 1001, "TransactionResult": False,
                                         "Topics": []}], fields=[
            f("ProducerId", "int64", "0+", value=1000),
            f("ProducerEpoch", "int16", "0+", value=2),
            f("TransactionResult", "bool", "0+", value=True),
            f("Topics", "[]", "0+", value=TOPIC_PARTS, fields=[
                f("Name", "string", "0+"),
                f("Partitions", "[]int32", "0+"),
            ]),
            f("CoordinatorEpoch", "int32", "0+", value=5),
            f("BrookTxnSeq", "int64", "1+", tag=10000),
        ]),
    ],
    # Kafka 4.1: v5 is v4 (transactions v2).
    "TxnOffsetCommit": [
        f("TransactionalId", "string", "0+", value="tx"),
        f("GroupId", "string", "0+", value="grp"),
        f("ProducerId", "int64", "0+", value=1000),
        f("ProducerEpoch", "int16", "0+", value=2),
        f("GenerationId", "int32", "3+", value=3),
        f("MemberId", "string", "3+", value="m-1"),
        f("GroupInstanceId", "string", "3+", null="3+", value=None),
        f("Topics", "[]", "0+", value=[{"Name": "t"}], fields=[
            f("Name", "string", "0+"),
            f("Partitions", "[]", "0+", value=[
                {"PartitionIndex": 0, "CommittedOffset": 42},
                {"PartitionIndex": 1, "CommittedOffset": 43, "CommittedMetadata": None}],
              fields=[
                f("PartitionIndex", "int32", "0+"),
                f("CommittedOffset", "int64", "0+"),
                f("CommittedLeaderEpoch", "int32", "2+", value=1),
                f("CommittedMetadata", "string", "0+", null="0+", value="meta"),
            ]),
        ]),
    ],
    "DescribeConfigs": [
        f("Resources", "[]", "0+", value=[
            {"ResourceType": 2, "ResourceName": "t", "ConfigurationKeys": None},
            {"ResourceType": 4, "ResourceName": "1", "ConfigurationKeys": ["log.dirs"]}],
          fields=[
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("ConfigurationKeys", "[]string", "0+", null="0+"),
        ]),
        f("IncludeSynonyms", "bool", "1+"),
        f("IncludeDocumentation", "bool", "3+"),
    ],
    "AlterConfigs": [
        f("Resources", "[]", "0+", value=[{}], fields=[
            f("ResourceType", "int8", "0+", value=2),
            f("ResourceName", "string", "0+", value="t"),
            f("Configs", "[]", "0+", value=[{"Name": "retention.ms", "Value": "1000"},
                                            {"Name": "x", "Value": None}], fields=[
                f("Name", "string", "0+"),
                f("Value", "string", "0+", null="0+"),
            ]),
        ]),
        f("ValidateOnly", "bool", "0+", value=False),
    ],
    "DescribeLogDirs": [
        f("Topics", "[]", "0+", null="0+", fields=[
            f("Topic", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
        ], value=lambda v: None if v == 1 else [{"Topic": "t", "Partitions": [0, 7]},
                                                {"Topic": "u", "Partitions": []}]),
    ],
    "CreatePartitions": [
        f("Topics", "[]", "0+", value=[
            {"Name": "t", "Count": 6, "Assignments": None},
            {"Name": "u", "Count": 3, "Assignments": [{}, {}]}], fields=[
            f("Name", "string", "0+"),
            f("Count", "int32", "0+"),
            f("Assignments", "[]", "0+", null="0+", fields=[
                f("BrokerIds", "[]int32", "0+", value=[1]),
            ]),
        ]),
        f("TimeoutMs", "int32", "0+", value=1000),
        f("ValidateOnly", "bool", "0+", value=True),
    ],
    "DeleteGroups": [
        f("GroupsNames", "[]string", "0+", value=["g1", "g2"]),
    ],
    "IncrementalAlterConfigs": [
        f("Resources", "[]", "0+", value=[
            {"ResourceType": 2, "ResourceName": "t"},
            {"ResourceType": 4, "ResourceName": "1", "Configs": []}], fields=[
            f("ResourceType", "int8", "0+"),
            f("ResourceName", "string", "0+"),
            f("Configs", "[]", "0+", value=[
                {"Name": "retention.ms", "ConfigOperation": 0, "Value": "1000"},
                {"Name": "segment.ms", "ConfigOperation": 1, "Value": None},
                {"Name": "cleanup.policy", "ConfigOperation": 2, "Value": "delete"}], fields=[
                f("Name", "string", "0+"),
                f("ConfigOperation", "int8", "0+"),
                f("Value", "string", "0+", null="0+"),
            ]),
        ]),
        f("ValidateOnly", "bool", "0+", value=True),
    ],
    "OffsetDelete": [
        f("GroupId", "string", "0+", value="grp"),
        f("Topics", "[]", "0+", value=[{}], fields=[
            f("Name", "string", "0+", value="t"),
            f("Partitions", "[]", "0+", value=[{"PartitionIndex": 0}, {"PartitionIndex": 1}],
              fields=[
                f("PartitionIndex", "int32", "0+"),
            ]),
        ]),
    ],
    "DescribeCluster": [
        f("IncludeClusterAuthorizedOperations", "bool", "0+", value=True),
        f("EndpointType", "int8", "1+", value=1),
        f("IncludeFencedBrokers", "bool", "2+", value=True),  # Kafka 4.0, KIP-1073
    ],
    "DescribeProducers": [
        f("Topics", "[]", "0+", value=TOPIC_PARTS, fields=[
            f("Name", "string", "0+"),
            f("Partitions", "[]int32", "0+"),  # PartitionIndexes
        ]),
    ],
    "DescribeTransactions": [
        f("TransactionalIds", "[]string", "0+", value=["tx-1", "tx-2"]),
    ],
    "ListTransactions": [
        f("StateFilters", "[]string", "0+", value=["Ongoing", "PrepareCommit"]),
        f("ProducerIdFilters", "[]int64", "0+"),
        f("DurationFilter", "int64", "1+", value=60000),
        f("TransactionalIdPattern", "string", "2+", null="2+", value="tx-.*"),  # KIP-1152
    ],
    "ConsumerGroupHeartbeat": [
        f("GroupId", "string", "0+", value="grp"),
        f("MemberId", "string", "0+", value="m-1"),
        f("MemberEpoch", "int32", "0+", value=5),
        f("InstanceId", "string", "0+", null="0+", value="inst-1"),
        f("RackId", "string", "0+", null="0+", value=None),
        f("RebalanceTimeoutMs", "int32", "0+", value=45000),
        f("SubscribedTopicNames", "[]string", "0+", null="0+", value=["t", "u"]),
        f("SubscribedTopicRegex", "string", "1+", null="1+", value="^t.*"),
        f("ServerAssignor", "string", "0+", null="0+", value="uniform"),
        f("TopicPartitions", "[]", "0+", null="0+", value=[
            {"TopicId": TOPIC_ID, "Partitions": [0, 2]},
            {"TopicId": ZERO_ID, "Partitions": []}], fields=[
            f("TopicId", "uuid", "0+"),
            f("Partitions", "[]int32", "0+"),
        ]),
    ],
    # Kafka 4.1: v1's request is v0's (its answer adds MemberType).
    "ConsumerGroupDescribe": [
        f("GroupIds", "[]string", "0+", value=["g1", "g2"]),
        f("IncludeAuthorizedOperations", "bool", "0+", value=True),
    ],
    # Authentication (docs/security.md): v0's tokens follow as bare frames, not requests.
    "SaslHandshake": [
        f("Mechanism", "string", "0+", value="SCRAM-SHA-256"),
    ],
    "SaslAuthenticate": [
        f("AuthBytes", "bytes", "0+", value=b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
    ],
    "DescribeUserScramCredentials": [
        f("Users", "[]", "0+", null="0+", value=[{"Name": "alice"}, {"Name": "bob"}], fields=[
            f("Name", "string", "0+"),
        ]),
    ],
    "DescribeAcls": [
        f("ResourceTypeFilter", "int8", "0+", value=2),
        f("ResourceNameFilter", "string", "0+", null="0+", value="orders"),
        f("PatternTypeFilter", "int8", "1+", value=2),
        f("PrincipalFilter", "string", "0+", null="0+", value="User:alice"),
        f("HostFilter", "string", "0+", null="0+", value=None),
        f("Operation", "int8", "0+", value=1),
        f("PermissionType", "int8", "0+", value=1),
    ],
    "CreateAcls": [
        f("Creations", "[]", "0+", value=[{}], fields=[
            f("ResourceType", "int8", "0+", value=2),
            f("ResourceName", "string", "0+", value="orders"),
            f("ResourcePatternType", "int8", "1+", value=3),
            f("Principal", "string", "0+", value="User:alice"),
            f("Host", "string", "0+", value="*"),
            f("Operation", "int8", "0+", value=3),
            f("PermissionType", "int8", "0+", value=3),
        ]),
    ],
    "DeleteAcls": [
        f("Filters", "[]", "0+", value=[{}], fields=[
            f("ResourceTypeFilter", "int8", "0+", value=2),
            f("ResourceNameFilter", "string", "0+", null="0+", value="orders"),
            f("PatternTypeFilter", "int8", "1+", value=4),
            f("PrincipalFilter", "string", "0+", null="0+", value=None),
            f("HostFilter", "string", "0+", null="0+", value="*"),
            f("Operation", "int8", "0+", value=1),
            f("PermissionType", "int8", "0+", value=1),
        ]),
    ],
    "DescribeClientQuotas": [
        f("Components", "[]", "0+", value=[{"EntityType": "user", "MatchType": 0,
                                            "Match": "alice"},
                                           {"EntityType": "client-id", "MatchType": 1,
                                            "Match": None}], fields=[
            f("EntityType", "string", "0+"),
            f("MatchType", "int8", "0+"),
            f("Match", "string", "0+", null="0+"),
        ]),
        f("Strict", "bool", "0+", value=True),
    ],
    # Value is a float64: written as the int64 of its IEEE 754 bits (1024.0)
    "AlterClientQuotas": [
        f("Entries", "[]", "0+", value=[{"Entity": [{"EntityType": "user",
                                                     "EntityName": "alice"}],
                                         "Ops": [{"Key": "producer_byte_rate"}]}], fields=[
            f("Entity", "[]", "0+", fields=[
                f("EntityType", "string", "0+"),
                f("EntityName", "string", "0+", null="0+"),
            ]),
            f("Ops", "[]", "0+", fields=[
                f("Key", "string", "0+"),
                f("Value", "int64", "0+", value=0x4090000000000000),
                f("Remove", "bool", "0+", value=False),
            ]),
        ]),
        f("ValidateOnly", "bool", "0+", value=False),
    ],
    "AlterUserScramCredentials": [
        f("Deletions", "[]", "0+", value=[{"Name": "carol", "Mechanism": 1}], fields=[
            f("Name", "string", "0+"),
            f("Mechanism", "int8", "0+"),
        ]),
        f("Upsertions", "[]", "0+", value=[{"Name": "alice", "Mechanism": 2}], fields=[
            f("Name", "string", "0+"),
            f("Mechanism", "int8", "0+"),
            f("Iterations", "int32", "0+", value=4096),
            f("Salt", "bytes", "0+", value=bytes(range(24))),
            f("SaltedPassword", "bytes", "0+", value=bytes(range(64))),
        ]),
    ],
    # Brook's broker-to-broker APIs, never flexible (docs/cluster.md).
    # v2: an array of v1's transactions (a coordinator's prepares for one node in a turn).
    "BrookPrepareTxn": [
        f("TransactionalId", "string", "0-1", value="tx"),
        f("ProducerId", "int64", "0-1", value=1000),
        f("ProducerEpoch", "int16", "0-1", value=2),
        f("CoordinatorEpoch", "int32", "1-1", value=5),
        f("Topics", "[]", "0-1", value=TOPIC_PARTS, fields=[
            f("Name", "string", "0+"),
            f("Partitions", "[]int32", "0+"),
        ]),
        f("Transactions", "[]", "2+", value=[
            {"TransactionalId": "tx", "ProducerId": 1000, "ProducerEpoch": 2,
             "CoordinatorEpoch": 5, "Topics": TOPIC_PARTS},
            {"TransactionalId": "ty", "ProducerId": 1001, "ProducerEpoch": 0,
             "CoordinatorEpoch": 5, "Topics": TOPIC_PARTS},
        ], fields=[
            f("TransactionalId", "string", "0+"),
            f("ProducerId", "int64", "0+"),
            f("ProducerEpoch", "int16", "0+"),
            f("CoordinatorEpoch", "int32", "0+"),
            f("Topics", "[]", "0+", fields=[
                f("Name", "string", "0+"),
                f("Partitions", "[]int32", "0+"),
            ]),
        ]),
    ],
    "BrookTxnStatus": [
        f("ProducerId", "int64", "0+", value=1000),
        f("ProducerEpoch", "int16", "0+", value=2),
    ],
}


def body(name, v, flexible):
    return enc_struct(SCHEMAS[name], {}, v, flexible, "%s v%d" % (name, v))


def header(key, v, flexible):
    out = i16(key) + i16(v) + i32(7) + string("fuzz")
    return out + uvarint(0) if flexible else out


# A few cut inputs, which must not decode (the check insists): (API, version, kind).
CUT = [("Produce", 13, "body"), ("Fetch", 17, "request"), ("AddPartitionsToTxn", 5, "body")]


HTTP_REQUESTS = {
    "get_root": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "get_topics_lf": b"GET /v1/topics HTTP/1.0\n\n",
    "head_metrics": b"HEAD /metrics HTTP/1.1\r\nAccept: text/plain\r\n\r\n",
    "get_txn_escaped": b"GET /v1/transactions/app%2Fone%20x?x=1&y=%41 HTTP/1.1\r\n\r\n",
    "console_etag": (b"GET /console/app.js HTTP/1.1\r\n"
                     b"If-None-Match: W/\"x\", \"0123456789abcdef\"\r\n\r\n"),
    "post_abort_token": (b"POST /v1/transactions/tx-1/abort HTTP/1.1\r\n"
                         b"Authorization: Bearer s3cret\r\nContent-Length: 2\r\n\r\n{}"),
    "chunked": (b"POST /v1/transactions/t/abort HTTP/1.1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "bad_version": b"GET / HTTP/2.0\r\n\r\n",
}

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


def write_request_seeds(root, out):
    rows = check_protocol_doc.parse_code(os.path.join(root, "src", "proto", "api.c"),
                                         os.path.join(root, "src", "proto", "api.h"))
    order = list(rows)  # g_apis order: the index fuzz_request.c selects by
    missing = [rows[k][0] for k in order if rows[k][0] not in SCHEMAS]
    if missing:
        sys.exit("gen_corpus: no schema for %s; add one to SCHEMAS" % ", ".join(missing))
    n = len(order)
    written = {}
    for index, key in enumerate(order):
        name, vmin, vmax, flex = rows[key]
        for v in range(vmin, vmax + 1):
            flexible = flex is not None and v >= flex
            b = body(name, v, flexible)
            selector = index + n * (v - vmin)  # fuzz_request.c: row sel % n, (sel / n) % range
            written["%s_v%d_body" % (name, v)] = struct.pack(">I", selector) + b
            written["%s_v%d_request" % (name, v)] = header(key, v, flexible) + b
    for name, v, kind in CUT:
        whole = written["%s_v%d_%s" % (name, v, kind)]
        written["%s_v%d_%s_invalid_cut" % (name, v, kind)] = whole[:len(whole) * 2 // 3]
    for fname, data in written.items():
        write(out, fname, data)


def main():
    root = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "..", "..")
    corpus = os.path.join(HERE, "corpus")

    out = os.path.join(corpus, "fuzz_request")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    write_request_seeds(root, out)

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

    out = os.path.join(corpus, "fuzz_http")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, text in HTTP_REQUESTS.items():
        write(out, name, b"\x00" + text)

    for target in sorted(os.listdir(corpus)):
        print("%s: %d seeds" % (target, len(os.listdir(os.path.join(corpus, target)))))


if __name__ == "__main__":
    main()
