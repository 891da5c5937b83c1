# cmake --install: the programs, the broker plugin, the fixtures and the certificate maker in
# the usual prefix layout (docs/install.md), the man pages, and libotaproto/libotamock with
# their headers, pkg-config files and a CMake package config for the user's own tests.
install(TARGETS ota-conformance ota-mock-cloud ota-ref-device ota-report ota-pty-board ota-fleet ota-image
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS otaauth LIBRARY DESTINATION ${OTA_INSTALL_PLUGINDIR})
install(DIRECTORY fixtures/devices fixtures/scenarios fixtures/schemas
  DESTINATION ${OTA_INSTALL_DATADIR})
# Test certificates are never shipped: an installed copy makes them per user on first use.
install(PROGRAMS fixtures/certs/make-certs.sh DESTINATION ${OTA_INSTALL_DATADIR})
install(FILES README.md CHANGELOG.md docs/api-stability.md docs/install.md docs/dut-contract.md
  docs/device-profiles.md docs/judging.md docs/serial-adapter.md docs/broker-plugin.md
  docs/baseline.md docs/fleet.md docs/waivers.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ci/templates examples DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages: made at build time from each program's --help (man/mkman.sh) and a short
# hand-written part (man/NAME.extra); gzipped as Debian wants them.
set(OTA_PROGRAMS ota-conformance ota-mock-cloud ota-ref-device ota-report ota-pty-board ota-fleet
  ota-image)
set(OTA_MAN_PAGES)
foreach(prog ${OTA_PROGRAMS})
  set(page ${CMAKE_BINARY_DIR}/man/${prog}.1.gz)
  add_custom_command(OUTPUT ${page}
    COMMAND sh ${CMAKE_SOURCE_DIR}/man/mkman.sh $<TARGET_FILE:${prog}> ${prog} ${PROJECT_VERSION}
      ${CMAKE_SOURCE_DIR}/man/${prog}.extra ${page}
    DEPENDS ${prog} ${CMAKE_SOURCE_DIR}/man/mkman.sh ${CMAKE_SOURCE_DIR}/man/${prog}.extra
    COMMENT "Making the man page of ${prog}")
  list(APPEND OTA_MAN_PAGES ${page})
endforeach()
add_custom_target(ota-man ALL DEPENDS ${OTA_MAN_PAGES})
install(FILES ${OTA_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# The libraries. Static, so their pkg-config files and the package config name every
# library they use; the package config finds those the same way the project does.
install(TARGETS otaproto otamock EXPORT OtaConformanceTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY protocol/include/otaproto mock-cloud/include/otamock
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${OTA_GENERATED_INCLUDE}/otaproto/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/otaproto)
set(OTA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/OtaConformance)
install(EXPORT OtaConformanceTargets NAMESPACE OtaConformance:: DESTINATION ${OTA_CMAKE_DIR})
include(CMakePackageConfigHelpers)
configure_package_config_file(cmake/OtaConformanceConfig.cmake.in
  ${CMAKE_BINARY_DIR}/OtaConformanceConfig.cmake INSTALL_DESTINATION ${OTA_CMAKE_DIR}
  PATH_VARS OTA_INSTALL_PLUGINDIR OTA_INSTALL_DATADIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/OtaConformanceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/OtaConformanceConfig.cmake
  ${CMAKE_BINARY_DIR}/OtaConformanceConfigVersion.cmake DESTINATION ${OTA_CMAKE_DIR})

# pkg-config: relocatable (${pcfiledir}), so a copy unpacked anywhere can be built against.
file(RELATIVE_PATH OTA_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" OTA_PC_TO_PREFIX "${OTA_PC_TO_PREFIX}")
foreach(pc libotaproto libotamock)
  configure_file(cmake/${pc}.pc.in ${CMAKE_BINARY_DIR}/pkgconfig/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/pkgconfig/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
