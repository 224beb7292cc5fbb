# tests/bench: bench/run-sizing at a tiny scale (GHOSTLOG_SIZING_SCALE=0.02)
# into a temporary dir, checking the generated report is well formed. About
# two minutes on a loaded 2-core machine, so it is labelled `bench` and only
# registered with -DGHOSTLOG_SIZING_TEST=ON (run: ctest -L bench).
option(GHOSTLOG_SIZING_TEST "Register the bench/run-sizing smoke test (label bench)" OFF)
if(GHOSTLOG_SIZING_TEST)
  add_test(NAME bench.sizing_smoke
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/sizing_smoke.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(bench.sizing_smoke PROPERTIES LABELS bench TIMEOUT 900)
endif()
