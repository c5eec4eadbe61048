'use strict'
// eos_copier_kafkajs - the exactly-once copier of ../eos_copier.c written with kafkajs 2.2.4,
// driven by ../test_eos_kafkajs.py.
//
//   node eos_copier_kafkajs.js BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID [TXN_MAX [RATE]]
//
// Consumes INPUT in GROUP (kafkajs's default READ_COMMITTED, autoCommit off) with eachBatch;
// each batch is cut into chunks of at most TXN_MAX records (default 100), and every chunk is
// one transaction: send the transformed records (key = input key, value = "P:O:V", the
// default partitioner places a key always on the same output partition), then
// transaction.sendOffsets({consumerGroupId, topics}) with last offset + 1, then commit.
// RATE (records/s, default 0 = unlimited) slows it down.  Between chunks it heartbeats and
// stops if the batch became stale (rebalance).
// On any error in a transaction: abort it (if the abort fails too, the producer is
// disconnected and a new one created, whose InitProducerId fences the old epoch and aborts
// what was left open), seek the partition back to the chunk's first offset (= the committed
// offset) and leave the batch, so the chunk is copied again.  At start the producer runs
// InitProducerId (an empty transaction) before the consumer joins, so whatever an earlier
// incarnation with this transactional id left open is aborted first.
// SIGTERM: stop the consumer (LeaveGroup), disconnect, exit 0.
// Prints JSON lines: {"ev":"ready"} and {"ev":"stats",...} every 2 s and at exit.
// kafkajs 2.2.4 can hand over a record of an aborted transaction at read_committed: its
// filter is replaced first (kafkajs_aborted_fix.js, docs/reliability.md).
require('./kafkajs_aborted_fix')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, input, output, group, txnId, txnMaxArg, rateArg] = process.argv.slice(2)
const TXN_MAX = Number(txnMaxArg || 100)
const RATE = Number(rateArg || 0)
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const kafka = new Kafka({
  clientId: txnId,
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
})
const sleep = ms => new Promise(r => setTimeout(r, ms))
const t0 = Date.now()
const log = msg => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(3)} eos_copier_kafkajs[${txnId}]: ${msg}\n`)
const stats = { commits: 0, aborts: 0, recreates: 0, copied: 0, rewinds: 0 }
const printStats = () => process.stdout.write(JSON.stringify({ ev: 'stats', txn_id: txnId, ...stats }) + '\n')

let producer
async function newProducer() {
  for (let attempt = 0; ; attempt++) {
    const p = kafka.producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 })
    try {
      await p.connect()
      // InitProducerId: fences older instances, aborts what they left open.
      const t = await p.transaction()
      await t.abort()
      return p
    } catch (e) {
      log(`producer init: ${e.name}: ${e.message}`)
      try { await p.disconnect() } catch (e2) { /* ignore */ }
      if (attempt > 30) throw e
      await sleep(500)
    }
  }
}

async function recreateProducer() {
  stats.recreates++
  log('re-creating the producer')
  try { await producer.disconnect() } catch (e) { /* ignore */ }
  producer = await newProducer()
}

// Rate limit: a token bucket of RATE records/s holding at most 0.2 s worth.
let tokens = 0
let tokensAt = Date.now()
async function takeTokens(n) {
  if (RATE <= 0) return
  for (;;) {
    const now = Date.now()
    tokens = Math.min(RATE * 0.2, tokens + ((now - tokensAt) / 1000) * RATE)
    tokensAt = now
    if (tokens >= n || tokens >= RATE * 0.2) {
      tokens -= n
      return
    }
    await sleep(Math.ceil(((n - tokens) / RATE) * 1000))
  }
}

async function copyChunk(partition, chunk) {
  const txn = await producer.transaction()
  try {
    await txn.send({
      topic: output,
      acks: -1,
      messages: chunk.map(m => ({ key: m.key, value: `${partition}:${m.offset}:${m.value.toString()}` })),
    })
    const next = String(Number(chunk[chunk.length - 1].offset) + 1)
    await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition, offset: next }] }] })
    await txn.commit()
    stats.commits++
    stats.copied += chunk.length
    return true
  } catch (e) {
    log(`transaction failed: ${e.name}: ${e.message}`)
    try {
      if (txn.isActive()) await txn.abort()
      stats.aborts++
    } catch (e2) {
      log(`abort failed: ${e2.name}: ${e2.message}`)
      await recreateProducer()
    }
    return false
  }
}

async function main() {
  producer = await newProducer()
  process.stdout.write(JSON.stringify({ ev: 'ready', txn_id: txnId }) + '\n')
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 16384,
  })
  consumer.on(consumer.events.GROUP_JOIN, e => log(`joined: ${JSON.stringify(e.payload.memberAssignment)}`))
  consumer.on(consumer.events.CRASH, e => log(`consumer crash: ${e.payload.error} (restart ${e.payload.restart})`))
  let stopping = false
  process.on('SIGTERM', async () => {
    if (stopping) return
    stopping = true
    log('stopping')
    try {
      await consumer.disconnect()
      await producer.disconnect()
    } catch (e) {
      log(`disconnect: ${e}`)
    }
    printStats()
    process.exit(0)
  })
  setInterval(printStats, 2000).unref()

  await consumer.connect()
  await consumer.subscribe({ topic: input, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const msgs = batch.messages
      for (let i = 0; i < msgs.length; i += TXN_MAX) {
        if (!isRunning() || isStale() || stopping) return
        const chunk = msgs.slice(i, i + TXN_MAX)
        await takeTokens(chunk.length)
        if (!(await copyChunk(batch.partition, chunk))) {
          stats.rewinds++
          consumer.seek({ topic: input, partition: batch.partition, offset: chunk[0].offset })
          return
        }
        resolveOffset(chunk[chunk.length - 1].offset)
        await heartbeat()
      }
    },
  })
}

main().catch(e => {
  log(`fatal: ${e.stack || e}`)
  printStats()
  process.exit(2)
})
