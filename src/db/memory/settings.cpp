#include "db/memory/settings.hpp"

#include <charconv>
#include <climits>

namespace lfdb::db::memory {
namespace {

constexpr std::string_view kPolicyNames[] = {"noeviction",     "allkeys-lru",    "allkeys-lfu",
                                             "allkeys-random", "volatile-lru",   "volatile-lfu",
                                             "volatile-random", "volatile-ttl"};

bool lower_equal(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != lower[i]) return false;
  }
  return true;
}

// redis.conf's memory units: plain bytes, k/kb, m/mb, g/gb (case-insensitive).
bool parse_memory(const std::string& s, std::uint64_t& out) {
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc() || p != s.data() + i) return false;
  const std::string_view unit(s.data() + i, s.size() - i);
  std::uint64_t mul = 0;
  if (unit.empty() || lower_equal(unit, "b")) mul = 1;
  else if (lower_equal(unit, "k")) mul = 1000;
  else if (lower_equal(unit, "kb")) mul = 1024;
  else if (lower_equal(unit, "m")) mul = 1000 * 1000;
  else if (lower_equal(unit, "mb")) mul = 1024 * 1024;
  else if (lower_equal(unit, "g")) mul = 1000ull * 1000 * 1000;
  else if (lower_equal(unit, "gb")) mul = 1024ull * 1024 * 1024;
  if (mul == 0 || v > UINT64_MAX / mul) return false;
  out = v * mul;
  return true;
}

bool parse_int_in(const std::string& s, long long lo, long long hi, int& out, std::string& why) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    why = "argument couldn't be parsed into an integer";
    return false;
  }
  if (v < lo || v > hi) {
    why = "argument must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " inclusive";
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

}  // namespace

const char* to_string(Policy p) { return kPolicyNames[static_cast<int>(p)].data(); }

bool parse_policy(std::string_view s, Policy& out) {
  for (std::size_t i = 0; i < std::size(kPolicyNames); ++i) {
    if (lower_equal(s, kPolicyNames[i])) {
      out = static_cast<Policy>(i);
      return true;
    }
  }
  return false;
}

bool is_param(std::string_view name) {
  for (std::string_view p : kParams) {
    if (p == name) return true;
  }
  return false;
}

bool parse_param(std::string_view name, const std::string& value, Limits& to, std::string& why) {
  if (name == "maxmemory") {
    if (!parse_memory(value, to.maxmemory)) {
      why = "argument must be a memory value";
      return false;
    }
    return true;
  }
  if (name == "maxmemory-policy") {
    if (!parse_policy(value, to.policy)) {
      why = "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
            "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";
      return false;
    }
    return true;
  }
  if (name == "maxmemory-samples") return parse_int_in(value, 1, INT_MAX, to.samples, why);
  if (name == "maxmemory-eviction-tenacity") return parse_int_in(value, 0, 100, to.tenacity, why);
  if (name == "lfu-log-factor") return parse_int_in(value, 0, INT_MAX, to.lfu_log_factor, why);
  if (name == "lfu-decay-time") return parse_int_in(value, 0, INT_MAX, to.lfu_decay_time, why);
  why = "unknown parameter";
  return false;
}

std::string format_param(std::string_view name, const Limits& l) {
  if (name == "maxmemory") return std::to_string(l.maxmemory);
  if (name == "maxmemory-policy") return to_string(l.policy);
  if (name == "maxmemory-samples") return std::to_string(l.samples);
  if (name == "maxmemory-eviction-tenacity") return std::to_string(l.tenacity);
  if (name == "lfu-log-factor") return std::to_string(l.lfu_log_factor);
  if (name == "lfu-decay-time") return std::to_string(l.lfu_decay_time);
  return "";
}

void LiveLimits::store(const Limits& l) {
  samples.store(l.samples, std::memory_order_relaxed);
  tenacity.store(l.tenacity, std::memory_order_relaxed);
  lfu_log_factor.store(l.lfu_log_factor, std::memory_order_relaxed);
  lfu_decay_time.store(l.lfu_decay_time, std::memory_order_relaxed);
  policy.store(l.policy, std::memory_order_relaxed);
  maxmemory.store(l.maxmemory, std::memory_order_relaxed);
}

Limits LiveLimits::load() const {
  Limits l;
  l.maxmemory = maxmemory.load(std::memory_order_relaxed);
  l.policy = policy.load(std::memory_order_relaxed);
  l.samples = samples.load(std::memory_order_relaxed);
  l.tenacity = tenacity.load(std::memory_order_relaxed);
  l.lfu_log_factor = lfu_log_factor.load(std::memory_order_relaxed);
  l.lfu_decay_time = lfu_decay_time.load(std::memory_order_relaxed);
  return l;
}

LiveLimits& live() {
  static LiveLimits l;
  return l;
}

}  // namespace lfdb::db::memory
