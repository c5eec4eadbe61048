'use strict'
// chaos_txn_kafkajs - the chaos campaign's second transactional client (kafkajs 2.2.4),
// driven by tests/chaos/workloads.py (KafkajsTxn).
//
//   node chaos_txn_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS TRANSACTIONAL_ID GROUP NAME SEED HISTLOG
//
// Consume-transform-produce on TOPIC: a read_committed consumer in GROUP (its only member,
// so it holds every partition; autoCommit off, offsets only through transactions) hands
// batches to eachBatch; each transaction takes 1-6 records of one batch, writes 1-3 values
// "NAME.K:P:J" to each of 1-3 random partitions, puts the consumer's positions of all NPARTS
// partitions in the transaction (sendOffsets) and commits (75%) or aborts. The choices come
// from a PRNG seeded with SEED, so a run's choices repeat with its seed.
//
// HISTLOG gets one JSON line per event, written as it happens (the checker's history):
//   {"ev":"txn","name","reads":[[p,off,value]],"writes":[...],"offsets":{p:off},"outcome"}
//       once with outcome "unknown" before EndTxn is sent, again with the outcome learned
//       ("committed" / "aborted"); the last line of a name counts;
//   {"ev":"ok","wall":ms}  a transaction committed (for liveness);
//   {"ev":"unsent","name","partitions"}  send() resolved without those partitions
//       (checkSent): that transaction aborts.
// Outcomes: commit() resolved: committed; an abort that succeeded: aborted; a commit that
// threw stays unknown, the producer is replaced (its InitProducerId finishes whatever the old
// epoch left) and the positions are taken again from the group. Stops on "stop" on stdin
// (or its end): the current transaction ends, then it disconnects and exits 0.
const fs = require('fs')
// kafkajs 2.2.4 can hand over a record of an aborted transaction at read_committed: its
// filter is replaced first (kafkajs_aborted_fix.js, docs/reliability.md).
require('./kafkajs_aborted_fix')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, npartsArg, txnId, group, name, seedArg, histLog] = process.argv.slice(2)
if (!histLog) {
  console.error('usage: node chaos_txn_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS TRANSACTIONAL_ID GROUP NAME SEED HISTLOG')
  process.exit(2)
}
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const NPARTS = Number(npartsArg)
const t0 = Date.now()
const log = msg => console.log(`[chaos-txn-kafkajs] ${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`)
const sleep = ms => new Promise(r => setTimeout(r, ms))
const fd = fs.openSync(histLog, 'a')
const out = obj => fs.writeSync(fd, JSON.stringify(obj) + '\n')

// mulberry32: a small seeded PRNG (Math.random cannot be seeded).
let state = Number(seedArg) >>> 0
function rand() {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const randint = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
function sample(n, k) {
  const all = [...Array(n).keys()]
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i))
    ;[all[i], all[j]] = [all[j], all[i]]
  }
  return all.slice(0, k)
}

const kafka = new Kafka({
  clientId: txnId,
  brokers: bootstrap.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 15000,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
})
const admin = kafka.admin()
const stats = { committed: 0, aborted: 0, unknown: 0, recreated: 0, unsent: 0 }
let stopping = false
let producer = null
let pos = {} // the positions the last committed transaction put in the group
let k = 0

async function newProducer() {
  for (let attempt = 0; !stopping || attempt === 0; attempt++) {
    const p = kafka.producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 20000 })
    try {
      await p.connect()
      const t = await p.transaction() // InitProducerId: fences the old epoch, ends its transaction
      await t.abort()
      return p
    } catch (e) {
      log(`producer init: ${e.name}: ${e.message}`)
      try { await p.disconnect() } catch (e2) { /* it is being replaced */ }
      await sleep(500)
    }
  }
  return null
}

// The group's committed positions (0 where none), bounded retries.
async function groupPositions() {
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const got = await admin.fetchOffsets({ groupId: group, topics: [topic] })
      const p = {}
      for (let i = 0; i < NPARTS; i++) p[i] = 0
      for (const x of got[0].partitions) p[x.partition] = Math.max(Number(x.offset), 0)
      return p
    } catch (e) {
      log(`fetchOffsets: ${e.name}: ${e.message}`)
      await sleep(500)
    }
  }
  throw new Error('no committed offsets from the group in 60 attempts')
}

function seekAll(consumer) {
  for (let i = 0; i < NPARTS; i++) consumer.seek({ topic, partition: i, offset: String(pos[i]) })
}

// kafkajs 2.2.4's send() (src/producer/sendMessages.js) keeps, across its retries, the
// answers of the brokers that already answered and sends only to the others: when a
// partition's leader moves to a broker that answered for other partitions, that partition's
// records are never sent, and send() still resolves (tulios/kafkajs#1303, #1798). Committing
// then would tear the transaction, so a partition missing from the answer (or answered with
// an error) makes this transaction abort.
function checkSent(t, messages, meta) {
  const answered = new Set(meta.filter(m => m.errorCode === 0).map(m => m.partition))
  const missing = [...new Set(messages.map(m => m.partition))].filter(p => !answered.has(p))
  if (missing.length) {
    stats.unsent++
    out({ ev: 'unsent', name: t.name, partitions: missing })
    const e = new Error(`send() resolved without partitions ${missing.join(',')} (kafkajs dropped them)`)
    e.name = 'KafkaJSUnsentPartitions'
    throw e
  }
}

