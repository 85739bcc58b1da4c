# colo - build, test and benchmark.
#
#   make                  build everything (warnings are errors)
#   make check            install missing packages, build, run all tests
#   make check SANITIZE=1 the same under ASan + UBSan
#   make bench            benchmarks (not part of check); results in bench/results
#   make demo             the primary killed mid-run, the takeover, nothing lost
#   make soak             100 such kills under load, with figures (not in check)
#   make CC=clang ...     any of the above with clang
#
# Every entry target first runs mk/deps.sh, which installs missing Debian
# packages when run as root and says what to install otherwise.

CC ?= cc
SANITIZE ?= 0
V ?= 0

BUILD := build/$(notdir $(CC))$(if $(filter 1,$(SANITIZE)),-san)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wvla -Wformat=2 -Wno-format-nonliteral
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -MMD -MP

# One folder per stage of the data flow; a folder sees only itself and the
# folders below it, so a forbidden include does not compile (and
# mk/check-includes.sh names the rule broken):
#   checkpoint <- vmm <- daemon <- netcompare <- primary, secondary <- ctl
# tests/ and bench/ see everything; the guest runtime sees only vmm's
# guest_abi.h, its contract with the daemons (guest/net and guest/kvstore
# see the runtime's headers and, kvstore, net's).
INC_checkpoint := -Icheckpoint
INC_vmm := $(INC_checkpoint) -Ivmm
INC_daemon := $(INC_vmm) -Idaemon
INC_netcompare := $(INC_daemon) -Inetcompare
INC_primary := $(INC_netcompare) -Iprimary
INC_secondary := $(INC_netcompare) -Isecondary
INC_ctl := $(INC_netcompare) -Iprimary -Isecondary -Ictl
INC_guest := -Iguest -Iguest/net -Iguest/kvstore -Ivmm
INC_tests := $(INC_ctl) -Iguest -Iguest/net -Iguest/kvstore -Itests -Itests/lib
INC_bench := $(INC_tests)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
CFLAGS_ALL := $(BASE_CFLAGS) $(SAN_FLAGS)
LDFLAGS_ALL := $(SAN_FLAGS)
else
CFLAGS_ALL := $(BASE_CFLAGS)
LDFLAGS_ALL :=
endif

# Expanded when a recipe runs, i.e. after deps has installed pkg-config.
INIH_CFLAGS = $(shell pkg-config --cflags inih)
INIH_LIBS = $(shell pkg-config --libs inih)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)
# libevent (the daemons' event loops), zlib (CRC32, compression),
# libnl-route-3 (the uplink's TAP and bridge) and OpenSSL's libcrypto
# (the replication link's authentication, checkpoint/auth.c)
NL_CFLAGS = $(shell pkg-config --cflags libnl-route-3.0)
NET_LIBS = $(shell pkg-config --libs libevent zlib libnl-route-3.0 libcrypto)
# Debian's lwIP, inside the guests that have a network
LWIP_CFLAGS = $(shell pkg-config --cflags lwip)
LWIP_LIBS = $(shell pkg-config --libs lwip)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# --- sources ---------------------------------------------------------------

CTL_SRCS := ctl/coloctl.c ctl/ctl_guest.c ctl/ctl_daemon.c
CHECKPOINT_SRCS := checkpoint/log.c checkpoint/bitmap.c checkpoint/fault.c \
	checkpoint/ramblock.c checkpoint/proc_maps.c checkpoint/ram_list.c \
	checkpoint/dirty_log.c checkpoint/dirty_log_uffd.c \
	checkpoint/dirty_log_full.c checkpoint/ram_save.c \
	checkpoint/channel.c checkpoint/page_stream.c checkpoint/colo_proto.c \
	checkpoint/crc32c.c checkpoint/auth.c
VMM_SRCS := vmm/guest_launch.c vmm/guest_channel.c vmm/layout.c \
	vmm/layout_mirror.c vmm/local_checkpoint.c vmm/guest_writer.c \
	vmm/guest_compare.c
