#!/bin/sh
# Install what building and testing forja needs, and nothing that is already
# there.  Debian/Ubuntu: dpkg-query, then apt-get (through sudo when not root).
# macOS: brew.  Elsewhere: say what is needed and do nothing.
set -eu

deb_pkgs="gcc make pkg-config binutils libedit-dev libgit2-dev libcurl4-openssl-dev libuv1-dev libpcre2-dev libsqlite3-dev libcjson-dev git mandoc python3 tmux"
brew_pkgs="pkg-config libedit libgit2 curl libuv pcre2 sqlite cjson mandoc python3"

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	missing=
	for p in $deb_pkgs; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case "$status" in
		ii*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	[ -z "$missing" ] && exit 0
	echo "forja: installing missing packages:$missing"
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "forja: need root (or sudo) to install:$missing" >&2
			exit 1
		}
		sudo=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq || $sudo apt-get update
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing
elif [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
	missing=
	for p in $brew_pkgs; do
		brew list --versions "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	[ -z "$missing" ] && exit 0
	echo "forja: brew install$missing"
	# shellcheck disable=SC2086
	brew install $missing
else
	echo "forja: no apt-get or brew here; install by hand: a C17 compiler, make, pkg-config,"
	echo "       libgit2, libcurl, libuv, PCRE2, sqlite3, cJSON (with their development headers), git, mandoc and python3."
fi
