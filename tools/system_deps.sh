#!/usr/bin/env bash
# System packages the GUI tests need (Qt under Xvfb, OpenGL, open3d's libraries), installed with
# apt when missing and we are root (or have password-less sudo). Elsewhere, prints what to install.
set -uo pipefail
PACKAGES=(xvfb xauth libgl1 libegl1 libglx-mesa0 libgl1-mesa-dri libglib2.0-0 libdbus-1-3 libfontconfig1
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libusb-1.0-0 libvulkan1 mesa-vulkan-drivers)

command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian/Ubuntu system; install Xvfb and OpenGL libraries yourself"; exit 0; }
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "system-deps: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "system-deps: apt-get failed; GUI tests may not run" >&2; exit 0; }
