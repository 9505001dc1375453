#!/usr/bin/env bash
# PDF rendering (WeasyPrint) needs Pango, HarfBuzz's subsetter and a font from the system. Install
# them where missing and possible (Debian or Ubuntu, as root); elsewhere say what to install.
# Without the subsetter WeasyPrint still renders, but warns once per process and again for every
# font of every letter, which buries `make run`'s log.
# With `browser`: Debian's Chromium as well, which the workbench's browser tests drive (`make test`).
set -euo pipefail
if [ "${1:-}" = "browser" ]; then
    if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
        exit 0
    fi
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "installing Chromium for the workbench's browser tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "the browser tests need Chromium: install it (Debian: chromium)" >&2
        exit 1
    fi
    exit 0
fi
libs_present() {
    local libs
    libs=$(ldconfig -p 2>/dev/null || true)
    for lib in libpango-1.0.so libpangoft2-1.0.so libharfbuzz-subset.so; do
        grep -q "$lib" <<<"$libs" || return 1
    done
}
if libs_present; then
    exit 0
fi
packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Pango and HarfBuzz for PDF rendering: $packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
else
    echo "PDF rendering needs Pango and HarfBuzz-Subset: install them" \
        "(Debian: $packages; macOS: brew install pango harfbuzz)" >&2
    exit 1
fi
