#!/bin/sh
# deps.sh: install the Debian packages sluice needs, and nothing when they are all present.
#
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --bench  also the tools `make bench` compares against
#   scripts/deps.sh --fuzz   also clang for the libFuzzer targets
#
# Idempotent and silent when everything is installed. Uses apt-get (through sudo when not root).
set -eu

pkgs="gcc make pkg-config libc6-dev zlib1g-dev libzstd-dev libxxhash-dev liblz4-dev libcmocka-dev libpcre2-dev zstd gzip python3"
for arg in "$@"; do
	case "$arg" in
	--bench) pkgs="$pkgs mawk time goaccess coreutils" ;;
	--fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
	--valgrind) pkgs="$pkgs valgrind" ;;
	*) echo "deps.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: missing packages:$missing (and no apt-get: install them by hand)" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
		echo "deps.sh: missing packages:$missing; run as root to install them" >&2
		exit 1
	fi
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once before installing.
$sudo apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
