'use strict'
// kafkajs 2.2.4 against brookd.  Usage: node test_kafkajs.js BOOTSTRAP MANIFEST.json
//
// Admin: createTopics (with config, already-exists), listTopics, fetchTopicMetadata,
// describeConfigs, alterConfigs, createPartitions, fetchTopicOffsets,
// fetchTopicOffsetsByTimestamp, deleteTopicRecords, deleteTopics.
// Producer (acks=-1, not idempotent): explicit partitions with headers and timestamps,
// keyed messages through the default partitioner, GZIP batches, a multi-topic sendBatch;
// every RecordMetadata must be error-free with contiguous base offsets.
// Read-back: Brook has no consumer groups yet, so the kafkajs consumer cannot be used; the
// data is read with kafkajs's own Fetch (v11) request through its internal cluster/broker
// objects (stable for the pinned 2.2.4) and every message is checked.  The produced data is
// written to MANIFEST so the Python wrapper can re-read it with librdkafka as well.
const fs = require('fs')
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs')

const [bootstrap, manifestPath] = process.argv.slice(2)
if (!bootstrap || !manifestPath) {
  console.error('usage: node test_kafkajs.js BOOTSTRAP MANIFEST.json')
  process.exit(2)
}
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let checks = 0
function check(cond, msg) {
  checks++
  if (!cond) throw new Error(`check failed: ${msg}`)
}
function eq(got, want, msg) {
  checks++
  const g = JSON.stringify(got)
  const w = JSON.stringify(want)
  if (g !== w) throw new Error(`check failed: ${msg}: expected ${w}, got ${g}`)
}
async function withTimeout(promise, ms, what) {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, t])
  } finally {
    clearTimeout(timer)
  }
}
const sleep = ms => new Promise(r => setTimeout(r, ms))

const kafka = new Kafka({
  clientId: 'brook-integ-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
})

// kafkajs's private cluster factory (Symbol 'private:Kafka:createCluster').
function createCluster() {
  const sym = Object.getOwnPropertySymbols(kafka).find(s => s.description === 'private:Kafka:createCluster')
  if (!sym) throw new Error('kafkajs internals changed: no createCluster symbol')
  return kafka[sym]({ metadataMaxAge: 300000, allowAutoTopicCreation: false, isolationLevel: 0 })
}

// Read one partition from `from` to the high watermark with raw Fetch requests.
async function readPartition(cluster, topic, partition, from, high) {
  await cluster.refreshMetadata()
  const meta = cluster.findTopicPartitionMetadata(topic).find(p => p.partitionId === partition)
  const broker = await cluster.findBroker({ nodeId: meta.leader })
  const out = []
  let offset = from
  for (let round = 0; offset < high; round++) {
    if (round > 10000) throw new Error(`readPartition ${topic}/${partition}: no progress at ${offset}`)
    const res = await broker.fetch({
      replicaId: -1,
      isolationLevel: 0,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 256 * 1024 }] }],
    })
    const pr = res.responses[0].partitions[0]
    eq(pr.errorCode, 0, `fetch ${topic}/${partition}@${offset} error code`)
    eq(pr.highWatermark, String(high), `fetch ${topic}/${partition} high watermark`)
    for (const m of pr.messages) {
      const o = Number(m.offset)
      if (o < offset) continue // whole batch returned from its base offset
      if (m.isControlRecord) throw new Error(`unexpected control record at ${o}`)
      eq(o, offset, `${topic}/${partition}: contiguous offsets`)
      out.push(m)
      offset = o + 1
    }
  }
  return out
}

function hdrs(h) {
  // kafkajs decodes headers to {key: Buffer | Buffer[]}; normalise to [[k, string]] sorted
  const r = []
  for (const [k, v] of Object.entries(h || {})) {
    for (const x of Array.isArray(v) ? v : [v]) r.push([k, x == null ? null : Buffer.from(x).toString()])
  }
  return r
}

