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

# psc_require_file(path what): stops configure when a listed file is missing
# (a module or test listed in CMake must exist; nothing is skipped silently).
function(psc_require_file path what)
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "${what} '${path}' is listed in CMake but missing: "
                        "add it, or take it off the list")
  endif()
endfunction()

# psc_layer(name MODULES m... [PARTS p...] [TESTS m...] [PUBLIC dep...]
# [PRIVATE dep...]): the static library psc_<name> of common/<name>/, its
# folder the include directory, linked to the layers and libraries given;
# each TESTS module's <module>_test.c becomes unit.<name>.<module>. A PARTS
# file p.c is a further part of a module whose interface is that module's
# header (export_write.c of export.h).
function(psc_layer name)
  cmake_parse_arguments(L "" "" "MODULES;PARTS;TESTS;PUBLIC;PRIVATE" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/${name})
  set(srcs)
  foreach(m IN LISTS L_MODULES)
    psc_require_file(${dir}/${m}.c "module source")
    psc_require_file(${dir}/${m}.h "module header")
    list(APPEND srcs ${name}/${m}.c)
  endforeach()
  foreach(p IN LISTS L_PARTS)
    psc_require_file(${dir}/${p}.c "module part")
    list(APPEND srcs ${name}/${p}.c)
  endforeach()
  add_library(psc_${name} STATIC ${srcs})
  target_include_directories(psc_${name} PUBLIC ${dir})
  target_link_libraries(psc_${name} PUBLIC psc_build_flags ${L_PUBLIC}
                        PRIVATE ${L_PRIVATE})
  foreach(m IN LISTS L_TESTS)
    # A test may use any layer to build its fixtures.
    psc_unit_test(${m} DIR ${dir} NAME unit.${name}.${m} LINK common)
  endforeach()
endfunction()

# psc_unit_test(module [DIR dir] [NAME test] [LINK lib...] [SOURCES src...]):
# builds <module>_test.c from DIR (default: this folder) and registers it with
# ctest as NAME (default unit.<folder>.<module>), label unit.
function(psc_unit_test module)
  cmake_parse_arguments(T "" "DIR;NAME" "LINK;SOURCES" ${ARGN})
  if(NOT BUILD_TESTING)
    return()
  endif()
  if(NOT T_DIR)
    set(T_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  if(NOT T_NAME)
    get_filename_component(folder ${T_DIR} NAME)
    set(T_NAME unit.${folder}.${module})
  endif()
  if(NOT T_LINK)
    set(T_LINK common)
  endif()
  psc_require_file(${T_DIR}/${module}_test.c "unit test")
  add_executable(${module}_test ${T_DIR}/${module}_test.c ${T_SOURCES})
  target_link_libraries(${module}_test PRIVATE ${T_LINK} psc_test_support)
  add_test(NAME ${T_NAME} COMMAND ${module}_test)
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT 120 LABELS unit
    ENVIRONMENT "PSC_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  psc_scale_tests(${T_NAME})
endfunction()

# psc_scale_tests(test...): multiplies each test's TIMEOUT by
# PSC_TEST_TIME_SCALE and hands the factor to the test, whose own deadlines
# scale with it (tests/lib.sh).
function(psc_scale_tests)
  foreach(t IN LISTS ARGN)
    get_test_property(${t} TIMEOUT timeout)
    math(EXPR timeout "${timeout} * ${PSC_TEST_TIME_SCALE}")
    set_tests_properties(${t} PROPERTIES TIMEOUT ${timeout})
    set_property(TEST ${t} APPEND PROPERTY
      ENVIRONMENT "PSC_TEST_TIME_SCALE=${PSC_TEST_TIME_SCALE}")
  endforeach()
endfunction()
