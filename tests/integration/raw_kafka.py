#!/usr/bin/python3
"""Helper module, not a test by itself: a minimal raw Kafka protocol client (standard
library only) for tests that must see the broker's exact answers, with no client library
in between (no retries, no hidden epoch bumps).

    from raw_kafka import Conn, record_batch, TXN_ATTR
    with Conn("127.0.0.1:PORT") as c:       # one TCP connection, request header v1
        err, pid, epoch = c.init_producer_id("my-txn")
        rb = record_batch(pid, epoch, 0, [b"v"], transactional=True)
        err, base, secs = c.produce("t", 0, rb, transactional_id="my-txn")

Every request waits at most `answer_within` seconds for its answer (no answer is an
AssertionError).  Only non-flexible versions are spoken: Produce v3, ListOffsets v2,
Fetch v4, InitProducerId v1, AddPartitionsToTxn v1, EndTxn v1, FindCoordinator v1,
CreateTopics v0, Metadata v1, WriteTxnMarkers v0 (docs/protocol.md lists what Brook
serves).  For the flexible versions a test writes itself: uvarint, cstr, carr, TAGS to
encode, flex_request to send one (request header v2), FReader to read the answer."""

import socket
import struct
import time

TXN_ATTR = 0x10      # RecordBatch attributes: transactional
CONTROL_ATTR = 0x20  # RecordBatch attributes: control batch (a transaction marker)
READ_UNCOMMITTED = 0
READ_COMMITTED = 1

# Kafka error codes the raw tests look for, and the answers a test retries (bounded).
NONE = 0
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
CONCURRENT_TRANSACTIONS = 51
UNSTABLE_OFFSET_COMMIT = 88
PRODUCER_FENCED = 90
PRODUCE_RETRIABLE = (LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT)
COORD_RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, CONCURRENT_TRANSACTIONS)

_CRC_TABLE = []


def crc32c(data):
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(n):
    """A zigzag varint (varlong) as in record bodies."""
    n = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_varint(b, pos):
    """(value, new position) of the zigzag varint at b[pos:]."""
    shift, u = 0, 0
    while True:
        c = b[pos]
        pos += 1
        u |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return (u >> 1) ^ -(u & 1), pos


def records_section(values):
    """The records section (uncompressed) of `values`: no keys, no headers, offset deltas
    0, 1, ..."""
    recs = b""
    for i, v in enumerate(values):
        r = bytes([0]) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(r)) + r
    return recs


def raw_batch(section, count, attrs=0, last_offset_delta=None, pid=-1, epoch=-1, seq=-1):
    """A magic-2 RecordBatch around a records section as given (compressed or not, per the
    codec bits of attrs), whose header says `count` records and `last_offset_delta`
    (count - 1 unless given): a test may make them lie."""
    ts = int(time.time() * 1000)
    last = count - 1 if last_offset_delta is None else last_offset_delta
    after_crc = struct.pack(">hiqqqhii", attrs, last, ts, ts, pid, epoch, seq, count) + section
    body = struct.pack(">iB", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(body)) + body


def record_batch(pid, epoch, seq, values, transactional=False):
    """A magic-2 RecordBatch holding `values` (no keys, no headers, uncompressed)."""
    return raw_batch(records_section(values), len(values), TXN_ATTR if transactional else 0,
                     pid=pid, epoch=epoch, seq=seq)


