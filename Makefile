# Thin wrapper over CMake + ctest; the scripts are the source of truth.
.PHONY: all run test bench clean cluster-up cluster-down cluster-status
all:
	bash scripts/build.sh
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
bench:
	bash bench/run.sh
# A local cluster: ZooKeeper + $(NODES) brookd nodes, logs and data in $(CLUSTER_DIR).
NODES ?= 3
CLUSTER_DIR ?= build/cluster
cluster-up: all
	build/brook cluster up --nodes $(NODES) --dir $(CLUSTER_DIR)
cluster-status:
	build/brook cluster status --dir $(CLUSTER_DIR)
cluster-down:
	build/brook cluster down --dir $(CLUSTER_DIR)
clean:
	rm -rf build build-asan build-fuzz
