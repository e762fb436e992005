#include "gateway/reply_slot.hpp"

#include <memory>

#include "lf/status.hpp"

namespace lfdb::gateway {

void ReplySlot::start(Merge m, std::uint32_t parts, resp::Protocol p) {
  protocol = p;
  ready = false;
  close_after = false;
  merge = m;
  parts_left = parts;
  reply.clear();
  script_shard = -1;
  script_reaped = false;
  blocking_conn = nullptr;
  own = Own::kNone;
  own_keys.clear();
  own_shards.clear();
  tx_local.clear();
  first_error.clear();
  sum = 0;
  count = 0;
  body.clear();
  values.clear();
  part_keys.clear();
}

bool ReplySlot::add_part(std::uint32_t part, const resp::Frame& f) {
  LF_CHECK(parts_left > 0);
  if (merge == Merge::kPrepared) {
    if (--parts_left > 0) return false;
    reply.swap(body);
    std::string().swap(body);
    ready = true;
    return true;
  }
  if (merge == Merge::kNone) {
    reply.assign(f.bytes());
  } else if (merge == Merge::kAnyOk) {
    if (!f.is_error()) {
      ++count;
    } else if (first_error.empty() || (first_error.starts_with("-NOTBUSY") && !f.bytes().starts_with("-NOTBUSY"))) {
      first_error.assign(f.bytes());
    }
  } else if (f.is_error()) {
    if (first_error.empty()) first_error.assign(f.bytes());
  } else {
    switch (merge) {
      case Merge::kSum:
        if (f.type() == resp::ReplyType::kInteger) {
          sum += f.integer();
        } else if (first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kAllOk:
        if (f.type() != resp::ReplyType::kSimpleString && first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kConcat:
        if (f.is_aggregate()) {
          count += f.element_count();
          body.append(f.payload());
        } else if (first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kSame:
        if (count++ == 0) {
          body.assign(f.bytes());
        } else if (body != f.bytes() && first_error.empty()) {
          first_error = "-ERR lfdb-gateway: back-ends answered differently\r\n";
        }
        break;
      case Merge::kMget: {
        const auto& keys = part_keys[part];
        if (!f.is_aggregate() || f.element_count() != keys.size()) {
          if (first_error.empty()) first_error = "-ERR lfdb-gateway: unexpected reply from a back-end\r\n";
          break;
        }
        std::size_t i = 0;
        for (const resp::Frame& e : f.elements()) values[keys[i++]].assign(e.bytes());
        break;
      }
      case Merge::kAnyOk:
      case Merge::kNone:
      case Merge::kPrepared:
        break;
    }
  }
  if (--parts_left > 0) return false;
  if (merge != Merge::kNone) {
    reply.clear();
    resp::Writer w(reply, protocol);
    if (merge == Merge::kAnyOk) {
      if (count > 0) {
        w.simple_string("OK");
      } else {
        reply = first_error;
      }
    } else if (!first_error.empty()) {
      reply = first_error;
    } else {
      switch (merge) {
        case Merge::kSum: w.integer(sum); break;
        case Merge::kAllOk: w.simple_string("OK"); break;
        case Merge::kConcat:
          w.array_header(count);
          reply.append(body);
          break;
        case Merge::kMget:
          w.array_header(values.size());
          for (const auto& v : values) reply.append(v);
          break;
        case Merge::kSame: reply = body; break;
        case Merge::kAnyOk:
        case Merge::kNone:
        case Merge::kPrepared: break;
      }
    }
    // The merge state is not needed any more; keep no big buffers in a queued slot.
    std::string().swap(body);
    std::vector<std::string>().swap(values);
  }
  ready = true;
  return true;
}

resp::Frame error_frame(std::string_view message, std::string& storage) {
  storage.clear();
  resp::Writer(storage).error(message);
  resp::ReplyParser p;
  resp::ReplyResult r = p.parse(storage);
  LF_CHECK(r.complete());
  return r.frame;
}

}  // namespace lfdb::gateway

namespace lfdb::gateway {
namespace {

// Nodes a thread has freed, for its next slots. Bounded, and a node whose buffers grew big
// (a large reply, a wide MGET) is freed rather than kept.
class NodeCache {
 public:
  ~NodeCache() {
    for (SlotQueue::Node* n : free_) delete n;
  }
  SlotQueue::Node* take() {
    if (free_.empty()) return new SlotQueue::Node();
    SlotQueue::Node* n = free_.back();
    free_.pop_back();
    return n;
  }
  void give(SlotQueue::Node* n) {
    ReplySlot& s = n->slot;
    const bool big = s.reply.capacity() + s.first_error.capacity() + s.body.capacity() > kMaxKeptBytes ||
                     s.values.capacity() > kMaxKeptParts || s.part_keys.capacity() > kMaxKeptParts;
    if (big || free_.size() >= kMaxNodes) {
      delete n;
      return;
    }
    s.values.clear();
    s.part_keys.clear();
    n->next = nullptr;
    free_.push_back(n);
  }

 private:
  static constexpr std::size_t kMaxNodes = 256;
  static constexpr std::size_t kMaxKeptBytes = 4096;
  static constexpr std::size_t kMaxKeptParts = 16;
  std::vector<SlotQueue::Node*> free_;
};

NodeCache& node_cache() {
  thread_local NodeCache cache;
  return cache;
}

}  // namespace

SlotQueue::~SlotQueue() {
  while (head_ != nullptr) {
    Node* n = head_;
    head_ = n->next;
    delete n;
  }
}

ReplySlot& SlotQueue::emplace_back() {
  Node* n = node_cache().take();
  // A cached node keeps its strings' capacity; start() (which every user calls next) clears
  // their contents. The flags are reset here so the slot is as a default one.
  n->slot.ready = false;
  n->slot.close_after = false;
  n->slot.merge = Merge::kNone;
  n->slot.parts_left = 1;
  if (tail_ == nullptr) {
    head_ = tail_ = n;
  } else {
    tail_->next = n;
    tail_ = n;
  }
  ++size_;
  return n->slot;
}

void SlotQueue::pop_front() {
  LF_CHECK(head_ != nullptr);
  Node* n = head_;
  head_ = n->next;
  if (head_ == nullptr) tail_ = nullptr;
  --size_;
  node_cache().give(n);
}

}  // namespace lfdb::gateway
