#include "db/list.hpp"

#include <utility>

#include "db/compact/limits.hpp"
#include "db/compact/packed_bytes.hpp"

namespace lfdb::db {
namespace {

// A node's bound in bytes: list-max-listpack-size's negative levels, and the ceiling a node
// bounded by a count keeps too (Redis's safety limit of 8 KB).
constexpr std::size_t kSafetyBytes = 8192;
std::size_t max_node_bytes(std::int64_t fill) {
  if (fill >= 0) return kSafetyBytes;
  const std::int64_t level = fill < -5 ? 5 : -fill;  // 1..5
  return std::size_t{4096} << (level - 1);
}
// A node's bound in elements (none for the byte levels); 0 acts as 1.
std::size_t max_node_count(std::int64_t fill) {
  if (fill < 0) return SIZE_MAX;
  return fill == 0 ? 1 : static_cast<std::size_t>(fill);
}

// Whether node k of n lies in the interior that list-compress-depth d keeps compressed.
bool interior(std::size_t k, std::size_t n, std::size_t d) { return d > 0 && k >= d && k + d < n; }

bool within(std::size_t bytes, std::size_t count) {
  const std::int64_t fill = compact::limits().list_max_fill();
  return bytes <= max_node_bytes(fill) && count <= max_node_count(fill);
}

}  // namespace

bool List::fits(const Node& n, std::size_t len) {
  if (n.empty()) return true;  // a node takes at least one element, however large
  return within(n.bytes() + Node::entry_bytes(len), n.size() + 1);
}

List::~List() { delete[] ring_; }

List::List(const List& o) : size_(o.size_) {
  if (o.ring_ == nullptr) {
    solo_ = o.solo_.clone();
    return;
  }
  ring_ = new Node[o.cap_];
  cap_ = o.cap_;
  nodes_ = o.nodes_;
  for (std::size_t i = 0; i < nodes_; ++i) ring_[i] = o.node(i).clone();
}

std::size_t List::node_count() const {
  if (ring_ != nullptr) return nodes_;
  return solo_.empty() ? 0 : 1;
}

void List::remember(std::size_t i) const {
  const auto k = static_cast<std::uint32_t>(i);
  if (open_lo_ > open_hi_) {
    open_lo_ = open_hi_ = k;
  } else {
    if (k < open_lo_) open_lo_ = k;
    if (k > open_hi_) open_hi_ = k;
  }
}

const List::Node& List::open(std::size_t i) const {
  Node& n = held(i);
  if (n.compressed()) {
    n.decompress();
    remember(i);
  }
  return n;
}

List::Node& List::touch(std::size_t i) {
  Node& n = held(i);
  n.decompress();
  remember(i);
  return n;
}

void List::settle() const {
  const std::size_t d = compact::limits().list_compress_depth();
  const std::size_t n = node_count();
  if (reshaped_ && d > 0 && ring_ != nullptr) {
    // The ends plain (a compressed node may have moved into them, or the depth grew), and the
    // first interior node at either end compressed: the nodes a push or a pop moves past.
    for (std::size_t i = 0; i < d && i < n; ++i) {
      held(i).decompress();
      held(n - 1 - i).decompress();
    }
    if (interior(d, n, d)) held(d).compress();
    if (d < n && interior(n - 1 - d, n, d)) held(n - 1 - d).compress();
  }
  for (std::size_t k = open_lo_; k <= open_hi_ && k < n; ++k) {
    if (interior(k, n, d)) held(k).compress();
  }
  open_lo_ = 1;
  open_hi_ = 0;
  reshaped_ = false;
}

void List::add_node(std::size_t at, Node&& n) {
  reshaped_ = true;
  if (open_lo_ <= open_hi_) {  // the remembered nodes from `at` on move one up
    if (at <= open_lo_) ++open_lo_;
    if (at <= open_hi_) ++open_hi_;
  }
  if (ring_ == nullptr) {
    if (solo_.empty()) {
      solo_ = std::move(n);
      return;
    }
    ring_ = new Node[4];
    cap_ = 4;
    head_ = 0;
    nodes_ = 1;
    ring_[0] = std::move(solo_);
  } else if (nodes_ == cap_) {
    Node* grown = new Node[cap_ * 2];
    for (std::size_t i = 0; i < nodes_; ++i) grown[i] = std::move(ring_[slot(i)]);
    delete[] ring_;
    ring_ = grown;
    cap_ *= 2;
    head_ = 0;
  }
  if (at == 0) {
    head_ = (head_ - 1) & (cap_ - 1);
  } else {
    for (std::size_t i = nodes_; i > at; --i) ring_[slot(i)] = std::move(ring_[slot(i - 1)]);
  }
  ++nodes_;
  ring_[slot(at)] = std::move(n);
}

void List::drop_node(std::size_t at) {
  reshaped_ = true;
  if (open_lo_ <= open_hi_) {  // the remembered nodes after `at` move one down
    if (open_lo_ == open_hi_ && open_lo_ == at) {
      open_lo_ = 1;
      open_hi_ = 0;
    } else {
      if (at < open_lo_) --open_lo_;
      if (at <= open_hi_ && open_hi_ > 0) --open_hi_;
    }
  }
  if (ring_ == nullptr) return;  // the solo node is simply empty now
  if (at == 0) {
    ring_[slot(0)] = Node();
    head_ = (head_ + 1) & (cap_ - 1);
  } else {
    for (std::size_t i = at; i + 1 < nodes_; ++i) ring_[slot(i)] = std::move(ring_[slot(i + 1)]);
    ring_[slot(nodes_ - 1)] = Node();
  }
  --nodes_;
  if (nodes_ == 1) {  // back to one node held inline: the ring goes
    solo_ = std::move(ring_[slot(0)]);
    delete[] ring_;
    ring_ = nullptr;
    cap_ = head_ = nodes_ = 0;
  }
}

void List::push_front(std::string_view v) {
  if (node_count() == 0 || !fits(touch(0), v.size())) add_node(0, Node());
  touch(0).push_front(v);
  ++size_;
  settle();
}

void List::push_back(std::string_view v) {
  const std::size_t n = node_count();
  if (n == 0 || !fits(touch(n - 1), v.size())) add_node(n, Node());
  touch(node_count() - 1).push_back(v);
  ++size_;
  settle();
}

void List::pop_front() {
  Node& n = touch(0);
  n.erase_front(1);
  --size_;
  if (n.empty()) drop_node(0);
  settle();
}

void List::pop_back() {
  const std::size_t k = node_count() - 1;
  Node& n = touch(k);
  n.erase_back(1);
  --size_;
  if (n.empty()) drop_node(k);
  settle();
}

std::size_t List::locate(std::size_t i, std::size_t& in_node) const {
  const std::size_t n = node_count();
  if (i < size_ / 2) {
    std::size_t k = 0;
    while (i >= node(k).size()) i -= node(k++).size();
    in_node = i;
    return k;
  }
  std::size_t from_end = size_ - 1 - i;  // elements after i
  std::size_t k = n - 1;
  while (from_end >= node(k).size()) from_end -= node(k--).size();
  in_node = node(k).size() - 1 - from_end;
  return k;
}

List::Iter List::iter_at(std::size_t i) const {
  std::size_t in = 0;
  const std::size_t k = locate(i, in);
  const Node& n = open(k);
  Node::Pos p = nullptr;
  if (in < n.size() / 2) {
    p = n.first();
    for (std::size_t j = 0; j < in; ++j) p = n.next(p);
  } else {
    p = n.last();
    for (std::size_t j = n.size() - 1; j > in; --j) p = n.prev(p);
  }
  return {this, k, p};
}

List::Iter& List::Iter::operator++() {
  const Node& n = list_->node(node_);
  pos_ = n.next(pos_);
  if (pos_ == nullptr) {
    ++node_;
    if (node_ < list_->node_count()) pos_ = list_->open(node_).first();
  }
  return *this;
}

List::Iter& List::Iter::operator--() {
  if (pos_ != nullptr) pos_ = list_->node(node_).prev(pos_);
  while (pos_ == nullptr && node_ > 0) pos_ = list_->open(--node_).last();
  return *this;
}

void List::split_if_over(std::size_t k) {
  Node& n = node(k);
  if (n.size() < 2 || within(n.bytes(), n.size())) return;
  Node tail = n.split(n.size() / 2);
  add_node(k + 1, std::move(tail));
  remember(k);
  remember(k + 1);
  // A half may still be past the bound (a large element among small ones): halve again.
  split_if_over(k + 1);
  split_if_over(k);
}

bool List::join_next(std::size_t k) {
  if (k + 1 >= node_count()) return false;
  Node& x = touch(k);
  Node& y = touch(k + 1);
  if (!within(x.bytes() + y.bytes() - compact::bytes::kHeader, x.size() + y.size())) return false;
  x.append(std::move(y));
  drop_node(k + 1);
  return true;
}

void List::set(std::size_t i, std::string_view v) {
  const Iter it = iter_at(i);
  touch(it.node_).replace(it.pos_, v);
  split_if_over(it.node_);
  settle();
}

void List::insert(Iter at, std::string_view v) {
  if (at.pos_ == nullptr) return push_back(v);
  std::size_t k = at.node_;
  Node& n = touch(k);  // open already: `at` points into it
  // Before a node's first element: the end of the node before takes it when it has room.
  if (at.pos_ == n.first() && k > 0 && fits(touch(k - 1), v.size())) {
    node(k - 1).push_back(v);
  } else {
    n.insert(at.pos_, v);
    split_if_over(k);
  }
  ++size_;
  settle();
}

std::size_t List::remove(std::string_view v, std::uint64_t limit, bool from_tail) {
  std::size_t removed = 0;
  auto done = [&] { return limit != 0 && removed >= limit; };
  if (!from_tail) {
    for (std::size_t k = 0; k < node_count() && !done();) {
      Node& n = touch(k);
      for (Node::Pos p = n.first(); p != nullptr && !done();) {
        if (Node::value(p) == v) {
          p = n.erase(p);
          ++removed;
          --size_;
        } else {
          p = n.next(p);
        }
      }
      if (n.empty()) {
        drop_node(k);  // node k is the next one now
      } else if (k == 0 || !join_next(k - 1)) {
        ++k;  // else node k joined the one before and the next one is node k now
      }
    }
    settle();
    return removed;
  }
  for (std::size_t k = node_count(); k-- > 0 && !done();) {
    Node& n = touch(k);
    for (Node::Pos p = n.last(); p != nullptr && !done();) {
      const Node::Pos before = n.prev(p);
      if (Node::value(p) == v) {
        // The entries before p keep their offsets when p goes.
        const auto off = before == nullptr ? 0 : static_cast<std::size_t>(before - n.first());
        n.erase(p);
        ++removed;
        --size_;
        p = before == nullptr ? nullptr : n.first() + off;
      } else {
        p = before;
      }
    }
    if (n.empty()) drop_node(k);
    else join_next(k);  // the node after k was walked already
  }
  settle();
  return removed;
}

void List::keep_range(std::size_t from, std::size_t to) {
  // The tail first: whole nodes past `to`, then the rest of the node that holds it.
  std::size_t drop_back = size_ - 1 - to;
  while (drop_back > 0) {
    const std::size_t k = node_count() - 1;
    Node& n = node(k);
    if (n.size() <= drop_back) {
      drop_back -= n.size();
      size_ -= n.size();
      n = Node();
      drop_node(k);
    } else {
      touch(k).erase_back(drop_back);
      size_ -= drop_back;
      drop_back = 0;
    }
  }
  std::size_t drop_front = from;
  while (drop_front > 0) {
    Node& n = node(0);
    if (n.size() <= drop_front) {
      drop_front -= n.size();
      size_ -= n.size();
      n = Node();
      drop_node(0);
    } else {
      touch(0).erase_front(drop_front);
      size_ -= drop_front;
      drop_front = 0;
    }
  }
  settle();
}

void List::clear() {
  delete[] ring_;
  ring_ = nullptr;
  cap_ = head_ = nodes_ = 0;
  solo_ = Node();
  size_ = 0;
  open_lo_ = 1;
  open_hi_ = 0;
  reshaped_ = false;
}

}  // namespace lfdb::db
