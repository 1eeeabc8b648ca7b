#!/usr/bin/env bash
# Installs exactly the Debian 12 packages mokaccino needs. Idempotent: does nothing when all are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git   # toolchain
  clang libclang-rt-14-dev                            # libFuzzer target + sanitizer runtimes
  libcaf-dev libboost-dev libbotan-2-dev              # actors, asio, crypto
  librtaudio-dev libopus-dev libasound2-dev           # voice (ALSA headers silence its noise)
  doctest-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  iproute2 iperf3                                     # real-link tests (ip netns, veth) and their UDP baseline
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
