#!/usr/bin/env bash
# PDF rendering (WeasyPrint) needs Pango and a font from the system. Install them where missing
# and possible (Debian or Ubuntu, as root); elsewhere say what to install.
set -euo pipefail
if ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' && ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so'; then
    exit 0
fi
packages="libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Pango for PDF rendering: $packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
else
    echo "PDF rendering needs Pango: install it (Debian: $packages; macOS: brew install pango)" >&2
    exit 1
fi
