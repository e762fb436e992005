#include "dispatch/transaction_cutter.hpp"

#include <string>

#include "resp/request_parser.hpp"

namespace lfdb::dispatch {

namespace {
bool is(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != lower[i]) return false;
  }
  return true;
}
}  // namespace

lf::Status cut_transactions(std::string_view input, TransactionBatch& out) {
  out.clear();
  // A fresh parser each time: the input restarts at the first incomplete transaction, which
  // the parser's resume-where-you-stopped contract would not allow.
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  std::size_t pos = 0;
  bool in_block = false;
  std::size_t block_args = 0, block_commands = 0;  // where the open block started in out
  while (pos < input.size()) {
    const resp::RequestResult r = parser.parse(input.substr(pos), argv);
    if (r.failed()) {
      return lf::Status::error("replication stream: " + std::string(resp::error_message(r)));
    }
    if (!r.complete()) break;
    pos += r.consumed;
    if (is(argv[0], "multi")) {
      if (in_block) return lf::Status::error("replication stream: MULTI inside MULTI");
      in_block = true;
      block_args = out.args.size();
      block_commands = out.command_ends.size();
      continue;
    }
    if (is(argv[0], "exec")) {
      if (!in_block) return lf::Status::error("replication stream: EXEC without MULTI");
      in_block = false;
      out.txn_ends.push_back(static_cast<std::uint32_t>(out.command_ends.size()));
      out.consumed = pos;
      continue;
    }
    out.args.insert(out.args.end(), argv.begin(), argv.end());
    out.command_ends.push_back(static_cast<std::uint32_t>(out.args.size()));
    if (!in_block) {
      out.txn_ends.push_back(static_cast<std::uint32_t>(out.command_ends.size()));
      out.consumed = pos;
    }
  }
  if (in_block) {  // the rest of the block is still on its way: leave it for the next call
    out.args.resize(block_args);
    out.command_ends.resize(block_commands);
  }
  return lf::Status();
}

}  // namespace lfdb::dispatch
