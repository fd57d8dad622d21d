# touchpoint: one GNU Makefile. Read it top to bottom.
#
#   make          build build/touchpoint and build/libtouchpoint.a
#   make check    install what is missing, build, run every test
#   make demo     install what is missing, build, run the main job on simulated data
#   make asan     the tests under AddressSanitizer + UBSan (build-asan/)
#   make fuzz     the libFuzzer targets for a bounded time (FUZZ_SECONDS each)
#   make bench    the benchmarks under bench/, side by side with their Python/DuckDB peers
#   make clean

CC        ?= cc
CFLAGS    ?= -O2 -g
# The project's own flags live apart from CFLAGS, so `make CFLAGS='-O2 -Werror'` keeps them.
TP_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wno-unused-parameter \
             -Iinclude -Isrc -MMD -MP -pthread -fvisibility=hidden
LDLIBS    += -lopenblas -lsqlite3 -ljansson -lyaml -lzstd -lsnappy -lz -lbrotlidec -lbrotlienc -llz4 -lm -lpthread

BUILD     ?= build
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

LIB_SRC   := $(sort $(wildcard src/*/*.c))
CLI_SRC   := $(sort $(wildcard cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)

# Suites and commands are found by file name, so adding one never edits a shared table:
# tests/test_<name>.c defines `void suite_<name>(void)`; cli/cmd_<name>.c defines
# `int cmd_<name>(int argc, char **argv)` and `const char cmd_<name>_summary[]`.
SUITES    := $(patsubst tests/test_%.c,%,$(filter-out tests/test_main.c,$(TEST_SRC)))
COMMANDS  := $(patsubst cli/cmd_%.c,%,$(wildcard cli/cmd_*.c))

.PHONY: all check test demo asan fuzz bench clean setup format
all: $(BUILD)/touchpoint $(BUILD)/tp_tests

$(BUILD)/libtouchpoint.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/touchpoint: $(CLI_OBJ) $(BUILD)/libtouchpoint.a
	$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libtouchpoint.a $(LDLIBS)

$(BUILD)/tp_tests: $(TEST_OBJ) $(BUILD)/libtouchpoint.a
	$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libtouchpoint.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -DTP_VERSION='"$(VERSION)"' -I$(BUILD)/gen $(CFLAGS) -c -o $@ $<

# ---- generated registries ----
$(BUILD)/gen/suites.h: $(TEST_SRC) Makefile
	@mkdir -p $(@D)
	@{ for s in $(SUITES); do echo "SUITE($$s)"; done; } > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/commands.h: $(wildcard cli/cmd_*.c) Makefile
	@mkdir -p $(@D)
	@{ for c in $(sort $(COMMANDS)); do echo "COMMAND($$c)"; done; } > $@.tmp && mv $@.tmp $@
$(BUILD)/tests/test_main.o: $(BUILD)/gen/suites.h
$(BUILD)/cli/main.o: $(BUILD)/gen/commands.h

# ---- front door ----
setup:
	@scripts/setup.sh

check: setup
	@$(MAKE) --no-print-directory all
	@tests/run_all.sh $(BUILD)

test: all
	@tests/run_all.sh $(BUILD)

demo: setup
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	    LDFLAGS='-fsanitize=address,undefined' all
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run_all.sh build-asan

FUZZ_SECONDS ?= 60
fuzz: setup
	@scripts/fuzz.sh $(FUZZ_SECONDS)

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
$(BUILD)/bench/%: bench/%.c $(BUILD)/libtouchpoint.a
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtouchpoint.a $(LDLIBS)

bench: setup all $(BENCH_BIN)
	@bench/run.sh $(BUILD)

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) include/touchpoint/*.h src/*/*.h

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
