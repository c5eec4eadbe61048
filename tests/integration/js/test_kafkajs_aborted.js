'use strict'
// test_kafkajs_aborted - reads one partition at read_committed with kafkajs 2.2.4 from the
// offset its group committed, until it sees the value STOP, and prints the values it was
// handed as one JSON line. With KAFKAJS_STOCK_ABORT_FILTER=1, kafkajs's own filter of
// aborted transactions is used; else kafkajs_aborted_fix.js's (test_kafkajs_aborted.py).
// Usage: node test_kafkajs_aborted.js BOOTSTRAP TOPIC GROUP STOP
require('./kafkajs_aborted_fix')
const { Kafka, logLevel } = require('kafkajs')

const [broker, topic, groupId, stop] = process.argv.slice(2)

async function main() {
  const kafka = new Kafka({ clientId: 'kjs-aborted', brokers: [broker], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId, readUncommitted: false })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${stop} within 30 s: ${got}`)), 30000)
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        got.push(v)
        if (v === stop) { clearTimeout(timer); resolve() }
      },
    }).catch(reject)
  })
  await consumer.disconnect()
  console.log(JSON.stringify(got))
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
