'use strict'
// kafkajs 2.2.4 transactions and idempotence against brookd.
// Usage: node test_txn_kafkajs.js BOOTSTRAP MANIFEST.json   (run by ../test_txn_kafkajs.py)
//
// 1. createTopics tkj-a, tkj-b (3 partitions each), tkj-idem (3 partitions).
// 2. A transactional producer (transactionalId, idempotent, 1 in flight) runs five
//    transactions over all 6 partitions of tkj-a and tkj-b: commit, abort, commit, abort,
//    commit, each one sendBatch of 15 records per partition.  Every RecordMetadata must be
//    error-free; record offsets are baseOffset + index.  The first two transactions also
//    sendOffsets() for group tkj-offsets (committed: offset 5; aborted: offset 9), and
//    admin.fetchOffsets must then show 5.
// 3. Zombie fencing: z1 opens a transaction and sends to tkj-a/0 and tkj-b/1; z2 with the
//    same transactionalId starts a transaction (InitProducerId fences z1 and aborts its
//    transaction) and commits; z1's next send and its commit must both be rejected.
// 4. An idempotent producer (idempotent: true, not transactional) sends 3000 messages to
//    tkj-idem in batches; offsets per partition must be contiguous from 0 in send order.
// 5. A kafkajs consumer in a consumer group (subscribe, fromBeginning, read_committed by
//    default) must receive exactly the committed records of tkj-a/tkj-b (main producer and
//    z2), each once, in offset order per partition, at their acknowledged offsets; a second
//    group with readUncommitted: true must receive every acknowledged record (committed
//    and aborted), and never z1's rejected post-fence record.
// The expected records go to MANIFEST for the Python wrapper, which re-reads them with
// librdkafka (read_committed and read_uncommitted), also after a SIGKILL restart.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, manifestPath] = process.argv.slice(2)
if (!bootstrap || !manifestPath) {
  console.error('usage: node test_txn_kafkajs.js BOOTSTRAP MANIFEST.json')
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
const T0 = Date.now()
const log = msg => console.log(`[txn-kafkajs] ${((Date.now() - T0) / 1000).toFixed(1)}s ${msg}`)

const kafka = new Kafka({
  clientId: 'brook-integ-txn-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
})

const TA = 'tkj-a'
const TB = 'tkj-b'
const TIDEM = 'tkj-idem'
const TOPICS = [TA, TB]
const PARTS = 3
const records = [] // {topic, partition, offset, value, committed}

// Records the offsets of one sendBatch: per partition, the messages in send order.
function recordBatch(meta, sent, committed, what) {
  for (const { topic, partition, values } of sent) {
    const md = meta.find(m => m.topicName === topic && m.partition === partition)
    check(md !== undefined, `${what}: RecordMetadata for ${topic}/${partition}`)
    eq(md.errorCode, 0, `${what}: ${topic}/${partition} error code`)
    const base = Number(md.baseOffset)
    values.forEach((value, i) => records.push({ topic, partition, offset: base + i, value, committed }))
  }
}

function batchFor(tag, per) {
  const sent = []
  const topicMessages = []
  for (const topic of TOPICS) {
    const messages = []
    for (let p = 0; p < PARTS; p++) {
      const values = []
      for (let i = 0; i < per; i++) {
        const value = `${tag}-${topic}-${p}-${i}`
        values.push(value)
        messages.push({ partition: p, key: tag, value })
      }
      sent.push({ topic, partition: p, values })
    }
    topicMessages.push({ topic, messages })
  }
  return { sent, topicMessages }
}

async function transactions(admin) {
  const p = kafka.producer({
    transactionalId: 'tkj-main',
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 30000,
  })
  await withTimeout(p.connect(), 15000, 'producer.connect')
  const plan = [true, false, true, false, true]
  for (let t = 0; t < plan.length; t++) {
    const commit = plan[t]
    const tag = `main${t}-${commit ? 'c' : 'a'}`
    const txn = await withTimeout(p.transaction(), 20000, 'transaction()')
    const { sent, topicMessages } = batchFor(tag, 15)
    const meta = await withTimeout(txn.sendBatch({ topicMessages, acks: -1 }), 20000, `${tag} sendBatch`)
    recordBatch(meta, sent, commit, tag)
    if (t < 2) {
      await withTimeout(
        txn.sendOffsets({
          consumerGroupId: 'tkj-offsets',
          topics: [{ topic: TA, partitions: [{ partition: 0, offset: commit ? '5' : '9' }] }],
        }),
        20000,
        `${tag} sendOffsets`
      )
    }
    if (commit) await withTimeout(txn.commit(), 20000, `${tag} commit`)
    else await withTimeout(txn.abort(), 20000, `${tag} abort`)
    check(!txn.isActive(), `${tag}: transaction no longer active`)
  }
  await p.disconnect()
  const off = await admin.fetchOffsets({ groupId: 'tkj-offsets', topics: [TA] })
  const p0 = off[0].partitions.find(x => x.partition === 0)
  eq(p0.offset, '5', 'group offset from sendOffsets: committed 5, the aborted 9 discarded')
  log(`${plan.length} transactions (${records.length} records), sendOffsets OK`)
}

async function zombie() {
  const mk = () => kafka.producer({ transactionalId: 'tkj-zombie', idempotent: true, maxInFlightRequests: 1 })
  const z1 = mk()
  await withTimeout(z1.connect(), 15000, 'z1.connect')
  const t1 = await withTimeout(z1.transaction(), 20000, 'z1 transaction()')
  const pre = [
    { topic: TA, partition: 0, values: [0, 1, 2, 3, 4].map(i => `zombie-${TA}-0-${i}`) },
    { topic: TB, partition: 1, values: [0, 1, 2, 3, 4].map(i => `zombie-${TB}-1-${i}`) },
  ]
  let meta = await withTimeout(
    t1.sendBatch({
      topicMessages: pre.map(s => ({ topic: s.topic, messages: s.values.map(value => ({ partition: s.partition, value })) })),
    }),
    20000,
    'z1 sendBatch'
  )
  recordBatch(meta, pre, false, 'zombie')

  const z2 = mk()
  await withTimeout(z2.connect(), 15000, 'z2.connect')
  const t2 = await withTimeout(z2.transaction(), 30000, 'z2 transaction() (fences z1)')
  const succ = [
    { topic: TA, partition: 0, values: [0, 1, 2, 3, 4].map(i => `successor-${TA}-0-${i}`) },
    { topic: TB, partition: 1, values: [0, 1, 2, 3, 4].map(i => `successor-${TB}-1-${i}`) },
  ]
  meta = await withTimeout(
    t2.sendBatch({
      topicMessages: succ.map(s => ({ topic: s.topic, messages: s.values.map(value => ({ partition: s.partition, value })) })),
    }),
    20000,
    'z2 sendBatch'
  )
  recordBatch(meta, succ, true, 'successor')
  await withTimeout(t2.commit(), 20000, 'z2 commit')

  let sendErr = null
  try {
    await withTimeout(t1.send({ topic: TA, messages: [{ partition: 0, value: 'zombie-late' }] }), 30000, 'z1 late send')
  } catch (e) {
    sendErr = e
  }
  check(sendErr !== null, 'the fenced zombie could still send')
  const typ = sendErr.type || (sendErr.cause && sendErr.cause.type) || sendErr.name
  check(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_TXN_STATE'].includes(typ) || /epoch|fenced/i.test(String(sendErr.message)),
    `zombie send rejected as fenced, got ${typ}: ${sendErr.message}`)
  let commitErr = null
  try {
    await withTimeout(t1.commit(), 30000, 'z1 commit')
  } catch (e) {
    commitErr = e
  }
  check(commitErr !== null, 'the fenced zombie could commit')
  log(`zombie: send rejected (${typ}), commit rejected (${commitErr.type || commitErr.name})`)
  await z1.disconnect()
  await z2.disconnect()
}

async function idempotent() {
  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await withTimeout(p.connect(), 15000, 'idempotent connect')
  const N = 3000
  const next = [0, 0, 0]
  const parts = [[], [], []]
  for (let b = 0; b < N / 100; b++) {
    const messages = []
    for (let i = b * 100; i < (b + 1) * 100; i++) messages.push({ partition: i % PARTS, value: `idem-${i}` })
    const meta = await withTimeout(p.send({ topic: TIDEM, acks: -1, messages }), 20000, 'idempotent send')
    for (let q = 0; q < PARTS; q++) {
      const md = meta.find(m => m.partition === q)
      eq(md.errorCode, 0, `idempotent batch ${b} partition ${q} error`)
      eq(Number(md.baseOffset), next[q], `idempotent batch ${b} partition ${q} base offset`)
      const mine = messages.filter(m => m.partition === q).map(m => m.value)
      parts[q].push(...mine)
      next[q] += mine.length
    }
  }
  await p.disconnect()
  log(`idempotent: ${N} messages acknowledged at contiguous offsets`)
  return { topic: TIDEM, partitions: parts }
}

async function consumeGroup(groupId, readUncommitted, expected) {
  const t0 = Date.now()
  const c = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200, sessionTimeout: 10000, heartbeatInterval: 1000 })
  await withTimeout(c.connect(), 15000, `${groupId} connect`)
  await c.subscribe({ topics: TOPICS, fromBeginning: true })
  const got = []
  await c.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      got.push({ topic, partition, offset: Number(message.offset), value: message.value.toString() })
    },
  })
  const deadline = Date.now() + 60000
  let firstAt = null
  while (got.length < expected.length && Date.now() < deadline) {
    if (firstAt === null && got.length > 0) firstAt = Date.now()
    await sleep(100)
  }
  log(`group ${groupId}: ${got.length}/${expected.length} records (first after ${((firstAt || Date.now()) - t0) / 1000}s)`)
  await sleep(1500) // anything extra would show up now
  await withTimeout(c.disconnect(), 30000, `${groupId} disconnect`)
  const key = r => `${r.topic}/${r.partition}`
  for (const t of TOPICS) {
    for (let p = 0; p < PARTS; p++) {
      const want = expected.filter(r => key(r) === `${t}/${p}`).sort((a, b) => a.offset - b.offset)
      const have = got.filter(r => key(r) === `${t}/${p}`)
      eq(have.map(r => [r.offset, r.value]), want.map(r => [r.offset, r.value]),
        `${groupId} (${readUncommitted ? 'read_uncommitted' : 'read_committed'}) ${t}/${p}`)
    }
  }
  check(!got.some(r => r.value === 'zombie-late'), `${groupId}: the zombie's rejected record is not in the log`)
  eq(got.length, expected.length, `${groupId}: total records`)
  log(`group ${groupId}: exactly ${got.length} expected records`)
}

