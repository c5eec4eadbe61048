// kafkajs 2.2.4 over SASL_PLAINTEXT (test_sasl.py): for each mechanism given, produce ten
// values to a topic and read them back through a consumer group; then one wrong password,
// which must fail to connect. Prints one JSON line: {"<mechanism>": [values read], ...,
// "wrong": "<error name>"}.
// Usage: node test_sasl_kafkajs.js HOST:PORT USER PASSWORD MECHANISM...
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [broker, user, password, ...mechs] = process.argv.slice(2);

function client(mechanism, pw) {
  return new Kafka({
    clientId: 'sasl-kjs', brokers: [broker], logLevel: logLevel.NOTHING,
    sasl: { mechanism, username: user, password: pw },
    retry: { retries: 2, initialRetryTime: 100 }, connectionTimeout: 5000,
  });
}

async function roundTrip(mechanism) {
  const kafka = client(mechanism, password);
  const topic = `sasl-kjs-${mechanism}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const values = Array.from({ length: 10 }, (_, i) => `${mechanism}-${i}`);
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${mechanism}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mechanism}: read ${got.length} of 10`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value.toString());
        if (got.length >= values.length) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return got;
}

async function main() {
  const out = {};
  for (const m of mechs) out[m] = await roundTrip(m);
  const bad = client(mechs[0], `${password}-wrong`).producer();
  try {
    await bad.connect();
    out.wrong = 'connected';
  } catch (e) {
    out.wrong = e.name;
  }
  console.log(JSON.stringify(out));
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
