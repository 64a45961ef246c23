# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# mpxtrace build.  `make help` lists the targets.

OUTPUT ?= .output
BPFTOOL ?= bpftool
CLANG ?= clang
CC ?= gcc
PKG_CONFIG ?= pkg-config
PYTHON ?= python3
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/' \
	-e 's/loongarch64/loongarch/')
KNOWN_ARCHES := x86 arm64 powerpc riscv s390 loongarch
ifeq ($(filter $(ARCH),$(KNOWN_ARCHES)),)
$(error unknown ARCH '$(ARCH)': expected one of $(KNOWN_ARCHES))
endif
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes
CFLAGS ?= -g -O2
CFLAGS += $(WARN) -std=gnu11 -Iinclude -Isrc -I$(OUTPUT) -DMPX_VERSION='"$(VERSION)"'
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(dir $(VMLINUX)) -Iinclude -Ibpf $(LIBBPF_CFLAGS)

# The analysis core: no libbpf, tested without root.
CORE_SRCS := src/util.c src/json_writer.c src/evbuf.c src/account.c src/check.c \
	src/report.c src/report_text.c src/report_json.c src/waits.c \
	src/run.c src/analysis.c src/critpath.c src/output.c src/btfscan.c \
	src/perfetto.c src/csv.c src/tracefile.c src/report_html.c src/pyspans.c \
	src/pyreport.c src/summary.c src/gilsite.c
TOOL_SRCS := src/main.c src/opts.c src/trace.c src/runner.c src/collect.c \
	src/live.c src/workload.c src/native.c src/pyprobe.c src/corebtf.c
CORE_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(CORE_SRCS))
TOOL_OBJS := $(patsubst src/%.c,$(OUTPUT)/%.o,$(TOOL_SRCS))
BPF_OBJ := $(OUTPUT)/mpxtrace.bpf.o
SKEL := $(OUTPUT)/mpxtrace.skel.h
CORE_LIB := $(OUTPUT)/libmpxcore.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(OUTPUT)/tests/unit_tests
WORK_BIN := $(OUTPUT)/tests/mpx-work
IO_BIN := $(OUTPUT)/tests/mpx-io

# The trace-file reader under libFuzzer (clang, its fuzzer runtime).
FUZZ_SECONDS ?= 60
FUZZ_BIN := $(OUTPUT)/fuzz/fuzz_tracefile
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined $(WARN) -std=gnu11 -Iinclude -Isrc \
	-DMPX_VERSION='"$(VERSION)"'

# Debian packages the build and the tests need (make deps installs them);
# chromium renders the --html page in tests/integration/test_html.py.
DEB_PKGS := clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config \
	python3 make gcc libc6-dev valgrind libclang-rt-14-dev chromium

.DELETE_ON_ERROR:
.PHONY: all deps vmlinux check test unit integration run bench install \
	uninstall clean help fuzz san

all: mpxtrace

help:
	@echo 'mpxtrace targets:'
	@echo '  make               build ./mpxtrace'
	@echo '  make deps          apt-get install what is missing (root)'
	@echo '  make run           deps + build + trace the demo workload (root)'
	@echo '  make check         deps + build + every test: unit and BPF (root)'
	@echo '  make unit          unit tests only (no root needed)'
	@echo '  make integration   BPF tests only (root)'
	@echo '  make bench         tracing overhead, traced vs untraced side by side (root)'
	@echo '  make fuzz          fuzz the trace-file reader for FUZZ_SECONDS (default 60)'
	@echo '  make san           $(SAN_BIN): mpxtrace under ASan+UBSan'
	@echo '  make vmlinux       regenerate $(VMLINUX) from this kernel'
	@echo '  make install       install to $$(DESTDIR)$$(PREFIX) (default $(PREFIX))'
	@echo '  make clean         remove $(OUTPUT) and ./mpxtrace'
	@echo 'Variables: V=1 (show commands), OUTPUT, BPFTOOL, CLANG, ARCH, PREFIX, DESTDIR'

deps:
	$(Q)missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

vmlinux:
	$(call msg,GEN,$(VMLINUX))
	$(Q)mkdir -p $(dir $(VMLINUX))
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

$(BPF_OBJ): bpf/mpxtrace.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mpxtrace_bpf > $@

$(OUTPUT)/collect.o: $(SKEL)

# The Python probes: their own object, sharing the main object's maps.
# usdt.bpf.h includes <linux/errno.h>, which wants the target's asm/.
PY_BPF_OBJ := $(OUTPUT)/pyusdt.bpf.o
PY_SKEL := $(OUTPUT)/pyusdt.skel.h
MULTIARCH := $(shell $(CC) -dumpmachine 2>/dev/null)

$(PY_BPF_OBJ): bpf/pyusdt.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -idirafter /usr/include/$(MULTIARCH) -MMD -MP -MF $@.d \
		-c $< -o $@

$(PY_SKEL): $(PY_BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pyusdt_bpf > $@

$(OUTPUT)/pyprobe.o: $(PY_SKEL)

# The python workload travels inside the binary as a C string.
WORKLOAD_PY := src/workloads/mpx_workload.py
$(OUTPUT)/mpx_workload_py.h: $(WORKLOAD_PY) | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q){ echo 'static const char mpx_workload_py[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(OUTPUT)/workload.o: $(OUTPUT)/mpx_workload_py.h

$(OUTPUT)/%.o: src/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LIBBPF_CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

mpxtrace: $(TOOL_OBJS) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBBPF_LIBS) -lm -o $@

