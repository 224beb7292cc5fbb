# The sink against a real target PostgreSQL.
add_executable(sink_tests sink/sink_test.cc)
target_link_libraries(sink_tests PRIVATE ghostlog_sink ghostlog_log PkgConfig::LIBPQ nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(sink_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(sink_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)
