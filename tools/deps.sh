#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need, when
# run as root; otherwise prints the apt-get line and fails.
set -eu

packages="gcc make nginx nginx-dev libjansson-dev libpq-dev libssl-dev
postgresql postgresql-common curl valgrind libtest-base-perl libwww-perl
libhttp-message-perl liblist-moreutils-perl libipc-run-perl
libtest-longstring-perl libtext-diff-perl liburi-perl"

missing() {
    local p
    for p in $packages; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null \
            | grep -q '^install ok installed$' || echo "$p"
    done
}

todo=$(missing | tr '\n' ' ')
[ -z "$todo" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages; install them with:" >&2
    echo "    sudo apt-get install -y $todo" >&2
    exit 1
fi

echo "installing: $todo"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $todo
