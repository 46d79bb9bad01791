# The installed package: one static library, the public headers, a CMake package config and
# a pkg-config file, so that a program outside this tree can do
#
#   find_package(Damo 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE Damo::damo)
#
# The installed library is one archive, libdamo.a, built from the object files of every
# layer. The split into layers is an internal design rule, so a user links one name, a
# pkg-config user writes -ldamo, and no link order between layer archives can go wrong.
# In this tree, Damo::damo stays the interface target over the layer libraries, which the
# per-layer test suites link one by one.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The headers a user includes; every other header under <layer>/include stays inside the
# build. tests/install/check_install.sh checks that an installed header includes nothing
# outside this set, fmt and the standard library.
set(DAMO_INSTALLED_HEADERS
  frontend/include/damo/damo.h
  runtime/include/damo/runtime/dtype.h
  runtime/include/damo/runtime/error.h
  runtime/include/damo/runtime/log.h
  runtime/include/damo/runtime/npy.h
  runtime/include/damo/runtime/shared_variable.h
  runtime/include/damo/runtime/tensor.h
  runtime/include/damo/runtime/thread_pool.h
  graph/include/damo/graph/autodiff.h
  graph/include/damo/graph/eval.h
  graph/include/damo/graph/expr.h
  graph/include/damo/graph/graph.h
  graph/include/damo/graph/node.h
  graph/include/damo/graph/op_kind.h
  graph/include/damo/graph/ops.h
  graph/include/damo/graph/printer.h
  graph/include/damo/graph/promotion.h
  graph/include/damo/graph/shape.h
  graph/include/damo/graph/traversal.h
  frontend/include/damo/frontend/format.h
  frontend/include/damo/frontend/function.h
  frontend/include/damo/frontend/repl.h
  frontend/include/damo/frontend/session.h
  frontend/include/damo/frontend/value.h)

foreach(header ${DAMO_INSTALLED_HEADERS})
  # frontend/include/damo/graph/x.h installs as include/damo/graph/x.h.
  string(REGEX REPLACE "^[a-z]+/include/" "" relative ${header})
  get_filename_component(folder ${relative} DIRECTORY)
  install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${folder})
endforeach()
install(FILES ${DAMO_GENERATED_INCLUDE_DIR}/damo/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/damo)

# The combined archive. Its link interface lists what the layers link privately: the LLVM
# shared library (codegen), the OpenBLAS archive (runtime) and libedit (the REPL),
# as absolute paths, because a user's project has no LLVM target to resolve.
set(damo_layer_objects)
foreach(layer runtime graph optimizer codegen frontend)
  if(TARGET damo_${layer})
    list(APPEND damo_layer_objects $<TARGET_OBJECTS:damo_${layer}>)
  endif()
endforeach()
add_library(damo_package STATIC ${damo_layer_objects})
set_target_properties(damo_package PROPERTIES OUTPUT_NAME damo EXPORT_NAME damo LINKER_LANGUAGE CXX)
target_include_directories(damo_package INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(damo_package INTERFACE cxx_std_20)

# The LLVM target is imported with one configuration; its file is the shared library.
get_target_property(damo_llvm_configs LLVM IMPORTED_CONFIGURATIONS)
list(GET damo_llvm_configs 0 damo_llvm_config)
get_target_property(DAMO_LLVM_SHARED_LIBRARY LLVM IMPORTED_LOCATION_${damo_llvm_config})
if(NOT DAMO_LLVM_SHARED_LIBRARY)
  message(FATAL_ERROR "the LLVM target names no shared library for ${damo_llvm_config}")
endif()
target_link_libraries(damo_package
  PUBLIC fmt::fmt Threads::Threads
  PRIVATE ${DAMO_LLVM_SHARED_LIBRARY} ${DAMO_OPENBLAS_PTHREAD} ${DAMO_LIBEDIT})

install(TARGETS damo_package EXPORT DamoTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
if(TARGET damo_cli)
  install(TARGETS damo_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
# damo-segment looks for its shipped tables in ../share/damo/data next to its own folder,
# so the installed program runs without arguments from any working directory.
if(TARGET damo-segment)
  install(TARGETS damo-segment RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  file(GLOB damo_shipped_tables ${PROJECT_SOURCE_DIR}/data/*.csv)
  install(FILES ${damo_shipped_tables} ${PROJECT_SOURCE_DIR}/data/README.md
          DESTINATION ${CMAKE_INSTALL_DATADIR}/damo/data)
endif()

set(DAMO_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Damo)
install(EXPORT DamoTargets NAMESPACE Damo:: DESTINATION ${DAMO_CMAKE_DIR})
configure_package_config_file(cmake/DamoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/DamoConfig.cmake INSTALL_DESTINATION ${DAMO_CMAKE_DIR})
# Before 1.0, a minor release may change the API, so only the same MAJOR.MINOR matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/DamoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/DamoConfig.cmake
              ${PROJECT_BINARY_DIR}/package/DamoConfigVersion.cmake
        DESTINATION ${DAMO_CMAKE_DIR})

# pkg-config: libdamo.a is static, so Libs lists its dependencies directly instead of in
# Libs.private, and a plain `pkg-config --libs damo` links.
# The prefix is found relative to the .pc file, so the installed tree can be moved.
file(RELATIVE_PATH DAMO_PC_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" DAMO_PC_PREFIX "${DAMO_PC_PREFIX}")
set(DAMO_PC_PRIVATE_LIBS "${DAMO_LLVM_SHARED_LIBRARY} ${DAMO_OPENBLAS_PTHREAD} ${DAMO_LIBEDIT}")
configure_file(cmake/damo.pc.in ${PROJECT_BINARY_DIR}/package/damo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/damo.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
