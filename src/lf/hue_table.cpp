#include "lf/hue_table.hpp"

#include <algorithm>
#include <cstdio>

namespace lf::hue {

namespace {

bool contains(const std::vector<std::uint32_t>& sorted, std::uint32_t g) {
  return std::binary_search(sorted.begin(), sorted.end(), g);
}

bool touches_global(const HueInfo& h, std::uint32_t g) {
  return contains(h.reads, g) || contains(h.writes, g);
}

std::uint8_t derive_bits(const HueInfo& a, const HueInfo& b) {
  std::uint8_t bits = 0;
  if (!a.declared || !b.declared) return kGlobalConflict;  // conservative: may = will
  for (std::uint32_t g : a.writes) {
    if (touches_global(b, g)) bits |= kGlobalConflict;
  }
  for (std::uint32_t g : b.writes) {
    if (touches_global(a, g)) bits |= kGlobalConflict;
  }
  const bool a_ctx = a.context != Access::kNone;
  const bool b_ctx = b.context != Access::kNone;
  if ((a.context == Access::kWrite && b_ctx) || (b.context == Access::kWrite && a_ctx)) {
    bits |= kContextConflict;
  }
  return bits;
}

}  // namespace

std::optional<HueId> HueMatrix::find(std::string_view name) const {
  for (std::size_t i = 0; i < hues_.size(); ++i) {
    if (hues_[i].name == name) return static_cast<HueId>(i);
  }
  return std::nullopt;
}

bool HueMatrix::is_free(HueId id) const {
  for (std::size_t j = 0; j < hues_.size(); ++j) {
    if (bits(id, static_cast<HueId>(j)) != 0) return false;
  }
  return true;
}

std::string HueMatrix::explain(HueId a, HueId b) const {
  const HueInfo& ha = hue(a);
  const HueInfo& hb = hue(b);
  std::string head = ha.name + " and " + hb.name;
  if (bits(a, b) == 0) return head + ": no conflict";

  std::vector<std::string> clauses;
  if (!ha.declared || !hb.declared) {
    if (a == b) {
      clauses.push_back("on every global: " + ha.name +
                        " is undeclared (an undeclared handler conflicts with everything)");
    } else if (!ha.declared && !hb.declared) {
      clauses.push_back("on every global: both are undeclared");
    } else {
      const std::string& who = ha.declared ? hb.name : ha.name;
      clauses.push_back("on every global: " + who +
                        " is undeclared (an undeclared handler conflicts with everything)");
    }
  } else {
    // Name each global they conflict on, in the table's order, saying who writes and who reads.
    for (std::uint32_t g = 0; g < globals_.size(); ++g) {
      const bool aw = contains(ha.writes, g), bw = contains(hb.writes, g);
      const bool ar = contains(ha.reads, g), br = contains(hb.reads, g);
      std::string why;
      if (aw && bw) {
        why = "both write it";
      } else if (aw && br) {
        why = ha.name + " writes it, " + hb.name + " reads it";
      } else if (bw && ar) {
        why = hb.name + " writes it, " + ha.name + " reads it";
      } else {
        continue;
      }
      clauses.push_back("on global '" + globals_[g] + "': " + why);
    }
  }
  if (conflict_through_context(a, b)) {
    const bool aw = ha.context == Access::kWrite, bw = hb.context == Access::kWrite;
    std::string why;
    if (aw && bw) {
      why = "both write it";
    } else {
      why = (aw ? ha.name : hb.name) + " writes it";
    }
    clauses.push_back("through the context: " + why);
  }
  std::string out = head + " conflict ";
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    if (i > 0) out += "; ";
    out += clauses[i];
  }
  return out;
}

std::string HueMatrix::to_string() const {
  std::size_t width = 2;
  for (const HueInfo& h : hues_) width = std::max(width, h.name.size());
  width += 2;
  auto pad = [width](std::string s) {
    s.resize(std::max(s.size(), width), ' ');
    return s;
  };
  std::string out = pad("");
  for (const HueInfo& h : hues_) out += pad(h.name);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += '\n';
  for (std::size_t i = 0; i < hues_.size(); ++i) {
    std::string row = pad(hues_[i].name);
    for (std::size_t j = 0; j <= i; ++j) {
      const std::uint8_t b = bits(static_cast<HueId>(i), static_cast<HueId>(j));
      std::string cell;
      cell += (b & kContextConflict) ? '1' : '0';
      cell += (b & kGlobalConflict) ? '1' : '0';
      row += pad(cell);
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out += row;
    out += '\n';
  }
  out += "cell = <bit 1><bit 0>; bit 0: conflict on a global (never concurrent); "
         "bit 1: conflict through the context (concurrent only on different colors)\n";
  for (const HueInfo& h : hues_) {
    if (!h.declared) out += h.name + " is undeclared: it conflicts with everything\n";
  }
  return out;
}

Status HueTable::check_name(const std::string& name) const {
  if (name.empty()) return Status::error("hue: a handler needs a name");
  for (const Entry& e : entries_) {
    if (e.name == name) return Status::error("hue: handler '" + name + "' is already declared");
  }
  return Status();
}

Result<HueId> HueTable::add(std::string name, const Touches& touches) {
  if (Status s = check_name(name); !s.ok()) return s;
  entries_.push_back(Entry{std::move(name), true, touches});
  return static_cast<HueId>(entries_.size() - 1);
}

Result<HueId> HueTable::add_undeclared(std::string name) {
  if (Status s = check_name(name); !s.ok()) return s;
  entries_.push_back(Entry{std::move(name), false, Touches()});
  return static_cast<HueId>(entries_.size() - 1);
}

Result<HueMatrix> HueTable::build() const {
  HueMatrix m;
  auto global_index = [&m](const std::string& g) -> std::uint32_t {
    auto it = std::find(m.globals_.begin(), m.globals_.end(), g);
    if (it != m.globals_.end()) return static_cast<std::uint32_t>(it - m.globals_.begin());
    m.globals_.push_back(g);
    return static_cast<std::uint32_t>(m.globals_.size() - 1);
  };
  for (const Entry& e : entries_) {
    HueInfo h;
    h.name = e.name;
    h.declared = e.declared;
    h.context = e.touches.context();
    for (const std::string& g : e.touches.global_writes()) h.writes.push_back(global_index(g));
    for (const std::string& g : e.touches.global_reads()) h.reads.push_back(global_index(g));
    std::sort(h.writes.begin(), h.writes.end());
    h.writes.erase(std::unique(h.writes.begin(), h.writes.end()), h.writes.end());
    std::sort(h.reads.begin(), h.reads.end());
    h.reads.erase(std::unique(h.reads.begin(), h.reads.end()), h.reads.end());
    // Reading what one also writes adds no conflict a write does not already have.
    std::erase_if(h.reads, [&h](std::uint32_t g) { return contains(h.writes, g); });
    m.hues_.push_back(std::move(h));
  }
  if (m.globals_.size() > kMaxGlobals) {
    return Status::error("hue: " + std::to_string(m.globals_.size()) +
                         " globals declared; at most " + std::to_string(kMaxGlobals) +
                         " are supported");
  }
  const std::size_t n = m.hues_.size();
  m.bits_.assign(n * n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) m.bits_[i * n + j] = derive_bits(m.hues_[i], m.hues_[j]);
  }
  return m;
}

}  // namespace lf::hue
