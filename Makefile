# Thin wrapper over CMake + ctest; the scripts are the source of truth.
.PHONY: all run test bench clean
all:
	bash scripts/build.sh
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
bench:
	bash bench/run.sh
clean:
	rm -rf build build-asan build-fuzz
