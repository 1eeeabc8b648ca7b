# Install and export (issue 6): the engine as static libraries (PIC), the public headers (include/mokaccino/),
# the CMake package mokaccino (target mokaccino::mokaccino) and a pkg-config file. Internal headers (actors/,
# core/) are not installed: the public headers need none of them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The one target applications link, the `mokaccino` executable included. (The executable owns the name `mokaccino`,
# so this target is renamed on export; the executable is defined and installed after this file, in CMakeLists.txt.)
add_library(mokaccino_api INTERFACE)
set_target_properties(mokaccino_api PROPERTIES EXPORT_NAME mokaccino)
target_link_libraries(mokaccino_api INTERFACE mk_actors)
target_include_directories(mokaccino_api INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(mokaccino_api INTERFACE cxx_std_20)
add_library(mokaccino::mokaccino ALIAS mokaccino_api)

# Installed file names say whose they are: libmokaccino_wire.a, not libmk_wire.a.
set(MK_ENGINE_LIBS mk_actors mk_session mk_audio mk_transfer mk_config mk_crypto mk_wire)
foreach(lib IN LISTS MK_ENGINE_LIBS)
  string(REGEX REPLACE "^mk_" "mokaccino_" out ${lib})
  set_target_properties(${lib} PROPERTIES OUTPUT_NAME ${out})
endforeach()

install(TARGETS ${MK_ENGINE_LIBS} mk_core mokaccino_api EXPORT mokaccinoTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mokaccino DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")

set(MK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mokaccino)
install(EXPORT mokaccinoTargets NAMESPACE mokaccino:: DESTINATION ${MK_CMAKE_DIR})
set(MK_WITH_ALSA ${ALSA_FOUND})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/mokaccinoConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/mokaccinoConfig.cmake INSTALL_DESTINATION ${MK_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mokaccinoConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mokaccinoConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/mokaccinoConfigVersion.cmake
  DESTINATION ${MK_CMAKE_DIR})

# pkg-config: relative to the .pc file, so `cmake --install --prefix <anywhere>` gives a working file.
file(RELATIVE_PATH MK_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
set(MK_PC_REQUIRES "botan-2 opus rtaudio fmt tomlplusplus")
if(ALSA_FOUND)
  string(APPEND MK_PC_REQUIRES " alsa")
endif()
set(MK_PC_LIBS "")
foreach(lib IN LISTS MK_ENGINE_LIBS)
  get_target_property(out ${lib} OUTPUT_NAME)
  string(APPEND MK_PC_LIBS " -l${out}")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/mokaccino.pc.in ${CMAKE_CURRENT_BINARY_DIR}/mokaccino.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mokaccino.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
