# Capture against a real PostgreSQL (scripts/pg-cluster starts one per test).
add_executable(capture_tests capture/capture_test.cc capture/capture_stream_test.cc)
target_link_libraries(capture_tests PRIVATE ghostlog_capture ghostlog_log GTest::gtest_main)
target_compile_definitions(capture_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(capture_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)
