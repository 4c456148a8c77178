# ctest script: install the ocfs2 component into WORK_DIR/prefix, then configure, build and
# run examples/ocfs2-consumer against it with find_package and with pkg-config.
cmake_minimum_required(VERSION 3.25)
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step(${CMAKE_COMMAND} --install ${BUILD_DIR} --component ocfs2 --prefix ${prefix})
foreach(f include/sharedisk/ocfs2/ocfs2.h include/sharedisk/ocfs2/version.h
          lib/cmake/sharedisk-ocfs2/sharedisk-ocfs2-config.cmake lib/pkgconfig/sharedisk-ocfs2.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB sonames ${prefix}/lib/libsharedisk-ocfs2.so.0*)
if(NOT sonames)
  message(FATAL_ERROR "libsharedisk-ocfs2.so.0 (soname) not installed")
endif()

foreach(mode find_package pkg-config)
  set(build ${WORK_DIR}/build-${mode})
  if(mode STREQUAL "pkg-config")
    set(use_pc ON)
  else()
    set(use_pc OFF)
  endif()
  step(${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/lib/pkgconfig
       ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/ocfs2-consumer -B ${build} -G ${GENERATOR}
       -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix} -DCONSUMER_USE_PKGCONFIG=${use_pc})
  step(${CMAKE_COMMAND} --build ${build})
  step(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/lib ${build}/ocfs2-consumer)
  if(NOT step_output MATCHES "fstab-ready cluster ocfs2 with 2 nodes")
    message(FATAL_ERROR "unexpected output of the ${mode} consumer:\n${step_output}")
  endif()
  message(STATUS "${mode} consumer: ${step_output}")
endforeach()