def parse_batches(data, compressed_ok=False):
    """The RecordBatches (magic 2, uncompressed) in a Fetch answer's records bytes, as
    dicts: base_offset, last_offset, attributes, producer_id, producer_epoch,
    base_sequence, transactional, control, records ([(offset, key, value)]) and, for a
    control batch, marker ("COMMIT" / "ABORT").  A partial batch at the end is dropped.
    A compressed batch is an error, or with compressed_ok a dict whose records is None."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        base, blen = struct.unpack_from(">qi", data, pos)
        if pos + 12 + blen > len(data):
            break
        b = data[pos + 12:pos + 12 + blen]
        pos += 12 + blen
        (_ple, magic, _crc, attrs, last_delta, _fts, _mts, pid, epoch, bseq,
         count) = struct.unpack_from(">ibIhiqqqhii", b, 0)
        if magic != 2:
            raise AssertionError(f"record batch at {base}: magic {magic}")
        if attrs & 0x07 and compressed_ok:
            out.append({"base_offset": base, "last_offset": base + last_delta,
                        "attributes": attrs, "records": None})
            continue
        if attrs & 0x07:
            raise AssertionError(f"record batch at {base}: compressed (attributes {attrs:#x})")
        rp = struct.calcsize(">ibIhiqqqhii")
        recs = []
        for _ in range(count):
            ln, rp = read_varint(b, rp)
            end = rp + ln
            rp += 1  # attributes
            _tsd, rp = read_varint(b, rp)
            od, rp = read_varint(b, rp)
            kl, rp = read_varint(b, rp)
            key = None if kl < 0 else b[rp:rp + kl]
            rp += max(kl, 0)
            vl, rp = read_varint(b, rp)
            val = None if vl < 0 else b[rp:rp + vl]
            recs.append((base + od, key, val))
            rp = end
        batch = {"base_offset": base, "last_offset": base + last_delta, "attributes": attrs,
                 "producer_id": pid, "producer_epoch": epoch, "base_sequence": bseq,
                 "transactional": bool(attrs & TXN_ATTR), "control": bool(attrs & CONTROL_ATTR),
                 "records": recs}
        if batch["control"] and recs and recs[0][1] is not None and len(recs[0][1]) >= 4:
            (_ver, typ) = struct.unpack(">hh", recs[0][1][:4])
            batch["marker"] = {0: "ABORT", 1: "COMMIT"}.get(typ, f"type {typ}")
        out.append(batch)
    return out


def visible_read_committed(batches, aborted):
    """What a read_committed consumer shows of `batches` given the Fetch answer's aborted
    transactions [(producer_id, first_offset)]: the data records [(offset, value)] of
    every batch that is not control and not part of an aborted transaction (Kafka's
    consumer rule: a producer's aborted range starts at first_offset and ends at its
    ABORT marker)."""
    pending = sorted(aborted, key=lambda a: a[1])
    active, out = set(), []
    for b in batches:
        while pending and pending[0][1] <= b["last_offset"]:
            active.add(pending.pop(0)[0])
        if b["control"]:
            if b.get("marker") == "ABORT":
                active.discard(b["producer_id"])
            continue
        if b["transactional"] and b["producer_id"] in active:
            continue
        out += [(off, v) for off, _k, v in b["records"]]
    return out


def s16(x):
    """A Kafka STRING (int16 length); None -> null."""
    if x is None:
        return struct.pack(">h", -1)
    if isinstance(x, str):
        x = x.encode()
    return struct.pack(">h", len(x)) + x


class Reader:
    """Sequential reads from a response body."""

    def __init__(self, b):
        self.b, self.off = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.off)
        self.off += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.b[self.off:self.off + n].decode()
        self.off += n
        return s

    def bytes_(self):
        n = self.take(">i")
        if n < 0:
            return None
        s = self.b[self.off:self.off + n]
        self.off += n
        return s


# ------------------------------------------------------------------ flexible encoding
def uvarint(n):
    """An unsigned varint (compact lengths, tag numbers)."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def cstr(s):
    """COMPACT_(NULLABLE_)STRING."""
    if s is None:
        return b"\x00"
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def carr(items, enc=lambda x: x):
    """COMPACT_ARRAY (None: null)."""
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


TAGS = b"\x00"  # an empty tag buffer (also the request header v2's)


