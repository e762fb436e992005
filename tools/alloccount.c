/* An LD_PRELOAD shim that counts heap allocations of a whole process.
 * LD_PRELOAD=build/lib/liblf_alloccount.so some-server ...
 * The process reads the count through the exported lf_alloc_count() (liblf looks it up with
 * dlsym, so binaries work the same without the shim: they then report "n/a").
 * It forwards to glibc's own allocator entry points, so behaviour is unchanged. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static uint64_t g_allocs;

uint64_t lf_alloc_count(void) { return __atomic_load_n(&g_allocs, __ATOMIC_RELAXED); }

static inline void count(void) { __atomic_fetch_add(&g_allocs, 1, __ATOMIC_RELAXED); }

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t al, size_t n) {
  count();
  return __libc_memalign(al, n);
}
void* aligned_alloc(size_t al, size_t n) {
  count();
  return __libc_memalign(al, n);
}
int posix_memalign(void** out, size_t al, size_t n) {
  count();
  void* p = __libc_memalign(al, n);
  if (!p) return 12; /* ENOMEM */
  *out = p;
  return 0;
}
