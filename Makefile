# alertd — build, test and run. Plain make with pkg-config.
#
#   make            build build/alert, build/alertd and build/alertd-push
#   make test       install missing dependencies, build, run every test
#   make sanitize   the same tests against an ASan+UBSan build (build-san/)
#   make sanitize-ci  unit tests and the hostile-input integration tests under it (CI)
#   make fuzz       the libFuzzer harnesses of tests/fuzz/, built by clang with
#                   -fsanitize=fuzzer,address,undefined into build-fuzz/, each
#                   run FUZZ_SECONDS (60; make test: 10); FUZZ_TARGETS="item
#                   query" picks some. A failure names the harness and its
#                   reproducer (build-fuzz/fuzz-artifacts/NAME/).
#   make bench      alertd against nginx+nchan and Node ws, alertd-push to nghttpd (bench/README.md)
#   make run        the embedded default: private redis-server + alertd
#   make install PREFIX=/usr/local DESTDIR=   the programs and their manual pages
#   V=1             show full command lines
#   SANITIZER=address,undefined   build instrumented into build-san/

CC        ?= cc
PREFIX    ?= /usr/local
PKGS      := libwebsockets hiredis jansson libuv openssl zlib
PYTHON    ?= /usr/bin/python3
PYTEST_ARGS ?=

ifdef SANITIZER
BUILD     ?= build-san
SANFLAGS  := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1 -g
else
BUILD     ?= build
SANFLAGS  :=
OPT       := -O2 -g
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter
CFLAGS    ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP $(WARN) $(CFLAGS) $(SANFLAGS) \
             -Isrc/common $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Sources: shared code in src/common, one directory per program.
