# podrun's tasks. `make` lists them; README.md explains the project.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Build tags of the Podman Go bindings: the remote client only, without the graph drivers and
# the gpgme dependency it does not need. Every go command below uses them.
GO_TAGS := remote exclude_graphdriver_btrfs btrfs_noversion exclude_graphdriver_devicemapper containers_image_openpgp
comma := ,
empty :=
space := $(empty) $(empty)
GO_FLAGS := -tags $(subst $(space),$(comma),$(strip $(GO_TAGS)))
# SQLite and the race detector need cgo: fail loudly without a C compiler rather than build a
# binary whose database driver is a stub.
export CGO_ENABLED := 1

BIN := bin/podrun
# The version, commit and Go version `podrun version` prints, stamped at link time.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILDINFO := github.com/podrun/podrun/internal/buildinfo
LDFLAGS := -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Commit=$(COMMIT)
# The entrypoint of every function container, bind-mounted into images of any kind (FROM
# scratch too): static, so it is built without cgo whatever CGO_ENABLED says above.
SHIM := bin/podrun-shim
# Pure Go: fast, run with the race detector.
UNIT_PKGS := ./runner/... ./ttl/... ./httpapi/... ./configs/... ./api/... ./client/... ./cli/... ./examples/... ./internal/... ./egress/...
# Talk to the real Podman service; one package at a time, as they share it on a small machine.
INTEGRATION_PKGS := ./sandbox/... ./cmd/...
# The user the rootless smoke test in cmd/podrun runs podrun as.
ROOTLESS_USER := podrun-smoke

# make install's destinations; DESTDIR stages them elsewhere (packaging, tests). docs/service.md
# lists exactly what install lays out and uninstall removes.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SYSTEMD_SYSTEM_DIR ?= $(PREFIX)/lib/systemd/system
SYSTEMD_USER_DIR ?= $(PREFIX)/lib/systemd/user
SYSCONFDIR ?= /etc
INSTALLED := $(BINDIR)/podrun $(BINDIR)/podrun-shim \
	$(SYSTEMD_SYSTEM_DIR)/podrun.service $(SYSTEMD_SYSTEM_DIR)/podrun.socket \
	$(SYSTEMD_USER_DIR)/podrun.service $(SYSTEMD_USER_DIR)/podrun.socket \
	$(SYSCONFDIR)/podrun/podrun.toml

.PHONY: help setup images rootless promtool systemd-tools chromium build shim run test bench bench-go lint clean install uninstall

