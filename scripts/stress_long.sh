#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The long lost-wakeup runs (issue 5): far more messages than
# scripts/test.sh sends, through the same tests.
#
#   ./scripts/stress_long.sh [MESSAGES]     default 100000000
#
# test_stress_policy: request/response between two threads under every
# combination of ring format, suppression (flags, event index), notify
# policy (as asked, always, batched, coalesced) and wait policy (block,
# adaptive from a budget, adaptive from zero): MESSAGES messages in all
# (each round trip is two messages), spread evenly over the 48
# combinations. A lost wakeup fails the run (a receive that waits 10 s for
# a message that is queued). Builds build-long/ (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps

messages=${1:-100000000}
dir=build-long
vr_log "configure and build in $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_BUILD_BENCH=OFF \
  -DVR_BUILD_FUZZ=OFF -DVR_BUILD_EXAMPLES=OFF >"$dir.configure.log" 2>&1 ||
  { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j "$(vr_jobs)" --target test_stress_policy

# test_stress_policy gives each of its 48 combinations VR_STRESS_MESSAGES /
# 400 round trips, i.e. 2 * 48 / 400 = 0.24 messages per unit.
policy_units=$(( messages * 400 / 96 ))
start=$(date +%s)
vr_log "test_stress_policy: $messages messages over 48 policy combinations"
VR_STRESS_MESSAGES=$policy_units "$dir/tests/test_stress_policy"
vr_log "no lost wakeup in $messages messages ($(( $(date +%s) - start )) s)"