$(UNIT_BIN): $(UNIT_SRCS) $(wildcard tests/unit/*.h) $(CORE_LIB) $(wildcard src/*.h include/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $(UNIT_SRCS) $(CORE_LIB) -lz -lm -o $@

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
SAN_UNIT_BIN := $(OUTPUT)/tests/unit_tests_san
SAN_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
$(SAN_UNIT_BIN): $(UNIT_SRCS) $(CORE_SRCS) $(wildcard tests/unit/*.h src/*.h include/*.h) | $(OUTPUT)/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(filter-out -O2,$(CFLAGS)) $(SAN_FLAGS) -Itests/unit $(UNIT_SRCS) \
		$(CORE_SRCS) -lz -lm -o $@

# mpxtrace itself under both sanitizers (the same BPF object), for the
# integration suites: make san; MPXTRACE=$(SAN_BIN).  Built with clang,
# whose UBSan honours log_path (tests/run.sh collects the reports).
SAN_DIR := $(OUTPUT)/san
SAN_BIN := $(SAN_DIR)/mpxtrace
SAN_OBJS := $(patsubst src/%.c,$(SAN_DIR)/%.o,$(CORE_SRCS) $(TOOL_SRCS))
# clang 14 counts a store to a volatile as no use.
SAN_CFLAGS := $(filter-out -O2,$(CFLAGS)) $(SAN_FLAGS) -Wno-unused-but-set-variable

$(SAN_DIR):
	$(Q)mkdir -p $@

$(SAN_DIR)/%.o: src/%.c | $(SAN_DIR)
	$(call msg,CC-SAN,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $(LIBBPF_CFLAGS) -MMD -MP -c $< -o $@

$(SAN_DIR)/collect.o: $(SKEL)
$(SAN_DIR)/workload.o: $(OUTPUT)/mpx_workload_py.h

$(SAN_BIN): $(SAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $^ $(LIBBPF_LIBS) -lm -o $@

san: $(SAN_BIN)

$(WORK_BIN): tests/workloads/mpx-work.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< -lpthread -o $@

$(IO_BIN): tests/workloads/mpx-io.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< -o $@

$(FUZZ_BIN): tests/fuzz/fuzz_tracefile.c $(CORE_SRCS) $(wildcard src/*.h include/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $(CORE_SRCS) -lz -lm -o $@

# New inputs go to $(OUTPUT)/fuzz/corpus; tests/fuzz/corpus holds the seeds.
fuzz: $(FUZZ_BIN)
	$(Q)mkdir -p $(OUTPUT)/fuzz/corpus
	$(Q)$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=$(OUTPUT)/fuzz/ $(OUTPUT)/fuzz/corpus tests/fuzz/corpus

unit: $(UNIT_BIN)
	$(Q)$(UNIT_BIN)

integration: mpxtrace $(WORK_BIN) $(IO_BIN)
	$(Q)for t in tests/integration/test_*.py; do MPXTRACE=./mpxtrace MPX_WORK=$(WORK_BIN) MPX_IO=$(IO_BIN) $(PYTHON) $$t || exit 1; done

check: deps
	$(Q)$(MAKE) --no-print-directory mpxtrace $(UNIT_BIN) $(SAN_UNIT_BIN) $(WORK_BIN) \
		$(IO_BIN) $(FUZZ_BIN) $(SAN_BIN)
	$(Q)MPXTRACE=./mpxtrace MPX_WORK=$(WORK_BIN) MPX_IO=$(IO_BIN) UNIT_BIN=$(UNIT_BIN) \
		SAN_UNIT_BIN=$(SAN_UNIT_BIN) FUZZ_BIN=$(FUZZ_BIN) SAN_BIN=$(SAN_BIN) \
		PYTHON=$(PYTHON) sh tests/run.sh

test: check

run: deps
	$(Q)$(MAKE) --no-print-directory mpxtrace
	./mpxtrace --mode=both

BENCH_PKGS := libbpf-tools linux-perf bpftrace

# The bench's floor: empty programs on the scheduler hooks, built like mpxtrace.
FLOOR_DIR := $(OUTPUT)/bench
FLOOR_BIN := $(FLOOR_DIR)/floor

$(FLOOR_DIR):
	$(Q)mkdir -p $@

$(FLOOR_DIR)/floor.bpf.o: tests/bench/floor.bpf.c $(VMLINUX) | $(FLOOR_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -c $< -o $@

$(FLOOR_DIR)/floor.skel.h: $(FLOOR_DIR)/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(FLOOR_BIN): tests/bench/floor.c $(FLOOR_DIR)/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(FLOOR_DIR) $(LIBBPF_CFLAGS) -MMD -MP $< $(LIBBPF_LIBS) -o $@

-include $(wildcard $(FLOOR_DIR)/*.d)

bench: mpxtrace $(FLOOR_BIN) $(WORK_BIN)
	$(Q)missing=$$(for p in $(BENCH_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	$(Q)MPXTRACE=./mpxtrace FLOOR=$(FLOOR_BIN) MPX_WORK=$(WORK_BIN) $(PYTHON) tests/bench/overhead.py

install: mpxtrace
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/mpxtrace
	$(Q)install -m 0755 mpxtrace $(DESTDIR)$(PREFIX)/bin/mpxtrace
	$(Q)install -m 0644 mpxtrace.8 $(DESTDIR)$(PREFIX)/share/man/man8/mpxtrace.8
	$(Q)install -m 0644 $(WORKLOAD_PY) $(DESTDIR)$(PREFIX)/share/mpxtrace/mpx_workload.py

uninstall:
	$(Q)rm -f $(DESTDIR)$(PREFIX)/bin/mpxtrace $(DESTDIR)$(PREFIX)/share/man/man8/mpxtrace.8
	$(Q)rm -rf $(DESTDIR)$(PREFIX)/share/mpxtrace

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) mpxtrace

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(SAN_DIR)/*.d)
