'use strict'
// Exactly-once consume-transform-produce with @confluentinc/kafka-javascript 1.10.1 (built
// from source on librdkafka 2.15.1 by install.sh) against brookd.
//
//   node eos_ckjs.js BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP TRANSACTIONAL_ID N_INPUT
//
// The package is loaded by name: run with NODE_PATH=<install dir>/app/node_modules (what
// test_ckjs_eos.py does).  It uses the package's librdkafka-style API (the node-rdkafka one:
// Kafka.KafkaConsumer / Kafka.Producer with callbacks; not its KafkaJS-compatible API):
//  - checks that the loaded library is librdkafka 2.15.1 (Kafka.librdkafkaVersion, i.e.
//    rd_kafka_version_str() of the library the binding loaded);
//  - a KafkaConsumer in GROUP (subscribe, isolation.level=read_committed, no auto commit, no
//    offset store) and a transactional Producer (transactional.id, initTransactions);
//  - for each batch of up to BATCH records polled: beginTransaction, produce every record
//    transformed (same key; value uppercased + "|" + input partition + ":" + input offset) to
//    the same partition of OUT_TOPIC, sendOffsetsToTransaction(the batch's next offsets per
//    partition, the consumer: its group metadata), commitTransaction;
//  - the ABORT_AT-th batch (in the middle) is produced as "ABORTED|..." records, its offsets
//    sent, the records flushed (all delivered, so they are in the log), then abortTransaction
//    on purpose; the consumer seeks every partition of the batch
//    back to the batch's first offset and the loop reads and commits those records again;
//  - stops when every one of N_INPUT input offsets was committed exactly once (an input
//    offset committed twice is an error here: nothing is killed, so nothing may repeat).
// Prints a JSON summary line "SUMMARY {...}" for the Python side.  One overall deadline
// (CKJS_DEADLINE_MS, default 120 s) bounds every wait; both clients are disconnected (bounded)
// on every path.  CKJS_DEBUG=cgrp,eos,... turns on librdkafka debug logs.

const [bootstrap, inTopic, outTopic, group, txnId, nStr] = process.argv.slice(2)
if (!nStr) {
  console.error('usage: node eos_ckjs.js BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP TRANSACTIONAL_ID N_INPUT')
  process.exit(2)
}
const N = Number(nStr)
const BATCH = 40
const ABORT_AT = 3 // the 3rd non-empty batch is aborted (N = 300 gives 8+ batches)
const MAX_LOOPS = 2000 // consume() calls, on top of the deadline
const START = Date.now()
const DEADLINE = START + Number(process.env.CKJS_DEADLINE_MS || 120000)
const EXPECT_LIBRDKAFKA = '2.15.1'

const Kafka = require('@confluentinc/kafka-javascript')

