# End-to-end: `ghostlog run` as a child process, real PostgreSQL source and
# target clusters (scripts/pg-cluster), checked through SQL, HTTP and `status`.
add_executable(e2e_tests e2e/pipeline_test.cc e2e/daemon_test.cc e2e/disk_full_test.cc e2e/kafka_pipeline_test.cc
                         e2e/values_test.cc)
target_link_libraries(e2e_tests PRIVATE GTest::gtest_main nlohmann_json::nlohmann_json PkgConfig::LIBPQ PkgConfig::RDKAFKA)
target_include_directories(e2e_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(e2e_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           GHOSTLOG_BIN="$<TARGET_FILE:ghostlog>")
add_dependencies(e2e_tests ghostlog)
gtest_discover_tests(e2e_tests TEST_PREFIX "e2e." DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 240 LABELS pg)
