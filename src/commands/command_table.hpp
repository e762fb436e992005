// The command table as data: for every command lfdb knows, its name, arity, flags, where its keys
// are, and how it declares itself to the hue scheduler. lfdb-server binds a handler to each
// entry; lfdb-gateway validates (unknown command, wrong arity, denied commands) and routes (key
// positions) with the very same table, so the two tiers can never disagree about a command.
//
// Arity follows Redis: N > 0 means exactly N arguments (the name included); -N means at least N.
// Key positions too: first/last/step, last = -1 for "to the end" (MSET: 1, -1, 2).
// Container commands (CLIENT, CONFIG, COMMAND, OBJECT) have subcommand entries of their own.
//
// Thread-safety: the table is immutable static data; every function here is pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lfdb::commands {

enum Flag : std::uint32_t {
  kWrite = 1u << 0,      // may modify the keyspace (logged, refused on replicas)
  kReadonly = 1u << 1,   // reads data only
  kAdmin = 1u << 2,      // server administration (the gateway denies it unless allowed)
  kNoScript = 1u << 3,   // not allowed from scripts
  kFast = 1u << 4,       // O(1) or O(log N)
  kNoAuth = 1u << 5,     // allowed before AUTH
  kNoMulti = 1u << 6,    // executed at once even inside MULTI (EXEC, DISCARD, WATCH...)
  kDenyInMulti = 1u << 7,  // refused inside MULTI, which then aborts (SAVE, SHUTDOWN: no-multi)
  kDangerous = 1u << 8,  // FLUSHALL, KEYS, SHUTDOWN...: refused by the gateway unless allowed
  kConnection = 1u << 9, // acts on the connection only (the gateway answers it itself)
  kRandom = 1u << 10,    // result not deterministic (RANDOMKEY, HRANDFIELD, TIME)
  kNumKeys = 1u << 11,   // keys follow a count: argv[first_key - 1] keys from first_key (EVAL)
  kDenyOom = 1u << 12,   // may grow memory use (Redis refuses it past maxmemory; lfdb reports it)
  kDestKey = 1u << 13,   // with kNumKeys: argv[1] is a key too, before the count (ZUNIONSTORE)
  kBlocking = 1u << 14,  // may block the connection until a key is written (BLPOP, BZPOPMIN...)
  kStreamKeys = 1u << 15,  // keys are the first half of what follows STREAMS (XREAD, XREADGROUP)
  // Behaviour a session or a replay gives a command, decided here instead of by its name:
  kAllowBusy = 1u << 16,    // answered while a script is busy (Redis's allow-busy: AUTH, SCRIPT KILL)
  kSubscribed = 1u << 17,   // answered in RESP2 subscribed mode, besides the subscribe family
  kLeavesMulti = 1u << 18,  // ends a transaction without running it (DISCARD, QUIT, RESET): inside
                            // MULTI never refused for memory
  kSecretArgs = 1u << 19,   // its arguments may carry a password: kept out of the slow log
  kSelectsDb = 1u << 20,    // moves the database the next commands apply to (SELECT): in a script
                            // the script's own, in a logged stream the stream's
  kMayReplicate = 1u << 21,  // reaches the replication stream without a write flag (PUBLISH, PFCOUNT,
                             // EVAL): CLIENT PAUSE WRITE holds it; read-only scripts refuse it
  kKeysOption = 1u << 22,  // a KEYS option, when given, names the keys instead of first_key (MIGRATE)
};

// How a command's invocations are scheduled (docs/hue.md, "How the server declares its
// commands"). The server turns each class into one hue::Touches declaration.
enum class HueClass : std::uint8_t {
  kFree,          // touches nothing shared (PING, ECHO, TIME, connection state)
  kKeyRead,       // reads its keys' partitions
  kKeyWrite,      // writes its keys' partitions
  kKeyspaceRead,  // reads every partition (KEYS, SCAN, RANDOMKEY): all colors, shared
  kKeyspaceCount, // reads counters kept atomically (DBSIZE): no color needed
  kKeyspaceWrite, // replaces the keyspace (FLUSHALL, FLUSHDB): alone
  kConfigRead,
  kConfigWrite,
  kTransaction,   // EXEC: the colors of every queued key, or alone (server decides)
  kPubsubRead,    // reads the subscriptions (PUBLISH, PUBSUB): next to each other
  kPubsubWrite,   // changes them (the subscribe family): alone among pub/sub commands
  kAclRead,       // reads the ACL user registry (ACL GETUSER, LIST, DRYRUN)
  kAclWrite,      // changes it (ACL SETUSER, DELUSER): alone among ACL commands
  kUndeclared,    // conflicts with everything: serial and correct
};
const char* to_string(HueClass c);

struct CommandSpec {
  std::string_view name;       // lower case; "client|setname" for a subcommand
  int arity = 0;
  std::uint32_t flags = 0;
  int first_key = 0;           // 0: no keys
  int last_key = 0;
  int key_step = 0;
  HueClass hue = HueClass::kUndeclared;
  std::span<const CommandSpec> subcommands{};  // container commands only
  std::string_view group;      // "string", "generic", "hash", "list", "set", "sorted-set", "server", ...
  std::string_view summary;    // one line, for COMMAND DOCS

  bool has(std::uint32_t f) const { return (flags & f) != 0; }
  bool is_container() const { return !subcommands.empty(); }
  bool arity_ok(std::size_t argc) const {
    return arity >= 0 ? argc == static_cast<std::size_t>(arity)
                      : argc >= static_cast<std::size_t>(-arity);
  }
};

