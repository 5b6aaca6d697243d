# forja — build, test, install.  `make help` lists the targets.

VERSION := $(shell sed -n 's/^\#define FORJA_VERSION "\(.*\)"/\1/p' include/forja/version.h)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := libgit2 libcurl sqlite3 libcjson libuv libpcre2-8 libedit

CFLAGS     ?= -O2 -g
WARNINGS   := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wno-unused-parameter
ifdef WERROR
WARNINGS   += -Werror
endif
ifdef SAN
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libgit2 and libcurl are loaded on first use when their SONAMEs can be
# found (see include/forja/gitlib.h and curllib.h): their dependency trees
# cost ~8 ms at every start.  LAZY_LIBS=0 links them as usual.
LAZY_LIBS  ?= 1
soname = $(shell objdump -p "$$($(PKG_CONFIG) --variable=libdir $(1) 2>/dev/null)/$(2)" 2>/dev/null | sed -n 's/^ *SONAME *//p')
GIT2_SONAME := $(call soname,libgit2,libgit2.so)
CURL_SONAME := $(call soname,libcurl,libcurl.so)
EDIT_SONAME := $(call soname,libedit,libedit.so)
LAZY_PKGS  :=
ifeq ($(LAZY_LIBS)$(if $(GIT2_SONAME),yes,no),1yes)
LAZY_PKGS  += libgit2
PKG_CFLAGS += -DFORJA_GIT2_SONAME='"$(GIT2_SONAME)"'
endif
ifeq ($(LAZY_LIBS)$(if $(CURL_SONAME),yes,no),1yes)
LAZY_PKGS  += libcurl
PKG_CFLAGS += -DFORJA_CURL_SONAME='"$(CURL_SONAME)"'
endif
# libedit only serves the interactive session: loaded when it starts.
ifeq ($(LAZY_LIBS)$(if $(EDIT_SONAME),yes,no),1yes)
LAZY_PKGS  += libedit
PKG_CFLAGS += -DFORJA_EDIT_SONAME='"$(EDIT_SONAME)"'
endif
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(filter-out $(LAZY_PKGS),$(PKGS)) 2>/dev/null) -ldl
ALL_CFLAGS  = -std=c17 -D_GNU_SOURCE -Iinclude $(WARNINGS) $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread

# Object files go to $(BUILD); the plain build leaves ./forja at the top.
BUILD ?= build
ifeq ($(abspath $(BUILD)),$(abspath build))
BIN := forja
else
BIN := $(BUILD)/forja
endif

