'use strict'
// @platformatic/kafka 1.35.0 against brookd.  Usage: node test_platformatic.js BOOTSTRAP
//
// The package is ESM only; this script stays CommonJS like the other scripts here and loads
// it with import().  Every step uses the package's public API as an application would:
//  1. metadata: Admin.metadata() lists exactly broker 1 at the bootstrap address (and it is
//     the controller); a created topic has 3 partitions, each led by 1, replicas/ISR [1],
//     and a real topic id;
//  2. a Producer (acks = ALL) sends 100 records with keys and two headers to explicit
//     partitions 0..2 in two sends (the base offsets of each send checked); a Consumer in a
//     fresh group (mode earliest) reads back exactly those 100: partition, offset, key,
//     value, headers, in offset order per partition, nothing more;
//  3. an idempotent Producer (idempotent: true, default partitioner on the keys) sends 60
//     records in 3 sends; it got a producer id; every base offset equals the records before
//     it in that partition; read back exactly once with contiguous offsets;
//  4. a Consumer (autocommit off, mode committed, fallback earliest) processes the first 7
//     and 13 records of partitions 0 and 1 (20 each) and none of 2, commits each partition's
//     last processed record with message.commit(), and closes; the group's committed offsets
//     (Admin.listConsumerGroupOffsets) are exactly 7 and 13; a new Consumer of the same group
//     reads exactly the other 40 (none twice, none lost);
//  5. transactions (idempotent + transactionalId) over 2 partitions: committed, aborted,
//     committed (the last one so a reader must step over the aborted records and their
//     marker); read_committed sees exactly the committed records at their exact offsets
//     (markers take an offset each), read_uncommitted also the aborted ones;
//  6. Admin: createTopics (2 topics), listTopics (exactly this run's topics, no internal
//     ones), deleteTopics one, listTopics again (gone, the other still there).
// Everything runs under one overall deadline (PLT_DEADLINE_MS, default 180 s); every wait
// is bounded by it; every client is closed at the end, also on failure.
// PLT_DEBUG=1 turns on the package's debug logging (DEBUG=plt:kafka:*).

const [bootstrap] = process.argv.slice(2)
if (!bootstrap) {
  console.error('usage: node test_platformatic.js BOOTSTRAP')
  process.exit(2)
}
if (process.env.PLT_DEBUG && !process.env.DEBUG) process.env.DEBUG = 'plt:kafka:*'

const DEADLINE = Date.now() + Number(process.env.PLT_DEADLINE_MS || 180000)
const [bootHost, bootPortStr] = bootstrap.split(':')
const bootPort = Number(bootPortStr)

let checks = 0
function check(cond, msg) {
  checks++
  if (!cond) throw new Error(`check failed: ${msg}`)
}
function show(x) {
  return JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v] : v))
}
function eq(got, want, msg) {
  checks++
  const g = show(got)
  const w = show(want)
  if (g !== w) throw new Error(`check failed: ${msg}: expected ${w}, got ${g}`)
}
function remaining() {
  return DEADLINE - Date.now()
}
// Races `promise` against min(ms, time left before the overall deadline).
async function bounded(promise, ms, what, ignoreDeadline = false) {
  const limit = ignoreDeadline ? ms : Math.max(0, Math.min(ms, remaining()))
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const w = typeof what === 'function' ? what() : what
      reject(new Error(`timed out after ${limit} ms: ${w}`))
    }, limit)
  })
  try {
    return await Promise.race([promise, t])
  } finally {
    clearTimeout(timer)
  }
}
const sleep = ms => new Promise(r => setTimeout(r, Math.max(0, Math.min(ms, remaining()))))
function step(name) {
  console.log(`[${((Date.now() - START) / 1000).toFixed(1)}s] ${name}`)
}
const START = Date.now()

