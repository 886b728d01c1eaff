# SPDX-License-Identifier: BSD-3-Clause
# ctest driver of the vring_latency tests (see CMakeLists.txt).
#
#   MODE=smoke        every policy under every load, a few hundred round
#                     trips each; the tool must exit 0 and the report script
#                     must read its JSON (without Python: it must not be
#                     empty)
#   MODE=rounds       two rounds of a small matrix (2 policies x 2 loads):
#                     every record must hold both rounds (round 1 of every
#                     cell before round 2 of any, the policies of a load in
#                     another order in round 2), say "median of 2 rounds",
#                     and its p99 and CPU must be the median (the mean of
#                     two) of its rounds' and lie within its spread; the
#                     report script must read it (needs CMake 3.19 for
#                     string(JSON); else only the report script checks)
#   MODE=fault-round  two rounds, the device drops a reply in round 2 only:
#                     the tool must exit 1 naming round 2 of each cell, and
#                     still write every record, holding round 1 and its
#                     figures ("median of 1 round", round 2 under
#                     rounds_failed and failed_rounds)
#   MODE=placement    two rounds, the placement probes of round 2 reading
#                     1000x (--fault apart --fault-round 2): without
#                     retries those runs must be marked apart and left out
#                     of the medians (each cell's figures those of round
#                     1); with one retry, measured again, kept (a retry's
#                     probes are not faked) and in the medians; then every
#                     round faked apart against the calibration's probe:
#                     the cells are "apart", their medians of both rounds;
#                     last, one probe faked 100x faster (--fault fast):
#                     no run may end up apart (the usual round trip is the
#                     10th percentile of the probes, not their minimum)
#   MODE=args         bad arguments (the placement options among them):
#                     exit status 2 and a message naming the option
#   MODE=fault-KIND   the device drops, corrupts or exits at one request
#                     (--fault KIND); the tool must exit 1 and say why
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})

# The report script on the run's JSON, expecting @expect records: any exit
# status but 0 fails the test; its output in @out_var.
function(run_report expect out_var)
  execute_process(
    COMMAND ${PYTHON} ${REPORT} ${OUT}/latency.json ${OUT} --no-plot --expect ${expect}
    RESULT_VARIABLE rc OUTPUT_VARIABLE rep)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "report_latency.py could not read the JSON (exit ${rc})")
  endif()
  set(${out_var} "${rep}" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "smoke")
  execute_process(
    COMMAND ${TOOL} --messages 300 --warmup 0 --warmup-messages 50
            --seconds 2 --calib-rounds 200 --reply-timeout-ms 3000
            --json ${OUT}/latency.json
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "vring_latency failed (exit ${rc})")
  endif()
  if(PYTHON)
    run_report(24 rep)
  else()
    file(READ ${OUT}/latency.json json)
    string(LENGTH "${json}" len)
    if(len LESS 100)
      message(FATAL_ERROR "latency.json is empty")
    endif()
  endif()
