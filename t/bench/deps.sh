#!/usr/bin/env bash
# Installs the Debian packages only the benchmark needs (wrk, Node.js with npm) when their commands are missing.
set -eu

missing() {
    command -v wrk >/dev/null || echo wrk
    command -v node >/dev/null || echo nodejs
    command -v npm >/dev/null || echo npm
}

install() {
    if [ "$(id -u)" != 0 ]; then
        echo "the benchmark needs: sudo apt-get install -y $*" >&2
        exit 1
    fi
    echo "installing: $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@"
}

todo=$(missing | tr '\n' ' ')
# shellcheck disable=SC2086
[ -z "$todo" ] || install $todo
