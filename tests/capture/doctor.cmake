# `ghostlog doctor`'s engine (capture preflight) against real PostgreSQL 15
# clusters (scripts/pg-cluster starts one per test). Include from
# tests/CMakeLists.txt: include(capture/doctor.cmake)
add_executable(doctor_tests ${CMAKE_CURRENT_LIST_DIR}/doctor_test.cc)
target_link_libraries(doctor_tests PRIVATE ghostlog_capture ghostlog_log GTest::gtest_main)
target_compile_definitions(doctor_tests PRIVATE GHOSTLOG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(doctor_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS pg)
