# TwinLedger — the two commands are `make run` and `make test`; see README.md.
SWIFT ?= swift
CC ?= cc
BENCH_RUNS ?= 5
BENCH_OUT ?= bench-results
# make sim: SEEDS runs per validator count from START (or SEED=S to replay one run); N, HEIGHTS, FAULTS, MUTATION.
SEEDS ?= 10000
START ?= 1
HEIGHTS ?= 3
FAULTS ?= 1

# make chaos: CHAOS_SEED (default: from the clock, printed) and CHAOS_SECONDS of randomized faults.
CHAOS_SECONDS ?= 300
# make bench-cluster: VALIDATORS counts, offered RATES (tx/s), BENCH_SECONDS per rate.
VALIDATORS ?= 4,7,10,13
RATES ?= 250,500,1000,1500,2000,2500,3000,4000,5000,6000,7000
BENCH_SECONDS ?= 6
# make bench-cluster ends with a shadow of SHADOW_MIB MiB uploaded to one validator and replicated to the others.
SHADOW_MIB ?= 256
# ... and with an abusive client beside an honest one, limits on and off, ABUSE_SECONDS per run (Docs/performance.md).
ABUSE_SECONDS ?= 20
# make soak: SOAK_SECONDS of open-loop load (the mix of bench-cluster) at SOAK_RATE tx/s on four validators, memory
# sampled every 10 s. The rate is half of what four validators sustained in the last make bench-cluster
# (bench-results/cluster.json: the issue's "50% load"), or 1,000 tx/s without one.
# The nodes run with small caches (SOAK_CACHES; the defaults are 256 and 64 MiB), which are full after the soak's
# two-minute warm-up: its slope then shows what grows beyond them. SOAK_CACHES= runs the default caches.
SOAK_SECONDS ?= 600
SOAK_RATE ?= $(shell python3 -c 'import json; print(next(int(c["sustained"] / 2) for c in json.load(open("$(BENCH_OUT)/cluster.json")) if c["validators"] == 4))' 2>/dev/null || echo 1000)
SOAK_CACHES ?= --state-cache-mb 16 --leveldb-cache-mb 8

# make fuzz: every fuzz target for SECONDS each (FUZZ_TARGETS to choose; Docs/fuzzing.md). make test runs each for
# FUZZ_TEST_SECONDS.
SECONDS ?= 300
FUZZ_TARGETS ?=
FUZZ_TEST_SECONDS ?= 15

.PHONY: all deps build release test test-ui test-sanitize test-netns fuzz fuzz-seeds run bench bench-foundation bench-cluster soak plots sim chaos clean help

all: build

help:
	@echo "make run    - install what is missing, build (release), self-check, start the local 6-node consortium with a consent demo"
	@echo "make test   - install what is missing, build, run the test suite"
	@echo "make test-ui - the explorer page in headless Chromium against a real node (screenshots in .build/ui/)"
	@echo "make fuzz   - coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every decoder, SECONDS each (default 300)"
	@echo "make test-sanitize - the test suite and self-check under AddressSanitizer + LeakSanitizer, then ThreadSanitizer"
	@echo "make test-netns - four validators in network namespaces: cut off, 2/2 split, latency and loss, heal (root; make test runs it)"
	@echo "make bench  - every benchmark, release: bench-foundation, bench-cluster, soak; then plots and tables (an hour or more)"
	@echo "make bench-foundation - crypto, pairing, ABE, ledger, blobs, simulator (medians; vs C and native pairing libraries)"
	@echo "make sim    - consensus simulator: SEEDS=N runs for 4, 7 and 10 validators (SEED=S N=n replays one)"
	@echo "make chaos  - kills, pauses and restarts in a real 4-validator consortium under load (CHAOS_SEED, CHAOS_SECONDS)"
	@echo "make bench-cluster - consortium throughput and latency at rising load, 4 to 13 validators, vs the machine's limits and etcd"
	@echo "make soak   - 10 minutes of load at SOAK_RATE on four validators: memory per node over time and its slope"
	@echo "make plots  - Docs/plots/*.png and bench-results/tables.md from the JSON in bench-results/ (machine, commit, date)"
	@echo "make clean  - remove build products"

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product twinledger

test: deps
	@scripts/deps.sh ui netns
	@scripts/fhir-venv.sh
	@scripts/check-openapi.sh
	@scripts/check-keccak.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@scripts/netns_partition.py $$($(SWIFT) build --show-bin-path)/twinledger
	@scripts/fuzz.sh $(FUZZ_TEST_SECONDS)

# Four validators in their own network namespaces: cut one off, split 2/2, 200 ms latency and 5% loss, heal
# (Docs/operations.md, "Partition test"). Needs root; skips, saying why, where namespaces cannot be made.
test-netns: deps
	@scripts/deps.sh netns
	$(SWIFT) build --product twinledger
	@scripts/netns_partition.py $$($(SWIFT) build --show-bin-path)/twinledger

