// Clang thread-safety annotations (-Wthread-safety). Every shared field in lfdb names what
// guards it with LF_GUARDED_BY; functions that need a lock held say so with LF_REQUIRES.
// Under g++ the macros expand to nothing; the clang builds in `make test` do the checking.
#pragma once

#if defined(__clang__)
#define LF_TSA(x) __attribute__((x))
#else
#define LF_TSA(x)
#endif

#define LF_CAPABILITY(x) LF_TSA(capability(x))
#define LF_SCOPED_CAPABILITY LF_TSA(scoped_lockable)
#define LF_GUARDED_BY(x) LF_TSA(guarded_by(x))
#define LF_PT_GUARDED_BY(x) LF_TSA(pt_guarded_by(x))
#define LF_ACQUIRED_BEFORE(...) LF_TSA(acquired_before(__VA_ARGS__))
#define LF_REQUIRES(...) LF_TSA(requires_capability(__VA_ARGS__))
#define LF_EXCLUDES(...) LF_TSA(locks_excluded(__VA_ARGS__))
#define LF_ACQUIRE(...) LF_TSA(acquire_capability(__VA_ARGS__))
#define LF_RELEASE(...) LF_TSA(release_capability(__VA_ARGS__))
#define LF_TRY_ACQUIRE(...) LF_TSA(try_acquire_capability(__VA_ARGS__))
#define LF_RETURN_CAPABILITY(x) LF_TSA(lock_returned(x))
#define LF_NO_THREAD_SAFETY_ANALYSIS LF_TSA(no_thread_safety_analysis)
