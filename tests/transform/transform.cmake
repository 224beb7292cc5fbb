# The transform: mapping files, the SQLite expression engine, and the stage
# against a real changelog on disk (no PostgreSQL needed).
add_executable(transform_tests
  transform/mapping_test.cc
  transform/sql_test.cc
  transform/transform_test.cc
  transform/chunk_test.cc
  transform/shared_rows_test.cc)
target_link_libraries(transform_tests PRIVATE ghostlog_transform ghostlog_log SQLite::SQLite3
  nlohmann_json::nlohmann_json GTest::gtest_main)
# White-box access to the engine (src/sql.h, src/uuid5.h).
target_include_directories(transform_tests PRIVATE ${PROJECT_SOURCE_DIR}/transform/src ${PROJECT_SOURCE_DIR}/tests)
gtest_discover_tests(transform_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
# The same tests with the stage's key reads served by a KeyIndexedLog over the
# changelog, as the daemon runs the transform on Kafka (transform_fixture.h).
gtest_discover_tests(transform_tests TEST_PREFIX "keyindex." TEST_FILTER "TransformTest.*:ChunkTest.*:Seeds/SharedRows*" DISCOVERY_TIMEOUT 60
                     PROPERTIES TIMEOUT 300 ENVIRONMENT GHOSTLOG_TEST_KEY_INDEX=1)

# The transform in the daemon against real source and target clusters.
add_executable(transform_pipeline_tests transform/pipeline_test.cc)
target_link_libraries(transform_pipeline_tests PRIVATE GTest::gtest_main nlohmann_json::nlohmann_json PkgConfig::LIBPQ PkgConfig::RDKAFKA)
target_include_directories(transform_pipeline_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(transform_pipeline_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           GHOSTLOG_BIN="$<TARGET_FILE:ghostlog>")
add_dependencies(transform_pipeline_tests ghostlog)
gtest_discover_tests(transform_pipeline_tests TEST_PREFIX "e2e." DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)
