# meshdoctor — plain Makefile.  `make` builds ./meshdoctor; `make test` runs every test;
# `make test SAN=1` does the same under ASan+UBSan (objects in build-san/); `make tsan` runs
# the tests whose code runs on threads (several hosts at once, the engine, the host batch)
# under ThreadSanitizer (objects in build-tsan/).
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/meshdoctor
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
PKGS := libpcap libssh2 ldns openssl libcjson
VERSION := 0.1.0

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -I.
CFLAGS += -DMD_VERSION='"$(VERSION)"' -DMD_RULES_DIR='"$(DATADIR)/rules"'
CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

ifeq ($(FUZZ),1)
# libFuzzer harnesses (tests/fuzz/): the library instrumented for coverage, ASan and UBSan.
CC := clang
BUILD := build-fuzz
CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=address,undefined
BIN := $(BUILD)/meshdoctor
else ifeq ($(TSAN),1)
BUILD := build-tsan
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=thread
BIN := $(BUILD)/meshdoctor
else ifeq ($(SAN),1)
BUILD := build-san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1
LDFLAGS += -fsanitize=address,undefined
BIN := $(BUILD)/meshdoctor
else
BUILD := build
BIN := meshdoctor
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard core/*.c probes/*.c rules/*.c report/*.c run/*.c remedies/*.c)
CLI_SRC := $(wildcard cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LAB_SRC := $(wildcard tests/lab/lab_*.c)
HELPER_SRC := $(wildcard tests/lab/helpers/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LAB_BIN := $(LAB_SRC:tests/lab/%.c=$(BUILD)/tests/%)
HELPER_BIN := $(HELPER_SRC:tests/lab/helpers/%.c=$(BUILD)/tests/helpers/%)
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
TEST_LIBS := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

# The man page and the bash completion are made by the binary from its option tables
# (`meshdoctor __man`, `meshdoctor completion bash`), so they say what it accepts.
MAN := $(BUILD)/meshdoctor.1
BASH_COMPLETION := $(BUILD)/meshdoctor.bash

# test_options reads the commands' tables itself: it links cli/, with main() of
# cli/main.c renamed so that criterion's main() runs.
CLI_TEST_OBJ := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJ)) $(BUILD)/tests/cli_main.o

.PHONY: all deps test unit lab tsan fuzz fuzz-replay demo install clean bench man completion
all: $(BIN) $(MAN) $(BASH_COMPLETION)
man: $(MAN)
completion: $(BASH_COMPLETION)

$(BUILD)/libmd.a: $(LIB_OBJ)
	$(Q)rm -f $@; ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(BUILD)/libmd.a
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libmd.a $(LDLIBS)

$(MAN): $(BIN)
	@echo "  GEN $@"
	$(Q)./$(BIN) __man >$@.tmp && mv $@.tmp $@

$(BASH_COMPLETION): $(BIN)
	@echo "  GEN $@"
	$(Q)./$(BIN) completion bash >$@.tmp && mv $@.tmp $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(SUPPORT_OBJ) $(BUILD)/libmd.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libmd.a $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/%: tests/lab/%.c $(SUPPORT_OBJ) $(BUILD)/libmd.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(BUILD)/libmd.a $(LDLIBS) $(TEST_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libmd.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libmd.a $(LDLIBS)

$(BUILD)/tests/tsan_%: tests/tsan/tsan_%.c $(BUILD)/tests/support/fleet.o $(BUILD)/libmd.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/tests/support/fleet.o $(BUILD)/libmd.a $(LDLIBS) -lpthread

$(BUILD)/tests/cli_main.o: cli/main.c
	@mkdir -p $(dir $@)
	@echo "  CC  $< (main renamed)"
	$(Q)$(CC) $(CFLAGS) -Dmain=meshdoctor_main -c -o $@ $<

$(BUILD)/tests/test_options: tests/unit/test_options.c $(CLI_TEST_OBJ) $(SUPPORT_OBJ) $(BUILD)/libmd.a
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(CLI_TEST_OBJ) $(SUPPORT_OBJ) $(BUILD)/libmd.a $(LDLIBS) $(TEST_LIBS)

# Small servers the lab starts (e.g. a TLS server that answers with an alert).
$(BUILD)/tests/helpers/%: tests/lab/helpers/%.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# Installs the Debian packages the build, the tests and the lab need, when missing.
deps:
	@./scripts/deps.sh

unit: $(BIN) $(MAN) $(BASH_COMPLETION) $(UNIT_BIN)
	@./scripts/run-tests.sh unit $(BUILD) $(UNIT_BIN)

lab: $(BIN) $(LAB_BIN) $(HELPER_BIN)
	@./scripts/run-tests.sh lab $(BUILD) $(LAB_BIN)

test: deps
	@$(MAKE) --no-print-directory unit lab

# The runs on threads under ThreadSanitizer: several hosts checked at once (the engine, the
# host batch, the sessions).  A plain program, as criterion cannot start under TSan.
tsan:
	@$(MAKE) --no-print-directory TSAN=1 build-tsan/tests/tsan_fleet
	@TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:$${TSAN_OPTIONS:-}" build-tsan/tests/tsan_fleet

# Every parser of outside input has a libFuzzer harness: `make fuzz` replays its corpus
# (tests/fuzz/corpus/NAME/) and fuzzes it FUZZ_SECONDS; `make fuzz-replay` only replays.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
FUZZ_SECONDS ?= 10
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BIN)
	@./scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)
fuzz-replay:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BIN)
	@./scripts/fuzz.sh 0 $(FUZZ_BIN)

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@./scripts/demo.sh

bench: $(BIN)
	@./bench/run-all.sh

install: $(BIN) $(MAN) $(BASH_COMPLETION)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/rules $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/meshdoctor
	install -m 0644 rules/*.rules $(DESTDIR)$(DATADIR)/rules/
	install -m 0644 $(MAN) $(DESTDIR)$(MANDIR)/man1/meshdoctor.1
	install -m 0644 $(BASH_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/meshdoctor

clean:
	rm -rf build build-san build-tsan build-fuzz meshdoctor

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(SUPPORT_OBJ:.o=.d) $(BUILD)/tests/cli_main.d
# Test binaries are compiled and linked in one step; their .d files name what they include.
-include $(UNIT_BIN:=.d) $(LAB_BIN:=.d) $(HELPER_BIN:=.d)
