# tests/capture: unit tests of the pgoutput decoder and the PostgreSQL text -> JSON
# type mapping. Pure functions: no database, no disk. Include from tests/CMakeLists.txt
# once the ghostlog_capture library target exists:
#   include(capture/tests.cmake)
add_executable(capture_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/pgoutput_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/pg_types_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/events_test.cc)
target_link_libraries(capture_unit_tests PRIVATE ghostlog_capture GTest::gtest_main nlohmann_json::nlohmann_json)
# White-box: the decoder and type headers are internal to capture/.
target_include_directories(capture_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/capture/src)
target_compile_definitions(capture_unit_tests PRIVATE GHOSTLOG_VERSION="${PROJECT_VERSION}")
gtest_discover_tests(capture_unit_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
