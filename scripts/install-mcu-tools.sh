#!/usr/bin/env bash
# Installs what `mam mcu build` and `mam mcu run` need, from Debian's packages: the Arm
# bare-metal GCC, newlib for it (semihosting I/O), and QEMU's Arm system emulator; and clang
# (clang, clang++), the second compiler the tests build the C export with (skipped without it).
# Does nothing when they are already there. Needs root (or sudo) and Debian's apt.
set -euo pipefail
if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
  && [ -e /usr/lib/arm-none-eabi/lib/rdimon.specs ] && command -v clang++ >/dev/null; then
  echo "mcu tools: already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
# About 35 MB to download; without it only the clang builds of the C export are skipped.
$SUDO apt-get install -y -qq --no-install-recommends clang || echo "WARNING: could not install clang: the C export's clang builds will be skipped"
arm-none-eabi-gcc --version | head -1
qemu-system-arm --version | head -1
