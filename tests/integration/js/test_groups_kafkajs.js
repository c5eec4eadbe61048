'use strict'
// kafkajs 2.2.4 consumer-group helpers, driven by ../test_groups_kafkajs.py.
//
//   node test_groups_kafkajs.js member BOOTSTRAP GROUP TOPIC NAME
//       A group member (RoundRobinAssigner, session 6 s).  Prints JSON lines with a
//       CLOCK_MONOTONIC time stamp: {ev:"started"}, {ev:"revoke"} when kafkajs starts a
//       rebalance (REBALANCING: it gives up every partition and rejoins), {ev:"assign",
//       parts} on GROUP_JOIN; on SIGTERM disconnect() (LeaveGroup), {ev:"closed"}, exit 0.
//   node test_groups_kafkajs.js admin BOOTSTRAP OP [ARGS]    -> one JSON line
//       list | describe GROUP | delete GROUP | fetch GROUP TOPIC | produce TOPIC NPARTS PER_PART
//   node test_groups_kafkajs.js consume BOOTSTRAP GROUP TOPIC EXPECT [COMMIT_JSON]
//       Subscribes (fromBeginning), reads until EXPECT records arrived and 3 s passed quietly
//       (or 60 s), commits COMMIT_JSON ({partition: offset}) with commitOffsets() if given,
//       disconnects and prints {partition: [offsets]} plus value errors.
const { Kafka, logLevel, AssignerProtocol } = require('kafkajs')

const [mode, bootstrap, ...args] = process.argv.slice(2)
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const kafka = new Kafka({
  clientId: mode === 'member' ? args[2] : 'brook-groups-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
})
const now = () => Number(process.hrtime.bigint()) / 1e9 // CLOCK_MONOTONIC, as Python's
const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const sleep = ms => new Promise(r => setTimeout(r, ms))

async function member(group, topic, name) {
  const emit = (ev, extra) => out({ ev, t: now(), name, ...(extra || {}) })
  const c = kafka.consumer({
    groupId: group,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  })
  c.on(c.events.REBALANCING, () => emit('revoke', { parts: [] }))
  c.on(c.events.GROUP_JOIN, e => {
    emit('assign', { parts: (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b) })
  })
  c.on(c.events.CRASH, e => emit('crash', { error: String(e.payload.error), restart: !!e.payload.restart }))
  let stopping = false
  process.on('SIGTERM', async () => {
    if (stopping) return
    stopping = true
    try {
      await c.disconnect()
      emit('closed')
      process.exit(0)
    } catch (e) {
      emit('close-error', { error: String(e) })
      process.exit(1)
    }
  })
  await c.connect()
  await c.subscribe({ topic, fromBeginning: true })
  emit('started')
  await c.run({ eachMessage: async () => {} })
}

async function admin(op, a) {
  const ad = kafka.admin()
  await ad.connect()
  try {
    if (op === 'list') {
      out(await ad.listGroups())
    } else if (op === 'describe') {
      const r = await ad.describeGroups([a[0]])
      for (const g of r.groups)
        for (const m of g.members) {
          const dec = m.memberAssignment && m.memberAssignment.length
            ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null
          m.assignment = dec ? dec.assignment : {}
          m.memberAssignment = undefined
          m.memberMetadata = m.memberMetadata ? m.memberMetadata.toString('latin1') : ''
        }
      out(r)
    } else if (op === 'delete') {
      try {
        out({ ok: await ad.deleteGroups([a[0]]) })
      } catch (e) {
        out({ error: e.name, groups: (e.groups || []).map(g => ({ groupId: g.groupId, errorCode: g.errorCode, type: g.error && g.error.type })) })
      }
    } else if (op === 'fetch') {
      out(await ad.fetchOffsets({ groupId: a[0], topics: [a[1]] }))
    } else if (op === 'produce') {
      const [topic, nparts, per] = [a[0], Number(a[1]), Number(a[2])]
      const p = kafka.producer({ allowAutoTopicCreation: false })
      await p.connect()
      for (let part = 0; part < nparts; part++)
        for (let i = 0; i < per; i += 200) {
          const messages = []
          for (let k = i; k < Math.min(per, i + 200); k++)
            messages.push({ partition: part, key: `k${k}`, value: `${part}:${k}` })
          await p.send({ topic, acks: -1, messages })
        }
      await p.disconnect()
      out({ ok: true })
    } else {
      throw new Error(`unknown admin op ${op}`)
    }
  } finally {
    await ad.disconnect()
  }
}

async function consume(group, topic, expect, commitJson) {
  const c = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 })
  const got = {}
  const bad = []
  let n = 0
  let last = Date.now()
  await c.connect()
  await c.subscribe({ topic, fromBeginning: true })
  await c.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const off = Number(message.offset)
      if (message.value.toString() !== `${partition}:${off}`) bad.push([partition, off, message.value.toString()])
      ;(got[partition] = got[partition] || []).push(off)
      n++
      last = Date.now()
    },
  })
  const start = Date.now()
  while (Date.now() - start < 60000 && !(n >= expect && Date.now() - last > 3000)) await sleep(100)
  if (commitJson) {
    const cm = JSON.parse(commitJson)
    await c.commitOffsets(Object.entries(cm).map(([p, o]) => ({ topic, partition: Number(p), offset: String(o) })))
  }
  await c.disconnect()
  out({ got, bad, n })
}

async function main() {
  if (mode === 'member') return member(args[0], args[1], args[2])
  if (mode === 'admin') return admin(args[0], args.slice(1))
  if (mode === 'consume') return consume(args[0], args[1], Number(args[2]), args[3])
  throw new Error(`unknown mode ${mode}`)
}

main().then(
  () => { if (mode !== 'member') process.exit(0) },
  e => { console.error(e); process.exit(1) })
