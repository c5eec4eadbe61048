'use strict'
// kafkajs 2.2.4 idempotent acks=all producer for ../test_replication_kafkajs.py (issue #11).
// Usage: node repl_producer_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS ACKLOG [PREFIX]
// (also the chaos campaign's second client, tests/chaos/workloads.py, which gives PREFIX)
//
// One idempotent producer (idempotent: true, maxInFlightRequests 1, acks -1, unlimited
// retries as kafkajs requires for idempotence) writes numbered records "P:N" (N counts
// from 0 per partition P) to every partition of TOPIC, one loop per partition, each loop
// awaiting its send before the next (so per partition the acknowledged records are in send
// order).  A send that fails anyway (a non-retriable error) is sent again with the same
// records: kafkajs has rolled its sequence numbers back, so the broker sees the same batch
// again and must not store it twice.  With PREFIX the records are "PREFIX:P:N".
// Not always safe with kafkajs 2.2.4 (docs/reliability.md): after a send that ended in
// KafkaJSLockTimeout and had been written, kafkajs kept its sequence numbers, so the resend
// was stored twice; going on with new records instead loses them after the common case,
// a written send whose sequence kafkajs rolled back (the broker, like Kafka's, takes the
// next records for that batch's retry).
//
// ACKLOG gets one line per event, appended and flushed as it happens:
//   S P FIRST_N COUNT                  about to send records P:FIRST_N .. (each attempt)
//   A P BASE_OFFSET FIRST_N COUNT MS   acknowledged: records P:FIRST_N .. P:FIRST_N+COUNT-1 at
//                                      offsets BASE_OFFSET.., MS = send latency
//   E P FIRST_N COUNT ERROR_NAME MSG   a send failed (it is sent again)
//   D sent=.. acked=.. errors=.. pending=..  the end (after "stop" on stdin)
// The producer stops when stdin says "stop" (or closes): each loop finishes its current
// send (bounded by the caller), then the producer disconnects and the script exits 0.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, npartsArg, ackLog, prefix] = process.argv.slice(2)
if (!bootstrap || !topic || !npartsArg || !ackLog) {
  console.error('usage: node repl_producer_kafkajs.js BOOTSTRAP_LIST TOPIC NPARTS ACKLOG [PREFIX]')
  process.exit(2)
}
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
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  // kafkajs insists on unlimited retries for idempotence; each retry waits <= 1 s.
  retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
})

let stopping = false
let sent = 0
let acked = 0
let errors = 0
let pending = 0

async function partitionLoop(p) {
  let n = 0
  while (!stopping) {
    const values = []
    for (let i = 0; i < PER_SEND; i++) values.push(prefix ? `${prefix}:${p}:${n + i}` : `${p}:${n + i}`)
    const messages = values.map(value => ({ partition: p, value }))
    // The same records until they are acknowledged.
    for (;;) {
      const t = Date.now()
      pending++
      sent++
      out(`S ${p} ${n} ${PER_SEND}`)
      try {
        const meta = await producer.send({ topic, acks: -1, timeout: 10000, messages })
        pending--
        const md = meta.find(m => m.partition === p)
        if (!md || md.errorCode !== 0) throw new Error(`bad RecordMetadata ${JSON.stringify(meta)}`)
        out(`A ${p} ${md.baseOffset} ${n} ${PER_SEND} ${Date.now() - t}`)
        acked++
        break
      } catch (e) {
        pending--
        errors++
        out(`E ${p} ${n} ${PER_SEND} ${e.name || 'Error'} ${String(e.message).replace(/\s+/g, ' ')}`)
        if (stopping) return
        await sleep(200)
      }
    }
    n += PER_SEND
  }
}

async function main() {
  // A node may still be starting (or restarting under a chaos run): bounded retries.
  for (let attempt = 1; ; attempt++) {
    try {
      await producer.connect()
      break
    } catch (e) {
      if (attempt >= 30 || stopping) throw e
      log(`connect: ${e.message}; retrying`)
      await sleep(1000)
    }
  }
  log(`connected; producing to ${topic} (${NPARTS} partitions)`)
  const loops = []
  for (let p = 0; p < NPARTS; p++) loops.push(partitionLoop(p))
  await Promise.all(loops)
  await producer.disconnect()
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
