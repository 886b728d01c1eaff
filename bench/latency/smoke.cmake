# SPDX-License-Identifier: BSD-3-Clause
# ctest driver of the vring_latency tests (see CMakeLists.txt).
#
#   MODE=smoke        every policy under every load, a few hundred round
#                     trips each; the tool must exit 0 and the report script
#                     must read its JSON (without Python: it must not be
#                     empty)
#   MODE=fault-KIND   the device drops, corrupts or exits at one request
#                     (--fault KIND); the tool must exit 1 and say why
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
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
    execute_process(
      COMMAND ${PYTHON} ${REPORT} ${OUT}/latency.json ${OUT} --no-plot --expect 24
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "report_latency.py could not read the JSON (exit ${rc})")
    endif()
  else()
    file(READ ${OUT}/latency.json json)
    string(LENGTH "${json}" len)
    if(len LESS 100)
      message(FATAL_ERROR "latency.json is empty")
    endif()
  endif()
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
