# sluice: plain GNU Makefile with pkg-config.
#
#   make            build ./sluice and ./sluice-gen
#   make demo       install missing Debian packages, build, report on a generated log
#   make test       install missing packages, build, run every test
#   make sanitize   the same tests built with ASan + UBSan
#   make valgrind   the unit tests under valgrind
#   make bench      the benchmark (not part of make test)
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make torture    issue 11's hostile families at scale (TORTURE_SCALE, TORTURE_SEED)
#   make install PREFIX=/usr/local
#
# Build products go to $(BUILD) (default build/); the binaries are copied to
# the top so that `./sluice` works after `make`.

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2 -g
PKGS    := libzstd zlib libxxhash liblz4
# PCRE2 (--where ~): only its header at build time; lib/report/regex.c loads the
# library when a pattern is used, so that runs without one do not map it.
PCRE2_CFLAGS := $(shell pkg-config --cflags libpcre2-8 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wpointer-arith \
           -Wmissing-prototypes -Wvla -Wformat=2
CSTD    := -std=c11 -D_GNU_SOURCE
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# No library is linked: xxhash is header-only here (XXH_INLINE_ALL), and
# zlib, zstd, lz4 and PCRE2 are opened when a run first needs them
# (lib/core/dynload.c), so their pages are not in a run that does not.
PKG_LIBS   :=
# the tests make compressed inputs themselves
TEST_LIBS  := $(shell pkg-config --libs libzstd zlib liblz4 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

ALL_CFLAGS  = $(CSTD) $(OPT) $(WARN) $(SAN_FLAGS) -Iinclude -Ilib $(PKG_CFLAGS) $(PCRE2_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

LIB_SRC   := $(wildcard lib/*/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
GEN_SRC   := programs/sluice-gen.c
CLI_SRC   := $(filter-out $(GEN_SRC),$(wildcard programs/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TUTIL_SRC := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
TUTIL_OBJ := $(TUTIL_SRC:%.c=$(BUILD)/%.o)
DEPFILES  := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TUTIL_OBJ:.o=.d) $(TEST_BIN:=.d)

.PHONY: all deps demo test check sanitize valgrind bench install clean fuzz torture
all: sluice sluice-gen

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libsluice.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sluice: $(CLI_OBJ) $(BUILD)/libsluice.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libsluice.a $(LIBS)

$(BUILD)/sluice-gen: $(BUILD)/programs/sluice-gen.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm

sluice: $(BUILD)/sluice
	cp $< $@
sluice-gen: $(BUILD)/sluice-gen
	cp $< $@

$(BUILD)/tests/%: tests/%.c $(TUTIL_OBJ) $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests -MMD -MP -MF $@.d -o $@ $< $(TUTIL_OBJ) \
	    $(BUILD)/libsluice.a $(ALL_LDFLAGS) $(CMOCKA_LIBS) $(TEST_LIBS) $(LIBS)

# Every test binary runs from the top of the tree; end-to-end tests find the
# program through SLUICE_BIN and SLUICE_GEN.
# Quiet: one line per test program (a failing one prints its output), the
# fuzz smoke's line, then one summary line of both, last.
test: deps
	@$(MAKE) --no-print-directory all-tests
	@rm -f $(BUILD)/test-summary $(BUILD)/fuzz-summary; \
	 scripts/run-tests.sh $(BUILD) $(TEST_BIN); t=$$?; \
	 BUILD=$(BUILD) scripts/fuzz.sh --smoke; f=$$?; \
	 echo "make test: $$(cat $(BUILD)/test-summary 2>/dev/null || echo 'tests did not run');" \
	      "$$(cat $(BUILD)/fuzz-summary 2>/dev/null || echo 'fuzz smoke did not finish')"; \
	 [ $$t = 0 ] && [ $$f = 0 ]
check: test

# libFuzzer targets (fuzz/): each runs FUZZ_SECONDS (default 60) over its
# seed corpus; `make test` runs each over its corpus and FUZZ_RUNS mutations
# from seed 1 (scripts/fuzz.sh --smoke) when clang is present.
fuzz:
	@scripts/deps.sh --fuzz
	@BUILD=$(BUILD) scripts/fuzz.sh

.PHONY: all-tests
all-tests: $(BUILD)/sluice $(BUILD)/sluice-gen $(TEST_BIN)

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/san OPT="-O1 -g" \
	    SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all-tests
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    scripts/run-tests.sh build/san $(TEST_SRC:tests/%.c=build/san/tests/%)

valgrind: deps
	@scripts/deps.sh --valgrind
	@$(MAKE) --no-print-directory all-tests
	@VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	    scripts/run-tests.sh $(BUILD) $(TEST_BIN)

demo: deps
	@echo "demo: building sluice (make all)"
	@$(MAKE) --no-print-directory -s all
	@mkdir -p $(BUILD)
	@./sluice-gen --lines 200000 --seed 1 --request-time --malformed 0.001 > $(BUILD)/demo.log
	@echo "demo: ./sluice $(BUILD)/demo.log (200,000 generated lines, 0.1% malformed)"; echo
	@./sluice $(BUILD)/demo.log

# Long hostile runs (scripts/torture.sh): long keys through --exact, pipes
# and FIFOs, SIGKILLs during --state/--save, repeated -j runs. A table of
# runs and failures; exit 1 on any failure.
torture: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/torture.sh

bench: deps
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@bench/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 sluice sluice-gen $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libsluice.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/sluice.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build sluice sluice-gen

.SECONDARY:

-include $(DEPFILES)
