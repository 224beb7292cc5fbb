# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) after the files are staged and before
# the .deb is made: writes /usr/share/doc/ghostlog/changelog.gz for the version
# being packaged, so `cpack -D CPACK_PACKAGE_VERSION=...` gets a matching entry.
# The date honours SOURCE_DATE_EPOCH (reproducible builds).
set(_version "${CPACK_PACKAGE_VERSION}")
if(CPACK_DEBIAN_PACKAGE_RELEASE)
  string(APPEND _version "-${CPACK_DEBIAN_PACKAGE_RELEASE}")
endif()
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(_text "ghostlog (${_version}) unstable; urgency=medium

  * Package built from the ghostlog source tree with CPack (see
    /usr/share/doc/ghostlog/README.md for what this version contains).

 -- ${CPACK_PACKAGE_CONTACT}  ${_date}
")
# Monolithic DEB: one staging tree; a component build would have one per component.
file(GLOB_RECURSE _docdirs LIST_DIRECTORIES true "${CPACK_TEMPORARY_DIRECTORY}/*/share/doc/ghostlog")
list(FILTER _docdirs INCLUDE REGEX "/share/doc/ghostlog$")
if(NOT _docdirs)
  message(FATAL_ERROR "changelog.cmake: no share/doc/ghostlog under ${CPACK_TEMPORARY_DIRECTORY}")
endif()
foreach(_dir IN LISTS _docdirs)
  file(WRITE "${_dir}/changelog" "${_text}")
  execute_process(COMMAND gzip -9nf "${_dir}/changelog" RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "changelog.cmake: gzip failed in ${_dir}")
  endif()
  file(CHMOD "${_dir}/changelog.gz" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
