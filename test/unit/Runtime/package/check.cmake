# cmake -DSRC=... -DBIN=... -DRUNTIME_DIR=... -DGENERATOR=... -P check.cmake
# Configures and builds the consumer project against the build-tree package,
# then runs its `info` subcommand.
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -G ${GENERATOR}
          -DrtmlRuntime_DIR=${RUNTIME_DIR} -DCMAKE_BUILD_TYPE=Release
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure failed:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build failed:\n${out}")
endif()
execute_process(COMMAND ${BIN}/trainer info
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "model: package-check"
   OR NOT out MATCHES "parameters: 490")
  message(FATAL_ERROR "trainer info failed (${rc}):\n${out}")
endif()
message(STATUS "package consumer OK:\n${out}")
