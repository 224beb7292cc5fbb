# Included from tests/CMakeLists.txt: the changelog's randomized model test and
# its crash test (a child process appending under SIGKILL).

add_executable(model_test log/model_test.cc)
target_link_libraries(model_test PRIVATE ghostlog_log GTest::gtest_main)
gtest_discover_tests(model_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)

add_executable(crash_child log/crash_child.cc)
target_link_libraries(crash_child PRIVATE ghostlog_log)

add_executable(crash_test log/crash_test.cc)
target_link_libraries(crash_test PRIVATE ghostlog_log GTest::gtest_main)
target_compile_definitions(crash_test PRIVATE GHOSTLOG_CRASH_CHILD="$<TARGET_FILE:crash_child>")
add_dependencies(crash_test crash_child)
gtest_discover_tests(crash_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 180)

# The Kafka-backed changelog against librdkafka's in-process mock cluster.
add_executable(kafka_log_tests log/kafka_log_test.cc)
target_link_libraries(kafka_log_tests PRIVATE ghostlog_log PkgConfig::RDKAFKA GTest::gtest_main)
gtest_discover_tests(kafka_log_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120 LABELS kafka)

# The local key index over a remote changelog (embedded, and the mock cluster).
add_executable(key_indexed_log_tests log/key_indexed_log_test.cc)
target_link_libraries(key_indexed_log_tests PRIVATE ghostlog_log PkgConfig::RDKAFKA GTest::gtest_main)
gtest_discover_tests(key_indexed_log_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
