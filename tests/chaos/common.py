"""What the chaos campaign's modules share: topic names, timeouts, the log line."""

import time

QUEUE, TXN = "queue", "txn"
NPARTS = 6
SESSION_MS = 4000   # zookeeper.session.timeout.ms of the nodes
LAG_MS = 3000       # replica.lag.time.max.ms
TXN_IDS = ("chaos-txn-0", "chaos-txn-1")  # the transactional workload's clients
CONFIG = {"default.replication.factor": 3, "min.insync.replicas": 2,
          "replica.lag.time.max.ms": LAG_MS, "num.partitions": NPARTS,
          "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3,
          "auto.create.topics.enable": "false"}


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)
