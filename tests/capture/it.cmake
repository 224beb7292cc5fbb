# Capture against a real PostgreSQL (scripts/pg-cluster starts one per test).
add_executable(capture_tests capture/capture_test.cc capture/capture_stream_test.cc
                             capture/capture_snapshot_locks_test.cc)
target_link_libraries(capture_tests PRIVATE ghostlog_capture ghostlog_log GTest::gtest_main)
target_compile_definitions(capture_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(capture_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)

# The daemon's capture stage under SIGKILL.
add_executable(capture_crash_tests capture/capture_crash_test.cc capture/capture_big_txn_test.cc)
target_link_libraries(capture_crash_tests PRIVATE ghostlog_log GTest::gtest_main nlohmann_json::nlohmann_json)
target_include_directories(capture_crash_tests PRIVATE ${PROJECT_SOURCE_DIR}/capture/include)
target_compile_definitions(capture_crash_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           GHOSTLOG_BIN="$<TARGET_FILE:ghostlog>")
target_link_libraries(capture_crash_tests PRIVATE PkgConfig::LIBPQ)
add_dependencies(capture_crash_tests ghostlog)
gtest_discover_tests(capture_crash_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)