elseif(MODE STREQUAL "rounds")
  execute_process(
    COMMAND ${TOOL} --rounds 2 --policies event-idx,adaptive --loads single,paced-10k
            --messages 200 --warmup 0 --warmup-messages 50 --seconds 2
            --calib-rounds 0 --reply-timeout-ms 3000 --apart 0 --json ${OUT}/latency.json
    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "vring_latency --rounds 2 failed (exit ${rc})")
  endif()
  if(NOT out MATCHES "median of 2 rounds")
    message(FATAL_ERROR "no summary of the medians on the terminal")
  endif()
  if(PYTHON)
    run_report(4 rep)
    if(NOT rep MATCHES "median of 2 rounds; (robust|median only)")
      message(FATAL_ERROR "report_latency.py gave no per-round verdict:\n${rep}")
    endif()
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.19)
    return()
  endif()
  file(READ ${OUT}/latency.json json)
  string(JSON nrounds GET "${json}" rounds)
  string(JSON nrec LENGTH "${json}" records)
  if(NOT nrounds EQUAL 2 OR NOT nrec EQUAL 4)
    message(FATAL_ERROR "want 2 rounds and 4 records, got ${nrounds} and ${nrec}")
  endif()
  set(last_seq_round1 0)
  set(first_seq_round2 1000000)
  math(EXPR last "${nrec} - 1")
  foreach(i RANGE ${last})
    string(JSON pol GET "${json}" records ${i} policy)
    string(JSON ld GET "${json}" records ${i} load)
    string(JSON agg GET "${json}" records ${i} aggregate)
    string(JSON n LENGTH "${json}" records ${i} rounds)
    if(NOT agg STREQUAL "median of 2 rounds" OR NOT n EQUAL 2)
      message(FATAL_ERROR "${pol}/${ld}: aggregate \"${agg}\", ${n} rounds")
    endif()
    foreach(key p99 messages)
      string(JSON med GET "${json}" records ${i} ${key})
      string(JSON a GET "${json}" records ${i} rounds 0 ${key})
      string(JSON b GET "${json}" records ${i} rounds 1 ${key})
      math(EXPR d "2 * ${med} - ${a} - ${b}")
      if(d GREATER 1 OR d LESS -1)
        message(FATAL_ERROR "${pol}/${ld}: ${key} ${med} is not the median of ${a} and ${b}")
      endif()
    endforeach()
    string(JSON lo GET "${json}" records ${i} spread p99 0)
    string(JSON hi GET "${json}" records ${i} spread p99 1)
    string(JSON med GET "${json}" records ${i} p99)
    if(lo GREATER med OR hi LESS med)
      message(FATAL_ERROR "${pol}/${ld}: p99 ${med} outside its spread ${lo}..${hi}")
    endif()
    string(JSON lo GET "${json}" records ${i} spread cpu_per_msg 0)
    string(JSON hi GET "${json}" records ${i} spread cpu_per_msg 1)
    if(lo STREQUAL "" OR hi STREQUAL "")
      message(FATAL_ERROR "${pol}/${ld}: no spread of the CPU per message")
    endif()
    foreach(k 0 1)
      string(JSON rn GET "${json}" records ${i} rounds ${k} round)
      string(JSON seq GET "${json}" records ${i} rounds ${k} seq)
      math(EXPR want "${k} + 1")
      if(NOT rn EQUAL want)
        message(FATAL_ERROR "${pol}/${ld}: rounds[${k}] is round ${rn}")
      endif()
      set(seq_${pol}_${ld}_${rn} ${seq})
      if(rn EQUAL 1 AND seq GREATER last_seq_round1)
        set(last_seq_round1 ${seq})
      elseif(rn EQUAL 2 AND seq LESS first_seq_round2)
        set(first_seq_round2 ${seq})
      endif()
    endforeach()
  endforeach()
  if(NOT last_seq_round1 LESS first_seq_round2)
    message(FATAL_ERROR "rounds not interleaved: round 1 ran up to run ${last_seq_round1}, "
                        "round 2 from run ${first_seq_round2}")
  endif()
  foreach(ld single paced-10k)
    if(seq_event-idx_${ld}_1 LESS seq_adaptive_${ld}_1 AND
       seq_event-idx_${ld}_2 LESS seq_adaptive_${ld}_2)
      message(FATAL_ERROR "${ld}: the policies ran in the same order in both rounds")
    endif()
  endforeach()
elseif(MODE STREQUAL "fault-round")
  execute_process(
    COMMAND ${TOOL} --fault drop --fault-round 2 --rounds 2 --policies event-idx,polling
            --loads single --messages 300 --warmup 0 --calib-rounds 0
            --reply-timeout-ms 500 --apart 0 --json ${OUT}/latency.json
    RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  message(STATUS "${err}")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "with a fault in round 2, vring_latency exited ${rc}, not 1")
  endif()
  string(REGEX MATCHALL "\\(round 2 of 2\\) FAILED" failed "${err}")
  list(LENGTH failed nfailed)
  if(NOT nfailed EQUAL 2 OR err MATCHES "round 1 of 2")
    message(FATAL_ERROR "with a fault in round 2, not exactly its 2 runs failed")
  endif()
  if(PYTHON)
    run_report(2 rep)
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.19)
    return()
  endif()
  file(READ ${OUT}/latency.json json)
  string(JSON nfr LENGTH "${json}" failed_rounds)
  string(JSON nrec LENGTH "${json}" records)
  if(NOT nfr EQUAL 2 OR NOT nrec EQUAL 2)
    message(FATAL_ERROR "want 2 failed rounds and 2 records, got ${nfr} and ${nrec}")
  endif()
  foreach(i 0 1)
    string(JSON agg GET "${json}" records ${i} aggregate)
    string(JSON n LENGTH "${json}" records ${i} rounds)
    string(JSON rn GET "${json}" records ${i} rounds 0 round)
    string(JSON bad GET "${json}" records ${i} rounds_failed 0)
    string(JSON med GET "${json}" records ${i} p99)
    string(JSON one GET "${json}" records ${i} rounds 0 p99)
    if(NOT agg STREQUAL "median of 1 round" OR NOT n EQUAL 1 OR NOT rn EQUAL 1
       OR NOT bad EQUAL 2 OR NOT med EQUAL one)
      message(FATAL_ERROR "record ${i}: \"${agg}\", ${n} rounds (round ${rn}), "
                          "failed ${bad}, p99 ${med} against round 1's ${one}")
    endif()
  endforeach()
