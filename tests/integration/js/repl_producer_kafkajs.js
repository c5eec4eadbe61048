'use strict'
// kafkajs 2.2.4 idempotent acks=all producer for ../test_replication_kafkajs.py (issue #11).
// Usage: node repl_producer_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS ACKLOG [PREFIX [fresh]]
// (also the chaos campaign's second client, tests/chaos/workloads.py: PREFIX and fresh)
//
// Idempotent producers (idempotent: true, maxInFlightRequests 1, acks -1, unlimited
// retries as kafkajs requires for idempotence) write numbered records "P:N" (N counts
// from 0 per partition P) to every partition of TOPIC, one loop per partition, each loop
// awaiting its send before the next (so per partition the acknowledged records are in send
// order).  With PREFIX the records are "PREFIX:P:N".  What a loop does after a send that
// fails anyway (a non-retriable error or kafkajs's own timeouts):
//   default  one producer for all loops; the send is sent again with the same records:
//            kafkajs has rolled its sequence numbers back, so the broker sees the same
//            batch again and must not store it twice.
//   fresh    each loop has its own producer; the failed send's records are given up
//            (written or not: the reader may find them, once) and the loop goes on with
//            new records on a new producer (a new producer id, sequences from 0).
// Only `fresh` is safe with kafkajs 2.2.4 (docs/reliability.md): after a send that ended
// in KafkaJSLockTimeout and had been written, kafkajs kept its sequence numbers, so the
// default's resend was stored twice; going on with new records on the same producer loses
// them after the common case, a written send whose sequence kafkajs rolled back (the
// broker, like Kafka's, takes the next records for that batch's retry).  The chaos
// campaign uses `fresh`; test_replication_kafkajs the default (its faults are short).
//
// ACKLOG gets one line per event, appended and flushed as it happens:
//   S P FIRST_N COUNT                  about to send records P:FIRST_N .. (each attempt)
//   A P BASE_OFFSET FIRST_N COUNT MS   acknowledged: records P:FIRST_N .. P:FIRST_N+COUNT-1 at
//                                      offsets BASE_OFFSET.., MS = send latency
//   E P FIRST_N COUNT ERROR_NAME MSG   a send failed (default: sent again; fresh: given up)
//   D sent=.. acked=.. errors=.. pending=..  the end (after "stop" on stdin)
// The producer stops when stdin says "stop" (or closes): each loop finishes its current
// send (bounded by the caller), then the producers disconnect and the script exits 0.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, npartsArg, ackLog, prefix, mode] = process.argv.slice(2)
if (!bootstrap || !topic || !npartsArg || !ackLog || (mode !== undefined && mode !== 'fresh')) {
  console.error('usage: node repl_producer_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS ACKLOG [PREFIX [fresh]]')
  process.exit(2)
}
const FRESH = mode === 'fresh'
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const NPARTS = Number(npartsArg)
const PER_SEND = 5
const T0 = Date.now()
const log = msg => console.log(`[repl-kafkajs-js] ${((Date.now() - T0) / 1000).toFixed(1)}s ${msg}`)
const sleep = ms => new Promise(r => setTimeout(r, ms))
const fd = fs.openSync(ackLog, 'a')
const out = line => fs.writeSync(fd, line + '\n')

const kafka = new Kafka({
  clientId: 'brook-integ-repl-kafkajs',
  brokers: bootstrap.split(','),
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 15000,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
})
const newProducer = () =>
  kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // kafkajs insists on unlimited retries for idempotence; each retry waits <= 1 s.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
  })
const shared = FRESH ? null : newProducer()

// Connects a producer; a node may still be starting (or restarting under a chaos run), so
// up to 600 attempts a second apart. False: stopping came first.
async function connect(producer) {
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.connect()
      return true
    } catch (e) {
      if (stopping) return false
      if (attempt >= 600) throw e
      if (attempt % 10 === 1) log(`connect: ${e.message}; retrying`)
      await sleep(1000)
    }
  }
}

// Disconnects a given-up producer, waiting at most 5 s (its requests may hang on a dead node).
async function drop(producer) {
  await Promise.race([producer.disconnect().catch(() => {}), sleep(5000)])
}

let stopping = false
let sent = 0
let acked = 0
let errors = 0
let pending = 0

async function partitionLoop(p) {
  let producer = shared
  if (FRESH) {
    producer = newProducer()
    if (!(await connect(producer))) return
  }
  let n = 0
  while (!stopping) {
    const values = []
    for (let i = 0; i < PER_SEND; i++) values.push(prefix ? `${prefix}:${p}:${n + i}` : `${p}:${n + i}`)
    const messages = values.map(value => ({ partition: p, value }))
    // The same records until they are acknowledged (fresh: until one send of them ends).
    for (;;) {
      const t = Date.now()
      pending++
      sent++
      out(`S ${p} ${n} ${PER_SEND}`)
      try {
        let meta
        try {
          meta = await producer.send({ topic, acks: -1, timeout: 10000, messages })
        } finally {
          pending--
        }
        const md = meta.find(m => m.partition === p)
        if (!md || md.errorCode !== 0) throw new Error(`bad RecordMetadata ${JSON.stringify(meta)}`)
        out(`A ${p} ${md.baseOffset} ${n} ${PER_SEND} ${Date.now() - t}`)
        acked++
        break
      } catch (e) {
        errors++
        out(`E ${p} ${n} ${PER_SEND} ${e.name || 'Error'} ${String(e.message).replace(/\s+/g, ' ')}`)
        if (stopping) break
        await sleep(200)
        if (FRESH) {
          await drop(producer)
          producer = newProducer()
          if (!(await connect(producer))) return
          break
        }
      }
    }
    n += PER_SEND
  }
  if (FRESH) await drop(producer)
}

async function main() {
  if (shared) await connect(shared)
  log(`producing to ${topic} (${NPARTS} partitions${FRESH ? ', a producer each' : ''})`)
  const loops = []
  for (let p = 0; p < NPARTS; p++) loops.push(partitionLoop(p))
  await Promise.all(loops)
  if (shared) await shared.disconnect()
  out(`D sent=${sent} acked=${acked} errors=${errors} pending=${pending}`)
  log(`done: sent=${sent} acked=${acked} errors=${errors}`)
}

let input = ''
process.stdin.on('data', d => {
  input += d.toString()
  if (input.includes('stop')) stopping = true
})
process.stdin.on('end', () => {
  stopping = true
})

main().then(
  () => {
    fs.closeSync(fd)
    process.exit(0)
  },
  e => {
    console.error(`[repl-kafkajs-js] FAIL: ${e && e.stack ? e.stack : e}`)
    process.exit(1)
  }
)
