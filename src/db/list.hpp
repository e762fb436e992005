// A list value: a sequence of packed nodes (compact::PackedList), each bounded by
// list-max-listpack-size, as Redis 7.0's quicklist is a sequence of listpacks.
//
// Why: memory. A list of a few short elements is the List object and one node (one allocation
// besides the List); a long one costs its elements' bytes, two or three length bytes each, and
// a pointer per node of up to 8 KB (the default), where a std::deque of std::string paid 32
// bytes an element plus a heap block for every element past 15 bytes.
//
// The nodes sit in a ring of node handles (not a linked list): a push at either end is O(1)
// amortised (a new node at the end of the ring when the end node is full), and a walk to an
// index skips whole nodes by their counts from the nearer end, then walks inside one node from
// its nearer end: O(nodes + node size), as a quicklist's. While the list has one node it is held
// inline and there is no ring. A node past its bound after an insert or a change splits in two;
// removals merge a node into its neighbour when the two fit in one.
//
// Compression (list-compress-depth N, as Redis's quicklist): the N nodes at each end stay plain,
// the interior nodes are kept LZF-compressed where that saves space (PackedList::compress). A
// node is compressed when it is touched: the nodes N from either end when the nodes change
// (a push that opens a node, a pop that empties one), and an interior node after a command used
// it. A read (at, front, back, an Iter) opens a compressed node in place (const: the list's
// elements do not change, only their form), so its views stay valid until the list changes or
// settle() closes the nodes opened since; every change ends with settle(). A new depth (CONFIG
// SET) applies to the nodes as they are next touched, as in Redis.
//
// Thread-safety: none; a value inside a partition, touched only under its color (reads too: a
// read may open a node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "db/compact/packed_list.hpp"

namespace lfdb::db {

class List {
 public:
  using Node = compact::PackedList;

  // A position: a node and an entry in it. Valid until the list changes.
  class Iter {
   public:
    std::string_view operator*() const { return Node::value(pos_); }
    Iter& operator++();  // opens the next node when it is compressed
    Iter& operator--();  // from end() to the last element, as a bidirectional iterator
    bool operator==(const Iter& o) const { return node_ == o.node_ && pos_ == o.pos_; }

   private:
    friend class List;
    Iter(const List* l, std::size_t node, Node::Pos pos) : list_(l), node_(node), pos_(pos) {}
    const List* list_;
    std::size_t node_;  // node_count() and nullptr: end()
    Node::Pos pos_;
  };

  List() = default;
  ~List();
  List(const List& o);  // a deep copy: the same nodes (COPY)
  List& operator=(const List&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push_front(std::string_view v);
  void push_back(std::string_view v);
  std::string_view front() const { return Node::value(open(0).first()); }
  std::string_view back() const { return Node::value(open(node_count() - 1).last()); }
  void pop_front();
  void pop_back();

  std::string_view at(std::size_t i) const { return *iter_at(i); }
  void set(std::size_t i, std::string_view v);  // LSET
  // Inserts v before `at` (end(): appends); the list's iterators are void after.
  void insert(Iter at, std::string_view v);
  // LREM: removes elements equal to v, up to `limit` of them (0: all), the first ones met
  // walking from the head or, with from_tail, from the tail. Returns how many went.
  std::size_t remove(std::string_view v, std::uint64_t limit, bool from_tail);
  void keep_range(std::size_t from, std::size_t to);  // LTRIM: keeps [from, to], both inside
  void clear();

  Iter begin() const { return {this, 0, empty() ? nullptr : open(0).first()}; }
  Iter end() const { return {this, node_count(), nullptr}; }
  Iter iter_at(std::size_t i) const;  // i < size()

  // Compresses again the interior nodes that reads opened (and, after a change of the nodes, the
  // nodes at the depth from either end), as list-compress-depth says now. Views and iterators
  // into the list are void after. A reader that is done with the list calls it.
  void settle() const;

  // The nodes, for MEMORY USAGE and tests; a node may be compressed (node(i).compressed()).
  std::size_t node_count() const;
  const Node& node(std::size_t i) const { return ring_ == nullptr ? solo_ : ring_[slot(i)]; }
  std::size_t ring_bytes() const { return ring_ == nullptr ? 0 : cap_ * sizeof(Node); }

  // Whether a node may take one more element of `len` bytes under list-max-listpack-size.
  static bool fits(const Node& n, std::size_t len);

 private:
  Node& node(std::size_t i) { return ring_ == nullptr ? solo_ : ring_[slot(i)]; }
  Node& held(std::size_t i) const { return ring_ == nullptr ? solo_ : ring_[slot(i)]; }
  // Node i in its plain form, for a read: a compressed node is opened and remembered for
  // settle().
  const Node& open(std::size_t i) const;
  // Node i in its plain form, for a change: remembered for settle() too, whose compression
  // the change may have made worthwhile.
  Node& touch(std::size_t i);
  void remember(std::size_t i) const;
  std::size_t slot(std::size_t i) const { return (head_ + i) & (cap_ - 1); }
  // The node at index i, and the element's index inside it.
  std::size_t locate(std::size_t i, std::size_t& in_node) const;
  void add_node(std::size_t at, Node&& n);  // a new node at index at
  void drop_node(std::size_t at);           // the (empty) node at index at goes
  void split_if_over(std::size_t k);        // node k past its bound splits in two
  bool join_next(std::size_t k);            // node k+1 joins node k when the two fit in one

  mutable Node solo_;       // the only node while ring_ is nullptr
  Node* ring_ = nullptr;    // cap_ slots (a power of two), nodes_ of them from head_; 2+ nodes
  std::uint32_t cap_ = 0, head_ = 0, nodes_ = 0;
  // The nodes opened or changed since the last settle(): [open_lo_, open_hi_], none when
  // open_lo_ > open_hi_; kept valid (widened) as nodes come and go.
  mutable std::uint32_t open_lo_ = 1, open_hi_ = 0;
  mutable bool reshaped_ = false;  // nodes came or went since the last settle()
  std::size_t size_ = 0;    // elements in all nodes
};

}  // namespace lfdb::db