class FReader(Reader):
    """Reads a flexible body."""

    def uvarint(self):
        shift = n = 0
        while True:
            c = self.b[self.off]
            self.off += 1
            n |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return n

    def cstring(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.b[self.off:self.off + n].decode()
        self.off += n
        return s

    def cbytes(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.b[self.off:self.off + n]
        self.off += n
        return s

    def count(self):
        """A compact array's length; -1 for null."""
        return self.uvarint() - 1

    def uuid(self):
        s = self.b[self.off:self.off + 16]
        self.off += 16
        return bytes(s)

    def tags(self):
        """{tag: bytes} of a tag buffer."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            n = self.uvarint()
            out[tag] = bytes(self.b[self.off:self.off + n])
            self.off += n
        return out

    def end(self, what):
        if self.off != len(self.b):
            raise AssertionError(f"{what}: {len(self.b) - self.off} bytes left over")


def flex_request(conn, key, version, body, what):
    """A flexible request (header v2: header v1 + an empty tag buffer) on conn -> a reader
    past the response header's tag buffer."""
    r, _ = conn.request(key, version, TAGS + body, what)
    rd = FReader(r)
    rd.tags()
    return rd


def partition_errors(r, fmt=">ih"):
    """{partition: error} of an answer shaped throttle, [topic, [partition, ..., error]] (one
    topic's partitions; AddPartitionsToTxn v0-3, TxnOffsetCommit v0-2; DeleteRecords v0 with
    fmt ">iqh"): fmt is a partition entry's, the partition first and the error last."""
    rd = Reader(r)
    rd.take(">i")  # throttle
    out = {}
    for _ in range(rd.take(">i")):
        rd.string()
        for _ in range(rd.take(">i")):
            entry = rd.take(fmt)
            out[entry[0]] = entry[-1]
    return out


class Conn:
    """One connection to exactly one broker (no redirection, no retries)."""

    def __init__(self, address, client_id=b"brook-raw", answer_within=5.0):
        host, port = address.rsplit(":", 1)
        self.address = address
        self.client_id = client_id
        self.answer_within = float(answer_within)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.corr = 0

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def request(self, key, version, body, what):
        """Sends one request (header v1) and returns (response body, seconds)."""
        self.send(key, version, body)
        return self.answer(what)

    def send(self, key, version, body):
        """Sends one request (header v1) without waiting: answer() reads its answer."""
        self.corr += 1
        msg = struct.pack(">hhi", key, version, self.corr) + s16(self.client_id) + body
        self.s.sendall(struct.pack(">i", len(msg)) + msg)

    def answer(self, what):
        """The answer to the last request sent -> (response body, seconds waited)."""
        self.s.settimeout(self.answer_within)
        t0 = time.monotonic()
        try:
            (n,) = struct.unpack(">i", self._recv(4))
            r = self._recv(n)
        except socket.timeout:
            raise AssertionError(f"{what}: no answer from {self.address} within "
                                 f"{self.answer_within}s") from None
        (corr,) = struct.unpack(">i", r[:4])
        if corr != self.corr:
            raise AssertionError(f"{what}: correlation id {corr}, expected {self.corr}")
        return r[4:], time.monotonic() - t0

    def _recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError(f"connection closed by the broker {self.address}")
            b += c
        return b

    # ------------------------------------------------------------------ APIs
    def produce(self, topic, partition, rb, what="Produce", transactional_id=None, acks=-1,
                timeout_ms=10000):
        """Produce v3 of one batch to topic/partition -> (error, base_offset, seconds)."""
        body = (s16(transactional_id) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1)
                + s16(topic) + struct.pack(">i", 1) + struct.pack(">ii", partition, len(rb)) + rb)
        r, dt = self.request(0, 3, body, what)
        rd = Reader(r)
        for _ in range(rd.take(">i")):
            name = rd.string()
            for _ in range(rd.take(">i")):
                part, err, base, _ = rd.take(">ihqq")
                if name == (topic.decode() if isinstance(topic, bytes) else topic) and part == partition:
                    return err, base, dt
        raise AssertionError(f"{what}: no answer for {topic}/{partition} in the response")

    def list_offset(self, topic, partition, isolation=READ_UNCOMMITTED, timestamp=-1):
        """ListOffsets v2 for one partition -> (error, offset); latest (-1) is the high
        watermark (read_uncommitted) or the last stable offset (read_committed)."""
        body = (struct.pack(">ib", -1, isolation) + struct.pack(">i", 1) + s16(topic)
                + struct.pack(">i", 1) + struct.pack(">iq", partition, timestamp))
        r, _ = self.request(2, 2, body, "ListOffsets")
        rd = Reader(r)
        rd.take(">i")  # throttle
        for _ in range(rd.take(">i")):
            rd.string()
            for _ in range(rd.take(">i")):
                part, err, _ts, off = rd.take(">ihqq")
                if part == partition:
                    return err, off
        raise AssertionError(f"ListOffsets: no answer for {topic}/{partition}")

    def fetch(self, topic, partition, offset, isolation=READ_UNCOMMITTED, max_bytes=1 << 20,
              compressed_ok=False):
        """Fetch v4 (max_wait 0) of one partition -> dict: error, high_watermark,
        last_stable_offset, aborted ([(producer_id, first_offset)] or None), batches
        (parse_batches)."""
        body = (struct.pack(">iiiib", -1, 0, 0, max_bytes, isolation) + struct.pack(">i", 1)
                + s16(topic) + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, max_bytes))
        r, _ = self.request(1, 4, body, "Fetch")
        rd = Reader(r)
        rd.take(">i")  # throttle
        for _ in range(rd.take(">i")):
            rd.string()
            for _ in range(rd.take(">i")):
                part, err, hw, lso = rd.take(">ihqq")
                na = rd.take(">i")
                aborted = None if na < 0 else [rd.take(">qq") for _ in range(na)]
                recs = rd.bytes_() or b""
                if part == partition:
                    return {"error": err, "high_watermark": hw, "last_stable_offset": lso,
                            "aborted": aborted,
                            "batches": parse_batches(recs, compressed_ok)}
        raise AssertionError(f"Fetch: no answer for {topic}/{partition}")

    def init_producer_id(self, transactional_id=None, txn_timeout_ms=60000, version=0):
        """InitProducerId v0/v1 -> (error, producer_id, epoch)."""
        r, _ = self.request(22, version, s16(transactional_id) + struct.pack(">i", txn_timeout_ms),
                            f"InitProducerId v{version}")
        _, err, pid, epoch = struct.unpack(">ihqh", r[:16])
        return err, pid, epoch

    def add_partitions_to_txn(self, transactional_id, pid, epoch, topic, partitions, version=1):
        """AddPartitionsToTxn v0/v1 for partitions of one topic -> {partition: error}."""
        body = (s16(transactional_id) + struct.pack(">qh", pid, epoch) + struct.pack(">i", 1)
                + s16(topic) + struct.pack(">i", len(partitions))
                + b"".join(struct.pack(">i", p) for p in partitions))
        r, _ = self.request(24, version, body, f"AddPartitionsToTxn v{version}")
        return partition_errors(r)

    @staticmethod
    def end_txn_body(transactional_id, pid, epoch, commit):
        """An EndTxn v0/v1 request body (send() it to read the answer later)."""
        return s16(transactional_id) + struct.pack(">qhb", pid, epoch, 1 if commit else 0)

    @staticmethod
    def end_txn_parse(r):
        """An EndTxn v0/v1 answer -> error."""
        return struct.unpack(">ih", r[:6])[1]

    def end_txn(self, transactional_id, pid, epoch, commit, version=1):
        """EndTxn v0/v1 -> error."""
        r, _ = self.request(26, version, self.end_txn_body(transactional_id, pid, epoch, commit),
                            f"EndTxn v{version} ({'commit' if commit else 'abort'})")
        return self.end_txn_parse(r)

    def add_offsets_to_txn(self, transactional_id, pid, epoch, group_id):
        """AddOffsetsToTxn v1 -> error."""
        body = s16(transactional_id) + struct.pack(">qh", pid, epoch) + s16(group_id)
        r, _ = self.request(25, 1, body, "AddOffsetsToTxn v1")
        _, err = struct.unpack(">ih", r[:6])
        return err

    @staticmethod
    def txn_offset_commit_body(transactional_id, group_id, pid, epoch, topic, offsets):
        """TxnOffsetCommit v2 for {partition: offset} of one topic."""
        return (s16(transactional_id) + s16(group_id) + struct.pack(">qh", pid, epoch)
                + struct.pack(">i", 1) + s16(topic) + struct.pack(">i", len(offsets))
                + b"".join(struct.pack(">iqi", p, o, -1) + s16("") for p, o in offsets.items()))

    @staticmethod
    def txn_offset_commit_parse(r):
        """A TxnOffsetCommit v2 answer -> {partition: error}."""
        return partition_errors(r)

    def offset_fetch_stable(self, group_id, topic, partitions):
        """OffsetFetch v7 with RequireStable -> (top-level error, {partition: (offset,
        error)})."""
        body = (cstr(group_id) + carr([topic], lambda t: cstr(t) + carr(
            partitions, lambda p: struct.pack(">i", p)) + TAGS) + b"\x01")
        rd = flex_request(self, 9, 7, body + TAGS, "OffsetFetch v7")
        rd.take(">i")  # throttle
        out = {}
        for _ in range(rd.count()):
            rd.cstring()
            for _ in range(rd.count()):
                part, off, _epoch = rd.take(">iqi")
                rd.cstring()  # metadata
                out[part] = (off, rd.take(">h"))
                rd.tags()
            rd.tags()
        return rd.take(">h"), out

    def find_coordinator(self, key, key_type=1):
        """FindCoordinator v1 -> (error, node_id, "host:port")."""
        r, _ = self.request(10, 1, s16(key) + struct.pack(">b", key_type), "FindCoordinator v1")
        rd = Reader(r)
        rd.take(">i")  # throttle
        err = rd.take(">h")
        rd.string()  # message
        node, host, port = rd.take(">i"), rd.string(), rd.take(">i")
        return err, node, f"{host}:{port}"

    def write_txn_marker(self, topic, partition, pid, epoch, commit, coordinator_epoch,
                         what="WriteTxnMarkers"):
        """WriteTxnMarkers v0 of one marker (COMMIT or ABORT) for topic/partition -> the
        list of partition errors in the answer (one, from a sound broker)."""
        body = (struct.pack(">i", 1) + struct.pack(">qhb", pid, epoch, 1 if commit else 0)
                + struct.pack(">i", 1) + s16(topic) + struct.pack(">ii", 1, partition)
                + struct.pack(">i", coordinator_epoch))
        r, _ = self.request(27, 0, body, what)
        rd = Reader(r)
        errs = []
        for _ in range(rd.take(">i")):
            rd.take(">q")
            for _ in range(rd.take(">i")):
                rd.string()
                for _ in range(rd.take(">i")):
                    errs.append(rd.take(">ih")[1])
        return errs

    def create_topics_assigned(self, topics, timeout_ms=10000):
        """CreateTopics v4 with replica assignments: [(name, num_partitions, [(index,
        [brokers])])], replication factor -1 -> {name: error code}."""
        body = struct.pack(">i", len(topics))
        for name, nparts, assigns in topics:
            body += s16(name) + struct.pack(">ih", nparts, -1) + struct.pack(">i", len(assigns))
            for idx, brokers in assigns:
                body += struct.pack(">ii", idx, len(brokers)) + b"".join(
                    struct.pack(">i", b) for b in brokers)
            body += struct.pack(">i", 0)  # configs
        body += struct.pack(">i?", timeout_ms, False)
        r, _ = self.request(19, 4, body, "CreateTopics v4")
        rd = Reader(r)
        rd.take(">i")  # throttle
        out = {}
        for _ in range(rd.take(">i")):
            name = rd.string()
            out[name] = rd.take(">h")
            rd.string()  # error message
        return out

    def create_topic(self, topic, partitions, replication=1, timeout_ms=15000):
        """CreateTopics v0 of one topic -> error."""
        body = (struct.pack(">i", 1) + s16(topic) + struct.pack(">ih", partitions, replication)
                + struct.pack(">ii", 0, 0) + struct.pack(">i", timeout_ms))
        r, _ = self.request(19, 0, body, "CreateTopics v0")
        rd = Reader(r)
        for _ in range(rd.take(">i")):
            name = rd.string()
            err = rd.take(">h")
            if name == (topic.decode() if isinstance(topic, bytes) else topic):
                return err
        raise AssertionError(f"CreateTopics: no answer for {topic}")


