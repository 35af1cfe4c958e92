# The lit suite: IR round trips, verifier errors, import, emission, driver
# errors and end-to-end training, run by CTest as one test per lit file.
set(RTML_LIT "/usr/lib/llvm-19/build/utils/lit/lit.py" CACHE FILEPATH "lit.py")
set(RTML_LLVM_TOOLS_DIR "/usr/lib/llvm-19/bin" CACHE PATH
  "Directory with FileCheck, not and count")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/lit.site.cfg.py.in
               ${CMAKE_CURRENT_BINARY_DIR}/lit.site.cfg.py @ONLY)
set(RTML_LIT_DEPENDS rtmlc rtml-opt rtml-translate rtml-tblgen rtml-data)
set_property(GLOBAL APPEND PROPERTY RTML_TEST_DEPENDS ${RTML_LIT_DEPENDS})
add_test(NAME lit
  COMMAND /usr/bin/python3 ${RTML_LIT} -v --time-tests ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(lit PROPERTIES LABELS lit TIMEOUT 2400)