// One transaction over msgs (records of partition part); returns true when it committed.
async function one(part, msgs) {
  k++
  const t = { ev: 'txn', name: `${name}.${k}`, reads: [], writes: [], offsets: null, outcome: 'unknown' }
  const next = { ...pos }
  for (const m of msgs) {
    t.reads.push([part, Number(m.offset), m.value.toString()])
    next[part] = Number(m.offset) + 1
  }
  const messages = []
  for (const p of sample(NPARTS, randint(1, 3))) {
    const n = randint(1, 3)
    for (let j = 0; j < n; j++) {
      const v = `${t.name}:${p}:${j}`
      messages.push({ partition: p, value: v })
      t.writes.push(v)
    }
  }
  t.offsets = next
  const commit = rand() >= 0.25
  let txn
  try {
    txn = await producer.transaction()
    out(t)
    const meta = await txn.send({ topic, acks: -1, messages })
    checkSent(t, messages, meta)
    await txn.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic, partitions: Object.keys(next).map(p => ({ partition: Number(p), offset: String(next[p]) })) }],
    })
  } catch (e) {
    log(`${t.name}: ${e.name}: ${e.message}`)
    // kafkajs keeps a partition's sequence unchanged when a send to several partitions
    // fails on another one, so it would reuse numbers the broker already holds: every
    // later transaction writing there is refused OUT_OF_ORDER. A new producer (a new
    // epoch) starts the sequences again.
    return finish(t, txn, false, e.type === 'OUT_OF_ORDER_SEQUENCE_NUMBER')
  }
  return finish(t, txn, commit, false)
}

// Ends t (commit or abort) and records its outcome; see the header for what counts.
// renew: replace the producer afterwards whatever the outcome.
async function finish(t, txn, commit, renew) {
  try {
    if (!txn) throw new Error('no transaction began')
    if (commit) await txn.commit()
    else await txn.abort()
    t.outcome = commit ? 'committed' : 'aborted'
  } catch (e) {
    log(`${t.name}: ${commit ? 'commit' : 'abort'} failed: ${e.name}: ${e.message}`)
  }
  out(t)
  stats[t.outcome]++
  if (t.outcome === 'committed') {
    pos = t.offsets
    out({ ev: 'ok', wall: Date.now() })
    return true
  }
  if ((t.outcome === 'unknown' && t.writes.length) || renew) {
    stats.recreated++
    try { await producer.disconnect() } catch (e) { /* being replaced */ }
    producer = await newProducer()
    if (producer) pos = await groupPositions()
  }
  return false
}

// connect() with bounded retries: a node may still be starting or restarting.
async function connect(client, what) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.connect()
    } catch (e) {
      if (attempt >= 30) throw e
      log(`${what} connect: ${e.message}; retrying`)
      await sleep(1000)
    }
  }
}

async function main() {
  await connect(admin, 'admin')
  producer = await newProducer()
  pos = await groupPositions()
  const consumer = kafka.consumer({
    groupId: group,
    readUncommitted: false,
    sessionTimeout: 10000,
    rebalanceTimeout: 15000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 1000 },
  })
  consumer.on(consumer.events.CRASH, e => log(`consumer crash: ${e.payload.error} (restart ${e.payload.restart})`))
  let done
  const finished = new Promise(r => { done = r })
  const stop = async () => {
    if (stopping) return
    stopping = true
    log('stopping')
    try { await consumer.disconnect() } catch (e) { log(`consumer disconnect: ${e}`) }
    try { if (producer) await producer.disconnect() } catch (e) { log(`producer disconnect: ${e}`) }
    try { await admin.disconnect() } catch (e) { log(`admin disconnect: ${e}`) }
    log(`done ${JSON.stringify(stats)}`)
    done()
  }
  process.stdin.on('data', d => { if (d.toString().includes('stop')) stop() })
  process.stdin.on('end', stop)

  await connect(consumer, 'consumer')
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const part = batch.partition
      let msgs = batch.messages.filter(m => Number(m.offset) >= pos[part])
      while (msgs.length && isRunning() && !isStale() && !stopping && producer) {
        const take = msgs.slice(0, randint(1, 6))
        msgs = msgs.slice(take.length)
        if (!(await one(part, take))) {
          // Read again from what the group holds: this partition's records, and every
          // partition when the producer was replaced.
          if (producer) seekAll(consumer)
          return
        }
        resolveOffset(take[take.length - 1].offset)
        await heartbeat()
      }
    },
  })
  await finished
  process.exit(0)
}

main().catch(e => {
  log(`fatal: ${e.stack || e}`)
  process.exit(1)
})