def describe_broker_configs(conn, name):
    """DescribeConfigs v1 of BROKER resource `name` (raw: librdkafka refuses the empty name
    of the cluster-wide default) -> {key: (value, source, read_only)}."""
    body = (struct.pack(">i", 1) + bytes([4]) + s16(name) + struct.pack(">i", -1) + b"\x00")
    r, _ = conn.request(32, 1, body, "DescribeConfigs v1")
    rd = Reader(r)
    rd.take(">i")
    assert rd.take(">i") == 1
    err, msg = rd.take(">h"), rd.string()
    rd.take(">b")
    rd.string()
    if err:
        raise AssertionError(f"DescribeConfigs {name!r}: error {err} {msg}")
    out = {}
    for _ in range(rd.take(">i")):
        key, value = rd.string(), rd.string()
        read_only, source, _sensitive = rd.take(">bbb")
        for _ in range(rd.take(">i")):
            rd.string()
            rd.string()
            rd.take(">b")
        out[key] = (value, source, bool(read_only))
    return out


def incremental_alter_configs(conn, rtype, name, ops, validate_only=False):
    """IncrementalAlterConfigs v1 of one resource (rtype 2 topic, 4 broker): ops
    [(key, op, value or None)] -> (error, message)."""
    cfgs = [cstr(k) + bytes([op]) + (cstr(v) if v is not None else b"\0") + TAGS
            for k, op, v in ops]
    body = (carr([bytes([rtype]) + cstr(name) + carr(cfgs) + TAGS]) + bytes([validate_only])
            + TAGS)
    rd = flex_request(conn, 44, 1, body, "IncrementalAlterConfigs")
    rd.take(">i")
    if rd.count() != 1:
        raise AssertionError("IncrementalAlterConfigs: not one resource in the answer")
    err, msg = rd.take(">h"), rd.cstring()
    rd.take(">b")
    rd.cstring()
    rd.tags()
    rd.tags()
    rd.end("IncrementalAlterConfigs")
    return err, msg