let K // the imported package
const clients = [] // everything started, closed in main()'s finally
function track(c) {
  clients.push(c)
  return c
}
// Closes (forced, bounded) every client still open except `keep`: a failed part leaves none.
async function closeAllBut(keep) {
  for (const c of [...clients].reverse()) {
    if (c === keep) continue
    clients.splice(clients.indexOf(c), 1)
    try {
      await bounded(c.close(true), 10000, 'close after part', true)
    } catch (e) {
      console.error('close after part:', e.message)
    }
  }
}
const results = [] // one line per part, printed at the end
async function closeClient(c, what) {
  const i = clients.indexOf(c)
  if (i >= 0) clients.splice(i, 1)
  await bounded(c.close(), 15000, `close ${what}`)
}

const base = id => ({
  clientId: `brook-integ-plt-${id}`,
  bootstrapBrokers: [bootstrap],
  timeout: 10000,
  connectTimeout: 5000,
  retries: 5,
  retryDelay: 250,
})

function newConsumer(group, extra = {}) {
  return track(new K.Consumer({
    ...base(`c-${group}`),
    groupId: group,
    deserializers: K.stringDeserializers,
    sessionTimeout: 10000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTime: 500,
    autocommit: false,
    ...extra,
  }))
}

function plain(m) {
  return { p: m.partition, o: Number(m.offset), k: m.key, v: m.value, h: [...m.headers] }
}

// Consume `topics` until `want` records arrived, then wait `quietMs` more so that any record
// beyond them (a duplicate, an aborted one) is seen too; close the stream.  Returns the
// records in arrival order.
async function collect(consumer, opts, want, what, quietMs = 1500) {
  const stream = await bounded(consumer.consume({ autocommit: false, ...opts }), 30000, `${what}: consume()`)
  const got = []
  try {
    const reached = new Promise((resolve, reject) => {
      stream.on('data', m => {
        got.push(m)
        if (got.length === want) resolve()
      })
      stream.on('error', reject)
    })
    await bounded(reached, 40000, () => `${what}: waiting for ${want} records, got ${got.length}: ${show(got.map(plain))}`)
    await sleep(quietMs)
  } finally {
    await bounded(stream.close(), 15000, `${what}: stream.close()`)
  }
  return got
}

// Records must arrive in offset order within each partition.
function checkArrivalOrder(got, what) {
  const last = new Map()
  for (const m of got) {
    const o = Number(m.offset)
    check(!last.has(m.partition) || last.get(m.partition) < o,
      `${what}: partition ${m.partition} offset ${o} arrived after ${last.get(m.partition)}`)
    last.set(m.partition, o)
  }
}
const byPartOffset = (a, b) => a.p - b.p || a.o - b.o

function isZeroUuid(id) {
  return !id || /^[0-]+$/.test(id.replace(/-/g, '')) || id === 'AAAAAAAAAAAAAAAAAAAAAA'
}