help: ## List the targets
	@echo "Usage: make TARGET"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The scripts write their progress (apt's included) to stderr and only the service's URI to
# stdout, which these targets drop and `run` reads.
setup: ## Install Podman and runsc if needed and start their API services (uses sudo when not root)
	scripts/setup-host.sh >/dev/null
	scripts/setup-gvisor.sh >/dev/null

images: setup ## Build the local images (localhost/podrun/busybox, hello-go), skipping those that exist
	scripts/build-images.sh

rootless: setup ## Create the rootless smoke-test user, its Podman service and images
	scripts/setup-rootless-user.sh $(ROOTLESS_USER) >/dev/null

promtool: ## Make promtool available (bin/tools/promtool unless on PATH), for the /metrics check
	scripts/install-promtool.sh >/dev/null

systemd-tools: ## Install systemd-analyze and systemd-socket-activate if missing (the unit tests)
	scripts/install-systemd-tools.sh

chromium: ## Make a headless Chromium available, for the dashboard's browser test (Debian's chromium)
	scripts/install-chromium.sh >/dev/null

build: shim ## Build bin/podrun and bin/podrun-shim
	@test -x $(BIN) || echo "building $(BIN): a first build compiles about 400 packages (about 5 minutes on 2 cores), listed as they compile"
	$(GO) build -v $(GO_FLAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/podrun

shim: ## Build bin/podrun-shim, static (CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(SHIM) ./cmd/podrun-shim

run: setup images build ## Set up the host, build, and run podrun serve (SQLite in its data dir)
	@sock="$$(scripts/setup-host.sh 2>/dev/null | tail -n 1)"; \
	gvisor="$$(scripts/setup-gvisor.sh 2>/dev/null | tail -n 1)"; \
	PODRUN_PODMAN_SOCKET="$${PODRUN_PODMAN_SOCKET:-$$sock}" PODRUN_GVISOR_SOCKET="$${PODRUN_GVISOR_SOCKET:-$$gvisor}" exec $(BIN) serve

test: setup images rootless build promtool systemd-tools chromium ## Vet, unit tests with -race, then the integration tests against Podman
	$(GO) vet $(GO_FLAGS) ./...
	$(GO) test $(GO_FLAGS) -race $(UNIT_PKGS) ./deploy/...
	PODRUN_PROMTOOL="$$(scripts/install-promtool.sh 2>/dev/null | tail -n 1)" \
	PODRUN_TEST_GVISOR_SOCKET="$$(scripts/setup-gvisor.sh 2>/dev/null | tail -n 1)" \
	PODRUN_CHROMIUM="$$(scripts/install-chromium.sh 2>/dev/null | tail -n 1)" \
		$(GO) test $(GO_FLAGS) -count=1 -p 1 -timeout 25m $(INTEGRATION_PKGS)

# Flags for podrun bench, e.g. make bench BENCH_FLAGS="--json --scenarios cold,warm".
BENCH_FLAGS ?=

bench: setup images build ## Run podrun bench against Podman (about 3.5 minutes; docs/performance.md)
	$(BIN) bench $(BENCH_FLAGS)

bench-go: ## Run the Go micro-benchmarks (SQLite store, HTTP handlers)
	$(GO) test $(GO_FLAGS) -run '^$$' -bench . ./runner/sqlite/ ./httpapi/

lint: ## Check formatting, go vet, and shellcheck when installed
	@unformatted="$$(gofmt -l .)"; \
	if [[ -n "$$unformatted" ]]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(GO_FLAGS) ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod or go.sum is not tidy: run go mod tidy"; exit 1; }
	@if command -v shellcheck >/dev/null; then shellcheck -x scripts/*.sh .ci/run; else echo "shellcheck not installed: skipped"; fi

# Units name files by their installed paths: /usr/local/bin and /etc/podrun in deploy/systemd become
# $(BINDIR) and $(SYSCONFDIR)/podrun.
# An existing podrun.toml is kept (it may hold the operator's settings).
install: build ## Install podrun, podrun-shim, the systemd units and /etc/podrun/podrun.toml (PREFIX, DESTDIR)
	install -d -m 0755 '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(SYSTEMD_SYSTEM_DIR)' '$(DESTDIR)$(SYSTEMD_USER_DIR)'
	install -m 0755 $(BIN) '$(DESTDIR)$(BINDIR)/podrun'
	install -m 0755 $(SHIM) '$(DESTDIR)$(BINDIR)/podrun-shim'
	for unit in podrun.service podrun.socket; do \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/podrun/|$(SYSCONFDIR)/podrun/|g' deploy/systemd/system/$$unit > '$(DESTDIR)$(SYSTEMD_SYSTEM_DIR)'/$$unit; \
		sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/podrun/|$(SYSCONFDIR)/podrun/|g' deploy/systemd/user/$$unit > '$(DESTDIR)$(SYSTEMD_USER_DIR)'/$$unit; \
		chmod 0644 '$(DESTDIR)$(SYSTEMD_SYSTEM_DIR)'/$$unit '$(DESTDIR)$(SYSTEMD_USER_DIR)'/$$unit; \
	done
	install -d -m 0755 '$(DESTDIR)$(SYSCONFDIR)/podrun'
	if [[ -e '$(DESTDIR)$(SYSCONFDIR)/podrun/podrun.toml' ]]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/podrun/podrun.toml"; \
	else \
		install -m 0644 configs/podrun.toml '$(DESTDIR)$(SYSCONFDIR)/podrun/podrun.toml'; \
	fi

# Removes what install laid out, and /etc/podrun if that leaves it empty (podrun.env and an edited
# podrun.toml stay: they are the operator's). Data (/var/lib/podrun) is never touched.
uninstall: ## Remove what make install installed (same PREFIX and DESTDIR)
	for f in $(INSTALLED); do \
		if [[ $$f == '$(SYSCONFDIR)/podrun/podrun.toml' ]] && ! cmp -s configs/podrun.toml "$(DESTDIR)$$f"; then \
			[[ ! -e "$(DESTDIR)$$f" ]] || echo "keeping $(DESTDIR)$$f: it differs from configs/podrun.toml"; \
			continue; \
		fi; \
		rm -f "$(DESTDIR)$$f"; \
	done
	rmdir '$(DESTDIR)$(SYSCONFDIR)/podrun' 2>/dev/null || true

clean: ## Remove build output
	rm -rf bin
