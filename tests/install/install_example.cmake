# ctest (label `install`): installs mokaccino to a temporary prefix, builds examples/embed_two_nodes as a separate
# CMake project against it (find_package(mokaccino)), runs it and checks its output; also checks mokaccino.pc.
# Run as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -P install_example.cmake
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${v} is not set")
  endif()
endforeach()

function(run_step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# Only the public headers are installed.
file(GLOB_RECURSE headers RELATIVE ${prefix}/include ${prefix}/include/*)
list(SORT headers)
if(NOT headers STREQUAL "mokaccino/node.hpp;mokaccino/types.hpp")
  message(FATAL_ERROR "unexpected installed headers: ${headers}")
endif()

run_step("configure the example" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed_two_nodes -B ${WORK_DIR}/example
  -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_STANDARD=20)
run_step("build the example" ${CMAKE_COMMAND} --build ${WORK_DIR}/example)
run_step("run the example" ${WORK_DIR}/example/embed_two_nodes)
set(output "${step_output}")
message(STATUS "example output:\n${output}")
foreach(expected
    "bob: prompt [alice]"
    "bob: answering prompt"
    "alice: connected [bob]"
    "bob: connected [alice]"
    "bob: message [alice] Hello, bob!"
    "alice: message [bob] Hi alice."
    "alice's peer: bob at 127.0.0.1:"
    "file send: ok"
    "bob: prompt [alice] Accept a file"
    "bob's copy: A file from alice to bob."
    "bob's folder: album/ done, 2 of 2 files"
    "bob's album/2026/track 1.txt: track one"
    "example done")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the example did not print \"${expected}\"")
  endif()
endforeach()
# pkg-config: the installed mokaccino.pc resolves and names libraries that exist.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_file ${prefix}/lib*/pkgconfig/mokaccino.pc ${prefix}/lib/*/pkgconfig/mokaccino.pc)
if(NOT pc_file)
  message(FATAL_ERROR "mokaccino.pc was not installed")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run_step("pkg-config" ${PKG_CONFIG} --cflags --libs mokaccino)
string(STRIP "${step_output}" flags)
message(STATUS "pkg-config --cflags --libs mokaccino: ${flags}")
string(REGEX MATCH "-L([^ ]+)" _ "${flags}")
set(libdir ${CMAKE_MATCH_1})
if(NOT EXISTS ${libdir}/libmokaccino_actors.a OR NOT EXISTS ${libdir}/libmokaccino_wire.a)
  message(FATAL_ERROR "pkg-config -L${libdir} does not hold the engine libraries")
endif()
string(REGEX MATCHALL "-I[^ ]+" includes "${flags}")
set(found_header FALSE)
foreach(inc IN LISTS includes)
  string(SUBSTRING ${inc} 2 -1 inc)
  if(EXISTS ${inc}/mokaccino/node.hpp)
    set(found_header TRUE)
  endif()
endforeach()
if(NOT found_header)
  message(FATAL_ERROR "no -I of pkg-config holds mokaccino/node.hpp: ${flags}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