DAEMON_SRCS := $(wildcard daemon/*.c)
SECONDARY_SRCS := $(wildcard secondary/*.c)
PRIMARY_SRCS := $(wildcard primary/*.c)
NETCOMPARE_SRCS := $(wildcard netcompare/*.c)

LIBCOLO := $(BUILD)/libcolo.a
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CHECKPOINT_SRCS) $(VMM_SRCS) \
	$(DAEMON_SRCS) $(NETCOMPARE_SRCS) $(SECONDARY_SRCS) $(PRIMARY_SRCS))

# The guest runtime and the guests. Guests are never built with
# sanitizers (ASan's shadow is terabytes of writable memory that no dirty
# log should track), and the pause path never with the stack protector.
GUEST_BUILD := build/guest-$(notdir $(CC))
LIBCOLOGUEST := $(GUEST_BUILD)/libcologuest.a
LIBCOLOGUEST_OBJS := $(addprefix $(GUEST_BUILD)/,runtime.o pause.o context.o guest_uffd.o)
GUESTS := $(GUEST_BUILD)/memstress $(GUEST_BUILD)/netecho $(GUEST_BUILD)/kvstore
GUEST_CFLAGS := $(BASE_CFLAGS) -Iguest -Iguest/net -Ivmm
# guest/net: lwIP on the runtime's NIC, linked into guests with a network
LIBCOLONET := $(GUEST_BUILD)/libcolonet.a
LIBCOLONET_OBJS := $(patsubst guest/net/%.c,$(GUEST_BUILD)/net/%.o,$(wildcard guest/net/*.c))
# guest/kvstore: the RESP engine (also linked into its host-side test) and
# kvstore.c, the guest's main on guest/net
KV_ENGINE_SRCS := $(filter-out guest/kvstore/kvstore.c,$(wildcard guest/kvstore/*.c))
KV_GUEST_OBJS := $(patsubst guest/kvstore/%.c,$(GUEST_BUILD)/kv/%.o,$(wildcard guest/kvstore/*.c))

# Unit and integration tests (cmocka), one binary per concern.
TESTS := $(sort $(notdir $(basename $(wildcard tests/test_*.c))))
TEST_BINS := $(addprefix $(BUILD)/tests/,$(TESTS))
# Test helpers linked into the tests that need them.
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
# kv_engine_test calls the kvstore engine, which only the kvstore tests
# link: the others leave it out.
KV_ENGINE_TEST_OBJ := $(BUILD)/tests/lib/kv_engine_test.o
TEST_LIB_OBJS := $(filter-out $(KV_ENGINE_TEST_OBJ),\
	$(patsubst %.c,$(BUILD)/%.o,$(TEST_LIB_SRCS)))

# The tracked process of tests and benchmarks. It is the "guest" and is
# never built with sanitizers: ASan's shadow maps terabytes of writable
# memory that no dirty log should track.
TRACKED_CHILD := $(GUEST_BUILD)/tracked_child

# Every bench/*.c but the shared bench_util.c is a program (kv_verify:
# the demo's and the soak's client).
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,\
	$(filter-out bench/bench_util.c,$(wildcard bench/*.c)))

COLOCTL := $(BUILD)/coloctl

.PHONY: all deps check check-tree tests bench demo soak cluster-test clean
# Keep test and bench objects (intermediates of pattern rules).
.SECONDARY:

all: $(LIBCOLO) $(COLOCTL) $(GUESTS) $(TEST_BINS) $(TRACKED_CHILD) $(BENCH_BINS)

deps:
	$(Q)./mk/deps.sh $(if $(filter clang%,$(notdir $(CC))),clang)

# --- build rules -----------------------------------------------------------

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(INC_$(firstword $(subst /, ,$<))) $(INIH_CFLAGS) $(NL_CFLAGS) -c -o $@ $<

$(LIBCOLO): $(LIB_OBJS)
	@$(if $(filter 0,$(V)),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_LIB_OBJS) $(LIBCOLO)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CMOCKA_LIBS) $(INIH_LIBS) $(NET_LIBS)

# The context switch test drives guest/context.S itself (assembly: the
# same object with or without sanitizers).
$(BUILD)/tests/test_context: $(GUEST_BUILD)/context.o
# The RESP engine, tested on the host (with sanitizers when asked).
$(BUILD)/tests/test_kvstore_engine: $(patsubst %.c,$(BUILD)/%.o,$(KV_ENGINE_SRCS)) \
	$(KV_ENGINE_TEST_OBJ)
$(BUILD)/tests/test_kvstore_commands: $(patsubst %.c,$(BUILD)/%.o,$(KV_ENGINE_SRCS)) \
	$(KV_ENGINE_TEST_OBJ)
$(BUILD)/tests/test_kvstore_redis: $(patsubst %.c,$(BUILD)/%.o,$(KV_ENGINE_SRCS))

$(COLOCTL): $(patsubst %.c,$(BUILD)/%.o,$(CTL_SRCS)) $(LIBCOLO)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(INIH_LIBS) $(NET_LIBS) -lm

# Benchmarks link no cmocka: all the test helpers but those that make
# cmocka checks (fault_pair.c, net_guest.c).
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/bench/bench_util.o $(filter-out %/fault_pair.o %/net_guest.o %/kv_pair.o,$(TEST_LIB_OBJS)) $(LIBCOLO)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(INIH_LIBS) $(NET_LIBS) -lm

$(GUEST_BUILD)/pause.o: EXTRA_GUEST_CFLAGS := -fno-stack-protector -fno-builtin

$(GUEST_BUILD)/%.o: guest/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $< (guest)")
	$(Q)$(CC) $(GUEST_CFLAGS) $(EXTRA_GUEST_CFLAGS) -c -o $@ $<

$(GUEST_BUILD)/%.o: guest/%.S | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  AS      $<")
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

# The pause path may call nothing but the context switch: no libc, no
# compiler-emitted memcpy/memset, no stack-protector failure handler.
$(LIBCOLOGUEST): $(LIBCOLOGUEST_OBJS)
	$(Q)bad=$$(nm -u $(GUEST_BUILD)/pause.o | awk '{print $$2}' | \
		grep -v '^colo_context_restore$$'); \
	if [ -n "$$bad" ]; then \
		echo "guest/pause.c must make no calls but colo_context_restore; it calls: $$bad"; \
		rm -f $(GUEST_BUILD)/pause.o; exit 1; \
	fi
	@$(if $(filter 0,$(V)),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(GUEST_BUILD)/%: $(GUEST_BUILD)/%.o $(LIBCOLOGUEST)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^

$(GUEST_BUILD)/net/%.o: guest/net/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $< (guest)")
	$(Q)$(CC) $(GUEST_CFLAGS) $(LWIP_CFLAGS) -c -o $@ $<

$(GUEST_BUILD)/kv/%.o: guest/kvstore/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $< (guest)")
	$(Q)$(CC) $(GUEST_CFLAGS) -Iguest/kvstore -c -o $@ $<

$(LIBCOLONET): $(LIBCOLONET_OBJS)
	@$(if $(filter 0,$(V)),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# Guests with a network: their objects, lwIP's glue, the runtime, lwIP.
$(GUEST_BUILD)/netecho: $(GUEST_BUILD)/netecho.o $(LIBCOLONET) $(LIBCOLOGUEST)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LWIP_LIBS)

$(GUEST_BUILD)/kvstore: $(KV_GUEST_OBJS) $(LIBCOLONET) $(LIBCOLOGUEST)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LWIP_LIBS)

$(TRACKED_CHILD): tests/tracked_child.c guest/guest_uffd.c guest/guest_uffd.h | deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $@")
	$(Q)$(CC) $(BASE_CFLAGS) -Iguest -Ivmm -MF $@.d -o $@ tests/tracked_child.c guest/guest_uffd.c

# --- entry targets ---------------------------------------------------------

# kv_verify: the failover tests' client (and the demo's)
TEST_TOOLS := $(TRACKED_CHILD) $(GUESTS) $(COLOCTL) $(BUILD)/bench/kv_verify
tests: $(TEST_BINS) $(TEST_TOOLS)

# T=test_NAME runs only that program (or several: T='test_a test_b');
# ARGS are its arguments, split into words but not globbed, e.g.
# make check T=test_fault_stall ARGS='*stopped*' (a cmocka name pattern). With T
# only what those programs need is built.
check: deps check-tree $(if $(T),$(addprefix $(BUILD)/tests/,$(filter $(TESTS),$(notdir $(T)))) $(TEST_TOOLS),tests)
	$(Q)$(if $(filter-out $(TESTS),$(notdir $(T))),echo "make check: T=$(filter-out $(TESTS),$(notdir $(T))): no such test program; the programs are: $(TESTS)"; exit 2;) \
	set -f; fail=0; \
	for t in $(if $(T),$(addprefix $(BUILD)/tests/,$(notdir $(T))),$(TEST_BINS)); do \
		echo "== $$t"; \
		COLO_TRACKED_CHILD=$(CURDIR)/$(TRACKED_CHILD) \
		COLO_GUEST_DIR=$(CURDIR)/$(GUEST_BUILD) \
		COLOCTL=$(CURDIR)/$(COLOCTL) $$t $(ARGS) || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "make check: FAILED"; exit 1; fi; \
	echo "make check: all test programs passed"

# The tree must not track patch leftovers or build outputs.
check-tree:
	$(Q)./mk/check-includes.sh .
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		bad=$$(git ls-files | grep -E '\.(orig|rej|o|a|so|d|log|gcda|gcno|png|csv)$$|^build/|^bench/results/|(^|/)core$$'); \
		if [ -n "$$bad" ]; then \
			echo "check-tree: these tracked files are patch leftovers or build outputs; git rm them:"; \
			echo "$$bad"; exit 1; \
		fi; \
	fi

bench: deps $(BENCH_BINS) $(TRACKED_CHILD) $(GUESTS) $(COLOCTL)
	$(Q)mkdir -p bench/results
	$(Q)COLO_TRACKED_CHILD=$(CURDIR)/$(TRACKED_CHILD) $(BUILD)/bench/bench_dirty_log \
		--csv bench/results/dirty_log.csv $(BENCH_ARGS)
	$(Q)gnuplot -e "csv='bench/results/dirty_log.csv'; png='bench/results/dirty_log.png'" \
		bench/dirty_log.gp && echo "bench: plot in bench/results/dirty_log.png"
	$(Q)COLO_GUEST_DIR=$(CURDIR)/$(GUEST_BUILD) $(BUILD)/bench/bench_local_checkpoint \
		--csv bench/results/local_checkpoint.csv $(BENCH_LC_ARGS)
	$(Q)COLOCTL=$(CURDIR)/$(COLOCTL) COLO_GUEST_DIR=$(CURDIR)/$(GUEST_BUILD) \
		$(BUILD)/bench/bench_pair --csv bench/results/pair.csv $(BENCH_PAIR_ARGS)
	$(Q)gnuplot -e "csv='bench/results/pair.csv'; png='bench/results/pair.png'" \
		bench/pair.gp && echo "bench: plot in bench/results/pair.png"
	$(Q)$(BUILD)/bench/bench_auth --csv bench/results/auth.csv
	$(Q)./bench/bench_kv.sh $(CURDIR)/$(COLOCTL) $(CURDIR)/$(GUEST_BUILD) \
		bench/results/kv.csv

# --- fuzzing ---------------------------------------------------------------
# make fuzz: every parser of outside input under clang's libFuzzer, with
# ASan and UBSan, one target after the other, FUZZ_RUNS executions each;
# FUZZ=NAME (or FUZZ='a b') runs only those (tests/fuzz/fuzz_NAME.c).
# Prints each target's executions, time and coverage; exits non-zero if
# any crashed (the input is kept in build/fuzz/artifacts). Not part of
# make check, which replays the seed corpora (tests/fuzz/corpus) and the
# regression inputs (tests/fuzz/regress) through the same targets built
# by $(CC) (tests/test_fuzz_regress.c). Its own build dir, build/fuzz.
FUZZ_BUILD := build/fuzz
FUZZ_CC := clang
FUZZ_RUNS ?= 1000000
FUZZ_NAMES := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ ?= $(FUZZ_NAMES)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := $(BASE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# The targets and their helpers (tests/fuzz but libFuzzer's entry and the
# corpus generator), and the library code they reach, all in one archive:
# each target links what it uses.
FUZZ_SRCS := $(filter-out tests/fuzz/libfuzzer_main.c tests/fuzz/gen_corpus.c,\
	$(wildcard tests/fuzz/*.c))
FUZZ_ARCHIVE := $(FUZZ_BUILD)/libfuzz.a
FUZZ_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_SRCS) $(CHECKPOINT_SRCS) \
	$(VMM_SRCS) $(DAEMON_SRCS) $(NETCOMPARE_SRCS) $(KV_ENGINE_SRCS) \
	secondary/ram_cache.c secondary/ram_cache_flush.c)

.PHONY: fuzz fuzz-deps fuzz-corpus

# deps, and clang for these
fuzz-deps:
	$(Q)./mk/deps.sh clang

$(FUZZ_BUILD)/%.o: %.c | fuzz-deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(INC_$(firstword $(subst /, ,$<))) $(INIH_CFLAGS) $(NL_CFLAGS) -c -o $@ $<

# libFuzzer's entry points, once per target.
$(FUZZ_BUILD)/main_%.o: tests/fuzz/libfuzzer_main.c | fuzz-deps
	@mkdir -p $(dir $@)
	@$(if $(filter 0,$(V)),echo "  CC      $< (fuzz_$*)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(INC_tests) -DFUZZ_TARGET=fuzz_$* -c -o $@ $<

$(FUZZ_ARCHIVE): $(FUZZ_OBJS)
	@$(if $(filter 0,$(V)),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/main_%.o $(FUZZ_ARCHIVE)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(INIH_LIBS) $(NET_LIBS)

fuzz: fuzz-deps $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ))
	$(Q)./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_RUNS) $(FUZZ)

# make check's replay: the same targets, built like any test, linked
# before libcolo.a (which they use).
$(BUILD)/tests/test_fuzz_regress: $(BUILD)/tests/test_fuzz_regress.o \
		$(patsubst %.c,$(BUILD)/%.o,$(FUZZ_SRCS) $(KV_ENGINE_SRCS)) $(LIBCOLO)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CMOCKA_LIBS) $(INIH_LIBS) $(NET_LIBS)

# The binary seeds (records, streams, layouts) are written by the
# project's own encoders: make fuzz-corpus writes them again.
$(BUILD)/fuzz/gen_corpus: $(BUILD)/tests/fuzz/gen_corpus.o $(LIBCOLO)
	@$(if $(filter 0,$(V)),echo "  LD      $@")
	$(Q)mkdir -p $(dir $@) && $(CC) $(LDFLAGS_ALL) -o $@ $^ $(INIH_LIBS) $(NET_LIBS)

fuzz-corpus: deps $(BUILD)/fuzz/gen_corpus
	$(Q)$(BUILD)/fuzz/gen_corpus tests/fuzz/corpus

# The main job: kvstore in the lab, unprotected and protected, a final
# byte-for-byte comparison and a summary (mk/demo.sh; DEMO_SECONDS=N).
# make soak (not in check): SOAK_ITERATIONS (default 100) kills of the
# primary under load, with takeovers, writes lost and split-brains counted
soak: deps $(COLOCTL) $(GUESTS) $(BUILD)/bench/kv_verify
	$(Q)./mk/soak.sh $(CURDIR)/$(COLOCTL) $(CURDIR)/$(GUEST_BUILD) \
		$(CURDIR)/$(BUILD)/bench/kv_verify $(CURDIR)/build/soak

# make cluster-test (not in check): a real two-node Corosync + Pacemaker
# cluster in namespaces promotes the secondary when the primary's node is
# killed (mk/cluster-test.sh; docs/cluster-test.md)
cluster-test: deps $(COLOCTL) $(GUESTS) $(BUILD)/bench/kv_verify
	$(Q)COLO_COLOCTL=$(CURDIR)/$(COLOCTL) COLO_GUEST_DIR=$(CURDIR)/$(GUEST_BUILD) \
		COLO_KV_VERIFY=$(CURDIR)/$(BUILD)/bench/kv_verify \
		./mk/cluster-test.sh --agent colo $(CLUSTER_ARGS)

demo: deps $(COLOCTL) $(GUESTS) $(BUILD)/bench/kv_verify
	$(Q)./mk/demo.sh $(CURDIR)/$(COLOCTL) $(CURDIR)/$(GUEST_BUILD) \
		$(CURDIR)/$(BUILD)/bench/kv_verify $(CURDIR)/build/demo

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