async function main() {
  const suffix = Date.now().toString(36)
  const T = `kjs-main-${suffix}`
  const T2 = `kjs-second-${suffix}`
  const TDEL = `kjs-del-${suffix}`
  const admin = kafka.admin()
  await withTimeout(admin.connect(), 15000, 'admin.connect')

  // ---------------- topics
  const created = await admin.createTopics({
    topics: [
      { topic: T, numPartitions: 4, replicationFactor: 1 },
      { topic: T2, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      { topic: TDEL, numPartitions: 2, replicationFactor: 1 },
    ],
    waitForLeaders: true,
    timeout: 10000,
  })
  eq(created, true, 'createTopics result')
  const again = await admin.createTopics({ topics: [{ topic: T, numPartitions: 4 }], waitForLeaders: false })
  eq(again, false, 'createTopics of an existing topic returns false')
  const names = await admin.listTopics()
  for (const t of [T, T2, TDEL]) check(names.includes(t), `listTopics contains ${t}`)

  const md = await admin.fetchTopicMetadata({ topics: [T] })
  eq(md.topics[0].name, T, 'fetchTopicMetadata name')
  // BROOK_TEST_CLUSTER=n: nodes 1..n lead the partitions; one node: node 1.
  const nodes = parseInt(process.env.BROOK_TEST_CLUSTER || '1', 10) || 1
  const parts = md.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId)
  eq(parts.map(p => [p.partitionId, p.partitionErrorCode]), [0, 1, 2, 3].map(p => [p, 0]), 'partitions, errors')
  for (const p of parts) check(p.leader >= 1 && p.leader <= nodes, `partition ${p.partitionId} leader ${p.leader}`)

  const dc = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: T2 }],
    includeSynonyms: false,
  })
  eq(dc.resources[0].errorCode, 0, 'describeConfigs error code')
  const ret = dc.resources[0].configEntries.find(e => e.configName === 'retention.ms')
  eq(ret && ret.configValue, '3600000', 'retention.ms from createTopics configEntries')
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: T2, configEntries: [{ name: 'retention.ms', value: '1800000' }] }],
  })
  const dc2 = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: T2 }], includeSynonyms: false })
  eq(dc2.resources[0].configEntries.find(e => e.configName === 'retention.ms').configValue, '1800000',
    'retention.ms after alterConfigs')

  // ---------------- produce
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, retry: { retries: 2 } })
  await withTimeout(producer.connect(), 15000, 'producer.connect')
  const base = Date.now() - 3600 * 1000
  const expected = { 0: [], 1: [], 2: [], 3: [] } // partition -> [{key, value, headers, ts}] in offset order
  const metaCheck = (meta, sent, what) => {
    // sent: {partition: count}
    for (const r of meta) {
      eq([r.topicName, r.errorCode], [T, 0], `${what}: RecordMetadata p${r.partition}`)
      eq(Number(r.baseOffset), expected[r.partition].length - sent[r.partition], `${what}: baseOffset p${r.partition}`)
    }
    eq(meta.map(r => r.partition).sort(), Object.keys(sent).map(Number).sort(), `${what}: partitions acknowledged`)
  }

  // 1) explicit partitions, headers, timestamps; 10 sends of 100
  let seq = 0
  for (let s = 0; s < 10; s++) {
    const messages = []
    const sent = {}
    for (let i = 0; i < 100; i++, seq++) {
      const p = seq % 4
      const m = {
        partition: p,
        key: `k${seq}`,
        value: `value-${seq}-${'y'.repeat(seq % 50)}`,
        headers: { seq: String(seq), multi: ['a', 'b'] },
        timestamp: String(base + seq * 10),
      }
      messages.push(m)
      expected[p].push({ key: m.key, value: m.value, headers: [['seq', String(seq)], ['multi', 'a'], ['multi', 'b']], ts: base + seq * 10 })
      sent[p] = (sent[p] || 0) + 1
    }
    const meta = await withTimeout(producer.send({ topic: T, acks: -1, messages }), 20000, 'send')
    metaCheck(meta, sent, `send #${s}`)
  }
  // 2) keyed messages, default partitioner (murmur2); null value; no explicit partition
  {
    const messages = []
    for (let i = 0; i < 200; i++, seq++) {
      messages.push({ key: `key-${i}`, value: i % 10 === 0 ? null : `keyed-${i}`, timestamp: String(base + seq * 10) })
    }
    const meta = await withTimeout(producer.send({ topic: T, acks: -1, messages }), 20000, 'send keyed')
    for (const r of meta) eq(r.errorCode, 0, 'keyed send error code')
    // find out where each went by the (deterministic) partitioner: rebuild from the metadata
    // counts and the read-back below; record here the per-partition counts.
    const counts = {}
    for (const r of meta) counts[r.partition] = Number(r.baseOffset)
    for (const [p, b] of Object.entries(counts)) eq(b, expected[p].length, `keyed send baseOffset p${p}`)
    // The read-back assigns keyed messages to partitions; remember them as a group.
    expected.keyed = messages.map(m => ({ key: m.key, value: m.value, ts: Number(m.timestamp) }))
  }
  await main2(admin, producer, T, T2, TDEL, base, seq, expected)
}

