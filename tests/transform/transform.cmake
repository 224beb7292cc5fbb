# The transform: mapping files, the SQLite expression engine, and the stage
# against a real changelog on disk (no PostgreSQL needed).
add_executable(transform_tests
  transform/mapping_test.cc
  transform/sql_test.cc
  transform/transform_test.cc)
target_link_libraries(transform_tests PRIVATE ghostlog_transform ghostlog_log SQLite::SQLite3
  nlohmann_json::nlohmann_json GTest::gtest_main)
# White-box access to the engine (src/sql.h, src/uuid5.h).
target_include_directories(transform_tests PRIVATE ${PROJECT_SOURCE_DIR}/transform/src ${PROJECT_SOURCE_DIR}/tests)
gtest_discover_tests(transform_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
