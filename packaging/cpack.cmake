# packaging/cpack.cmake: the Debian package, made by `cpack -G DEB` in a build
# directory (or scripts/package). Included from the top-level CMakeLists.txt.
#
# The binary comes from app/'s install(TARGETS ghostlog ...) (component
# "Unspecified"). Everything else a package needs (/etc, the systemd unit, docs)
# is in the "deb" component, EXCLUDE_FROM_ALL, so a plain `cmake --install`
# into a prefix never writes to /etc or /lib; cpack installs both components
# (CPACK_INSTALL_CMAKE_PROJECTS below).
#
# Version: the project's VERSION unless GHOSTLOG_PACKAGE_VERSION_OVERRIDE is set
# at configure time; `cpack -D CPACK_PACKAGE_VERSION=X` overrides it for one
# run. Either changes only the package's version: `ghostlog --version` reports
# the compiled-in project version.

set(GHOSTLOG_PACKAGE_VERSION_OVERRIDE "" CACHE STRING
    "Debian package version (empty: the project version ${PROJECT_VERSION})")
set(GHOSTLOG_PACKAGE_MAINTAINER "ghostlog maintainers <maintainers@users.noreply.r-seed-67535c89.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(_ghostlog_pkg "${CMAKE_CURRENT_LIST_DIR}")

install(FILES "${_ghostlog_pkg}/ghostlog.toml"
        DESTINATION /etc/ghostlog
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES "${_ghostlog_pkg}/ghostlog.service"
        DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${_ghostlog_pkg}/copyright"
              "${PROJECT_SOURCE_DIR}/docs/packaging.md"
        DESTINATION share/doc/ghostlog
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT deb EXCLUDE_FROM_ALL)
# ghostlog(1), generated from the binary's own --help and --version, so it can
# never disagree with them.
find_program(HELP2MAN help2man REQUIRED)
add_custom_command(
  OUTPUT "${CMAKE_BINARY_DIR}/ghostlog.1.gz"
  COMMAND "${HELP2MAN}" --no-info --no-discard-stderr
          --name "change data capture from PostgreSQL to PostgreSQL"
          --output "${CMAKE_BINARY_DIR}/ghostlog.1" "$<TARGET_FILE:ghostlog>"
  COMMAND gzip -9nf "${CMAKE_BINARY_DIR}/ghostlog.1"
  DEPENDS ghostlog
  COMMENT "help2man: ghostlog.1")
add_custom_target(ghostlog_manpage ALL DEPENDS "${CMAKE_BINARY_DIR}/ghostlog.1.gz")
install(FILES "${CMAKE_BINARY_DIR}/ghostlog.1.gz"
        DESTINATION share/man/man1
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT deb EXCLUDE_FROM_ALL)
# The shipped mapping packs (docs/transform.md).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/mappings/"
        DESTINATION share/ghostlog/mappings
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT deb EXCLUDE_FROM_ALL
        FILES_MATCHING PATTERN "*.toml" PATTERN "README.md")
# Deliberate deviations, each explained in the file (lintian --show-overrides prints them).
install(FILES "${_ghostlog_pkg}/lintian/ghostlog"
        DESTINATION share/lintian/overrides
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ghostlog)
set(CPACK_PACKAGE_VENDOR "ghostlog")
set(CPACK_PACKAGE_CONTACT "${GHOSTLOG_PACKAGE_MAINTAINER}")
if(GHOSTLOG_PACKAGE_VERSION_OVERRIDE)
  set(CPACK_PACKAGE_VERSION "${GHOSTLOG_PACKAGE_VERSION_OVERRIDE}")
else()
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "change data capture from PostgreSQL to PostgreSQL")
set(CPACK_PACKAGE_DESCRIPTION
"ghostlog captures PostgreSQL logical replication (pgoutput) into an embedded,
replayable changelog on RocksDB and applies it, exactly once, to a target
PostgreSQL database, in one process. It replaces a Debezium, Kafka and JDBC
sink pipeline for sites that need PostgreSQL-to-PostgreSQL replication.
.
This package installs the ghostlog binary, a systemd service running it as
the ghostlog system user, and a default configuration in /etc/ghostlog.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};Unspecified;/"
    "${CMAKE_BINARY_DIR};${PROJECT_NAME};deb;/")
set(CPACK_PRE_BUILD_SCRIPTS "${_ghostlog_pkg}/changelog.cmake")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # ghostlog_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)    # Depends from the binary's libraries (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst/postrm: adduser, deluser
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_ghostlog_pkg}/debian/conffiles"
    "${_ghostlog_pkg}/debian/postinst"
    "${_ghostlog_pkg}/debian/prerm"
    "${_ghostlog_pkg}/debian/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