SRCS      := $(sort $(wildcard src/*.c src/*/*.c))
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/src/main.o,$(OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps run check check-asan unit install uninstall clean help bench fuzz

all: $(BIN)

$(BIN): $(OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

# Objects are rebuilt when the flags change (SAN, WERROR, the lazy SONAMEs).
FLAGS_NOW  = $(ALL_CFLAGS) | $(ALL_LDFLAGS) | $(LIBS)
ifneq ($(FLAGS_NOW),$(file <$(BUILD)/.flags))
$(shell mkdir -p $(BUILD))
$(file >$(BUILD)/.flags,$(FLAGS_NOW))
endif

# Where an installed forja looks for its built-in contracts when they are
# neither beside the binary nor in ../share/forja (src/contract.c).  Only
# contract.o sees it, so `make install PREFIX=...` rebuilds nothing else.
$(BUILD)/src/contract.o: ALL_CFLAGS += -DFORJA_DATADIR='"$(DATADIR)/forja"'

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(LIBS)

unit: $(UNIT_BINS)

deps:
	@sh packaging/deps.sh

run: deps all
	./$(BIN)

check: deps
	@$(MAKE) --no-print-directory all unit
	@FORJA="$(CURDIR)/$(BIN)" BUILD="$(CURDIR)/$(BUILD)" sh tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS="-O1 -g" all unit
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99:fast_unwind_on_malloc=0 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 FORJA="$(CURDIR)/build-asan/forja" BUILD="$(CURDIR)/build-asan" sh tests/run.sh

bench: all
	@FORJA="$(CURDIR)/$(BIN)" sh tests/bench/bootstrap
	@FORJA="$(CURDIR)/$(BIN)" sh tests/bench/stream
	@FORJA="$(CURDIR)/$(BIN)" sh tests/bench/tools
	@FORJA="$(CURDIR)/$(BIN)" sh tests/bench/agent

fuzz:
	@mkdir -p build-fuzz
	@for f in $(FUZZ_SRCS); do \
	  n=$$(basename $$f .c); \
	  clang -std=c17 -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -o build-fuzz/$$n $$f $(filter-out src/main.c,$(SRCS)) $(LIBS) || exit 1; \
	  echo "built build-fuzz/$$n"; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(DATADIR)/forja/contracts $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	  $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/forja
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	for f in man/*.5; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man5/; done; true
	for f in contracts/*.json; do [ -e "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(DATADIR)/forja/contracts/; done; true
	install -m 644 completions/forja.bash $(DESTDIR)$(BASHCOMPDIR)/forja
	install -m 644 completions/_forja $(DESTDIR)$(ZSHCOMPDIR)/_forja
	install -m 644 completions/forja.fish $(DESTDIR)$(FISHCOMPDIR)/forja.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/forja $(DESTDIR)$(BASHCOMPDIR)/forja \
	  $(DESTDIR)$(ZSHCOMPDIR)/_forja $(DESTDIR)$(FISHCOMPDIR)/forja.fish
	for f in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$f); done
	for f in man/*.5; do [ -e "$$f" ] && rm -f $(DESTDIR)$(MANDIR)/man5/$$(basename $$f); done; true
	rm -rf $(DESTDIR)$(DATADIR)/forja

clean:
	rm -rf build build-asan build-fuzz forja

help:
	@echo "make            build ./forja (optimised)"
	@echo "make run        install missing packages, build, run ./forja here"
	@echo "make check      install missing packages, build, run every test"
	@echo "make check-asan the same tests under AddressSanitizer and UBSan"
	@echo "make bench      run the benchmarks under tests/bench"
	@echo "make fuzz       build the libFuzzer targets into build-fuzz/"
	@echo "make deps       install missing build packages (apt or brew)"
	@echo "make install    install under PREFIX=$(PREFIX) (DESTDIR honoured)"
	@echo "make uninstall  remove what make install put there"
	@echo "make dist       reproducible release tarball build/forja-VERSION.tar.gz"
	@echo "make deb        Debian package into build/ (needs debhelper)"
	@echo "make brew-formula  point packaging/homebrew/forja.rb at the tarball"

# Releases: `make dist` writes $(DIST_OUT)/forja-$(VERSION).tar.gz, `make deb`
# the Debian package into $(DEB_OUT), `make brew-formula` the Homebrew formula
# for that tarball.  They need GNU tar and coreutils (Debian, or gtar on macOS).
#
# The tarball holds exactly the tracked files (git ls-files; in an unpacked
# tarball, which has no .git, every file under DIST_PATHS) under forja-VERSION/,
# and is reproducible: sorted names, every mtime SOURCE_DATE_EPOCH (default:
# the last commit's time; in an unpacked tarball, its newest file's), owner
# and group 0, modes 644 or 755, gzip -n.  Files edited but not committed go
# in as they are in the work tree.
DIST_OUT   ?= build
DEB_OUT    ?= build
TAR        ?= tar
DIST_NAME  := forja-$(VERSION)
DIST_PATHS := .ci .editorconfig .gitignore .pre-commit-hooks.yaml LICENSE Makefile README.md completions \
              contracts include man packaging src tests
DIST_LIST   = { if [ -e .git ]; then git -c core.quotepath=off ls-files; \
              else find $(DIST_PATHS) \( -type f -o -type l \) 2>/dev/null; fi; } | \
              while IFS= read -r f; do if [ -f "$$f" ] || [ -L "$$f" ]; then printf '%s\n' "$$f"; fi; done | \
              LC_ALL=C sort
DIST_EPOCH  = $(or $(SOURCE_DATE_EPOCH),$(shell if [ -e .git ]; then git log -1 --format=%ct; \
              else $(DIST_LIST) | xargs -d '\n' stat -c %Y | sort -n | tail -n 1; fi 2>/dev/null))
SHA256SUM   = $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')
# Where a release's tarball is downloaded from: the formula's url.
DIST_URL   ?= https://github.com/forja/forja/releases/download/v$(VERSION)/$(DIST_NAME).tar.gz
# The formula `make brew-formula` writes (from the one in packaging/homebrew).
BREW_FORMULA ?= packaging/homebrew/forja.rb
# `make deb` builds in $(DEB_SCRATCH)/$(DIST_NAME), a copy of the tracked files
# with packaging/debian/ as debian/.  DEB_BUILD_OPTIONS=nocheck is honoured.
DEB_SCRATCH ?= $(BUILD)/deb

.PHONY: dist deb brew-formula

dist:
	@set -e; epoch='$(DIST_EPOCH)'; out='$(DIST_OUT)/$(DIST_NAME).tar.gz'; \
	case "$$epoch" in ''|*[!0-9]*) \
	  echo "make dist: no SOURCE_DATE_EPOCH and no commit time to date the files (got '$$epoch')" >&2; exit 1;; esac; \
	[ -n '$(VERSION)' ] || { echo "make dist: no FORJA_VERSION in include/forja/version.h" >&2; exit 1; }; \
	mkdir -p '$(DIST_OUT)'; rm -f "$$out.list" "$$out.tar" "$$out.tmp"; \
	$(DIST_LIST) >"$$out.list"; \
	[ -s "$$out.list" ] || { echo "make dist: no files to pack" >&2; exit 1; }; \
	$(TAR) --create --file="$$out.tar" --format=gnu --no-recursion --hard-dereference \
	  --verbatim-files-from --files-from="$$out.list" \
	  --owner=0 --group=0 --numeric-owner --mtime="@$$epoch" --mode=u+rw,go=rX \
	  --transform='flags=r;s,^,$(DIST_NAME)/,'; \
	gzip -9n <"$$out.tar" >"$$out.tmp"; \
	mv "$$out.tmp" "$$out"; rm -f "$$out.list" "$$out.tar"; \
	$(SHA256SUM) "$$out"

deb:
	@set -e; src='$(DEB_SCRATCH)/$(DIST_NAME)'; \
	command -v dpkg-buildpackage >/dev/null || { echo "make deb: needs dpkg-dev and debhelper (apt-get install dpkg-dev debhelper)" >&2; exit 1; }; \
	rm -rf '$(DEB_SCRATCH)'; mkdir -p "$$src" '$(DEB_OUT)'; \
	$(DIST_LIST) >'$(DEB_SCRATCH)/files'; \
	xargs -d '\n' cp -P --preserve=mode,timestamps --parents -t "$$src" <'$(DEB_SCRATCH)/files'; \
	cp -R "$$src/packaging/debian" "$$src/debian"; \
	(cd "$$src" && dpkg-buildpackage -us -uc -b -Jauto); \
	for f in '$(DEB_SCRATCH)'/*.deb; do cp "$$f" '$(DEB_OUT)/'; echo "$(DEB_OUT)/$${f##*/}"; done

brew-formula: dist
	@set -e; out='$(DIST_OUT)/$(DIST_NAME).tar.gz'; \
	sum=$$($(SHA256SUM) "$$out" | cut -d' ' -f1); \
	case "$$sum" in *[!0-9a-f]*|'') echo "make brew-formula: no sha256 for $$out" >&2; exit 1;; esac; \
	sed -e 's|^  url ".*"$$|  url "$(DIST_URL)"|' -e "s|^  sha256 \".*\"$$|  sha256 \"$$sum\"|" \
	  packaging/homebrew/forja.rb >'$(BREW_FORMULA).tmp'; \
	grep -q "^  sha256 \"$$sum\"$$" '$(BREW_FORMULA).tmp' || { echo "make brew-formula: no sha256 line in packaging/homebrew/forja.rb" >&2; exit 1; }; \
	mv '$(BREW_FORMULA).tmp' '$(BREW_FORMULA)'; \
	echo "$(BREW_FORMULA): url $(DIST_URL), sha256 $$sum"

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d)
