#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The vringctl test suites (tests/vringctl/CMakeLists.txt lists them).
#
#   run.sh SUITE VRINGCTL MKREGION VRPEER JSONCHECK SRCDIR WORKDIR
#
# Every vringctl run is checked for sanitizer reports as well as for its
# expected output and exit status. VRINGCTL_REGEN=1 rewrites the golden
# files of the golden suite instead of comparing (review the diff).
set -u
suite=$1 V=$2 MK=$3 PEER=$4 JC=$5 SRC=$6 WORK=$7
GOLD=$SRC/golden

# A sanitizer report must never look like an exit status vringctl
# documents (UBSan and ASan exit with 1 by default).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86"
export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}exitcode=86"

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0
checks=0
bgpids=()
cleanup() {
  local p
  for p in "${bgpids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null
  done
  rm -f "/dev/shm/vringctl-test-$$" 2>/dev/null
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# sanitizer_clean FILE: no sanitizer report in FILE.
sanitizer_clean() {
  ! grep -qE 'Sanitizer|runtime error:|SUMMARY: ' "$1"
}

# expect RC CMD...: run CMD, want exit status RC, stderr of at most one
# line, and no sanitizer report. Leaves stdout in ./out, stderr in ./err.
expect() {
  local want=$1 rc
  shift
  checks=$((checks + 1))
  "$@" >out 2>err
  rc=$?
  if ! sanitizer_clean err; then
    fail "sanitizer report from: $*"
    cat err
    return 1
  fi
  if [ "$rc" -ne "$want" ]; then
    fail "exit $rc (want $want): $*"
    sed 's/^/  | /' err
    return 1
  fi
  if [ "$(wc -l <err)" -gt 1 ]; then
    fail "more than one line on stderr: $*"
    sed 's/^/  | /' err
    return 1
  fi
  return 0
}

# expect_err RC PATTERN CMD...: as expect, and stderr matches PATTERN.
expect_err() {
  local want=$1 pat=$2
  shift 2
  expect "$want" "$@" || return 1
  if ! grep -qE "$pat" err; then
    fail "stderr does not match /$pat/: $*"
    sed 's/^/  | /' err
    return 1
  fi
}

# transcript CMD...: stdout, then stderr and the exit status, as one text.
transcript() {
  local rc
  "$@" >t.out 2>t.err
  rc=$?
  cat t.out
  if [ -s t.err ]; then
    echo "--- stderr"
    cat t.err
  fi
  echo "--- exit $rc"
}

# golden NAME CMD...: the transcript of CMD must equal golden/NAME.out.
golden() {
  local name=$1
  shift
  checks=$((checks + 1))
  transcript "$@" >"$name.out"
  if ! sanitizer_clean "$name.out"; then
    fail "sanitizer report: $name"
    cat "$name.out"
  elif [ -n "${VRINGCTL_REGEN:-}" ]; then
    cp "$name.out" "$GOLD/$name.out"
  elif [ ! -f "$GOLD/$name.out" ]; then
    fail "no golden file $GOLD/$name.out"
  elif ! diff -u "$GOLD/$name.out" "$name.out"; then
    fail "output differs from golden/$name.out"
  fi
}

# json_get PATH: the value at PATH in ./json.flat (made by jsoncheck).
json_get() {
  awk -v p="$1" '$1 == p { sub(/^[^ ]* /, ""); print; found = 1 } END { exit !found }' json.flat
}

# json_is PATH VALUE
json_is() {
  local got
  checks=$((checks + 1))
  got=$(json_get "$1") || { fail "$CASE: no $1 in the JSON"; return; }
  [ "$got" = "$2" ] || fail "$CASE: $1 is $got, want $2"
}

# wait_bg PID: the background job's exit status.
wait_bg() {
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

# ---- Suites ---------------------------------------------------------------

suite_golden() {
  local s
  for s in $("$MK" list); do
    "$MK" "$s" ./region || { fail "mkregion $s"; continue; }
    golden "$s.dump" "$V" dump ./region
    golden "$s.check" "$V" check ./region
  done
  for s in split-busy split-chains packed-wrap packed-chains; do
    "$MK" "$s" ./region || { fail "mkregion $s"; continue; }
    golden "$s.json" "$V" dump --json ./region
  done
  "$MK" split-busy ./region
  golden split-busy.dump-queue1 "$V" dump --queue 1 ./region
  "$MK" split-warn-nonotify ./region
  golden split-warn-nonotify.check-strict "$V" check --strict ./region
  golden split-warn-nonotify.check-quiet "$V" check --quiet ./region
  "$MK" split-idle ./region
  truncate -s 5000 ./region
  golden hdr-truncated.check "$V" check ./region
  golden hdr-truncated.dump "$V" dump ./region
  "$MK" split-busy ./region
  golden split-busy.watch "$V" watch --count 2 --interval 0.05 ./region
}

suite_json() {
  local s
  for s in $("$MK" list); do
    CASE=$s
    "$MK" "$s" ./region || { fail "mkregion $s"; continue; }
    "$V" dump --json ./region >json 2>err
    case "$s" in
      hdr-bad-*) continue ;; # refused headers: checked in errors
    esac
    checks=$((checks + 1))
    if ! "$JC" <json >json.flat; then
      fail "$s: dump --json is not valid JSON"
      continue
    fi
    json_is .region '"./region"'
    json_is .layout_version 1
  done
  CASE=split-busy
  "$MK" split-busy ./region && "$V" dump --json ./region | "$JC" >json.flat
  json_is .queue_count 2
  json_is .generation 7
  json_is .features.negotiated true
  json_is '.features.driver_names[0]' '"EVENT_IDX"'
  json_is '.driver.status_names[3]' '"DRIVER_OK"'
  json_is '.queues[0].channel_role' '"tx"'
  json_is '.queues[0].avail.idx' 4
  json_is '.queues[0].used.idx' 1
  json_is '.queues[0].in_flight' 3
  json_is '.queues[0].completion' '"in_order_evidence"'
  json_is '.queues[0].chains[0].avail_index' 1
  json_is '.queues[0].chains[2].readable_bytes' 5
  json_is '.queues[0].chains[2].descriptors[0].len' 5
  json_is '.queues[1].in_flight' 7
  json_is '.queues[1].used[1].len' 3
  json_is '.queues[1].statistics.device.published' 1100
  json_is '.queues[1].statistics.driver.error_name' null
  json_is .errors 0
  json_is .warnings 0
  CASE=packed-wrap
  "$MK" packed-wrap ./region && "$V" dump --json ./region | "$JC" >json.flat
  json_is '.queues[0].format' '"packed"'
  json_is '.queues[0].driver_position.next' 1
  json_is '.queues[0].driver_position.wrap' 1
  json_is '.queues[0].in_flight' 2
  json_is '.queues[0].chains[1].position' 0
  json_is '.queues[0].newest_used' 2
  CASE=split-chains
  "$MK" split-chains ./region && "$V" dump --json ./region | "$JC" >json.flat
  json_is '.queues[0].chains[0].descriptors[1].table' '"indirect"'
  json_is '.queues[0].chains[0].writable_bytes' 84
  json_is '.queues[0].used[0].len' 40
  CASE=split-bad-loop
  "$MK" split-bad-loop ./region && "$V" dump --json ./region | "$JC" >json.flat
  json_is '.findings[0].code' '"VR_ELOOP"'
  json_is '.findings[0].severity' '"error"'
  json_is '.queues[0].chains[1].problem.code' '"VR_ELOOP"'
  json_is .errors 1
  CASE=queue-filter
  "$MK" split-busy ./region && "$V" dump --json --queue 1 ./region | "$JC" >json.flat
  json_is '.queues[0].index' 1
  checks=$((checks + 1))
  json_get '.queues[1].index' >/dev/null && fail "--queue 1 shows more than queue 1"
  # The checker itself rejects what is not JSON.
  checks=$((checks + 1))
  printf '{"a": [1, 2,]}' | "$JC" >/dev/null 2>&1 && fail "jsoncheck accepted a trailing comma"
}

suite_errors() {
  local s
  "$MK" split-idle ./good
  # Missing, empty, short, truncated, foreign, not a file.
  expect_err 3 'nope: No such file' "$V" dump ./nope
  expect_err 3 'nope: No such file' "$V" check ./nope
  expect_err 3 'No such file' "$V" watch --once ./nope
  : >empty
  expect_err 3 'truncated.*VR_ETRUNC' "$V" dump ./empty
  expect_err 3 'truncated.*VR_ETRUNC' "$V" check ./empty
  head -c 100 good >short
  expect_err 3 'VR_ETRUNC' "$V" dump ./short
  expect_err 3 'shorter than the 4096-byte header' "$V" check ./short
  cp good trunc && truncate -s 5000 trunc
  expect_err 3 'truncated.*VR_ETRUNC' "$V" dump ./trunc
  expect 1 "$V" check ./trunc
  head -c 8192 /dev/urandom >random
  expect_err 3 'not a libvring region.*VR_EMAGIC' "$V" dump ./random
  expect_err 3 'VR_EMAGIC' "$V" check ./random
  for s in hdr-bad-magic hdr-bad-version hdr-bad-stats-overlap hdr-bad-queue-size hdr-bad-area; do
    "$MK" "$s" ./bad
    expect_err 3 'VR_E(MAGIC|VERSION|REGION)' "$V" dump ./bad
    expect_err 3 'VR_E(MAGIC|VERSION|REGION)' "$V" dump --json ./bad
    expect_err 3 'VR_E(MAGIC|VERSION|REGION)' "$V" watch --once ./bad
  done
  "$MK" hdr-bad-version ./bad
  expect_err 3 'unsupported region layout version' "$V" check ./bad
  mkdir -p adir
  expect_err 3 'not a regular file' "$V" dump ./adir
  mkfifo fifo
  expect_err 3 'not a regular file' "$V" dump ./fifo
  expect_err 3 'not a regular file' "$V" recv --timeout 1 ./fifo
  expect_err 3 'not a regular file' "$V" send --timeout 1 ./fifo hi
  expect_err 3 'not a regular file' "$V" dump /dev/null
  expect_err 3 'no libvring memfd' "$V" dump "pid:$$"
  expect_err 3 'cannot list' "$V" dump pid:999999999
  expect_err 3 'No such file' "$V" dump "shm:vringctl-none-$$"
  expect_err 3 'No such file' "$V" send --timeout 0.2 ./nope hi
  expect_err 3 'VR_EMAGIC' "$V" recv --timeout 0.2 ./random
  expect_err 3 'VR_EMAGIC' "$V" send --timeout 0.2 ./random hi
  "$MK" split-chains ./onequeue
  expect_err 3 'not a channel region' "$V" send --timeout 0.2 ./onequeue hi
  # Bad command lines: exit 2, one line.
  expect_err 2 'missing COMMAND' "$V"
  expect_err 2 'unknown command' "$V" frobnicate
  expect_err 2 'missing REGION' "$V" dump
  expect_err 2 'missing REGION' "$V" check
  expect_err 2 'missing REGION' "$V" watch
  expect_err 2 'missing REGION' "$V" send
  expect_err 2 'missing REGION' "$V" recv
  expect_err 2 'missing REGION' "$V" create
  expect_err 2 'unknown option "--bogus"' "$V" dump --bogus ./good
  expect_err 2 'unexpected argument' "$V" dump ./good ./good
  expect_err 2 'needs a value' "$V" dump ./good --queue
  expect_err 2 'out of range' "$V" dump --queue 64 ./good
  expect_err 2 'has 2 queues' "$V" dump --queue 5 ./good
  expect_err 2 'not a number' "$V" dump --queue x ./good
  expect_err 2 'takes no value' "$V" dump --json=yes ./good
  expect_err 2 'at least 10 ms' "$V" watch --interval 0 ./good
  expect_err 2 'not a duration' "$V" watch --interval 1e9 ./good
  expect_err 2 'out of range' "$V" watch --count 0 ./good
  expect_err 2 'not driver or device' "$V" send --role both ./good hi
  expect_err 2 'out of range' "$V" recv --count 0 ./good
  expect_err 2 'not a duration' "$V" recv --timeout -1 ./good
  expect_err 2 'message 1 is empty' "$V" send ./good ''
  expect_err 2 'not hex' "$V" send --hex ./good zz
  expect_err 2 'even number' "$V" send --hex ./good abc
  expect_err 2 'power of two' "$V" create --size 6 ./x
  expect_err 2 'unknown feature "bogus"' "$V" create --features bogus ./x
  expect_err 2 'not split or packed' "$V" create --format ring ./x
  expect_err 2 'out of range' "$V" create --queues 65 ./x
  expect_err 2 'larger than' "$V" create --buf-bytes 1000000 --buf-count 4000 ./x
  expect_err 2 'pid:PID needs' "$V" dump pid:x
  expect_err 2 'shared memory name' "$V" dump shm:
  expect_err 2 'create needs a file' "$V" create "pid:$$"
  expect_err 3 'no libvring memfd' "$V" recv "pid:$$"
  [ -e x ] && fail "a refused create left ./x behind"
  return 0
}

suite_create() {
  local hp
  expect 0 "$V" create ./c1
  golden create.default cat out
  expect 0 "$V" check ./c1
  golden create.default.dump "$V" dump ./c1
  expect_err 1 'exists \(--force replaces it\)' "$V" create ./c1
  expect 0 "$V" create --force --format packed --size 5 --queues 3 \
    --features indirect,in_order,ring_reset --buf-bytes 100 --buf-count 7 ./c1
  golden create.packed cat out
  expect 0 "$V" check ./c1
  "$V" dump --json ./c1 | "$JC" >json.flat
  CASE=create.packed
  json_is .queue_count 3
  json_is '.queues[2].size' 5
  json_is '.pool.buf_bytes' 100
  json_is '.pool.buf_count' 7
  json_is '.features.device_names[4]' '"RING_RESET"'
  expect 0 "$V" create --queues 1 --size 1 --features none ./c2
  expect 0 "$V" check ./c2
  checks=$((checks + 1))
  [ "$(stat -c %a c2)" = 600 ] || fail "created with mode $(stat -c %a c2), want 600"
  # A shm name, bare and with shm:.
  expect 0 "$V" create "vringctl-test-$$"
  expect 0 "$V" check "shm:vringctl-test-$$"
  expect 0 "$V" dump "vringctl-test-$$"
  expect_err 1 'exists' "$V" create "shm:vringctl-test-$$"
  rm -f "/dev/shm/vringctl-test-$$"
  # hugetlbfs, where there is a mount with free huge pages.
  hp=$(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)
  if [ -n "$hp" ] && [ -w "$hp" ] &&
     [ "$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)" -ge 1 ]; then
    rm -f "$hp/vringctl-test-$$"
    if expect 0 "$V" create "$hp/vringctl-test-$$"; then
      expect 0 "$V" check "$hp/vringctl-test-$$"
      "$V" dump "$hp/vringctl-test-$$" >out
      checks=$((checks + 1))
      grep -q 'file 2097152 bytes' out || fail "hugetlbfs region not rounded to 2 MiB"
    fi
    rm -f "$hp/vringctl-test-$$"
  else
    echo "(no writable hugetlbfs mount with free huge pages: hugetlbfs case skipped)"
  fi
}

suite_sendrecv() {
  local p1 p2
  # vringctl <-> vringctl, split: argv messages, driver -> device.
  "$V" create ./r >/dev/null
  "$V" recv ./r --count 3 --timeout 20 >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./r --timeout 20 hello "two words" three
  checks=$((checks + 1))
  wait_bg "$p1" || fail "recv (device) exited $?: $(cat err1)"
  printf 'hello\ntwo words\nthree\n' | diff -u - got || fail "split: wrong messages"
  # Packed, messages from standard input (empty lines skipped), hex out.
  "$V" create --format packed --size 4 ./p >/dev/null
  "$V" recv ./p --count 3 --timeout 20 --hex >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  printf 'a\nbc\n\n\001\n' >in
  expect 0 "$V" send ./p --timeout 20 <in
  checks=$((checks + 1))
  wait_bg "$p1" || fail "recv --hex exited $?: $(cat err1)"
  printf '61\n6263\n01\n' | diff -u - got || fail "packed: wrong messages"
  # Device -> driver, --hex in.
  "$V" recv ./r --role driver --count 2 --timeout 20 >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./r --role device --hex --timeout 20 48690a 00ff
  checks=$((checks + 1))
  wait_bg "$p1" || fail "recv (driver) exited $?: $(cat err1)"
  printf 'Hi\n\n\000\377\n' | cmp - got || fail "device -> driver: wrong bytes"
  # Devices come and go: the driver resubmits what was not acknowledged.
  ( "$V" recv ./p --count 1 --timeout 20 && "$V" recv ./p --count 2 --timeout 20 ) >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./p --timeout 20 one two three
  checks=$((checks + 1))
  wait_bg "$p1" || fail "two devices in turn exited $?: $(cat err1)"
  printf 'one\ntwo\nthree\n' | diff -u - got || fail "device restart: wrong messages"
  # Several devices in turn for one driver.
  "$V" recv ./r --role driver --count 3 --timeout 20 >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./r --role device --timeout 20 x
  expect 0 "$V" send ./r --role device --timeout 20 y
  expect 0 "$V" send ./r --role device --timeout 20 z
  checks=$((checks + 1))
  wait_bg "$p1" || fail "driver with three devices exited $?: $(cat err1)"
  printf 'x\ny\nz\n' | diff -u - got || fail "three devices: wrong messages"
  # With a library peer: vr_shm_open device, and a vr_shm_listen driver.
  "$PEER" device-recv ./r 2 >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./r --timeout 20 m1 m2
  checks=$((checks + 1))
  wait_bg "$p1" || fail "library device exited $?: $(cat err1)"
  printf 'm1\nm2\n' | diff -u - got || fail "vringctl -> library device: wrong messages"
  "$PEER" device-send ./r from lib >err1 2>&1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" recv ./r --role driver --count 2 --timeout 20
  cp out got
  checks=$((checks + 1))
  wait_bg "$p1" || fail "library device (send) exited $?: $(cat err1)"
  printf 'from\nlib\n' | diff -u - got || fail "library device -> vringctl: wrong messages"
  "$PEER" driver-send ./lib1 a b c >err1 2>&1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" recv ./lib1 --count 3 --timeout 20
  cp out got
  checks=$((checks + 1))
  wait_bg "$p1" || fail "library driver (send) exited $?: $(cat err1)"
  printf 'a\nb\nc\n' | diff -u - got || fail "library driver -> vringctl: wrong messages"
  "$PEER" driver-recv ./lib2 2 >got 2>err1 &
  p1=$!
  bgpids+=("$p1")
  expect 0 "$V" send ./lib2 --role device --timeout 20 p q
  checks=$((checks + 1))
  wait_bg "$p1" || fail "library driver (recv) exited $?: $(cat err1)"
  printf 'p\nq\n' | diff -u - got || fail "vringctl -> library driver: wrong messages"
  # Timeouts: one line, exit 4.
  expect_err 4 'timed out after 0.3 s with 1 message not acknowledged \(no device attached\)' \
    "$V" send ./r --timeout 0.3 lonely
  expect_err 4 'timed out after 0.3 s waiting for a driver' "$V" recv ./r --timeout 0.3
  expect_err 4 'timed out after 0.3 s after 0 messages \(no device attached\)' \
    "$V" recv ./r --role driver --timeout 0.3
  expect_err 4 'timed out after 0.3 s waiting for a driver' "$V" send ./r --role device --timeout 0.3 x
  # Too large for the region's buffers (2048 bytes by default).
  expect_err 1 'message 1 \(2049 bytes\) is larger than' "$V" send ./r --timeout 1 "$(head -c 2049 /dev/zero | tr '\0' a)"
  # A second driver is refused while the first one lives.
  "$V" recv ./r --role driver --timeout 3 >/dev/null 2>&1 &
  p2=$!
  bgpids+=("$p2")
  sleep 0.3
  expect_err 1 'another driver is attached' "$V" send ./r --timeout 1 intruder
  kill "$p2" 2>/dev/null
  wait "$p2" 2>/dev/null
  # SIGINT ends recv cleanly (exit 0); send interrupted says so (130).
  "$V" recv ./r --timeout 20 >/dev/null 2>err1 &
  p1=$!
  sleep 0.3
  kill -INT "$p1"
  checks=$((checks + 1))
  wait_bg "$p1" || fail "recv interrupted exited $?, want 0: $(cat err1)"
  "$V" send ./r --timeout 20 never >/dev/null 2>err1 &
  p1=$!
  sleep 0.3
  kill -INT "$p1"
  checks=$((checks + 1))
  wait "$p1"
  [ $? -eq 130 ] || fail "send interrupted: want exit 130"
  grep -q interrupted err1 || fail "send interrupted: no message"
  # The region is still sound after all that.
  expect 0 "$V" check ./r
  expect 0 "$V" check ./p
  # A file cannot be sealed: truncated under a live driver and device, both
  # stop with one line and exit 3 (the SIGBUS guard), neither dies of SIGBUS.
  "$V" create ./t >/dev/null
  "$V" recv ./t --role driver --timeout 20 >/dev/null 2>err1 &
  p1=$!
  bgpids+=("$p1")
  "$V" recv ./t --timeout 20 >/dev/null 2>err2 &
  p2=$!
  bgpids+=("$p2")
  sleep 1
  truncate -s 0 ./t
  for p in "$p1" "$p2"; do
    checks=$((checks + 1))
    rc=0
    wait "$p" || rc=$?
    [ "$rc" -eq 3 ] || fail "recv on a truncated region exited $rc, want 3"
  done
  for e in err1 err2; do
    checks=$((checks + 1))
    sanitizer_clean "$e" || fail "sanitizer report on a truncated region: $(cat "$e")"
    [ "$(cat "$e")" = "vringctl recv: ./t: the region was truncated while in use" ] ||
      fail "truncated region: stderr $(cat "$e")"
  done
}

suite_watch() {
  local p1 n
  # A live channel: traffic while watch looks.
  "$V" create ./w --size 16 >/dev/null
  "$V" watch --count 3 --interval 0.4 ./w >watch.out 2>watch.err &
  p1=$!
  bgpids+=("$p1")
  sleep 0.1
  "$V" recv ./w --count 400 --timeout 30 >/dev/null 2>err1 &
  bgpids+=($!)
  seq 1 400 >in
  expect 0 "$V" send ./w --timeout 30 <in
  checks=$((checks + 1))
  wait_bg "$p1" || fail "watch exited $?: $(cat watch.err)"
  sanitizer_clean watch.err || fail "watch: sanitizer report"
  # Some report shows queue 0 moving (AVAIL/s > 0).
  n=$(awk '$1 == "0" && $2 == "split" && $5 > 0 { n++ } END { print n + 0 }' watch.out)
  checks=$((checks + 1))
  [ "$n" -gt 0 ] || { fail "watch saw no traffic"; cat watch.out; }
  checks=$((checks + 1))
  [ "$(grep -c '^vringctl watch ./w' watch.out)" -eq 3 ] || fail "watch: want 3 reports"
  # The region disappearing ends watch with exit 3.
  "$V" create ./gone >/dev/null
  "$V" watch --interval 0.05 ./gone >/dev/null 2>err1 &
  p1=$!
  sleep 0.2
  rm -f gone
  checks=$((checks + 1))
  wait "$p1"
  [ $? -eq 3 ] || fail "watch of a removed region: want exit 3"
  # SIGINT ends it cleanly.
  "$V" watch ./w >/dev/null 2>&1 &
  p1=$!
  sleep 0.2
  kill -INT "$p1"
  checks=$((checks + 1))
  wait_bg "$p1" || fail "watch interrupted: exit $?"
}

suite_fuzz() {
  local seed rc bad=0 n=${VRINGCTL_FUZZ_RUNS:-120} p1 i
  for seed in $(seq 1 "$n"); do
    "$MK" fuzz "$seed" ./f || { fail "mkregion fuzz $seed"; continue; }
    for cmd in dump check; do
      "$V" "$cmd" ./f >/dev/null 2>err
      rc=$?
      checks=$((checks + 1))
      if ! sanitizer_clean err || [ "$rc" -gt 3 ] || { [ "$cmd" = dump ] && [ "$rc" -eq 1 ]; }; then
        fail "$cmd of fuzz seed $seed: exit $rc"
        head -5 err
        bad=$((bad + 1))
      fi
    done
    "$V" dump --json ./f >json 2>err
    rc=$?
    checks=$((checks + 1))
    if [ "$rc" -eq 0 ] && ! "$JC" <json >/dev/null; then
      fail "dump --json of fuzz seed $seed is not JSON"
    fi
    [ "$bad" -gt 5 ] && break
  done
  # Pure noise, of several sizes, with a valid magic and version.
  for i in 1 2 3 4 5 6; do
    head -c $((i * 3000)) /dev/urandom >noise
    printf 'LIBVRING\001\000\000\020' | dd of=noise conv=notrunc status=none
    for cmd in dump check watch; do
      if [ "$cmd" = watch ]; then
        "$V" watch --once --interval 0.01 ./noise >/dev/null 2>err
      else
        "$V" "$cmd" ./noise >/dev/null 2>err
      fi
      rc=$?
      checks=$((checks + 1))
      if ! sanitizer_clean err || [ "$rc" -gt 3 ]; then
        fail "$cmd of noise $i: exit $rc"
        head -5 err
      fi
    done
  done
  # A region rewritten and truncated while it is read.
  "$MK" split-busy ./keep
  ( while :; do cp keep f2; truncate -s 5000 f2; truncate -s 0 f2; done ) 2>/dev/null &
  p1=$!
  bgpids+=("$p1")
  for i in $(seq 1 "${VRINGCTL_CHAOS_RUNS:-40}"); do
    for cmd in dump check; do
      "$V" "$cmd" ./f2 >/dev/null 2>err
      rc=$?
      checks=$((checks + 1))
      if ! sanitizer_clean err || [ "$rc" -gt 3 ]; then
        fail "$cmd of a region changing under it: exit $rc"
        head -5 err
      fi
    done
  done
  kill "$p1" 2>/dev/null
  wait "$p1" 2>/dev/null
}

suite_help() {
  local c
  expect 0 "$V" --help
  checks=$((checks + 1))
  grep -q '^usage: vringctl COMMAND' out || fail "vringctl --help: no usage line"
  expect 0 "$V" help
  expect 0 "$V" --version
  for c in create dump check watch send recv; do
    expect 0 "$V" "$c" --help
    checks=$((checks + 1))
    grep -q "^usage: vringctl $c" out || fail "vringctl $c --help: no usage line"
    grep -q 'Exit status' out || fail "vringctl $c --help: exit statuses not documented"
    expect 0 "$V" "$c" -h
  done
}

case "$suite" in
  golden | json | errors | create | sendrecv | watch | fuzz | help) "suite_$suite" ;;
  *)
    echo "run.sh: unknown suite $suite"
    exit 2
    ;;
esac
echo "vringctl $suite: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
