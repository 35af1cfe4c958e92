# Checks rtml-data's failure modes: run with
#   cmake -DRTML_DATA=path/to/rtml-data -DDIR=scratch-dir -P RtmlDataTest.cmake
# Each step names what it expected; any mismatch fails the test.
file(REMOVE_RECURSE ${DIR})

# run(EXPECTED_RC REGEX args...): runs rtml-data, checks the exit status and
# that stdout+stderr match REGEX.
function(run expected_rc regex)
  execute_process(COMMAND ${RTML_DATA} ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}${err}")
  if(NOT rc STREQUAL "${expected_rc}")
    message(FATAL_ERROR "rtml-data ${ARGN}: exit ${rc}, expected ${expected_rc}\n${all}")
  endif()
  if(NOT all MATCHES "${regex}")
    message(FATAL_ERROR "rtml-data ${ARGN}: output does not match '${regex}':\n${all}")
  endif()
  set(last_output "${all}" PARENT_SCOPE)
endfunction()

# Usage errors: exit 2 with a clear message.
run(2 "no command given" )
run(2 "unknown command 'frobnicate'" frobnicate)
run(2 "--size 64: the CIFAR-10 binary format holds 32x32 images only" synth --out ${DIR}/x --size 64)
run(2 "synth needs --out DIR" synth --train 10)
run(2 "--train expects a whole number of images" synth --out ${DIR}/x --train ten)
run(2 "--noise expects a number from 0 to 1" synth --out ${DIR}/x --noise 2)
run(2 "unknown argument '--bogus'" synth --out ${DIR}/x --bogus)
run(2 "inspect needs a directory" inspect)
run(0 "usage: rtml-data synth" synth --help)
run(0 "usage: rtml-data inspect" inspect --help)
run(0 "commands:" --help)
if(EXISTS ${DIR}/x)
  message(FATAL_ERROR "a rejected synth created ${DIR}/x")
endif()

# The same seed gives the same bytes; another seed does not.
run(0 "wrote 20 training images" synth --out ${DIR}/a --train 20 --test 10 --seed 3)
run(0 "wrote 20 training images" synth --out ${DIR}/b --train 20 --test 10 --seed 3)
run(0 "wrote 20 training images" synth --out=${DIR}/c --train=20 --test=10 --seed=4)
file(SHA256 ${DIR}/a/data_batch_1.bin ha)
file(SHA256 ${DIR}/b/data_batch_1.bin hb)
file(SHA256 ${DIR}/c/data_batch_1.bin hc)
if(NOT ha STREQUAL hb OR ha STREQUAL hc)
  message(FATAL_ERROR "synth is not deterministic in its seed")
endif()
file(SIZE ${DIR}/a/test_batch.bin size)
if(NOT size EQUAL 30730)
  message(FATAL_ERROR "test_batch.bin of 10 images has ${size} bytes, expected 30730")
endif()
file(STRINGS ${DIR}/a/batches.meta.txt names)
list(LENGTH names n)
if(NOT n EQUAL 10)
  message(FATAL_ERROR "batches.meta.txt has ${n} class names, expected 10")
endif()
run(0 "train: 20 records, per class: 2 2 2 2 2 2 2 2 2 2" inspect ${DIR}/a)

# A truncated file: exit 1 naming the file and the leftover bytes.
# CMake cannot write raw bytes: copy a prefix with head.
execute_process(COMMAND head -c 4000 ${DIR}/b/data_batch_2.bin
  OUTPUT_FILE ${DIR}/a/data_batch_2.bin RESULT_VARIABLE rc)
file(SIZE ${DIR}/a/data_batch_2.bin size)
if(NOT rc EQUAL 0 OR NOT size EQUAL 4000)
  message(FATAL_ERROR "could not truncate the test file (size ${size})")
endif()
run(1 "data_batch_2.bin: size 4000 is not a whole number of 3073-byte records \\(1 records and 927 bytes left over\\)" inspect ${DIR}/a)

# A label outside 0..9: a test batch of one record labelled 200 (octal 310).
execute_process(COMMAND sh -c "printf '\\310'; head -c 3072 /dev/zero"
  OUTPUT_FILE ${DIR}/a/test_batch.bin RESULT_VARIABLE rc)
run(1 "test_batch.bin: 1 record has a label outside 0..9 \\(first: record 0, label 200\\)" inspect ${DIR}/a)

# A missing file, a missing directory.
file(REMOVE ${DIR}/a/data_batch_2.bin)
run(1 "data_batch_2.bin: missing" inspect ${DIR}/a)
run(1 "not a directory" inspect ${DIR}/nonexistent)

# Unknown flags get a hint; every format the trainer reads is inspected.
run(2 "unknown argument '--trian' \\(did you mean '--train'\\?\\)" synth --out ${DIR}/x --trian 5)
if(EXISTS /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz)
  run(0 "format: IDX.*train: 60000 images of 1x28x28.*test: 10000 images" inspect /usr/share/datasets/fashion-mnist)
endif()
file(MAKE_DIRECTORY ${DIR}/idx)
file(WRITE ${DIR}/idx/train-images-idx3-ubyte "not idx")
file(WRITE ${DIR}/idx/train-labels-idx1-ubyte "not idx")
run(1 "train-images-idx3-ubyte: not an IDX file" inspect ${DIR}/idx)