// Case-insensitive comparison of an argument against a lower-case literal (command and option
// names): the one comparison every tier uses.
inline bool iequal(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != lower[i]) return false;
  }
  return true;
}

// Every top-level command, in a stable order.
std::span<const CommandSpec> all_commands();

// Case-insensitive lookup; nullptr when unknown. No allocation.
const CommandSpec* find_command(std::string_view name);
// A container's subcommand (case-insensitive); nullptr when unknown.
const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name);

// Every spec, top-level and subcommand, has a dense index in [0, command_count()): tiers keep
// what they attach to a command (lfdb-server's handlers) in an array by that index.
std::size_t command_count();
std::uint16_t index_of(const CommandSpec& spec);
const CommandSpec& spec_at(std::uint16_t index);

// The one front door of both tiers: the spec a request names, or why it names none.
struct Resolved {
  enum class Failure : std::uint8_t { kNone, kUnknownCommand, kUnknownSubcommand, kArity };
  const CommandSpec* spec = nullptr;  // the subcommand's spec for a container command
  std::uint16_t index = 0;            // index_of(*spec); for kArity, of the command refused
  Failure failure = Failure::kNone;
  explicit operator bool() const { return spec != nullptr; }
  // Redis's error reply (without the leading '-') for a failure: unknown command, unknown
  // subcommand, or wrong number of arguments.
  std::string error(std::span<const std::string_view> argv) const;
};
// Looks argv[0] up (and argv[1] for a container that is given arguments) and checks the arity.
// No allocation on success. A container named alone (CONFIG) with an arity that allows it
// resolves to the container itself.
Resolved resolve(std::span<const std::string_view> argv);

// Calls fn(index) for every key argument of argv under spec (argv[0] is the name; for a
// subcommand spec, positions count from the container name as Redis does). Commands whose keys
// follow a count (kNumKeys: EVAL) need the arguments: use the overload that takes them; this
// one sees no keys for them.
template <typename Fn>
void for_each_key(const CommandSpec& spec, std::size_t argc, Fn&& fn) {
  if (spec.first_key <= 0 || spec.has(kNumKeys) || spec.has(kStreamKeys)) return;
  const long last = spec.last_key < 0 ? static_cast<long>(argc) + spec.last_key
                                      : static_cast<long>(spec.last_key);
  const long step = spec.key_step > 0 ? spec.key_step : 1;
  for (long i = spec.first_key; i <= last && i < static_cast<long>(argc); i += step) {
    fn(static_cast<std::size_t>(i));
  }
}

// EVAL, EVALSHA, FCALL and their _RO forms: a call that runs a script or function on the keys
// it declares (not SCRIPT or FUNCTION, whose group they share).
inline bool runs_script(const CommandSpec& spec) {
  return spec.has(kNumKeys) && spec.group == "scripting";  // the flag first: per command
}

// The number of keys a kNumKeys command declares, clamped to the arguments there are; -1 when
// the count is not a non-negative integer (the handler reports the error).
long declared_key_count(const CommandSpec& spec, std::span<const std::string_view> argv);

// XREAD's and XREADGROUP's keys: the options before STREAMS are read as the handler reads them
// (BLOCK n, COUNT n, GROUP g c, NOACK); the keys are the first half of what follows STREAMS.
// False when the options do not parse or the rest is unbalanced (the handler reports it, having
// touched no key).
bool stream_keys(std::span<const std::string_view> argv, std::size_t& first, std::size_t& count);

// MIGRATE's keys as Redis finds them: the options after the fixed arguments are skipped with
// their arguments (AUTH password, AUTH2 username password) until KEYS, whose followers are the
// keys; `first` 0 when there is no KEYS option (the key is argv[first_key]). False when KEYS is
// given but the key argument is not empty (the handler reports it; nothing is a key).
bool keys_option_keys(const CommandSpec& spec, std::span<const std::string_view> argv,
                      std::size_t& first, std::size_t& count);

template <typename Fn>
void for_each_key(const CommandSpec& spec, std::span<const std::string_view> argv, Fn&& fn) {
  if (spec.has(kKeysOption)) {
    std::size_t first = 0, count = 0;
    if (!keys_option_keys(spec, argv, first, count)) return;
    if (first == 0) return for_each_key(spec, argv.size(), fn);
    for (std::size_t i = 0; i < count; ++i) fn(first + i);
    return;
  }
  if (spec.has(kStreamKeys)) {
    std::size_t first = 0, count = 0;
    if (!stream_keys(argv, first, count)) return;
    for (std::size_t i = 0; i < count; ++i) fn(first + i);
    return;
  }
  if (!spec.has(kNumKeys)) return for_each_key(spec, argv.size(), fn);
  const long n = declared_key_count(spec, argv);
  if (spec.has(kDestKey) && argv.size() > 1) fn(std::size_t{1});
  for (long i = 0; i < n; ++i) fn(static_cast<std::size_t>(spec.first_key + i));
}

// Redis's error replies for validation failures (without the leading '-').
std::string unknown_command_error(std::span<const std::string_view> argv);
std::string wrong_arity_error(std::string_view spec_name);  // "client|setname" -> as Redis
std::string unknown_subcommand_error(std::string_view container, std::string_view sub);

// Key hashing shared by the server (colors) and the gateway (slots): only the part between the
// first '{' and the next '}' counts, when that part is non-empty (Redis Cluster's hash tags).
std::string_view hash_tag(std::string_view key);
std::uint64_t key_hash(std::string_view key);        // xxh3 of the hash tag
std::uint16_t key_slot(std::string_view key);        // CRC16(tag) mod 16384, as Redis Cluster

}  // namespace lfdb::commands
