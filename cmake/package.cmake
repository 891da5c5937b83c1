# The Debian package (ci/package, or cpack -G DEB in a build folder): everything cmake --install
# puts under /usr. The runtime dependencies are named here, not computed, so that the package
# test (tests/package.sh) can check them against what the binaries link.
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE OTA_DEB_ARCH
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ota-conformance)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "ota-conformance maintainers <ota-conformance@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "conformance suite and mock Aliyun IoT cloud for OTA firmware updates over MQTT")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "A mock Aliyun IoT cloud (Mosquitto broker with a login plugin, HTTP file server,
OTA jobs with fault plans) and a conformance suite that judges a device's OTA
code against the Aliyun OTA protocol, with JUnit XML, an HTML report and a
trace. Includes a reference device, libotamock and libotaproto for tests.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${OTA_DEB_ARCH})
# Libraries the binaries link (readelf NEEDED), the broker the suite starts, and openssl for
# the certificates an installed copy makes on first use.
set(OTA_DEB_DEPENDS "libc6 (>= 2.34), libcjson1 (>= 1.7.15), libcmocka0 (>= 1.1.5), libcurl4 (>= 7.88), \
libmicrohttpd12 (>= 0.9.75), libmosquitto1 (>= 2.0), libssl3 (>= 3.0), mosquitto (>= 2.0), openssl")
set(CPACK_DEBIAN_PACKAGE_DEPENDS ${OTA_DEB_DEPENDS})
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libmosquitto-dev, libmicrohttpd-dev, libcurl4-openssl-dev, \
libcjson-dev, libssl-dev, libcmocka-dev, pkg-config")
set(CPACK_STRIP_FILES ON)
include(CPack)