// The six parts run one after another; a part that fails is reported and the next one still
// runs (the topics are made first; each part writes what it reads), so one run shows every
// part's result.  Exit 1 if any part failed.
async function main() {
  K = await import('@platformatic/kafka')
  const sfx = Date.now().toString(36)
  const T = `plt-main-${sfx}`
  const TI = `plt-idem-${sfx}`
  const TG = `plt-group-${sfx}`
  const TX = `plt-txn-${sfx}`
  const TA = `plt-adm-a-${sfx}`
  const TB = `plt-adm-b-${sfx}`

  const admin = track(new K.Admin(base('admin')))

  // Topics the parts use: created first (a failure here stops everything).
  step('setup: createTopics')
  const created = await bounded(admin.createTopics({ topics: [T, TI, TG], partitions: 3, replicas: 1 }),
    20000, 'createTopics main/idem/group')
  const createdTx = await bounded(admin.createTopics({ topics: [TX], partitions: 2, replicas: 1 }), 20000, 'createTopics txn')

  const parts = []
  parts.push(['1. metadata', async () => {
    eq(created.map(t => [t.name, t.partitions, t.replicas]).sort(),
      [[T, 3, 1], [TI, 3, 1], [TG, 3, 1]].sort(), 'createTopics results')
    eq(createdTx.map(t => [t.name, t.partitions, t.replicas]), [[TX, 2, 1]], 'createTopics txn result')
    for (const t of [...created, ...createdTx]) check(!isZeroUuid(t.id), `createTopics ${t.name}: topic id ${t.id}`)

    const md = await bounded(admin.metadata({ topics: [T], forceUpdate: true }), 15000, 'metadata')
    eq([...md.brokers.entries()].map(([id, b]) => [id, b.host, b.port]), [[1, bootHost, bootPort]],
      'metadata brokers (id, host, port)')
    eq(md.controllerId, 1, 'metadata controller id')
    check(typeof md.id === 'string' && md.id.length > 0, `metadata cluster id ${md.id}`)
    const tm = md.topics.get(T)
    check(tm, `metadata has topic ${T}`)
    eq(tm.partitionsCount, 3, `${T} partition count`)
    eq(tm.partitions.map(p => [p.leader, p.replicas, p.isr]), [[1, [1], [1]], [1, [1], [1]], [1, [1], [1]]],
      `${T} partitions (leader, replicas, isr)`)
    eq(tm.id, created.find(t => t.name === T).id, `${T} topic id in metadata = the one CreateTopics gave`)
  }])

  parts.push(['2. produce 100 (acks all) + consumer group read-back', async () => {
    const producer = track(new K.Producer({ ...base('producer'), serializers: K.stringSerializers }))
    const msgs = []
    for (let i = 0; i < 100; i++) {
      msgs.push({
        topic: T, partition: i % 3, key: `key-${i}`, value: `value-${i}`,
        headers: { 'h-index': String(i), 'h-src': 'platformatic' },
      })
    }
    const r1 = await bounded(producer.send({ messages: msgs.slice(0, 50), acks: K.ProduceAcks.ALL }), 20000, 'send 1')
    eq(r1.offsets.map(x => [x.topic, x.partition, Number(x.offset)]).sort(),
      [[T, 0, 0], [T, 1, 0], [T, 2, 0]], 'send 1 base offsets')
    const r2 = await bounded(producer.send({ messages: msgs.slice(50), acks: K.ProduceAcks.ALL }), 20000, 'send 2')
    // records 0..49: partition 0 has 17 (0, 3, .. 48), 1 has 17 (1 .. 49), 2 has 16 (2 .. 47)
    eq(r2.offsets.map(x => [x.topic, x.partition, Number(x.offset)]).sort(),
      [[T, 0, 17], [T, 1, 17], [T, 2, 16]], 'send 2 base offsets')
    await closeClient(producer, 'producer')

    const want2 = msgs.map((m, i) => ({
      p: i % 3, o: Math.floor(i / 3), k: m.key, v: m.value,
      h: [['h-index', String(i)], ['h-src', 'platformatic']],
    })).sort(byPartOffset)
    const c2 = newConsumer(`plt-g-main-${sfx}`)
    const got2 = await collect(c2, { topics: [T], mode: 'earliest' }, 100, 'main read-back')
    await closeClient(c2, 'main consumer')
    checkArrivalOrder(got2, 'main read-back')
    eq(got2.length, 100, 'main read-back count (nothing beyond the 100)')
    eq(got2.map(plain).sort(byPartOffset), want2, 'main read-back records (partition, offset, key, value, headers)')
    check(got2.every(m => m.topic === T), 'main read-back topic')
  }])

  parts.push(['3. idempotent producer', async () => {
    const idem = track(new K.Producer({ ...base('idem'), idempotent: true, serializers: K.stringSerializers }))
    const sendResults = []
    const idemValues = []
    for (let s = 0; s < 3; s++) {
      const batch = []
      for (let j = 0; j < 20; j++) {
        const v = `idem-${s}-${j}`
        idemValues.push(v)
        batch.push({ topic: TI, key: `ik-${s}-${j}`, value: v })
      }
      sendResults.push(await bounded(idem.send({ messages: batch }), 20000, `idempotent send ${s}`))
    }
    check(typeof idem.producerId === 'bigint' && idem.producerId >= 0n,
      `idempotent producer id ${idem.producerId}`)
    eq(idem.producerEpoch, 0, 'idempotent producer epoch')
    await closeClient(idem, 'idempotent producer')

    const c3 = newConsumer(`plt-g-idem-${sfx}`)
    const got3 = await collect(c3, { topics: [TI], mode: 'earliest' }, 60, 'idempotent read-back')
    await closeClient(c3, 'idempotent consumer')
    checkArrivalOrder(got3, 'idempotent read-back')
    eq(got3.length, 60, 'idempotent read-back count (exactly once)')
    eq(got3.map(m => m.value).sort(), [...idemValues].sort(), 'idempotent read-back values, each once')
    const perPart = new Map()
    for (const m of got3) {
      if (!perPart.has(m.partition)) perPart.set(m.partition, [])
      perPart.get(m.partition).push(m)
    }
    for (const [p, list] of perPart) {
      eq(list.map(m => Number(m.offset)), list.map((_, i) => i), `idempotent partition ${p}: contiguous offsets from 0`)
      eq(list.map(m => m.key), list.map(m => m.value.replace('idem-', 'ik-')), `idempotent partition ${p}: keys`)
    }
    // Each send's base offset in a partition = that partition's records from earlier sends.
    for (let s = 0; s < 3; s++) {
      const want = []
      for (const [p, list] of perPart) {
        const first = list.find(m => m.value.startsWith(`idem-${s}-`))
        if (first) want.push([TI, p, Number(first.offset)])
      }
      eq(sendResults[s].offsets.map(x => [x.topic, x.partition, Number(x.offset)]).sort(), want.sort(),
        `idempotent send ${s} base offsets`)
    }
  }])

  parts.push(['4. group commit and resume', async () => {
    const pg = track(new K.Producer({ ...base('pg'), serializers: K.stringSerializers }))
    const gValues = []
    const gmsgs = []
    for (let i = 0; i < 60; i++) {
      gValues.push(`g-${i}`)
      gmsgs.push({ topic: TG, partition: i % 3, key: `gk-${i}`, value: `g-${i}` })
    }
    for (let s = 0; s < 60; s += 15) {
      await bounded(pg.send({ messages: gmsgs.slice(s, s + 15), acks: K.ProduceAcks.ALL }), 20000, `group send ${s}`)
    }
    await closeClient(pg, 'group producer')

    const G = `plt-g-resume-${sfx}`
    // Consumer A processes the first 7 records of partition 0 and 13 of partition 1, and none
    // of partition 2 (it skips what it does not process), then commits and closes: B must
    // resume mid-log on 0 and 1 and from the start (fallback earliest) on 2.
    const BUDGET = [7, 13, 0]
    const PART = BUDGET.reduce((a, b) => a + b, 0)
    const ca = newConsumer(G)
    const sa = await bounded(ca.consume({ topics: [TG], mode: 'committed', fallbackMode: 'earliest', autocommit: false }),
      30000, 'consumer A consume()')
    const processed = []
    try {
      const seenA = [0, 0, 0]
      await bounded(new Promise((resolve, reject) => {
        sa.on('data', m => {
          if (processed.length >= PART || seenA[m.partition] >= BUDGET[m.partition]) return
          seenA[m.partition]++
          processed.push(m)
          if (processed.length === PART) {
            sa.pause()
            resolve()
          }
        })
        sa.on('error', reject)
      }), 40000, () => `consumer A: ${PART} records, got ${processed.length}`)
      checkArrivalOrder(processed, 'consumer A')
      // Commit each partition's last processed record (its offset + 1).
      const lastOf = new Map()
      for (const m of processed) lastOf.set(m.partition, m)
      for (const m of lastOf.values()) await bounded(m.commit(), 15000, `commit ${m.partition}@${m.offset}`)
    } finally {
      await bounded(sa.close(), 15000, 'consumer A stream close')
    }
    await closeClient(ca, 'consumer A')
    const committedWant = [0, 1, 2].map(p => {
      const ofP = processed.filter(m => m.partition === p)
      return [p, ofP.length ? Number(ofP[ofP.length - 1].offset) + 1 : -1]
    })
    // Processed records are each partition's first BUDGET[p] records.
    for (const [p] of committedWant) {
      const ofP = processed.filter(m => m.partition === p).map(m => Number(m.offset))
      eq(ofP, [...Array(BUDGET[p]).keys()], `consumer A partition ${p}: offsets 0..${BUDGET[p] - 1}`)
    }
    eq(committedWant, [[0, 7], [1, 13], [2, -1]], 'consumer A commits (partition, next offset)')
    console.log(`consumer A processed ${PART}, committed (partition, next offset): ${show(committedWant)}`)
    const offs = await bounded(admin.listConsumerGroupOffsets({ groups: [G] }), 15000, 'listConsumerGroupOffsets')
    const gotCommitted = []
    for (const g of offs) {
      eq(g.groupId, G, 'listConsumerGroupOffsets group id')
      for (const t of g.topics) {
        for (const p of t.partitions) gotCommitted.push([t.name, p.partitionIndex, Number(p.committedOffset)])
      }
    }
    eq(gotCommitted.filter(x => x[2] >= 0).sort(),
      committedWant.filter(x => x[1] >= 0).map(([p, o]) => [TG, p, o]).sort(), 'committed offsets after consumer A')

    const cb = newConsumer(G)
    const rest = await collect(cb, { topics: [TG], mode: 'committed', fallbackMode: 'earliest' }, 60 - PART, 'consumer B')
    await closeClient(cb, 'consumer B')
    checkArrivalOrder(rest, 'consumer B')
    eq(rest.length, 60 - PART, 'consumer B count (resumed, nothing twice)')
    for (const m of rest) {
      const start = committedWant[m.partition][1]
      check(Number(m.offset) >= Math.max(start, 0), `consumer B read ${m.partition}@${m.offset} below the committed ${start}`)
    }
    const seen = [...processed, ...rest].map(m => m.value)
    eq(seen.length, new Set(seen).size, 'no record read by both A and B')
    eq([...seen].sort(), [...gValues].sort(), 'A + B read every record exactly once')
  }])

  parts.push(['5. transactions', async () => {
    const txp = track(new K.Producer({
      ...base('txn'), idempotent: true, transactionalId: `plt-txn-${sfx}`, serializers: K.stringSerializers,
    }))
    const txnRecords = (tag) => [0, 1].flatMap(p => [0, 1, 2].map(j => ({
      topic: TX, partition: p, key: `${tag}-k-${p}-${j}`, value: `${tag}-${p}-${j}`,
    })))
    const outcomes = [['c1', true], ['a1', false], ['c2', true]]
    for (const [tag, commit] of outcomes) {
      const tx = await bounded(txp.beginTransaction(), 20000, `beginTransaction ${tag}`)
      await bounded(tx.send({ messages: txnRecords(tag) }), 20000, `transaction ${tag} send`)
      if (commit) await bounded(tx.commit(), 20000, `transaction ${tag} commit`)
      else await bounded(tx.abort(), 20000, `transaction ${tag} abort`)
      check(tx.completed, `transaction ${tag} completed`)
    }
    check(typeof txp.producerId === 'bigint' && txp.producerId >= 0n, `transactional producer id ${txp.producerId}`)
    await closeClient(txp, 'transactional producer')

    // Partition layout: transaction k's 3 records at 4k..4k+2, its marker at 4k+3.
    const txWant = (tags) => [0, 1].flatMap(p => outcomes.flatMap(([tag], k) => !tags.includes(tag) ? [] :
      [0, 1, 2].map(j => ({ p, o: 4 * k + j, k: `${tag}-k-${p}-${j}`, v: `${tag}-${p}-${j}`, h: [] }))))
      .sort(byPartOffset)
    const wantCommitted = txWant(['c1', 'c2'])
    const wantAll = txWant(['c1', 'a1', 'c2'])

    const crc = newConsumer(`plt-g-rc-${sfx}`, { isolationLevel: K.FetchIsolationLevels.READ_COMMITTED })
    const gotRc = await collect(crc, { topics: [TX], mode: 'earliest', isolationLevel: K.FetchIsolationLevels.READ_COMMITTED },
      wantCommitted.length, 'read_committed', 2000)
    await closeClient(crc, 'read_committed consumer')
    checkArrivalOrder(gotRc, 'read_committed')
    eq(gotRc.map(plain).sort(byPartOffset), wantCommitted, 'read_committed sees exactly the committed records')

    const cru = newConsumer(`plt-g-ru-${sfx}`, { isolationLevel: K.FetchIsolationLevels.READ_UNCOMMITTED })
    const gotRu = await collect(cru, { topics: [TX], mode: 'earliest', isolationLevel: K.FetchIsolationLevels.READ_UNCOMMITTED },
      wantAll.length, 'read_uncommitted', 2000)
    await closeClient(cru, 'read_uncommitted consumer')
    checkArrivalOrder(gotRu, 'read_uncommitted')
    eq(gotRu.map(plain).sort(byPartOffset), wantAll, 'read_uncommitted sees committed and aborted records')
  }])

  parts.push(['6. admin create/list/delete', async () => {
    const made = await bounded(admin.createTopics({ topics: [TA, TB], partitions: 2, replicas: 1 }), 20000, 'createTopics admin')
    eq(made.map(t => [t.name, t.partitions, t.replicas]).sort(), [[TA, 2, 1], [TB, 2, 1]], 'createTopics admin results')
    check(made[0].id !== made[1].id && !isZeroUuid(made[0].id) && !isZeroUuid(made[1].id),
      `two new topic ids ${made[0].id} ${made[1].id}`)
    const mine = [T, TI, TG, TX, TA, TB]
    const l1 = await bounded(admin.listTopics(), 15000, 'listTopics 1')
    eq([...l1].sort(), [...mine].sort(), 'listTopics: exactly this run\'s topics (no internal ones)')
    const l1i = await bounded(admin.listTopics({ includeInternals: true }), 15000, 'listTopics internals')
    check(mine.every(t => l1i.includes(t)), `listTopics(includeInternals) has every topic: ${show(l1i)}`)
    check(l1i.includes('__consumer_offsets'), `listTopics(includeInternals) has __consumer_offsets: ${show(l1i)}`)
    await bounded(admin.deleteTopics({ topics: [TA] }), 20000, 'deleteTopics')
    const l2 = await bounded(admin.listTopics(), 15000, 'listTopics 2')
    eq([...l2].sort(), mine.filter(t => t !== TA).sort(), 'listTopics after delete: gone, the rest still there')
  }])

  const failed = []
  for (const [name, fn] of parts) {
    step(name)
    const before = checks
    try {
      await fn()
      results.push(`PASS ${name} (${checks - before} checks)`)
    } catch (e) {
      failed.push(name)
      // An API the client has no codec for in the broker's advertised range names that range.
      const range = e && e.code === 'PLT_KFK_UNSUPPORTED_API' ? ` (broker advertises v${e.minVersion}..v${e.maxVersion})` : ''
      results.push(`FAIL ${name} (after ${checks - before} checks): ${e && e.message}${range}`)
      console.error(`part "${name}" FAILED:`, e)
    } finally {
      await closeAllBut(admin)
    }
  }
  step(`done: ${checks} checks, ${failed.length} of ${parts.length} parts failed`)
  if (failed.length) throw new Error(`parts failed: ${failed.join('; ')}`)
}

;(async () => {
  let rc = 0
  try {
    await main()
    console.log(`test_platformatic.js: OK (${checks} checks)`)
  } catch (e) {
    rc = 1
    console.error(`test_platformatic.js: FAILED after ${checks} checks:`, e)
    if (e && e.errors) for (const x of e.errors) console.error('  cause:', x)
    if (e && e.cause) console.error('  cause:', e.cause)
  } finally {
    if (results.length) console.log(`summary:\n  ${results.join('\n  ')}`)
    for (const c of [...clients].reverse()) {
      try {
        await bounded(c.close(true), 10000, 'close at exit', true)
      } catch (e) {
        console.error('close at exit:', e.message)
      }
    }
  }
  process.exit(rc)
})()
