# SPDX-License-Identifier: BSD-3-Clause
# Installed with vring::mp: its headers and library use liburcu-cds, found
# the way the build found it (pkg-config).
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::VR_URCU_CDS)
  pkg_check_modules(VR_URCU_CDS QUIET IMPORTED_TARGET liburcu-cds)
  if(NOT VR_URCU_CDS_FOUND)
    set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
    set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
        "vring::mp needs liburcu-cds (Debian: liburcu-dev), not found by pkg-config")
    return()
  endif()
endif()
