# Build helpers shared by every folder. Prefixed psc_ so they never clash
# with the ps_ role prefix.

# psc_require_pkg(VAR module debian-package): finds a pkg-config module as an
# imported target PkgConfig::VAR, or stops configure naming the package.
macro(psc_require_pkg var module debpkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "'${module}' not found: install the Debian package "
                        "'${debpkg}' (or run deploy/install-deps.sh as root)")
  endif()
endmacro()

# psc_unit_test(module [extra sources]): builds <module>_test.c beside the
# module and registers it with ctest as <folder>.<module>.
function(psc_unit_test module)
  if(NOT BUILD_TESTING)
    return()
  endif()
  get_filename_component(dir ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  add_executable(${module}_test ${module}_test.c ${ARGN})
  target_link_libraries(${module}_test PRIVATE common)
  target_include_directories(${module}_test PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${dir}.${module} COMMAND ${module}_test)
  set_tests_properties(${dir}.${module} PROPERTIES TIMEOUT 120 LABELS unit
    ENVIRONMENT "PSC_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