elseif(MODE STREQUAL "placement")
  # A factor of 50: no real change of placement comes near it, the faked
  # 1000x is far above it.
  execute_process(
    COMMAND ${TOOL} --fault apart --fault-round 2 --apart 50 --apart-retries 0
            --rounds 2 --policies event-idx,polling --loads single --messages 300
            --warmup 0 --calib-rounds 0 --reply-timeout-ms 3000
            --json ${OUT}/latency.json
    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "vring_latency --fault apart --fault-round 2 exited ${rc}")
  endif()
  if(NOT out MATCHES "placement: 2 of 4 runs with the vCPUs apart")
    message(FATAL_ERROR "not exactly round 2's two runs apart")
  endif()
  if(PYTHON)
    run_report(2 rep)
  endif()
  if(NOT CMAKE_VERSION VERSION_LESS 3.19)
    file(READ ${OUT}/latency.json json)
    string(JSON napart GET "${json}" placement runs_apart)
    if(NOT napart EQUAL 2)
      message(FATAL_ERROR "placement.runs_apart ${napart}, not 2")
    endif()
    foreach(i 0 1)
      string(JSON agg GET "${json}" records ${i} aggregate)
      string(JSON where GET "${json}" records ${i} placement)
      string(JSON which GET "${json}" records ${i} rounds_apart 0)
      string(JSON ap1 GET "${json}" records ${i} rounds 0 apart)
      string(JSON ap2 GET "${json}" records ${i} rounds 1 apart)
      string(JSON med GET "${json}" records ${i} p99)
      string(JSON one GET "${json}" records ${i} rounds 0 p99)
      string(JSON n GET "${json}" records ${i} messages)
      string(JSON n1 GET "${json}" records ${i} rounds 0 messages)
      if(NOT agg STREQUAL "median of 1 round, those with the vCPUs apart left out"
         OR NOT where STREQUAL "usual" OR NOT which EQUAL 2 OR ap1 OR NOT ap2
         OR NOT med EQUAL one OR NOT n EQUAL n1)
        message(FATAL_ERROR "record ${i}: \"${agg}\", placement ${where}, apart round "
                            "${which} (${ap1}, ${ap2}), p99 ${med} against round 1's ${one}")
      endif()
    endforeach()
  endif()
  # The same with one retry: round 2's runs measured again, and kept.
  execute_process(
    COMMAND ${TOOL} --fault apart --fault-round 2 --apart 50 --apart-retries 1
            --rounds 2 --policies event-idx,polling --loads single --messages 300
            --warmup 0 --calib-rounds 0 --reply-timeout-ms 3000
            --json ${OUT}/latency.json
    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  string(REGEX MATCHALL "round 2: [a-z-]+ / single: the vCPUs were apart" again "${out}")
  list(LENGTH again nagain)
  if(NOT rc EQUAL 0 OR NOT nagain EQUAL 2
     OR NOT out MATCHES "placement: 0 of 4 runs with the vCPUs apart.*; 2 measured again")
    message(FATAL_ERROR "with a retry: exit ${rc}, ${nagain} runs of round 2 measured again "
                        "(want 2), not all 4 kept in the usual placement")
  endif()
  if(NOT CMAKE_VERSION VERSION_LESS 3.19)
    file(READ ${OUT}/latency.json json)
    foreach(i 0 1)
      string(JSON agg GET "${json}" records ${i} aggregate)
      string(JSON a1 GET "${json}" records ${i} rounds 0 attempts)
      string(JSON a2 GET "${json}" records ${i} rounds 1 attempts)
      string(JSON ap2 GET "${json}" records ${i} rounds 1 apart)
      if(NOT agg STREQUAL "median of 2 rounds" OR NOT a1 EQUAL 1 OR NOT a2 EQUAL 2 OR ap2)
        message(FATAL_ERROR "with a retry, record ${i}: \"${agg}\", attempts ${a1} and "
                            "${a2}, round 2 apart ${ap2}")
      endif()
    endforeach()
  endif()
  # Every round faked apart: only the calibration's probe is not, and it is
  # the usual one (the 10th percentile of five probes is the lowest).
  execute_process(
    COMMAND ${TOOL} --fault apart --apart 50 --apart-retries 0 --rounds 2 --policies event-idx
            --loads single --messages 300 --warmup 0 --calib-rounds 200
            --reply-timeout-ms 3000 --json ${OUT}/latency.json
    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "placement: 2 of 2 runs with the vCPUs apart")
    message(FATAL_ERROR "every run faked apart: exit ${rc}, not both runs apart")
  endif()
  if(PYTHON)
    run_report(1 rep)
  endif()
  if(NOT CMAKE_VERSION VERSION_LESS 3.19)
    file(READ ${OUT}/latency.json json)
    string(JSON agg GET "${json}" records 0 aggregate)
    string(JSON where GET "${json}" records 0 placement)
    if(NOT agg STREQUAL "median of 2 rounds, every one run with the vCPUs apart"
       OR NOT where STREQUAL "apart")
      message(FATAL_ERROR "every round apart: \"${agg}\", placement ${where}")
    endif()
  endif()
  # One probe 100x faster than the rest, among 12 (3 policies, 2 rounds):
  # against the lowest probe every run would be apart.
  execute_process(
    COMMAND ${TOOL} --fault fast --apart 50 --rounds 2 --policies event-idx,polling,flags
            --loads single --messages 300 --warmup 0 --calib-rounds 0
            --reply-timeout-ms 3000 --json ${OUT}/latency.json
    RESULT_VARIABLE rc OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "placement: 0 of 6 runs with the vCPUs apart")
    message(FATAL_ERROR "one fast probe: exit ${rc}, and runs marked apart")
  endif()
elseif(MODE STREQUAL "args")
  foreach(bad "--apart;0.5" "--apart;abc" "--apart;2000" "--apart-retries;11"
              "--fault;bogus" "--rounds;0" "--format;ring" "--qsize;1" "--cpus;0")
    execute_process(COMMAND ${TOOL} ${bad} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
    list(GET bad 0 opt)
    if(NOT rc EQUAL 2 OR NOT err MATCHES "${opt}")
      message(FATAL_ERROR "vring_latency ${bad}: exit ${rc} (want 2), message: ${err}")
    endif()
  endforeach()
elseif(MODE MATCHES "^fault-(.*)$")
  set(kind ${CMAKE_MATCH_1})
  set(expect_drop "no reply to request")
  set(expect_corrupt "wrong reply")
  # Normally the hang-up; a device slow to die (under a sanitizer)
  # shows as a missing reply instead.
  set(expect_exit "peer is gone|no reply to request")
  execute_process(
    COMMAND ${TOOL} --fault ${kind} --policies event-idx,polling
            --loads single,paced-10k,saturation --seconds 1 --warmup 0
            --calib-rounds 0 --reply-timeout-ms 500
    RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  message(STATUS "${err}")
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "with --fault ${kind}, vring_latency exited ${rc}, not 1")
  endif()
  string(REGEX MATCHALL "FAILED" failed "${err}")
  list(LENGTH failed nfailed)
  if(NOT nfailed EQUAL 6)
    message(FATAL_ERROR "with --fault ${kind}, ${nfailed} of 6 runs failed")
  endif()
  if(NOT err MATCHES "${expect_${kind}}")
    message(FATAL_ERROR "with --fault ${kind}, no \"${expect_${kind}}\" message")
  endif()
else()
  message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
