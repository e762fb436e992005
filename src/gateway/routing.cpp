#include "gateway/routing.hpp"

namespace lfdb::gateway {

CommandRoute classify(const commands::CommandSpec& spec) {
  const std::string_view n = spec.name;
  if (n == "ping" || n == "echo" || n == "hello" || n == "auth" || n == "quit" || n == "select" ||
      n == "client|id" || n == "client|setname" || n == "client|getname" || n == "client|help" ||
      n == "info") {
    return {Route::kLocal, Merge::kNone};
  }
  if (n == "multi" || n == "exec" || n == "discard" || n == "watch" || n == "unwatch") {
    return {Route::kTransaction, Merge::kNone};
  }
  if (n == "mget") return {Route::kSplit, Merge::kMget};
  if (n == "mset") return {Route::kSplit, Merge::kAllOk};
  if (n == "del" || n == "unlink" || n == "exists" || n == "touch") return {Route::kSplit, Merge::kSum};
  if (n == "dbsize") return {Route::kFanout, Merge::kSum};
  if (n == "flushall" || n == "flushdb") return {Route::kFanout, Merge::kAllOk};
  if (n == "keys") return {Route::kFanout, Merge::kConcat};
  // Scripts: loaded into and flushed from every shard, so EVALSHA finds them wherever its keys
  // live. EVAL/EVALSHA go where their declared keys are (one shard, or CROSSSLOT).
  if (n == "script|load") return {Route::kFanout, Merge::kSame};
  if (n == "script|flush") return {Route::kFanout, Merge::kAllOk};
  if (n == "script|kill") return {Route::kFanout, Merge::kAnyOk};
  if (n == "scan" || n == "randomkey" || n == "shutdown" || n.starts_with("config|get") ||
      n.starts_with("config|set") || n == "config|resetstat" || n == "client|list" ||
      n == "client|kill" || n == "client|info" || n == "client|no-evict" || n == "client|no-touch") {
    return {Route::kUnsupported, Merge::kNone};
  }
  if (spec.first_key > 0) return {Route::kKeyed, Merge::kNone};
  return {Route::kAnyShard, Merge::kNone};
}

Router::Router(const std::vector<ShardConfig>& shards) : shards_(static_cast<int>(shards.size())) {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (int s = shards[i].slot_lo; s <= shards[i].slot_hi; ++s) {
      slot_to_shard_[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(i);
    }
  }
}

}  // namespace lfdb::gateway
