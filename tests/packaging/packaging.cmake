# tests/packaging: builds the .deb with cpack from this build directory, lints
# it, installs, upgrades, removes and purges it. Needs root (it installs a
# package and creates the ghostlog user); as another user it prints why and is
# reported as skipped.
add_test(NAME packaging.deb
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/deb_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(packaging.deb PROPERTIES
  LABELS packaging
  TIMEOUT 300
  RESOURCE_LOCK dpkg
  SKIP_REGULAR_EXPRESSION "deb_test: SKIPPED")
