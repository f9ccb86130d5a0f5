#!/bin/sh
# Debian packages the Python wheels need at run time but do not bundle: libusb for pyrealsense2
# (requirements-hardware.txt) and Open3D. Installs only what is missing; uses sudo when not root.
set -eu
missing=""
for pkg in libusb-1.0-0; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "system-deps: please install$missing with your package manager (no apt-get here)" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends$missing
