# The sink against a real target PostgreSQL.
add_executable(sink_tests sink/sink_test.cc)
target_link_libraries(sink_tests PRIVATE ghostlog_sink ghostlog_log PkgConfig::LIBPQ nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(sink_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_include_directories(sink_tests PRIVATE ${PROJECT_SOURCE_DIR}/sink/src)  # TargetConn
gtest_discover_tests(sink_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)

# White-box: the event reader and COPY text conversion (no PostgreSQL).
add_executable(sink_unit_tests sink/event_reader_test.cc)
target_link_libraries(sink_unit_tests PRIVATE ghostlog_sink PkgConfig::LIBPQ nlohmann_json::nlohmann_json GTest::gtest_main)
target_include_directories(sink_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/sink/src)
gtest_discover_tests(sink_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
