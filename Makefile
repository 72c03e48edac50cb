# The entry points of the README: `make run`, `make test`, `make bench`.
#
#   make run              install what is missing, build, start a demo node
#   make test             install what is missing, build (assertions on), run every test
#   make bench            build and run the benchmarks (prints JSON)
#   make test SANITIZE=1  the same tests built with ASan + UBSan (in build-sanitize/)

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD_DIR ?= build-sanitize
CMAKE_FLAGS += -DOMNIVA_SANITIZE=ON
else
BUILD_DIR ?= build
endif

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
OMNIVA := $(BUILD_DIR)/runtime/omniva

.PHONY: all deps configure build run test bench clean fuzz

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# A node with the example modules, a sample asset and a small pipeline, and
# the content pipeline clips@1 on a small video channel made (at first start,
# into var/omniva/demo-channel) and served on 127.0.0.1 by
# scripts/demo-channel.py (http://127.0.0.1:8080, token in
# var/omniva/token); Ctrl-C stops it and the channel's server.
run: build
	$(OMNIVA) serve --demo

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Build output goes to stderr so that stdout is the benchmarks' JSON alone.
bench:
	@$(MAKE) --no-print-directory build >&2
	@bash benchmarks/run-all.sh $(BUILD_DIR)

# libFuzzer (clang, installed if missing) on the parsers, FUZZ_SECONDS each
# (default 60), in build-fuzz/; corpora grow in tests/fuzz/corpus/
# (docs/fuzzing.md). Exits 1 when a target found a crash, hang or leak.
fuzz: deps
	@FUZZ_SECONDS="$(FUZZ_SECONDS)" bash tests/fuzz/run.sh

clean:
	rm -rf build build-sanitize
