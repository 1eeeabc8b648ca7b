#!/usr/bin/env bash
# Quick start, part 1: install what mokaccino needs (Debian 12), build it, and start a node.
# Every argument goes to mokaccino, e.g.:  scripts/run-node.sh -u alice -p 23232
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build"
exec "$root/build/mokaccino" "$@"