# Coverage-guided fuzzing (Docs/fuzzing.md): findings land in .build-fuzz/crashes/TARGET/ with a replay command.
fuzz: deps
	@scripts/fuzz.sh $(SECONDS) $(FUZZ_TARGETS)

# Rewrites the seeds of every target into Tests/Fuzz/corpus/ (after a change to an encoding).
fuzz-seeds: deps
	@scripts/fuzz.sh --seeds

# The explorer page in headless Chromium (Docs/explorer.md); screenshots in .build/ui/. `make test` runs it too.
test-ui: deps
	@scripts/deps.sh ui
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter ExplorerUITests
	@echo "screenshots: $$(ls .build/ui/*.png)"

# AddressSanitizer with leak detection, then ThreadSanitizer, over the whole suite and the self-check (separate build
# folders; the real-process tests run the sanitized binary). SANITIZERS=thread runs one of them.
SANITIZERS ?= address thread
test-sanitize: deps
	@scripts/deps.sh ui
	@scripts/fhir-venv.sh
	@for sanitizer in $(SANITIZERS); do scripts/sanitize.sh $$sanitizer || exit 1; done

run: release
	@.build/release/twinledger version
	@.build/release/twinledger selfcheck
	@scripts/demo.sh

# Every benchmark, one after the other (never at once: they share the machine), then the plots and tables.
bench: deps
	@$(MAKE) --no-print-directory bench-foundation bench-cluster soak NO_PLOTS=1
	@$(MAKE) --no-print-directory plots

bench-foundation: deps
	$(SWIFT) build -c release --product TwinBench
	@mkdir -p .build/bench $(BENCH_OUT)
	$(CC) -O2 -o .build/bench/schnorr_verify_c Benchmarks/c/schnorr_verify.c -lsecp256k1
	@scripts/bench-peers.sh
	.build/release/TwinBench --runs $(BENCH_RUNS) --c-verify .build/bench/schnorr_verify_c --json $(BENCH_OUT)/foundation.json \
		$$([ -x .build/bench/venv/bin/python ] && echo --pairing-peer .build/bench/venv/bin/python)
	$(SWIFT) build -c release --product twinsim
	.build/release/twinsim --bench
	@[ -n "$(NO_PLOTS)" ] || $(MAKE) --no-print-directory plots

# Docs/plots/*.png and bench-results/tables.md (the markdown of Docs/performance.md's cluster, etcd and soak tables)
# from whatever bench-results/*.json the bench targets have written (Docs/performance.md, "Plots").
plots:
	@python3 Benchmarks/python/tables.py $(BENCH_OUT)
	@scripts/bench-peers.sh
	@if [ -x .build/bench/venv/bin/python ]; then .build/bench/venv/bin/python Benchmarks/python/plots.py $(BENCH_OUT) Docs/plots; \
	else echo "plots: matplotlib could not be installed (scripts/bench-peers.sh); no plots drawn"; fi

bench-cluster: deps
	@scripts/deps.sh bench
	$(SWIFT) build -c release --product twinledger
	$(SWIFT) build -c release --product ClusterBench
	@mkdir -p $(BENCH_OUT)
	.build/release/ClusterBench --validators $(VALIDATORS) --rates $(RATES) --seconds $(BENCH_SECONDS) --etcd --json $(BENCH_OUT)/cluster.json
	.build/release/ClusterBench --validators 4 --shadow-mib $(SHADOW_MIB)
	.build/release/ClusterBench --abuse $(ABUSE_SECONDS) --json $(BENCH_OUT)/abuse.json
	@[ -n "$(NO_PLOTS)" ] || $(MAKE) --no-print-directory plots

soak: deps
	$(SWIFT) build -c release --product twinledger
	$(SWIFT) build -c release --product ClusterBench
	@mkdir -p $(BENCH_OUT)
	.build/release/ClusterBench --validators 4 --soak $(SOAK_SECONDS) --soak-rate $(SOAK_RATE) $(SOAK_CACHES) --json $(BENCH_OUT)/soak.json
	@[ -n "$(NO_PLOTS)" ] || $(MAKE) --no-print-directory plots

chaos: deps
	$(SWIFT) build --build-tests
	TWINLEDGER_CHAOS_SEED=$(or $(CHAOS_SEED),$(shell date +%s)) TWINLEDGER_CHAOS_SECONDS=$(CHAOS_SECONDS) \
		$(SWIFT) test --skip-build --filter ChaosTests

sim: deps
	$(SWIFT) build -c release --product twinsim
ifdef SEED
	.build/release/twinsim --seed $(SEED) --n $(or $(N),4) --heights $(HEIGHTS) --faults $(FAULTS) $(if $(MUTATION),--mutation $(MUTATION))
else
	@for n in $(or $(N),4 7 10); do \
		.build/release/twinsim --seeds $(SEEDS) --start $(START) --n $$n --heights $(HEIGHTS) --faults $(FAULTS) \
			$(if $(MUTATION),--mutation $(MUTATION)) || exit 1; \
	done
endif

clean:
	rm -rf .build .build-asan .build-fuzz $(BENCH_OUT)