const remaining = () => DEADLINE - Date.now()
const log = msg => console.log(`[${((Date.now() - START) / 1000).toFixed(1)}s] ${msg}`)
function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`)
}

// A callback-style call as a promise, bounded by min(ms, time left) (by ms alone with
// ignoreDeadline: the disconnects after a failure).
function call(what, ms, fn, ignoreDeadline = false) {
  return new Promise((resolve, reject) => {
    const limit = ignoreDeadline ? ms : Math.max(1, Math.min(ms, remaining()))
    const timer = setTimeout(() => reject(new Error(`timed out after ${limit} ms: ${what}`)), limit)
    try {
      fn((err, res) => {
        clearTimeout(timer)
        if (err) reject(new Error(`${what}: ${err.message || err} (code ${err.code})`))
        else resolve(res)
      })
    } catch (e) {
      clearTimeout(timer)
      reject(e)
    }
  })
}

function debugConf() {
  return process.env.CKJS_DEBUG ? { debug: process.env.CKJS_DEBUG } : {}
}

const transform = (m, prefix) =>
  Buffer.from(`${prefix}${m.value.toString().toUpperCase()}|${m.partition}:${m.offset}`)

async function main() {
  // ------------------------------------------------------------ the library
  log(`@confluentinc/kafka-javascript loaded from ${require.resolve('@confluentinc/kafka-javascript')}`)
  log(`librdkafka ${Kafka.librdkafkaVersion}, features ${Kafka.features.join(',')}`)
  check(Kafka.librdkafkaVersion === EXPECT_LIBRDKAFKA,
    `librdkafkaVersion is ${Kafka.librdkafkaVersion}, expected ${EXPECT_LIBRDKAFKA}`)

  const clientErrors = []
  const consumer = new Kafka.KafkaConsumer({
    'bootstrap.servers': bootstrap,
    'client.id': 'brook-integ-ckjs-consumer',
    'group.id': group,
    'isolation.level': 'read_committed',
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'session.timeout.ms': 10000,
    'socket.timeout.ms': 10000,
    'fetch.wait.max.ms': 100,
    ...debugConf(),
  }, {
    // A topic property: in the global object it would be lost, the binding always sets a
    // default topic configuration (this object), which replaces the global one's.
    'auto.offset.reset': 'earliest',
  })
  const producer = new Kafka.Producer({
    'bootstrap.servers': bootstrap,
    'client.id': 'brook-integ-ckjs-producer',
    'transactional.id': txnId,
    'transaction.timeout.ms': 60000,
    'socket.timeout.ms': 10000,
    'linger.ms': 5,
    dr_cb: true,
    ...debugConf(),
  }, {})
  for (const [name, c] of [['consumer', consumer], ['producer', producer]]) {
    c.on('event.error', e => {
      log(`${name} error event: ${e.message} (code ${e.code})`)
      clientErrors.push(`${name}: ${e.message}`)
    })
    c.on('event.log', l => console.log(`${name} ${l.severity} ${l.fac}: ${l.message}`))
  }
  const deliveries = { ok: 0, failed: [] }
  let produced = 0 // records handed to produce()
  producer.on('delivery-report', (err, report) => {
    if (err) deliveries.failed.push(`${report && report.partition}: ${err.message}`)
    else deliveries.ok++
  })

  // Waits (bounded) until the delivery report of every record produced so far has reached
  // JS (they come through the poll interval, after flush's callback), then checks them.
  async function allDelivered(when) {
    await call(`delivery reports ${when}`, 15000, cb => {
      const t = setInterval(() => {
        if (deliveries.ok + deliveries.failed.length >= produced) {
          clearInterval(t)
          cb()
        }
      }, 10)
    })
    check(deliveries.failed.length === 0,
      `${when}: failed deliveries: ${deliveries.failed.slice(0, 5).join('; ')}`)
    check(deliveries.ok === produced, `${when}: ${deliveries.ok} delivery reports, ${produced} produced`)
  }

  let connected = []
  try {
    // ------------------------------------------------------------ connect
    await call('consumer connect', 20000, cb => consumer.connect({ timeout: 15000 }, cb))
    connected.push(consumer)
    await call('producer connect', 20000, cb => producer.connect({ timeout: 15000 }, cb))
    connected.push(producer)
    producer.setPollInterval(50) // serves delivery reports and events
    await call('initTransactions', 40000, cb => producer.initTransactions(30000, cb))
    log('producer: transactions initialised')
    consumer.subscribe([inTopic])
    consumer.setDefaultConsumeTimeout(500)
    consumer.setDefaultIsTimeoutOnlyForFirstMessage(true)

    // ------------------------------------------------------------ the loop
    const committed = new Map() // "p:o" -> transaction number
    const aborted = [] // [p, o] of the aborted transaction's inputs
    let batches = 0
    let txns = 0
    let abortedTxns = 0
    let loops = 0
    while (committed.size < N) {
      check(++loops <= MAX_LOOPS, `more than ${MAX_LOOPS} polls, ${committed.size}/${N} committed`)
      check(remaining() > 0, `deadline: ${committed.size}/${N} input records committed`)
      check(clientErrors.length === 0, `client errors: ${clientErrors.join('; ')}`)
      const msgs = await call('consume', 10000, cb => consumer.consume(BATCH, cb))
      if (!msgs.length) continue
      batches++
      const abortThis = batches === ABORT_AT
      for (const m of msgs) check(m.topic === inTopic, `message from ${m.topic}`)

      await call('beginTransaction', 10000, cb => producer.beginTransaction(cb))
      // The batch's first and next offsets per partition.
      const first = new Map()
      const next = new Map()
      for (const m of msgs) {
        if (!first.has(m.partition)) first.set(m.partition, m.offset)
        check(!next.has(m.partition) || m.offset === next.get(m.partition),
          `partition ${m.partition}: offset ${m.offset} after ${next.get(m.partition)} ` +
          '(a gap: the input holds no transactional records, offsets must be contiguous)')
        next.set(m.partition, m.offset + 1)
        producer.produce(outTopic, m.partition, transform(m, abortThis ? 'ABORTED|' : ''), m.key)
        produced++
      }
      const offsets = [...next].map(([partition, offset]) => ({ topic: inTopic, partition, offset }))
      await call('sendOffsetsToTransaction', 40000,
        cb => producer.sendOffsetsToTransaction(offsets, consumer, 30000, cb))
      if (abortThis) {
        // Flushed first, so that the records are in the log when the abort marker follows
        // (abortTransaction would otherwise purge the ones not yet sent, and read_committed
        // hiding them would prove nothing).
        await call('flush before abort', 40000, cb => producer.flush(30000, cb))
        await allDelivered('before the abort')
        await call('abortTransaction', 40000, cb => producer.abortTransaction(30000, cb))
        abortedTxns++
        for (const m of msgs) aborted.push([m.partition, m.offset])
        log(`batch ${batches}: ${msgs.length} records produced, offsets sent, transaction ` +
          `ABORTED on purpose; seeking back to ${JSON.stringify([...first])}`)
        for (const [partition, offset] of first) {
          await call(`seek ${partition} to ${offset}`, 15000,
            cb => consumer.seek({ topic: inTopic, partition, offset }, 10000, cb))
        }
        continue
      }
      await call('commitTransaction', 40000, cb => producer.commitTransaction(30000, cb))
      txns++
      for (const m of msgs) {
        const k = `${m.partition}:${m.offset}`
        check(!committed.has(k), `input ${k} committed twice (transactions ${committed.get(k)} and ${txns})`)
        committed.set(k, txns)
      }
      log(`batch ${batches}: ${msgs.length} records, offsets ${JSON.stringify(offsets.map(o => [o.partition, o.offset]))}, committed (transaction ${txns}, ${committed.size}/${N})`)
    }

    // ------------------------------------------------------------ own checks
    check(committed.size === N, `${committed.size} input records committed, expected ${N}`)
    check(abortedTxns === 1 && aborted.length > 0, `one transaction aborted (got ${abortedTxns})`)
    const firstTxnOfAborted = aborted.map(([p, o]) => committed.get(`${p}:${o}`))
    check(firstTxnOfAborted.every(t => t !== undefined), 'every aborted input was committed later')
    check(ABORT_AT > 1 && txns >= ABORT_AT, `committed transactions before and after the abort (${txns})`)
    // Every delivery report, the aborted transaction's records' too (written, then aborted
    // by the marker).
    await allDelivered('at the end')
    check(clientErrors.length === 0, `client errors: ${clientErrors.join('; ')}`)

    const summary = {
      librdkafka: Kafka.librdkafkaVersion,
      inputs_committed: committed.size,
      batches,
      transactions_committed: txns,
      transactions_aborted: abortedTxns,
      aborted_inputs: aborted,
      produced,
      polls: loops,
      seconds: (Date.now() - START) / 1000,
    }
    console.log(`SUMMARY ${JSON.stringify(summary)}`)
  } finally {
    // Both clients, bounded, even after a failure (the consumer first: it leaves the group).
    for (const [c, what] of [[consumer, 'consumer'], [producer, 'producer']]) {
      if (!connected.includes(c)) continue
      try {
        if (c === producer) producer.setPollInterval(0)
        await call(`${what} disconnect`, 20000,
          cb => (c === producer ? producer.disconnect(5000, cb) : c.disconnect(cb)), true)
      } catch (e) {
        console.error(`${what} disconnect: ${e.message}`)
      }
    }
    connected = []
  }
}

main().then(
  () => {
    log('eos_ckjs: OK')
    process.exit(0)
  },
  e => {
    console.error(`eos_ckjs: FAILED: ${e.stack || e}`)
    process.exit(1)
  })