async function main2(admin, producer, T, T2, TDEL, base, seq, expected) {
  const cluster = createCluster()
  await withTimeout(cluster.connect(), 15000, 'cluster.connect')
  await cluster.addTargetTopic(T)

  // assign the keyed messages to their partitions by reading the tails back
  let offsets = await admin.fetchTopicOffsets(T)
  const keyedByKey = new Map(expected.keyed.map(m => [m.key, m]))
  let keyedSeen = 0
  for (const { partition, high } of offsets) {
    const p = Number(partition)
    const from = expected[p].length
    const msgs = await readPartition(cluster, T, p, from, Number(high))
    for (const m of msgs) {
      const e = keyedByKey.get(m.key.toString())
      check(e, `unexpected message ${m.key} in tail of p${p}`)
      expected[p].push({ key: e.key, value: e.value, headers: [], ts: e.ts })
      keyedSeen++
    }
  }
  eq(keyedSeen, expected.keyed.length, 'all keyed messages found exactly once')
  delete expected.keyed

  // 3) GZIP batches to partition 2, then 4) a multi-topic sendBatch
  {
    const messages = []
    for (let i = 0; i < 300; i++, seq++) {
      messages.push({ partition: 2, key: `gz${i}`, value: `gzip-${i}-${'z'.repeat(i % 80)}`, timestamp: String(base + seq * 10) })
    }
    const meta = await producer.send({ topic: T, acks: -1, compression: CompressionTypes.GZIP, messages })
    eq(meta.map(r => [r.partition, r.errorCode, Number(r.baseOffset)]), [[2, 0, expected[2].length]], 'gzip send')
    for (const m of messages) expected[2].push({ key: m.key, value: m.value, headers: [], ts: Number(m.timestamp) })
  }
  {
    const tm = [
      { topic: T, messages: [{ partition: 3, key: 'mb', value: 'multi-topic-T', timestamp: String(base + (seq++) * 10) }] },
      { topic: T2, messages: [{ partition: 0, key: 'mb2', value: 'multi-topic-T2' }] },
    ]
    const meta = await producer.sendBatch({ acks: -1, topicMessages: tm })
    const byTopic = Object.fromEntries(meta.map(r => [r.topicName, [r.partition, r.errorCode, Number(r.baseOffset)]]))
    eq(byTopic[T], [3, 0, expected[3].length], 'sendBatch T')
    eq(byTopic[T2], [0, 0, 0], 'sendBatch T2')
    expected[3].push({ key: 'mb', value: 'multi-topic-T', headers: [], ts: Number(tm[0].messages[0].timestamp) })
  }
  await producer.disconnect()

  // ---------------- offsets
  offsets = await admin.fetchTopicOffsets(T)
  eq(offsets.map(o => [o.partition, Number(o.low), Number(o.high)]).sort((a, b) => a[0] - b[0]),
    [0, 1, 2, 3].map(p => [p, 0, expected[p].length]), 'fetchTopicOffsets low/high')

  // ---------------- read back everything with kafkajs Fetch
  for (let p = 0; p < 4; p++) {
    const msgs = await readPartition(cluster, T, p, 0, expected[p].length)
    eq(msgs.length, expected[p].length, `p${p} message count`)
    msgs.forEach((m, i) => {
      const e = expected[p][i]
      eq(m.key && m.key.toString(), e.key, `p${p}/${i} key`)
      eq(m.value === null ? null : m.value.toString(), e.value, `p${p}/${i} value`)
      eq(hdrs(m.headers), e.headers, `p${p}/${i} headers`)
      eq(Number(m.timestamp), e.ts, `p${p}/${i} timestamp`)
    })
  }

  // ---------------- offsets by timestamp
  for (let p = 0; p < 4; p++) {
    const mid = Math.floor(expected[p].length / 2)
    const ts = expected[p][mid].ts
    const byTs = await admin.fetchTopicOffsetsByTimestamp(T, ts)
    const first = expected[p].findIndex(e => e.ts >= ts)
    eq(Number(byTs.find(o => o.partition === p).offset), first, `fetchTopicOffsetsByTimestamp p${p}`)
  }
  const early = await admin.fetchTopicOffsetsByTimestamp(T, base - 100000)
  eq(early.map(o => [o.partition, Number(o.offset)]).sort((a, b) => a[0] - b[0]), [0, 1, 2, 3].map(p => [p, 0]),
    'fetchTopicOffsetsByTimestamp before the first message')
  const late = await admin.fetchTopicOffsetsByTimestamp(T, Date.now() + 3600 * 1000)
  // kafkajs maps "no such offset" (-1) to the high watermark
  eq(late.map(o => [o.partition, Number(o.offset)]).sort((a, b) => a[0] - b[0]),
    [0, 1, 2, 3].map(p => [p, expected[p].length]), 'fetchTopicOffsetsByTimestamp after the last message')

  // ---------------- createPartitions
  await admin.createPartitions({ topicPartitions: [{ topic: T, count: 6 }], timeout: 10000 })
  let parts = 0
  for (let i = 0; i < 50 && parts !== 6; i++) {
    const m = await admin.fetchTopicMetadata({ topics: [T] })
    parts = m.topics[0].partitions.length
    if (parts !== 6) await sleep(100)
  }
  eq(parts, 6, 'partitions after createPartitions')
  offsets = await admin.fetchTopicOffsets(T)
  eq(offsets.filter(o => o.partition >= 4).map(o => [o.partition, Number(o.low), Number(o.high)]).sort(),
    [[4, 0, 0], [5, 0, 0]], 'new partitions are empty')

  // ---------------- deleteTopicRecords
  const cut = 7
  await admin.deleteTopicRecords({ topic: T, partitions: [{ partition: 1, offset: String(cut) }] })
  offsets = await admin.fetchTopicOffsets(T)
  const p1 = offsets.find(o => o.partition === 1)
  eq([Number(p1.low), Number(p1.high)], [cut, expected[1].length], 'p1 low/high after deleteTopicRecords')
  const afterCut = await readPartition(cluster, T, 1, cut, expected[1].length)
  eq(afterCut.map(m => m.key.toString()), expected[1].slice(cut).map(e => e.key), 'p1 content after deleteTopicRecords')

  // ---------------- deleteTopics
  await admin.deleteTopics({ topics: [TDEL], timeout: 10000 })
  let gone = false
  for (let i = 0; i < 50 && !gone; i++) {
    gone = !(await admin.listTopics()).includes(TDEL)
    if (!gone) await sleep(100)
  }
  check(gone, 'deleted topic no longer listed')
  let unknownErr = null
  try {
    await admin.deleteTopics({ topics: [TDEL], timeout: 5000 })
  } catch (e) {
    unknownErr = e
  }
  check(unknownErr !== null, 'deleting a missing topic fails')

  await cluster.disconnect()
  await admin.disconnect()

  const manifest = {
    topic: T,
    low: { 1: cut },
    partitions: Object.fromEntries([0, 1, 2, 3].map(p => [p, expected[p]])),
    second: { topic: T2, values: ['multi-topic-T2'] },
  }
  fs.writeFileSync(manifestPath, JSON.stringify(manifest))
  console.log(`[kafkajs] OK: ${checks} checks passed`)
}

const overall = setTimeout(() => {
  console.error('[kafkajs] FAIL: overall timeout (120s)')
  process.exit(1)
}, 120000)
main().then(
  () => {
    clearTimeout(overall)
    process.exit(0)
  },
  e => {
    console.error(`[kafkajs] FAIL: ${e && e.stack ? e.stack : e}`)
    process.exit(1)
  }
)
