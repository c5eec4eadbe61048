'use strict'
// kafkajs_aborted_fix - replaces kafkajs 2.2.4's filter of aborted transactions (src/consumer/
// filterAbortedMessages.js) before kafkajs is loaded; require this file before 'kafkajs'.
//
// kafkajs's filter walks a fetched batch's records and, for each record, makes at most ONE
// aborted transaction of the Fetch answer's list current (an `if` where a loop is needed).
// When a fetch starts past the first offsets of two aborted transactions (A then B) and its
// first record is B's, only A is current and B's record is handed to the application: an
// aborted read at read_committed, against any broker (docs/reliability.md, the third
// hour-long run; test_kafkajs_aborted.py shows it). This version makes every aborted
// transaction whose first offset is at or below the record current, as Kafka's Java client
// does, and ends one at its producer's ABORT marker.
const path = require.resolve('kafkajs/src/consumer/filterAbortedMessages')
const Long = require('kafkajs/src/utils/long')

const ABORT_KEY = Buffer.from([0, 0, 0, 0])
const isAbortMarker = ({ key }) => !!key && Buffer.from(key).equals(ABORT_KEY)

function filterAbortedMessages({ messages, abortedTransactions }) {
  if (!abortedTransactions || !abortedTransactions.length) return messages
  const pending = [...abortedTransactions].sort((a, b) =>
    Long.fromValue(a.firstOffset).compare(Long.fromValue(b.firstOffset)))
  const current = new Set()
  return messages.filter(message => {
    while (pending.length && Long.fromValue(message.offset).gte(pending[0].firstOffset)) {
      current.add(String(pending.shift().producerId))
    }
    const { producerId, inTransaction } = message.batchContext
    const pid = String(producerId)
    if (message.isControlRecord) {
      if (isAbortMarker(message)) current.delete(pid)
      return true // control records are dropped after this filter (batch.js)
    }
    return !(inTransaction && current.has(pid))
  })
}

if (process.env.KAFKAJS_STOCK_ABORT_FILTER !== '1') {
  require.cache[path] = { id: path, filename: path, loaded: true, exports: filterAbortedMessages }
}
module.exports = filterAbortedMessages
