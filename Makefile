# The README's two commands: `make demo` and `make test`. Everything else is a helper for them.
JOBS      ?= $(shell nproc)
GENERATOR ?= Ninja
BUILD     ?= build
# ccache (when present) lets worktrees and the three builds share compiled objects.
LAUNCHER  := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache,)
# The project's builds treat warnings as errors (CMake's default leaves them warnings).
WERROR    := -DLF_WERROR=ON
# Unity builds: CMake compiles each target's sources in batches, one TU per batch, so the
# headers are parsed once per batch instead of once per source; a cold build (CI's three) takes
# far less CPU (docs/build.md has the numbers). UNITY=OFF compiles a TU per source (in a fresh
# BUILD dir, e.g. `make build BUILD=build-nounity UNITY=OFF`): quicker to rebuild after
# editing one file, and what catches a source that leans on a header its batch-mates included.
UNITY     ?= ON
UNITY_FLAGS := -DCMAKE_UNITY_BUILD=$(UNITY)
# Tests run two to a core: an integration test spends most of its time waiting on sockets and
# timers (its processes used 10-30% of its wall time in one measurement), so two per core keep the
# cores busy. TSan's tests use far more CPU: one and a half per core there.
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
TSAN_TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 3 / 2 )))
CTEST_ARGS ?= --output-on-failure --timeout 300

.PHONY: all setup build demo demo-echo test test-release test-asan test-tsan test-conformance conformance fuzz bench bench-server bench-durability bench-oltp bench-echo bench-gateway clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: | setup
	@cmake -S . -B $(BUILD) -G $(GENERATOR) $(LAUNCHER) $(WERROR) $(UNITY_FLAGS) -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: setup $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh

# liblf's echo server under every concurrency model, side by side (the first demo; docs/echo-demo.md).
demo-echo: build
	@build/bin/lf-echo-demo

# Release build (g++) + ASan/UBSan build (clang, -Wthread-safety) + TSan build (clang), the fuzz
# runs, and Redis's own test suite's CI units.
# Conformance runs right after the release build: its own 'N passed, M failed' line counts the
# Redis tests lfdb does not pass yet (gated by floors, docs/conformance.md), so the test runs'
# closing lines come after it.
test: test-conformance test-release test-asan test-tsan test-fuzz
	@echo "make test: all suites passed (conformance, release, asan+ubsan, tsan, fuzz)"

test-release: build
	@echo "== tests: release (g++) =="
	@ctest --test-dir $(BUILD) $(CTEST_ARGS) -j $(TEST_JOBS)

test-asan: setup
	@echo "== tests: address+undefined sanitizers (clang) =="
	@cmake -S . -B $(BUILD)/asan -G $(GENERATOR) $(LAUNCHER) $(WERROR) $(UNITY_FLAGS) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
	  -DCMAKE_BUILD_TYPE=Debug -DLF_SANITIZE="address;undefined" -DLF_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build $(BUILD)/asan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD)/asan $(CTEST_ARGS) -j $(TEST_JOBS) -LE "no_sanitizer|peer|extended|matrix"

test-tsan: setup
	@echo "== tests: thread sanitizer (clang) =="
	@cmake -S . -B $(BUILD)/tsan -G $(GENERATOR) $(LAUNCHER) $(WERROR) $(UNITY_FLAGS) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLF_SANITIZE=thread -DLF_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build $(BUILD)/tsan -j $(JOBS)
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --test-dir $(BUILD)/tsan $(CTEST_ARGS) -j $(TSAN_TEST_JOBS) -LE "no_sanitizer|peer|extended|semantics|compile_fail"

# Bounded libFuzzer runs of the parsers (clang); scripts/fuzz.sh owns the list of targets.
test-fuzz: setup
	@if [ -f scripts/fuzz.sh ]; then echo "== fuzz: bounded runs (clang libFuzzer) =="; bash scripts/fuzz.sh; fi

# Redis 7.0.15's own test suite against redis-server and lfdb-server, unit by unit; fails only
# below the floors of scripts/redis-suite/units.txt or when the harness breaks (docs/conformance.md).
# test-conformance runs the units marked ci (a few minutes); conformance runs them all.
test-conformance: build
	@echo "== conformance: Redis's own test suite, CI units (docs/conformance.md) =="
	@LFDB_SERVER=$(abspath $(BUILD))/bin/lfdb-server REDIS_SUITE_DIR=$(abspath $(BUILD))/redis-suite bash scripts/redis-suite.sh --ci

conformance: build
	@LFDB_SERVER=$(abspath $(BUILD))/bin/lfdb-server REDIS_SUITE_DIR=$(abspath $(BUILD))/redis-suite bash scripts/redis-suite.sh

# Comparisons against peers (not part of CI): lfdb-server against redis-server (throughput,
# memory, instructions; durability; lfdb-bench workloads under every model), liblf echo against
# ACE and Asio, lfdb-gateway against nutcracker. Each writes its fresh report to
# docs/bench-runs/<part>.md (generated: rerunning replaces it); `make bench` then assembles them
# into docs/benchmarks.md. The docs/benchmarks-*.md pages are written by hand: the history of
# each comparison, what changed between runs and why; a run never overwrites them.
RUNS := docs/bench-runs
bench: bench-server bench-durability bench-oltp bench-echo bench-gateway
	@bash bench/index.sh > docs/benchmarks.md && echo "make bench: wrote docs/benchmarks.md"

# lfdb-server against redis-server.
bench-server: build
	@mkdir -p $(RUNS) && bash bench/server.sh > $(RUNS)/server.md.tmp && mv $(RUNS)/server.md.tmp $(RUNS)/server.md && cat $(RUNS)/server.md

# Group commit under appendfsync always against redis-server.
bench-durability: build
	@mkdir -p $(RUNS) && bash bench/durability.sh > $(RUNS)/durability.md.tmp && mv $(RUNS)/durability.md.tmp $(RUNS)/durability.md && cat $(RUNS)/durability.md

# lfdb-server under every model x data vs redis-server with lfdb-bench's workloads.
bench-oltp: build
	@command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null
	@mkdir -p $(RUNS) && REPORT_DIR=$(RUNS) bash bench/oltp.sh > $(RUNS)/oltp.md.tmp && mv $(RUNS)/oltp.md.tmp $(RUNS)/oltp.md && cat $(RUNS)/oltp.md

# liblf's echo server under each model against ACE (TP_Reactor, Dev_Poll_Reactor) and Asio echo
# servers run by N threads.
bench-echo: build
	@mkdir -p $(RUNS) && bash bench/echo_peers.sh > $(RUNS)/echo-peers.md.tmp && mv $(RUNS)/echo-peers.md.tmp $(RUNS)/echo-peers.md && cat $(RUNS)/echo-peers.md

# lfdb-gateway against nutcracker in front of the same redis-server back-ends.
bench-gateway: build
	@mkdir -p $(RUNS) && bash bench/gateway.sh > $(RUNS)/gateway.md.tmp && mv $(RUNS)/gateway.md.tmp $(RUNS)/gateway.md && cat $(RUNS)/gateway.md

clean:
	rm -rf $(BUILD)
