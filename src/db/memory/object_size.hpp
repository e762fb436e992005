// MEMORY USAGE: the bytes a key holds, estimated from the shapes lfdb stores it in (docs/memory.md):
// its node in the partition's table (key, Entry, the cached hash, a bucket), the key's and the
// value's heap strings, and the container's own nodes and buckets, each rounded up to the
// allocator's size class. A container larger than `samples` elements is estimated from its
// first `samples` elements (0: all of them), as Redis's MEMORY USAGE samples.
//
// Thread-safety: reads the entry only; the caller holds the key's color.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lfdb::db {
struct Entry;
class CompactString;
}

namespace lfdb::db::memory {

// The allocator's size class for a request of n bytes (what malloc really hands out).
std::size_t size_class(std::size_t n);
// Heap bytes of a string value beyond its inline bytes (0 when it fits them).
std::size_t string_heap(const CompactString& s);

std::size_t key_usage(std::string_view key, const Entry& e, std::size_t samples);
// The value alone (the eviction's estimate of what erasing a key gives back).
std::size_t value_usage(const Entry& e, std::size_t samples);

}  // namespace lfdb::db::memory
