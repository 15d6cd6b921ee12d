#!/usr/bin/env bash
# Builds objs/ngx_http_fluid_devops_module.so against the installed nginx
# (a copy of Debian's nginx-dev configure tree, with its exact flags) or
# against the nginx source tree given as the first argument.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-}
build=$top/objs/nginx
module=ngx_http_fluid_devops_module.so

configure() {
    local dir=$1
    shift
    rm -rf "$build"
    mkdir -p "$top/objs"
    cp -a "$dir" "$build"
    cd "$build"
    if [ -x ./configure ]; then
        ./configure "$@"
    else
        ./auto/configure "$@"
    fi
}

configure_debian() {
    local dir=/usr/share/nginx/src
    [ -f "$dir/conf_flags" ] || {
        echo "build.sh: $dir/conf_flags is missing; install nginx-dev" >&2
        exit 1
    }
    # shellcheck disable=SC1091
    . "$dir/conf_flags"
    configure "$dir" "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="-g -O2 -fPIC" --with-ld-opt="-fPIC" \
        --add-dynamic-module="$top"
}

configure_upstream() {
    configure "$src" --with-compat --with-debug \
        --with-cc-opt="-g -O2 -fPIC" --add-dynamic-module="$top"
}

needs_configure() {
    [ ! -f "$build/objs/Makefile" ] && return 0
    [ "$top/config" -nt "$build/objs/Makefile" ] && return 0
    [ "$(cat "$top/objs/.nginx-src" 2>/dev/null)" != "${src:-debian}" ]
}

mkdir -p "$top/objs"

if needs_configure; then
    if [ -n "$src" ]; then
        configure_upstream > "$top/objs/configure.log"
    else
        configure_debian > "$top/objs/configure.log"
    fi
    echo "${src:-debian}" > "$top/objs/.nginx-src"
fi

make -C "$build" -f objs/Makefile -j2 modules

# a new file under the old name: an nginx that has the old one loaded keeps
# its mapping intact
if ! cmp -s "$build/objs/$module" "$top/objs/$module"; then
    cp "$build/objs/$module" "$top/objs/$module.tmp"
    mv -f "$top/objs/$module.tmp" "$top/objs/$module"
fi
echo "built objs/$module"
