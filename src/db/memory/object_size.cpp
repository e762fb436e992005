#include "db/memory/object_size.hpp"

#include "db/keyspace.hpp"

extern "C" size_t nallocx(size_t size, int flags) __attribute__((weak));

namespace lfdb::db::memory {
namespace {

// libstdc++'s node of an unordered container: the next pointer and the element (no cached hash:
// libstdc++ keeps none for StringHash, perf shows every bucket walk hashing its keys).
template <typename Element>
constexpr std::size_t kNode = sizeof(void*) + sizeof(Element);

template <typename Table>
std::size_t buckets(const Table& t) {
  return t.bucket_count() > 1 ? size_class(t.bucket_count() * sizeof(void*)) : 0;
}

// Sums per(element) over the first `samples` elements (all when 0) and scales to the size.
template <typename Range, typename Per>
std::size_t sampled(const Range& r, std::size_t size, std::size_t samples, Per per) {
  std::size_t seen = 0, bytes = 0;
  for (const auto& x : r) {
    if (samples != 0 && seen == samples) break;
    bytes += per(x);
    ++seen;
  }
  if (seen == 0) return 0;
  return seen == size ? bytes : bytes / seen * size;
}

}  // namespace

std::size_t size_class(std::size_t n) {
  if (n == 0) return 0;
  if (nallocx != nullptr) return nallocx(n, 0);
  // jemalloc's classes, for builds without it: 8, 16, 32, 48, ... 128, then four per doubling.
  if (n <= 8) return 8;
  if (n <= 128) return (n + 15) / 16 * 16;
  std::size_t pow = 128;
  while (pow * 2 < n) pow *= 2;
  const std::size_t step = pow / 4;
  return (n + step - 1) / step * step;
}

std::size_t string_heap(const CompactString& s) {
  return size_class(s.heap_bytes());
}

std::size_t value_usage(const Entry& e, std::size_t samples) {
  const Value& v = e.value;
  switch (v.type()) {
    case Type::kString:
      return string_heap(v.str());
    case Type::kHash: {
      const Hash& hash = *v.hash();
      if (hash.packed()) return size_class(hash.packed_bytes());  // the Hash itself is in the Value
      const Hash::Table& h = *hash.table();
      return size_class(sizeof(Hash::Table)) + buckets(h) +
             sampled(h, h.size(), samples, [](const FieldValue& e) {
               return size_class(kNode<FieldValue>) + size_class(e.bytes());
             });
    }
    case Type::kList: {
      const List& l = *v.list();
      // The List, its ring of node handles (none with one node) and each node's buffer; with
      // samples, the first nodes scaled to all of them (Redis samples a quicklist's nodes).
      const std::size_t nodes = l.node_count();
      std::size_t seen = 0, bytes = 0;
      for (; seen < nodes && (samples == 0 || seen < samples); ++seen) bytes += size_class(l.node(seen).bytes());
      if (seen > 0 && seen < nodes) bytes = bytes / seen * nodes;
      return size_class(sizeof(List)) + size_class(l.ring_bytes()) + bytes;
    }
    case Type::kSet: {
      const Set& set = *v.set();
      // The Set itself is in the Value; a small intset's elements too (no block: bytes() is 0).
      if (set.intset()) return size_class(set.ints().bytes());
      const Set::Table& s = *set.table();
      return size_class(sizeof(Set::Table)) + buckets(s) +
             sampled(s, s.size(), samples, [](const StoredMember& m) {
               return size_class(kNode<StoredMember>) + size_class(m.bytes());
             });
    }
    case Type::kZSet: {
      const ZSet& zset = *v.zset();
      if (zset.packed()) return size_class(zset.packed_bytes());  // the ZSet itself is in the Value
      const ZSkipList& z = *zset.skiplist();
      // Each member: a skip-list node with its levels (1.33 on average: p = 1/4) and its
      // bytes, and its entry in the member index (a pointer to the node).
      const std::size_t per_index = size_class(kNode<void*>);
      std::size_t bytes = 0, seen = 0;
      for (const ZSkipList::Node* n = z.first(); n != nullptr && (samples == 0 || seen < samples); n = n->next()) {
        bytes += size_class(sizeof(ZSkipList::Node) + static_cast<std::size_t>(n->height) * sizeof(ZSkipList::Level) +
                            n->size) +
                 per_index;
        ++seen;
      }
      if (seen != 0 && seen != z.size()) bytes = bytes / seen * z.size();
      // Its skip list, the head node (32 levels) and the index's buckets (about one per
      // member).
      return size_class(sizeof(ZSkipList)) +
             size_class(sizeof(ZSkipList::Node) + 32 * sizeof(ZSkipList::Level)) +
             size_class(z.size() * sizeof(void*)) + bytes;
    }
    case Type::kStream: {
      // The blocks' bytes and their index's tree nodes (about 64 bytes each). The groups'
      // pending lists are not counted: an underestimate for streams with many pending entries.
      const stream::Stream& st = *v.stream();
      return size_class(sizeof(stream::Stream)) + st.block_bytes() + st.blocks() * size_class(64);
    }
  }
  return 0;
}

std::size_t key_usage(std::string_view key, const Entry& e, std::size_t samples) {
  // The key's node in its partition's key table (the entry and the key's bytes, one allocation)
  // and its share of the table's slots (8 bytes a slot, about 60% of them in use), and an entry
  // in the expires index when it has a deadline.
  std::size_t bytes = size_class(KeyNode::alloc_size(key.size())) + 13;
  if (e.value.has_deadline()) bytes += size_class(kNode<std::pair<const Entry*, std::int64_t>>) + sizeof(void*);
  return bytes + value_usage(e, samples);
}

}  // namespace lfdb::db::memory