COMMON_SRC := $(sort $(wildcard src/common/*.c))
CLI_SRC    := $(sort $(wildcard src/cli/*.c))
SERVER_SRC := $(sort $(wildcard src/server/*.c))
PUSH_SRC   := $(sort $(wildcard src/push/*.c))
BENCH_SRC  := $(sort $(wildcard src/bench/*.c))
WEB_FILES  := $(sort $(wildcard src/web/*))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))
# The static web files are embedded into alertd (scripts/embed.py).
SERVER_OBJ := $(call obj,$(SERVER_SRC)) $(BUILD)/obj/gen/web_assets.o
BENCH_OBJ  := $(call obj,$(BENCH_SRC))
PUSH_OBJ   := $(call obj,$(PUSH_SRC))
# alertd-push alone talks to the push services, through libcurl.
PUSH_LDLIBS := $(shell pkg-config --libs libcurl 2>/dev/null)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

# Each unit test links the modules it tests and those they call, nothing
# else: a module that cannot be linked alone has a dependency to remove.
ITEM_SRC := src/common/item.c src/common/itemcheck.c src/common/itemutf8.c src/common/itemid.c \
            src/common/itemtime.c
TEST_test_config    := src/server/config.c src/server/cpus.c src/common/settings.c
TEST_test_cpus      := src/server/cpus.c
TEST_test_settings  := src/common/settings.c
TEST_test_grant     := src/server/grant.c $(ITEM_SRC)
HUBFILTER_SRC := src/server/hubfilter.c src/server/hubmsg.c src/server/pmd.c src/common/fields.c \
                 src/common/fold.c src/server/grant.c $(ITEM_SRC)
HUB_SRC  := src/server/hub.c $(HUBFILTER_SRC)
TEST_test_hubfilter := $(HUBFILTER_SRC)
TEST_test_hub       := $(HUB_SRC)
TEST_test_acks      := src/server/acks.c $(HUB_SRC)
TEST_test_receipt   := src/common/receipt.c
TEST_test_fold      := $(HUB_SRC)
TEST_test_urgency   := $(HUB_SRC)
TEST_test_pmd       := src/server/pmd.c
TEST_test_fields    := src/common/fields.c $(ITEM_SRC)
TEST_test_wheel     := src/server/wheel.c
TEST_test_ipcount   := src/server/ipcount.c
TEST_test_iprate    := src/server/iprate.c src/server/ipcount.c
TEST_test_pace      := src/server/pace.c
TEST_test_item      := $(ITEM_SRC)
TEST_test_proxyproto := src/server/proxyproto.c
TEST_test_redisurl  := src/common/redisurl.c
TEST_test_options   := src/cli/options.c $(ITEM_SRC)
TEST_test_jcs       := src/common/jcs.c
TEST_test_itemsig   := src/cli/itemsig.c src/cli/verify.c src/common/jcs.c $(ITEM_SRC)
TEST_test_hist      := src/bench/hist.c
TEST_test_wsp       := src/bench/wsp.c
TEST_test_wsz       := src/bench/wsz.c
TEST_test_cmdline   := src/cli/cmdline.c
TEST_test_backoff   := src/server/backoff.c
TEST_test_embargo   := src/common/embargo.c src/common/itemid.c
TEST_test_sdnotify  := src/server/sdnotify.c
TEST_test_staple    := src/server/staple.c
TEST_test_frames    := src/server/frames.c src/common/fields.c $(ITEM_SRC)
TEST_test_b64u      := src/push/b64u.c
TEST_test_ratelim   := src/push/ratelim.c
TEST_test_es256     := src/push/es256.c src/push/b64u.c
TEST_test_ece       := src/push/ece.c src/push/b64u.c
TEST_test_reg       := src/push/reg.c src/push/ece.c src/push/b64u.c $(ITEM_SRC)
TEST_test_notif     := src/push/notif.c $(ITEM_SRC)
TEST_test_providers := src/push/apns.c src/push/fcm.c src/push/oauth.c src/push/h2.c \
                       src/push/provider.c src/push/es256.c src/push/reg.c src/push/ece.c \
                       src/push/b64u.c src/push/notif.c $(ITEM_SRC)
TEST_LIBS_test_providers := $(PUSH_LDLIBS)
FILTER_SRC := src/server/query.c $(HUBFILTER_SRC)
TEST_test_query     := $(FILTER_SRC)
TEST_test_cframe    := src/server/cframe.c src/server/acks.c $(HUBFILTER_SRC)
TEST_test_admit     := src/server/admit.c src/server/origin.c $(FILTER_SRC)
TEST_test_request   := src/server/request.c $(FILTER_SRC)
LISTENER_SRC := src/server/listener.c src/server/ipcount.c src/server/iprate.c \
                src/server/proxyproto.c src/server/metrics.c src/common/log.c
TEST_test_reply     := src/server/reply.c src/server/request.c src/server/origin.c $(FILTER_SRC) \
                       $(LISTENER_SRC)
TEST_test_origin    := src/server/origin.c
TEST_test_wire      := src/server/wire.c

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c), built by clang into their
# own directory, each with the modules it fuzzes (FUZZ_fuzz_NAME).
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 10
FUZZ_TARGETS ?=
FUZZ_fuzz_item       := $(ITEM_SRC)
FUZZ_fuzz_query      := $(FILTER_SRC) src/server/frames.c
FUZZ_fuzz_cframe     := src/server/cframe.c src/server/acks.c $(FILTER_SRC) src/server/frames.c
FUZZ_fuzz_proxyproto := src/server/proxyproto.c
FUZZ_fuzz_redisurl   := src/common/redisurl.c
FUZZ_fuzz_grant      := src/server/grant.c $(ITEM_SRC)

PROGRAMS := $(BUILD)/alert
ifneq ($(SERVER_SRC),)
PROGRAMS += $(BUILD)/alertd
endif
ifneq ($(PUSH_SRC),)
PROGRAMS += $(BUILD)/alertd-push
endif
ifneq ($(BENCH_SRC),)
PROGRAMS += $(BUILD)/alert-bench
endif

.SECONDARY:
.PHONY: all deps test unit fuzz fuzz-build browser integration sanitize sanitize-ci run bench install clean \
        format check-format
all: $(PROGRAMS) $(UNIT_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(if $(filter src/server/%,$<),-Isrc/server) \
	    $(if $(filter src/cli/%,$<),-Isrc/cli) $(if $(filter src/bench/%,$<),-Isrc/bench) \
	    $(if $(filter src/push/%,$<),-Isrc/push) \
	    $(if $(filter tests/%,$<),-Isrc -Isrc/server -Isrc/push -Itests) -c -o $@ $<

$(BUILD)/gen/web_assets.c: scripts/embed.py $(WEB_FILES)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EMBED   $@")
	$(Q)$(PYTHON) scripts/embed.py $@ $(WEB_FILES)

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc/server -Wno-overlength-strings -c -o $@ $<

$(BUILD)/alert: $(CLI_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alertd: $(SERVER_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alertd-push: $(PUSH_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) $(PUSH_LDLIBS)

$(BUILD)/alert-bench: $(BENCH_OBJ) $(COMMON_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(call obj,$$(TEST_$$*))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS_$*)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $$(call obj,$$(FUZZ_$$*))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	$(Q)scripts/deps.sh

# Unit tests first (each binary prints its own tally), then the integration
# suite, whose pytest summary is the run's last line.
unit: $(UNIT_BIN)
	$(Q)for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

# Every harness (or those FUZZ_TARGETS names: item, query, ...) for
# FUZZ_SECONDS each, built with -fsanitize=fuzzer,address,undefined.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) \
	    SANITIZER=fuzzer,address,undefined fuzz-build
	$(Q)scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)

# The widget in Debian's Chromium (playwright-core), against this build.
browser: $(PROGRAMS)
	$(Q)cd tests/browser && ALERT_BUILD=$(abspath $(BUILD)) node --test

INTEGRATION_TESTS ?= tests/integration
integration: $(PROGRAMS)
	$(Q)ALERT_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    $(INTEGRATION_TESTS) $(PYTEST_ARGS)

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)
	$(Q)$(MAKE) --no-print-directory browser
	$(Q)$(MAKE) --no-print-directory integration

sanitize: deps
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined all
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined unit
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined browser
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined integration

# What CI runs under ASan+UBSan after `make test` (the whole suite twice
# would pass 15 minutes): every unit test, and the integration tests that
# feed alertd hostile or malformed input: handshakes, frames, compression,
# query parameters, request bodies; and alertd-push stopped with requests
# in flight (its teardown, a few seconds).
SANITIZE_CI_TESTS := test_wire.py test_ws_limits.py test_ws_deflate.py test_ws_protocol.py \
                     test_http_abuse.py test_mobile.py test_restricted.py test_push_stop.py
sanitize-ci: deps
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined all
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined unit
	$(Q)$(MAKE) --no-print-directory SANITIZER=address,undefined integration \
	    INTEGRATION_TESTS="$(addprefix tests/integration/,$(SANITIZE_CI_TESTS))"

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/run.sh $(abspath $(BUILD))

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh $(abspath $(BUILD))

# Manual pages: section 1 for alert, 8 for the daemons (alertd, alertd-push).
MAN1 := $(sort $(wildcard man/*.1))
MAN8 := $(sort $(wildcard man/*.8))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(filter-out $(BUILD)/alert-bench,$(PROGRAMS)) $(DESTDIR)$(PREFIX)/bin/
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(MAN8),install -m 0644 $(MAN8) $(DESTDIR)$(PREFIX)/share/man/man8/)

format:
	clang-format -i $(shell find src tests -name '*.[ch]')

check-format:
	clang-format --dry-run --Werror $(shell find src tests -name '*.[ch]')

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
