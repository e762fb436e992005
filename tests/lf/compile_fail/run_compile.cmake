# cmake -P script behind each compile_fail test (see CMakeLists.txt beside it).
# In: CXX, FLAGS ('|'-separated), SOURCE, CASE (a macro to define, or empty), EXPECT (compile |
# reject), REGEX (the diagnostic a rejection must print, as its only error).
string(REPLACE "|" ";" flags "${FLAGS}")
set(define "")
if(CASE)
  set(define "-D${CASE}")
endif()
execute_process(COMMAND "${CXX}" ${flags} ${define} "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(log "${out}${err}")

if(EXPECT STREQUAL "compile")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the control program must compile, but the compiler said:\n${log}")
  endif()
  message(STATUS "compiled, as it must")
elseif(EXPECT STREQUAL "reject")
  if(rc EQUAL 0)
    message(FATAL_ERROR "${CASE}: compiled, but the discipline must reject it")
  endif()
  if(NOT log MATCHES "${REGEX}")
    message(FATAL_ERROR "${CASE}: rejected, but not with the expected diagnostic "
                        "'${REGEX}'; the compiler said:\n${log}")
  endif()
  # Exactly one error: liblf's checks stop further instantiation, so any second error means the
  # case also fails for some other reason and would prove nothing.
  string(REGEX MATCHALL "error:" errors "${log}")
  list(LENGTH errors error_count)
  if(NOT error_count EQUAL 1)
    message(FATAL_ERROR "${CASE}: expected exactly one error, got ${error_count}:\n${log}")
  endif()
  message(STATUS "${CASE}: rejected with '${REGEX}'")
else()
  message(FATAL_ERROR "EXPECT must be 'compile' or 'reject', not '${EXPECT}'")
endif()
