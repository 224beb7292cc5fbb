# eLMIS (OpenLMIS v2) -> OpenLMIS v3 reporting, end to end: the generated v2
# source, the daemon with the openlmis-v2-v3 mapping pack, the v3 reporting
# views checked against their oracles (needs psql, pgbench and PostgreSQL's
# uuid-ossp and dblink, all in postgresql-15 / postgresql-client-15).
add_executable(openlmis_tests openlmis/openlmis_test.cc)
target_link_libraries(openlmis_tests PRIVATE GTest::gtest_main nlohmann_json::nlohmann_json PkgConfig::LIBPQ PkgConfig::RDKAFKA)
target_include_directories(openlmis_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(openlmis_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                           GHOSTLOG_BIN="$<TARGET_FILE:ghostlog>")
add_dependencies(openlmis_tests ghostlog)
gtest_discover_tests(openlmis_tests TEST_PREFIX "e2e." DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)

# The pack's own checker (mappings/openlmis-v2-v3/check.py): every mapping file
# against the v3 fixture's tables and the v2 columns, and the demo schema has
# every v2 column the pack reads.
find_package(Python3 3.11 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME openlmis.pack_check
           COMMAND ${Python3_EXECUTABLE} check.py --demo ${PROJECT_SOURCE_DIR}/scripts/demo-data/elmis_v2_schema.sql
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/mappings/openlmis-v2-v3)
  set_tests_properties(openlmis.pack_check PROPERTIES TIMEOUT 60)
else()
  message(WARNING "python3 >= 3.11 (tomllib) not found: openlmis.pack_check is not registered")
endif()