async function main() {
  const admin = kafka.admin()
  await withTimeout(admin.connect(), 15000, 'admin.connect')
  const created = await admin.createTopics({
    topics: [TA, TB, TIDEM].map(topic => ({ topic, numPartitions: PARTS, replicationFactor: 1 })),
    waitForLeaders: true,
    timeout: 10000,
  })
  eq(created, true, 'createTopics')
  await transactions(admin)
  await zombie()
  const idem = await idempotent()
  const seen = new Set()
  for (const r of records) {
    const k = `${r.topic}/${r.partition}@${r.offset}`
    check(!seen.has(k), `two records acknowledged at ${k}`)
    seen.add(k)
  }
  await consumeGroup('tkj-committed', false, records.filter(r => r.committed))
  await consumeGroup('tkj-uncommitted', true, records)
  await admin.disconnect()
  fs.writeFileSync(manifestPath, JSON.stringify({ records, idem }))
  log(`OK: ${checks} checks passed`)
}

const overall = setTimeout(() => {
  console.error('[txn-kafkajs] FAIL: overall timeout (150s)')
  process.exit(1)
}, 150000)
main().then(
  () => {
    clearTimeout(overall)
    process.exit(0)
  },
  e => {
    console.error(`[txn-kafkajs] FAIL: ${e && e.stack ? e.stack : e}`)
    process.exit(1)
  }
)
