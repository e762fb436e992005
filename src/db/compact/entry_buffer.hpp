// The owned buffer PackedHash and PackedZSet keep their entries in: the bytes (malloc'd,
// nullptr while empty), their size and the entry count, 16 bytes in the object. Moves steal the
// buffer; a copy is only ever asked for (copy_into), never implicit.
//
// Thread-safety: none; part of a value inside a partition, touched only under its color.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace lfdb::db::compact {

class EntryBuffer {
 public:
  EntryBuffer() = default;
  ~EntryBuffer() { std::free(buf_); }
  EntryBuffer(const EntryBuffer&) = delete;
  EntryBuffer& operator=(const EntryBuffer&) = delete;
  EntryBuffer(EntryBuffer&& o) noexcept : buf_(o.buf_), used_(o.used_), count_(o.count_) { o.forget(); }
  EntryBuffer& operator=(EntryBuffer&& o) noexcept {
    if (this != &o) {
      std::free(buf_);
      buf_ = o.buf_;
      used_ = o.used_;
      count_ = o.count_;
      o.forget();
    }
    return *this;
  }

 protected:
  // The same bytes and count in a buffer of out's own (out is empty).
  void copy_into(EntryBuffer& out) const {
    if (buf_ == nullptr) return;
    out.buf_ = static_cast<unsigned char*>(std::malloc(used_));
    if (out.buf_ == nullptr) throw std::bad_alloc();
    std::memcpy(out.buf_, buf_, used_);
    out.used_ = used_;
    out.count_ = count_;
  }
  // The last entry went: the buffer is given back.
  void release() {
    std::free(buf_);
    forget();
  }

  unsigned char* buf_ = nullptr;  // the entries; nullptr while empty
  std::uint32_t used_ = 0;        // the entries' bytes: the buffer's size
  std::uint32_t count_ = 0;       // the entries

 private:
  void forget() {
    buf_ = nullptr;
    used_ = 0;
    count_ = 0;
  }
};

}  // namespace lfdb::db::compact
