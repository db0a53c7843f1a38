# The README's commands. `make run` and `make test` work on a fresh Debian 12.
BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 3

.PHONY: all deps configure build test unit-test fuzz-build fuzz-test fuzz run demo bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DKT_FUZZ=ON -DKT_FUZZ_SMOKE_SECONDS=$(FUZZ_SECONDS)

fuzz-build: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Every test: unit, vector, property, integration (real nodes on loopback), then
# a short libFuzzer smoke run of every fuzz target.
test: build fuzz-build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600
	ctest --test-dir $(FUZZ_BUILD) --output-on-failure -j $(JOBS) --timeout 300

# Longer fuzzing: FUZZ_SECONDS per target.
fuzz: fuzz-build
	@for f in $(FUZZ_BUILD)/tests/fuzz/*_fuzz; do \
	  n=$$(basename $$f); \
	  scripts/fuzz-run.sh $$f tests/fuzz/corpus/$$n $(FUZZ_BUILD)/fuzz-long/$$n $(or $(LONG),300) || exit 1; \
	done

run: build
	@scripts/run-local.sh $(BUILD)

# The X3DH + key transparency story with the real CLI (scripts/demo.sh), against
# the `make run` deployment (started, then stopped, when none is running).
demo: build
	@scripts/demo.sh $(BUILD)

bench: build
	@scripts/run-bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
