// FUZZ_CHECK: the fuzz targets' invariant check. A failed invariant prints what broke and aborts,
// which libFuzzer reports as a crash and saves the input that caused it.
// Thread-safety: libFuzzer runs a target on one thread.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
