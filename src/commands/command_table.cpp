#include "commands/command_table.hpp"

#include <xxhash.h>

#include <array>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace lfdb::commands {
namespace {

using H = HueClass;
constexpr std::uint32_t W = kWrite, R = kReadonly, A = kAdmin, NS = kNoScript, F = kFast,
                        NA = kNoAuth, NM = kNoMulti, DM = kDenyInMulti, D = kDangerous,
                        C = kConnection, RND = kRandom, NK = kNumKeys,
                        DO = kDenyOom, DK = kDestKey, B = kBlocking, MR = kMayReplicate,
                        KO = kKeysOption;

constexpr CommandSpec kClientSubs[] = {
    {"client|id", 2, NS | F | C, 0, 0, 0, H::kFree, {}, "connection", "Returns the client ID for the current connection."},
    {"client|setname", 3, NS | F | C, 0, 0, 0, H::kFree, {}, "connection", "Sets the connection name."},
    {"client|getname", 2, NS | F | C, 0, 0, 0, H::kFree, {}, "connection", "Returns the name of the connection."},
    {"client|list", -2, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Lists open connections."},
    {"client|kill", -3, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Terminates open connections."},
    {"client|info", 2, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Returns information about the connection."},
    {"client|no-evict", 3, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Sets the client eviction mode of the connection."},
    {"client|no-touch", 3, NS | F | C, 0, 0, 0, H::kFree, {}, "connection", "Controls whether commands sent by the client affect the LRU/LFU of accessed keys."},
    {"client|help", 2, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Returns helpful text about the different subcommands."},
    {"client|reply", 3, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Instructs the server whether to reply to commands."},
    // CLIENT PAUSE / UNPAUSE: the pause state is a monitor of its own (db/client_pause.hpp).
    {"client|pause", -3, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Suspends commands processing."},
    {"client|unpause", 2, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Resumes processing of clients that were paused."},
    {"client|unblock", -3, A | NS | D | C, 0, 0, 0, H::kFree, {}, "connection", "Unblocks a client blocked by a blocking command from a different connection."},
    {"client|tracking", -3, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Controls server-assisted client-side caching for the connection."},
    {"client|caching", 3, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Instructs the server whether to track the keys in the next request."},
    {"client|getredir", 2, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Returns the client ID to which the connection's tracking notifications are redirected."},
    {"client|trackinginfo", 2, NS | C, 0, 0, 0, H::kFree, {}, "connection", "Returns information about server-assisted client-side caching for the connection."},
};
// ACL (db/acl/): the user registry is the hue global "acl"; SETUSER and DELUSER write it.
constexpr CommandSpec kAclSubs[] = {
    {"acl|cat", -2, NS, 0, 0, 0, H::kFree, {}, "server", "Lists the ACL categories, or the commands inside a category."},
    {"acl|deluser", -3, A | NS | D, 0, 0, 0, H::kAclWrite, {}, "server", "Deletes ACL users, and terminates their connections."},
    {"acl|dryrun", -4, A | NS | D, 0, 0, 0, H::kAclRead, {}, "server", "Simulates the execution of a command by a user, without executing the command."},
    {"acl|genpass", -2, NS, 0, 0, 0, H::kFree, {}, "server", "Generates a pseudorandom, secure password that can be used to identify ACL users."},
    {"acl|getuser", 3, A | NS | D, 0, 0, 0, H::kAclRead, {}, "server", "Lists the ACL rules of a user."},
    {"acl|help", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns helpful text about the different subcommands."},
    {"acl|list", 2, A | NS | D, 0, 0, 0, H::kAclRead, {}, "server", "Dumps the effective rules in ACL file format."},
    {"acl|load", 2, A | NS | D, 0, 0, 0, H::kAclWrite, {}, "server", "Reloads the rules from the configured ACL file."},
    {"acl|log", -2, A | NS | D, 0, 0, 0, H::kFree, {}, "server", "Lists recent security events generated due to ACL rules."},
    {"acl|save", 2, A | NS | D, 0, 0, 0, H::kAclRead, {}, "server", "Saves the effective ACL rules in the configured ACL file."},
    {"acl|setuser", -3, A | NS | D, 0, 0, 0, H::kAclWrite, {}, "server", "Creates and modifies an ACL user and its rules."},
    {"acl|users", 2, A | NS | D, 0, 0, 0, H::kAclRead, {}, "server", "Lists all ACL users."},
    {"acl|whoami", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns the authenticated username of the current connection."},
};
constexpr CommandSpec kConfigSubs[] = {
    {"config|get", -3, A | NS | D, 0, 0, 0, H::kConfigRead, {}, "server", "Returns the effective values of configuration parameters."},
    {"config|set", -4, A | NS | D, 0, 0, 0, H::kConfigWrite, {}, "server", "Sets configuration parameters in-flight."},
    {"config|resetstat", 2, A | NS | D, 0, 0, 0, H::kFree, {}, "server", "Resets the server's statistics."},
    {"config|rewrite", 2, A | NS | D, 0, 0, 0, H::kFree, {}, "server", "Persists the effective configuration to file."},
    {"config|help", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns helpful text about the different subcommands."},
};
constexpr CommandSpec kLatencySubs[] = {
    {"latency|latest", 2, A | NS, 0, 0, 0, H::kFree, {}, "server", "Returns the latest latency samples for all events."},
    {"latency|history", 3, A | NS, 0, 0, 0, H::kFree, {}, "server", "Returns timestamp-latency samples for an event."},
    {"latency|reset", -2, A | NS, 0, 0, 0, H::kFree, {}, "server", "Resets the latency data for one or more events."},
    {"latency|doctor", 2, A | NS, 0, 0, 0, H::kFree, {}, "server", "Returns a human-readable latency analysis report."},
    {"latency|graph", 3, A | NS, 0, 0, 0, H::kFree, {}, "server", "Returns a latency graph for an event."},
    {"latency|histogram", -2, A | NS, 0, 0, 0, H::kFree, {}, "server", "Returns the cumulative distribution of latencies of a subset or all commands."},
    {"latency|help", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns helpful text about the different subcommands."},
};
constexpr CommandSpec kSlowlogSubs[] = {
    {"slowlog|get", -2, A, 0, 0, 0, H::kFree, {}, "server", "Returns the slow log's entries."},
    {"slowlog|len", 2, A, 0, 0, 0, H::kFree, {}, "server", "Returns the number of entries in the slow log."},
    {"slowlog|reset", 2, A, 0, 0, 0, H::kFree, {}, "server", "Clears all entries from the slow log."},
    {"slowlog|help", 2, 0, 0, 0, 0, H::kFree, {}, "server", "Show helpful text about the different subcommands"},
};
constexpr CommandSpec kCommandSubs[] = {
    {"command|count", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns a count of commands."},
    {"command|info", -2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns information about one, multiple or all commands."},
    {"command|docs", -2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns documentary information about one, multiple or all commands."},
    {"command|list", -2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns a list of command names."},
    {"command|getkeys", -4, NS, 0, 0, 0, H::kFree, {}, "server", "Extracts the key names from an arbitrary command."},
    {"command|getkeysandflags", -4, NS, 0, 0, 0, H::kFree, {}, "server", "Extracts the key names and access flags for an arbitrary command."},
    {"command|help", 2, NS, 0, 0, 0, H::kFree, {}, "server", "Returns helpful text about the different subcommands."},
};
// FUNCTION: the subcommands that change the libraries run alone and are logged (library_registry.hpp).
constexpr CommandSpec kFunctionSubs[] = {
    {"function|load", -3, W | DO | NS, 0, 0, 0, H::kKeyspaceWrite, {}, "scripting", "Creates a library."},
    {"function|delete", 3, W | NS, 0, 0, 0, H::kKeyspaceWrite, {}, "scripting", "Deletes a library and its functions."},
    {"function|flush", -2, W | NS, 0, 0, 0, H::kKeyspaceWrite, {}, "scripting", "Deletes all libraries and functions."},
    {"function|restore", -3, W | DO | NS, 0, 0, 0, H::kKeyspaceWrite, {}, "scripting", "Restores all libraries from a payload."},
    {"function|list", -2, NS, 0, 0, 0, H::kFree, {}, "scripting", "Returns information about all libraries."},
    {"function|dump", 2, NS, 0, 0, 0, H::kFree, {}, "scripting", "Dumps all libraries into a serialized binary payload."},
    {"function|stats", 2, NS | kAllowBusy, 0, 0, 0, H::kFree, {}, "scripting", "Returns information about a function during execution."},
    // Touches no key: it runs at once, next to the function it stops (as SCRIPT KILL).
    {"function|kill", 2, NS | kAllowBusy, 0, 0, 0, H::kFree, {}, "scripting", "Terminates a function during execution."},
    {"function|help", 2, 0, 0, 0, 0, H::kFree, {}, "scripting", "Returns helpful text about the different subcommands."},
};
// MEMORY (db/memory/): USAGE reads its key on the key's color; STATS and DOCTOR read the
// keyspace's counts, as DBSIZE does; the rest read the allocator's own figures.
constexpr CommandSpec kMemorySubs[] = {
    {"memory|usage", -3, R, 2, 2, 1, H::kKeyRead, {}, "server", "Estimates the memory usage of a key."},
    {"memory|stats", 2, 0, 0, 0, 0, H::kKeyspaceCount, {}, "server", "Returns details about memory usage."},
    {"memory|doctor", 2, 0, 0, 0, 0, H::kKeyspaceCount, {}, "server", "Outputs a memory problems report."},
    {"memory|malloc-stats", 2, 0, 0, 0, 0, H::kFree, {}, "server", "Returns the allocator statistics."},
    {"memory|purge", 2, 0, 0, 0, 0, H::kFree, {}, "server", "Asks the allocator to release memory."},
    {"memory|help", 2, 0, 0, 0, 0, H::kFree, {}, "server", "Returns helpful text about the different subcommands."},
};
constexpr CommandSpec kObjectSubs[] = {
    {"object|encoding", 3, R, 2, 2, 1, H::kKeyRead, {}, "generic", "Returns the internal encoding of a Redis object."},
    {"object|help", 2, R, 0, 0, 0, H::kFree, {}, "generic", "Returns helpful text about the different subcommands."},
    {"object|refcount", 3, R, 2, 2, 1, H::kKeyRead, {}, "generic", "Returns the reference count of a value of a key."},
    {"object|freq", 3, R, 2, 2, 1, H::kKeyRead, {}, "generic", "Returns the logarithmic access frequency counter of a Redis object."},
    {"object|idletime", 3, R, 2, 2, 1, H::kKeyRead, {}, "generic", "Returns the time since the last access to a Redis object."},
};

// Streams (lfdb-server: db/stream/). XGROUP's and XINFO's keys count from the container name.
constexpr CommandSpec kXgroupSubs[] = {
    {"xgroup|create", -5, W | DO, 2, 2, 1, H::kKeyWrite, {}, "stream", "Creates a consumer group."},
    {"xgroup|setid", -5, W, 2, 2, 1, H::kKeyWrite, {}, "stream", "Sets the last-delivered ID of a consumer group."},
    {"xgroup|destroy", 4, W, 2, 2, 1, H::kKeyWrite, {}, "stream", "Destroys a consumer group."},
    {"xgroup|createconsumer", 5, W | DO, 2, 2, 1, H::kKeyWrite, {}, "stream", "Creates a consumer in a consumer group."},
    {"xgroup|delconsumer", 5, W, 2, 2, 1, H::kKeyWrite, {}, "stream", "Deletes a consumer from a consumer group."},
    {"xgroup|help", 2, 0, 0, 0, 0, H::kFree, {}, "stream", "Returns helpful text about the different subcommands."},
};
constexpr CommandSpec kXinfoSubs[] = {
    {"xinfo|stream", -3, R, 2, 2, 1, H::kKeyRead, {}, "stream", "Returns information about a stream."},
    {"xinfo|groups", 3, R, 2, 2, 1, H::kKeyRead, {}, "stream", "Returns a list of the consumer groups of a stream."},
    {"xinfo|consumers", 4, R, 2, 2, 1, H::kKeyRead, {}, "stream", "Returns a list of the consumers in a consumer group."},
    {"xinfo|help", 2, 0, 0, 0, 0, H::kFree, {}, "stream", "Returns helpful text about the different subcommands."},
};

constexpr CommandSpec kScriptSubs[] = {
    {"script|load", 3, NS, 0, 0, 0, H::kFree, {}, "scripting", "Loads a server-side Lua script to the script cache."},
    {"script|exists", -3, NS, 0, 0, 0, H::kFree, {}, "scripting", "Determines whether server-side Lua scripts exist in the script cache."},
    {"script|flush", -2, NS, 0, 0, 0, H::kFree, {}, "scripting", "Removes all server-side Lua scripts from the script cache."},
    {"script|help", 2, NS, 0, 0, 0, H::kFree, {}, "scripting", "Returns helpful text about the different subcommands."},
    // Touches no key: it runs at once, next to the script it stops (which holds its colors).
    {"script|kill", 2, NS | kAllowBusy, 0, 0, 0, H::kFree, {}, "scripting", "Terminates a server-side Lua script during execution."},
};

constexpr CommandSpec kPubsubSubs[] = {
    {"pubsub|channels", -2, 0, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Returns the active channels."},
    {"pubsub|numpat", 2, 0, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Returns a count of unique pattern subscriptions."},
    {"pubsub|numsub", -2, 0, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Returns a count of subscribers to channels."},
    {"pubsub|shardchannels", -2, 0, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Returns the active shard channels."},
    {"pubsub|shardnumsub", -2, 0, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Returns the count of subscribers of shard channels."},
    {"pubsub|help", 2, 0, 0, 0, 0, H::kFree, {}, "pubsub", "Returns helpful text about the different subcommands."},
};

// CLUSTER: lfdb-server is not a cluster node (the gateway is lfdb's cluster), so every
// subcommand answers as a Redis 7.0 server without cluster mode does: listed in COMMAND with
// Redis's arity and flags, refused when called (db/cmd_server.cpp).
constexpr CommandSpec kClusterSubs[] = {
    {"cluster|addslots", -3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Assign new hash slots to receiving node"},
    {"cluster|addslotsrange", -4, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Assign new hash slots to receiving node"},
    {"cluster|bumpepoch", 2, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Advance the cluster config epoch"},
    {"cluster|count-failure-reports", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Return the number of failure reports active for a given node"},
    {"cluster|countkeysinslot", 3, 0, 0, 0, 0, H::kFree, {}, "cluster", "Return the number of local keys in the specified hash slot"},
    {"cluster|delslots", -3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Set hash slots as unbound in receiving node"},
    {"cluster|delslotsrange", -4, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Set hash slots as unbound in receiving node"},
    {"cluster|failover", -2, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Forces a replica to perform a manual failover of its master."},
    {"cluster|flushslots", 2, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Delete a node's own slots information"},
    {"cluster|forget", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Remove a node from the nodes table"},
    {"cluster|getkeysinslot", 4, 0, 0, 0, 0, H::kFree, {}, "cluster", "Return local key names in the specified hash slot"},
    {"cluster|help", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Show helpful text about the different subcommands"},
    {"cluster|info", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Provides info about Redis Cluster node state"},
    {"cluster|keyslot", 3, 0, 0, 0, 0, H::kFree, {}, "cluster", "Returns the hash slot of the specified key"},
    {"cluster|links", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Returns a list of all TCP links to and from peer nodes in cluster"},
    {"cluster|meet", -4, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Force a node cluster to handshake with another node"},
    {"cluster|myid", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Return the node id"},
    {"cluster|nodes", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Get Cluster config for the node"},
    {"cluster|replicas", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "List replica nodes of the specified master node"},
    {"cluster|replicate", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Reconfigure a node as a replica of the specified master node"},
    {"cluster|reset", -2, A | NS | D, 0, 0, 0, H::kFree, {}, "cluster", "Reset a Redis Cluster node"},
    {"cluster|saveconfig", 2, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Forces the node to save cluster state on disk"},
    {"cluster|set-config-epoch", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Set the configuration epoch in a new node"},
    {"cluster|setslot", -4, A | D, 0, 0, 0, H::kFree, {}, "cluster", "Bind a hash slot to a specific node"},
    {"cluster|shards", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Get array of cluster slots to node mappings"},
    {"cluster|slaves", 3, A | D, 0, 0, 0, H::kFree, {}, "cluster", "List replica nodes of the specified master node"},
    {"cluster|slots", 2, 0, 0, 0, 0, H::kFree, {}, "cluster", "Get array of Cluster slot to node mappings"},
};

constexpr CommandSpec kCommands[] = {
    // connection
    // Shard channels are keys in Redis's key specs (for cluster routing); here they name no
    // partition, so they declare none: the gateway will route them by slot itself.
    {"subscribe", -2, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Listens for messages published to channels."},
    {"psubscribe", -2, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Listens for messages published to channels that match one or more patterns."},
    {"ssubscribe", -2, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Listens for messages published to shard channels."},
    {"unsubscribe", -1, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Stops listening to messages posted to channels."},
    {"punsubscribe", -1, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Stops listening to messages published to channels that match one or more patterns."},
    {"sunsubscribe", -1, NS, 0, 0, 0, H::kPubsubWrite, {}, "pubsub", "Stops listening to messages posted to shard channels."},
    {"wait", 3, NS, 0, 0, 0, H::kFree, {}, "generic", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed."},
    {"publish", 3, F | MR, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Posts a message to a channel."},
    {"spublish", 3, F | MR, 0, 0, 0, H::kPubsubRead, {}, "pubsub", "Post a message to a shard channel"},
    {"pubsub", -2, 0, 0, 0, 0, H::kFree, kPubsubSubs, "pubsub", "A container for Pub/Sub commands."},
    {"ping", -1, F | kSubscribed, 0, 0, 0, H::kFree, {}, "connection", "Returns the server's liveliness response."},
    {"echo", 2, F, 0, 0, 0, H::kFree, {}, "connection", "Returns the given string."},
    {"hello", -1, NS | F | NA | C | kAllowBusy | kSecretArgs, 0, 0, 0, H::kFree, {}, "connection", "Handshakes with the server."},
    {"auth", -2, NS | F | NA | C | kAllowBusy | kSecretArgs, 0, 0, 0, H::kFree, {}, "connection", "Authenticates the connection."},
    {"acl", -2, 0, 0, 0, 0, H::kFree, kAclSubs, "server", "A container for Access List Control commands."},
    {"select", 2, F | C | kSelectsDb, 0, 0, 0, H::kFree, {}, "connection", "Changes the selected database."},
    {"quit", -1, NS | F | NA | NM | C | kAllowBusy | kSubscribed | kLeavesMulti, 0, 0, 0, H::kFree, {}, "connection", "Closes the connection."},
    {"reset", 1, NS | F | NA | NM | C | kSubscribed | kLeavesMulti, 0, 0, 0, H::kFree, {}, "connection", "Resets the connection."},
    {"client", -2, 0, 0, 0, 0, H::kFree, kClientSubs, "connection", "A container for client connection commands."},
    {"latency", -2, 0, 0, 0, 0, H::kFree, kLatencySubs, "server", "A container for latency diagnostics commands."},
    {"slowlog", -2, 0, 0, 0, 0, H::kFree, kSlowlogSubs, "server", "A container for slow log commands."},
    {"monitor", 1, A | NS | C, 0, 0, 0, H::kFree, {}, "server", "Listens for all requests received by the server in real-time."},
    {"cluster", -2, 0, 0, 0, 0, H::kFree, kClusterSubs, "cluster", "A container for cluster commands"},
    {"readonly", 1, F, 0, 0, 0, H::kFree, {}, "cluster", "Enables read queries for a connection to a cluster replica node"},
    {"readwrite", 1, F, 0, 0, 0, H::kFree, {}, "cluster", "Disables read queries for a connection to a cluster replica node"},
    {"asking", 1, F, 0, 0, 0, H::kFree, {}, "cluster", "Sent by cluster clients after an -ASK redirect"},
    // server
    {"command", -1, NS, 0, 0, 0, H::kFree, kCommandSubs, "server", "Returns detailed information about all commands."},
    {"info", -1, NS | D, 0, 0, 0, H::kKeyspaceCount, {}, "server", "Returns information and statistics about the server."},
    {"config", -2, 0, 0, 0, 0, H::kFree, kConfigSubs, "server", "A container for server configuration commands."},
    {"dbsize", 1, R | F, 0, 0, 0, H::kKeyspaceCount, {}, "server", "Returns the number of keys in the database."},
    {"flushdb", -1, W | D, 0, 0, 0, H::kKeyspaceWrite, {}, "server", "Removes all keys from the current database."},
    {"flushall", -1, W | D, 0, 0, 0, H::kKeyspaceWrite, {}, "server", "Removes all keys from all databases."},
    {"time", 1, F | RND, 0, 0, 0, H::kFree, {}, "server", "Returns the server time."},
    {"lolwut", -1, R | F, 0, 0, 0, H::kFree, {}, "server", "Displays computer art and the Redis version"},
    {"shutdown", -1, A | NS | D | DM | kAllowBusy, 0, 0, 0, H::kFree, {}, "server", "Synchronously saves the database(s) to disk and shuts down the server."},
    // scripting: a script runs on the colors of the keys it declares, atomically
    {"eval", -3, NS | NK | MR, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Executes a server-side Lua script."},
    {"evalsha", -3, NS | NK | MR, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Executes a server-side Lua script by SHA1 digest."},
    {"script", -2, 0, 0, 0, 0, H::kFree, kScriptSubs, "scripting", "A container for Lua scripts management commands."},
    {"eval_ro", -3, R | NS | NK, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Executes a read-only server-side Lua script."},
    {"evalsha_ro", -3, R | NS | NK, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Executes a read-only server-side Lua script by SHA1 digest."},
    {"fcall", -3, NS | NK | MR, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Invokes a function."},
    {"fcall_ro", -3, R | NS | NK, 3, 0, 1, H::kKeyWrite, {}, "scripting", "Invokes a read-only function."},
    {"function", -2, 0, 0, 0, 0, H::kFree, kFunctionSubs, "scripting", "A container for function commands."},
    {"save", 1, A | NS | DM, 0, 0, 0, H::kUndeclared, {}, "server", "Synchronously saves the database(s) to disk."},
    {"bgsave", -1, A | NS, 0, 0, 0, H::kUndeclared, {}, "server", "Asynchronously saves the database(s) to disk."},
    {"bgrewriteaof", 1, A | NS, 0, 0, 0, H::kUndeclared, {}, "server", "Asynchronously rewrites the append-only file to disk."},
    {"lastsave", 1, F | RND, 0, 0, 0, H::kFree, {}, "server", "Returns the Unix timestamp of the last successful save to disk."},
    {"debug", -2, A | NS | D, 0, 0, 0, H::kUndeclared, {}, "server", "lfdb: OBJECT, fault injection for tests (AOF-FAULT), when enable-debug-command is yes."},
    // replication (docs/replication.md): REPLICAOF and LFDB.SYNC run alone
    {"replicaof", 3, A | NS | NM | D, 0, 0, 0, H::kUndeclared, {}, "server", "Configures a server as replica of another, or promotes it to a master."},
    {"slaveof", 3, A | NS | NM | D, 0, 0, 0, H::kUndeclared, {}, "server", "Sets a Redis server as a replica of another, or promotes it to being a master."},
    {"role", 1, NS | F, 0, 0, 0, H::kFree, {}, "server", "Returns the replication role."},
    {"sync", 1, A | NS | NM | DM, 0, 0, 0, H::kUndeclared, {}, "server", "Internal command used for replication."},
    {"psync", -3, A | NS | NM | DM, 0, 0, 0, H::kUndeclared, {}, "server", "An internal command used in replication."},
    {"replconf", -1, A | NS, 0, 0, 0, H::kFree, {}, "server", "An internal command for configuring the replication stream."},
    {"lfdb.sync", -3, A | NS | DM | D, 0, 0, 0, H::kUndeclared, {}, "server", "lfdb: a replica asks to be streamed the log from <replid> <offset> (partial or full resync)."},
    // strings
    {"get", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "string", "Returns the string value of a key."},
    {"set", -3, W | DO, 1, 1, 1, H::kKeyWrite, {}, "string", "Sets the string value of a key, ignoring its type."},
    {"setnx", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Set the string value of a key only when the key doesn't exist."},
    {"setex", 4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "string", "Sets the string value and expiration time of a key."},
    {"psetex", 4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "string", "Sets both string value and expiration time in milliseconds of a key."},
    {"getset", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Returns the previous string value of a key after setting it to a new value."},
    {"getdel", 2, W | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Returns the string value of a key after deleting the key."},
    {"getex", -2, W | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Returns the string value of a key after setting its expiration time."},
    {"mget", -2, R | F, 1, -1, 1, H::kKeyRead, {}, "string", "Atomically returns the string values of one or more keys."},
    {"mset", -3, W | DO, 1, -1, 2, H::kKeyWrite, {}, "string", "Atomically creates or modifies the string values of one or more keys."},
    {"msetnx", -3, W | DO, 1, -1, 2, H::kKeyWrite, {}, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist."},
    {"append", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist."},
    {"strlen", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "string", "Returns the length of a string value."},
    {"getrange", 4, R, 1, 1, 1, H::kKeyRead, {}, "string", "Returns a substring of the string stored at a key."},
    {"substr", 4, R, 1, 1, 1, H::kKeyRead, {}, "string", "Returns a substring from a string value."},
    {"lcs", -3, R, 1, 2, 1, H::kKeyRead, {}, "string", "Finds the longest common substring."},
    {"setrange", 4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist."},
    {"geoadd", -5, W | DO, 1, 1, 1, H::kKeyWrite, {}, "geo", "Adds one or more members to a geospatial index. The key is created if it doesn't exist."},
    {"geodist", -4, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Returns the distance between two members of a geospatial index."},
    {"geohash", -2, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Returns members from a geospatial index as geohash strings."},
    {"geopos", -2, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Returns the longitude and latitude of members from a geospatial index."},
    // GEORADIUS's STORE key is found by keyword, not by position: it runs alone.
    {"georadius", -6, W | DO, 1, 1, 1, H::kUndeclared, {}, "geo", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result."},
    {"georadius_ro", -6, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Returns members from a geospatial index that are within a distance from a coordinate."},
    {"georadiusbymember", -5, W | DO, 1, 1, 1, H::kUndeclared, {}, "geo", "Queries a geospatial index for members within a distance from a member, optionally stores the result."},
    {"georadiusbymember_ro", -5, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Returns members from a geospatial index that are within a distance from a member."},
    {"geosearch", -7, R, 1, 1, 1, H::kKeyRead, {}, "geo", "Queries a geospatial index for members inside an area of a box or a circle."},
    {"geosearchstore", -8, W | DO, 1, 2, 1, H::kKeyWrite, {}, "geo", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result."},
    {"pfadd", -2, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hyperloglog", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."},
    // PFCOUNT reads, but refreshes the cached estimate inside the value: it holds its keys' colors alone.
    {"pfcount", -2, R | MR, 1, -1, 1, H::kKeyWrite, {}, "hyperloglog", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."},
    {"pfmerge", -2, W | DO, 1, -1, 1, H::kKeyWrite, {}, "hyperloglog", "Merges one or more HyperLogLog values into a single key."},
    {"pfdebug", 3, W | DO | A, 2, 2, 1, H::kKeyWrite, {}, "hyperloglog", "Internal commands for debugging HyperLogLog values."},
    {"pfselftest", 1, A, 0, 0, 0, H::kFree, {}, "hyperloglog", "An internal command for testing HyperLogLog values."},
    {"setbit", 4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "bitmap", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."},
    {"getbit", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "bitmap", "Returns a bit value by offset."},
    {"bitcount", -2, R, 1, 1, 1, H::kKeyRead, {}, "bitmap", "Counts the number of set bits (population counting) in a string."},
    {"bitpos", -3, R, 1, 1, 1, H::kKeyRead, {}, "bitmap", "Finds the first set (1) or clear (0) bit in a string."},
    {"bitop", -4, W | DO, 2, -1, 1, H::kKeyWrite, {}, "bitmap", "Performs bitwise operations on multiple strings, and stores the result."},
    {"bitfield", -2, W | DO, 1, 1, 1, H::kKeyWrite, {}, "bitmap", "Performs arbitrary bitfield integer operations on strings."},
    {"bitfield_ro", -2, R | F, 1, 1, 1, H::kKeyRead, {}, "bitmap", "Performs arbitrary read-only bitfield integer operations on strings."},
    {"incr", 2, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."},
    {"decr", 2, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."},
    {"incrby", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."},
    {"decrby", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."},
    {"incrbyfloat", 3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist."},
    // keys
    {"del", -2, W, 1, -1, 1, H::kKeyWrite, {}, "generic", "Deletes one or more keys."},
    {"unlink", -2, W | F, 1, -1, 1, H::kKeyWrite, {}, "generic", "Asynchronously deletes one or more keys."},
    {"exists", -2, R | F, 1, -1, 1, H::kKeyRead, {}, "generic", "Determines whether one or more keys exist."},
    {"type", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "generic", "Determines the type of value stored at a key."},
    {"rename", 3, W, 1, 2, 1, H::kKeyWrite, {}, "generic", "Renames a key and overwrites the destination."},
    {"renamenx", 3, W | F, 1, 2, 1, H::kKeyWrite, {}, "generic", "Renames a key only when the target key name doesn't exist."},
    // MOVE and COPY touch their keys' colors in two databases (a color is the key's, in every
    // database); SWAPDB moves every key of two databases: it runs alone.
    {"move", 3, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Moves a key to another database."},
    {"copy", -3, W | DO, 1, 2, 1, H::kKeyWrite, {}, "generic", "Copies the value of a key to a new key."},
    {"dump", 2, R, 1, 1, 1, H::kKeyRead, {}, "generic", "Returns a serialized representation of the value stored at a key."},
    {"restore", -4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "generic", "Creates a key from the serialized representation of a value."},
    // MIGRATE holds the server for up to its timeout while the target answers, as Redis's one
    // thread does; its KEYS form names keys the scheduler cannot see in advance: it runs alone.
    {"migrate", -6, W | D | KO | kSecretArgs, 3, 3, 1, H::kUndeclared, {}, "generic", "Atomically transfers a key from one Redis instance to another."},
    {"swapdb", 3, W | F | D, 0, 0, 0, H::kKeyspaceWrite, {}, "server", "Swaps two Redis databases."},
    {"keys", 2, R | D, 0, 0, 0, H::kKeyspaceRead, {}, "generic", "Returns all key names that match a pattern."},
    // SORT's BY and GET patterns name keys it does not declare: it runs alone, SORT_RO reads
    // every partition.
    {"sort", -2, W | DO, 1, 1, 1, H::kUndeclared, {}, "generic", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result."},
    {"sort_ro", -2, R, 1, 1, 1, H::kKeyspaceRead, {}, "generic", "Returns the sorted elements of a list, a set, or a sorted set."},
    {"scan", -2, R, 0, 0, 0, H::kKeyspaceRead, {}, "generic", "Iterates over the key names in the database."},
    {"randomkey", 1, R | RND, 0, 0, 0, H::kKeyspaceRead, {}, "generic", "Returns a random key name from the database."},
    {"touch", -2, R | F, 1, -1, 1, H::kKeyRead, {}, "generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed."},
    {"expire", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Sets the expiration time of a key in seconds."},
    {"pexpire", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Sets the expiration time of a key in milliseconds."},
    {"expireat", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Sets the expiration time of a key to a Unix timestamp."},
    {"pexpireat", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp."},
    {"ttl", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "generic", "Returns the expiration time in seconds of a key."},
    {"pttl", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "generic", "Returns the expiration time in milliseconds of a key."},
    {"expiretime", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "generic", "Returns the expiration time of a key as a Unix timestamp."},
    {"pexpiretime", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp."},
    {"persist", 2, W | F, 1, 1, 1, H::kKeyWrite, {}, "generic", "Removes the expiration time of a key."},
    {"object", -2, 0, 0, 0, 0, H::kFree, kObjectSubs, "generic", "A container for object introspection commands."},
    {"memory", -2, 0, 0, 0, 0, H::kFree, kMemorySubs, "server", "A container for memory diagnostics commands."},
    // hashes
    {"hset", -4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Creates or modifies the value of a field in a hash."},
    {"hsetnx", 4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Sets the value of a field in a hash only when the field doesn't exist."},
    {"hget", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns the value of a field in a hash."},
    {"hmget", -3, R | F, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns the values of all fields in a hash."},
    {"hmset", -4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Sets the values of multiple fields."},
    {"hgetall", 2, R, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns all fields and values in a hash."},
    {"hdel", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."},
    {"hlen", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns the number of fields in a hash."},
    {"hexists", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "hash", "Determines whether a field exists in a hash."},
    {"hkeys", 2, R, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns all fields in a hash."},
    {"hvals", 2, R, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns all values in a hash."},
    {"hincrby", 4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."},
    {"hincrbyfloat", 4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."},
    {"hstrlen", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns the length of the value of a field."},
    {"hrandfield", -2, R | RND, 1, 1, 1, H::kKeyRead, {}, "hash", "Returns one or more random fields from a hash."},
    {"hscan", -3, R, 1, 1, 1, H::kKeyRead, {}, "hash", "Iterates over fields and values of a hash."},
    // lists (no blocking commands: BLPOP and the like stay unknown)
    {"lpush", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist."},
    {"rpush", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Appends one or more elements to a list. Creates the key if it doesn't exist."},
    {"lpushx", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Prepends one or more elements to a list only when the list exists."},
    {"rpushx", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Appends an element to a list only when the list exists."},
    {"lpop", -2, W | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."},
    {"rpop", -2, W | F, 1, 1, 1, H::kKeyWrite, {}, "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped."},
    {"llen", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "list", "Returns the length of a list."},
    {"lrange", 4, R, 1, 1, 1, H::kKeyRead, {}, "list", "Returns a range of elements from a list."},
    {"lindex", 3, R, 1, 1, 1, H::kKeyRead, {}, "list", "Returns an element from a list by its index."},
    {"lset", 4, W | DO, 1, 1, 1, H::kKeyWrite, {}, "list", "Sets the value of an element in a list by its index."},
    {"lrem", 4, W, 1, 1, 1, H::kKeyWrite, {}, "list", "Removes elements from a list. Deletes the list if the last element was removed."},
    {"ltrim", 4, W, 1, 1, 1, H::kKeyWrite, {}, "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed."},
    {"linsert", 5, W | DO, 1, 1, 1, H::kKeyWrite, {}, "list", "Inserts an element before or after another element in a list."},
    {"lpos", -3, R, 1, 1, 1, H::kKeyRead, {}, "list", "Returns the index of matching elements in a list."},
    {"lmove", 5, W | DO, 1, 2, 1, H::kKeyWrite, {}, "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."},
    {"rpoplpush", 3, W | DO, 1, 2, 1, H::kKeyWrite, {}, "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."},
    // Blocking pops (lfdb-server: db/blocking/): the keys come before the timeout.
    {"blpop", -3, W | NS | B, 1, -2, 1, H::kKeyWrite, {}, "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    {"brpop", -3, W | NS | B, 1, -2, 1, H::kKeyWrite, {}, "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    {"brpoplpush", 4, W | DO | NS | B, 1, 2, 1, H::kKeyWrite, {}, "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped."},
    {"blmove", 6, W | DO | NS | B, 1, 2, 1, H::kKeyWrite, {}, "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved."},
    {"lmpop", -4, W | NK, 2, 0, 1, H::kKeyWrite, {}, "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."},
    {"blmpop", -5, W | NK | B, 3, 0, 1, H::kKeyWrite, {}, "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped."},
    // streams (lfdb-server: db/stream/): XREAD's and XREADGROUP's keys follow STREAMS
    {"xadd", -5, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "Appends a new message to a stream. Creates the key if it doesn't exist."},
    {"xrange", -4, R, 1, 1, 1, H::kKeyRead, {}, "stream", "Returns the messages from a stream within a range of IDs."},
    {"xrevrange", -4, R, 1, 1, 1, H::kKeyRead, {}, "stream", "Returns the messages from a stream within a range of IDs in reverse order."},
    {"xlen", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "stream", "Return the number of messages in a stream."},
    {"xdel", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "Returns the number of messages after removing them from a stream."},
    {"xtrim", -4, W, 1, 1, 1, H::kKeyWrite, {}, "stream", "Deletes messages from the beginning of a stream."},
    {"xsetid", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "An internal command for replicating stream values."},
    {"xread", -4, R | B | kStreamKeys, 1, 0, 1, H::kKeyWrite, {}, "stream", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise."},
    {"xreadgroup", -7, W | B | kStreamKeys, 1, 0, 1, H::kKeyWrite, {}, "stream", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise."},
    {"xack", -4, W | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream."},
    {"xpending", -3, R, 1, 1, 1, H::kKeyRead, {}, "stream", "Returns the information and entries from a stream consumer group's pending entries list."},
    {"xclaim", -6, W | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member."},
    {"xautoclaim", -6, W | F, 1, 1, 1, H::kKeyWrite, {}, "stream", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member."},
    {"xgroup", -2, 0, 0, 0, 0, H::kFree, kXgroupSubs, "stream", "A container for consumer groups commands."},
    {"xinfo", -2, 0, 0, 0, 0, H::kFree, kXinfoSubs, "stream", "A container for stream introspection commands."},
    // sets
    {"sadd", -3, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "set", "Adds one or more members to a set. Creates the key if it doesn't exist."},
    {"srem", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "set", "Removes one or more members from a set. Deletes the set if the last member was removed."},
    {"smembers", 2, R, 1, 1, 1, H::kKeyRead, {}, "set", "Returns all members of a set."},
    {"sismember", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "set", "Determines whether a member belongs to a set."},
    {"smismember", -3, R | F, 1, 1, 1, H::kKeyRead, {}, "set", "Determines whether multiple members belong to a set."},
    {"scard", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "set", "Returns the number of members in a set."},
    {"spop", -2, W | RND | F, 1, 1, 1, H::kKeyWrite, {}, "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."},
    {"srandmember", -2, R | RND, 1, 1, 1, H::kKeyRead, {}, "set", "Get one or multiple random members from a set"},
    {"sinter", -2, R, 1, -1, 1, H::kKeyRead, {}, "set", "Returns the intersect of multiple sets."},
    {"sunion", -2, R, 1, -1, 1, H::kKeyRead, {}, "set", "Returns the union of multiple sets."},
    {"sdiff", -2, R, 1, -1, 1, H::kKeyRead, {}, "set", "Returns the difference of multiple sets."},
    {"sinterstore", -3, W | DO, 1, -1, 1, H::kKeyWrite, {}, "set", "Stores the intersect of multiple sets in a key."},
    {"sunionstore", -3, W | DO, 1, -1, 1, H::kKeyWrite, {}, "set", "Stores the union of multiple sets in a key."},
    {"sdiffstore", -3, W | DO, 1, -1, 1, H::kKeyWrite, {}, "set", "Stores the difference of multiple sets in a key."},
    {"sintercard", -3, R | NK, 2, 0, 1, H::kKeyRead, {}, "set", "Returns the number of members of the intersect of multiple sets."},
    {"smove", 4, W | F, 1, 2, 1, H::kKeyWrite, {}, "set", "Moves a member from one set to another."},
    {"sscan", -3, R | RND, 1, 1, 1, H::kKeyRead, {}, "set", "Iterates over members of a set."},
    // sorted sets
    {"zadd", -4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."},
    {"zincrby", 4, W | DO | F, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Increments the score of a member in a sorted set."},
    {"zrem", -3, W | F, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."},
    {"zscore", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the score of a member in a sorted set."},
    {"zmscore", -3, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the score of one or more members in a sorted set."},
    {"zcard", 2, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the number of members in a sorted set."},
    {"zcount", 4, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the count of members in a sorted set that have scores within a range."},
    {"zlexcount", 4, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the number of members in a sorted set within a lexicographical range."},
    {"zrank", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the index of a member in a sorted set ordered by ascending scores."},
    {"zrevrank", 3, R | F, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns the index of a member in a sorted set ordered by descending scores."},
    {"zrange", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a range of indexes."},
    {"zrevrange", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a range of indexes in reverse order."},
    {"zrangebyscore", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a range of scores."},
    {"zrevrangebyscore", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a range of scores in reverse order."},
    {"zrangebylex", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a lexicographical range."},
    {"zrevrangebylex", -4, R, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns members in a sorted set within a lexicographical range in reverse order."},
    {"zpopmin", -2, W | F, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."},
    {"zpopmax", -2, W | F, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."},
    {"bzpopmin", -3, W | NS | F | B, 1, -2, 1, H::kKeyWrite, {}, "sorted-set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."},
    {"bzpopmax", -3, W | NS | F | B, 1, -2, 1, H::kKeyWrite, {}, "sorted-set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped."},
    {"zmpop", -4, W | NK, 2, 0, 1, H::kKeyWrite, {}, "sorted-set", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."},
    {"bzmpop", -5, W | NK | B, 3, 0, 1, H::kKeyWrite, {}, "sorted-set", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."},
    {"zremrangebyrank", 4, W, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."},
    {"zremrangebyscore", 4, W, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."},
    {"zremrangebylex", 4, W, 1, 1, 1, H::kKeyWrite, {}, "sorted-set", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."},
    {"zunionstore", -4, W | DO | NK | DK, 3, 0, 1, H::kKeyWrite, {}, "sorted-set", "Stores the union of multiple sorted sets in a key."},
    {"zinterstore", -4, W | DO | NK | DK, 3, 0, 1, H::kKeyWrite, {}, "sorted-set", "Stores the intersect of multiple sorted sets in a key."},
    {"zdiffstore", -4, W | DO | NK | DK, 3, 0, 1, H::kKeyWrite, {}, "sorted-set", "Stores the difference of multiple sorted sets in a key."},
    {"zunion", -3, R | NK, 2, 0, 1, H::kKeyRead, {}, "sorted-set", "Returns the union of multiple sorted sets."},
    {"zinter", -3, R | NK, 2, 0, 1, H::kKeyRead, {}, "sorted-set", "Returns the intersect of multiple sorted sets."},
    {"zdiff", -3, R | NK, 2, 0, 1, H::kKeyRead, {}, "sorted-set", "Returns the difference between multiple sorted sets."},
    {"zintercard", -3, R | NK, 2, 0, 1, H::kKeyRead, {}, "sorted-set", "Returns the number of members of the intersect of multiple sorted sets."},
    {"zrangestore", -5, W | DO, 1, 2, 1, H::kKeyWrite, {}, "sorted-set", "Stores a range of members from sorted set in a key."},
    {"zrandmember", -2, R | RND, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Returns one or more random members from a sorted set."},
    {"zscan", -3, R | RND, 1, 1, 1, H::kKeyRead, {}, "sorted-set", "Iterates over members and scores of a sorted set."},
    // transactions
    {"multi", 1, NS | F | NM | C | kAllowBusy, 0, 0, 0, H::kFree, {}, "transactions", "Starts a transaction."},
    {"exec", 1, NS | NM, 0, 0, 0, H::kTransaction, {}, "transactions", "Executes all commands in a transaction."},
    {"discard", 1, NS | F | NM | C | kAllowBusy | kLeavesMulti, 0, 0, 0, H::kFree, {}, "transactions", "Discards a transaction."},
    {"watch", -2, NS | F | NM, 1, -1, 1, H::kKeyWrite, {}, "transactions", "Monitors changes to keys to determine the execution of a transaction."},
    {"unwatch", 1, NS | F | kAllowBusy, 0, 0, 0, H::kFree, {}, "transactions", "Forgets about watched keys of a transaction."},
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }


// The catalog, built once: open addressing over the top-level names (a lookup is a hash of the
// lower-cased name and one or two compares, with no allocation), and the dense index of every
// spec: top-level commands first, in table order, then each container's subcommands.
class Catalog {
 public:
  Catalog() {
    slots_.fill(-1);
    for (std::size_t i = 0; i < std::size(kCommands); ++i) {
      std::size_t h = hash(kCommands[i].name) & (kSlots - 1);
      while (slots_[h] >= 0) h = (h + 1) & (kSlots - 1);
      slots_[h] = static_cast<int>(i);
      by_index_.push_back(&kCommands[i]);
    }
    for (const CommandSpec& c : kCommands) {
      if (!c.is_container()) continue;
      subs_.push_back({c.subcommands.data(), c.subcommands.size(), by_index_.size()});
      for (const CommandSpec& s : c.subcommands) by_index_.push_back(&s);
    }
  }
  const CommandSpec* find(std::string_view name) const {
    if (name.empty() || name.size() > 32) return nullptr;
    std::size_t h = hash(name) & (kSlots - 1);
    while (slots_[h] >= 0) {
      const CommandSpec& c = kCommands[static_cast<std::size_t>(slots_[h])];
      if (iequal(name, c.name)) return &c;
      h = (h + 1) & (kSlots - 1);
    }
    return nullptr;
  }
  std::uint16_t index_of(const CommandSpec& s) const {
    const CommandSpec* p = &s;
    if (p >= std::begin(kCommands) && p < std::end(kCommands)) {
      return static_cast<std::uint16_t>(p - std::begin(kCommands));
    }
    for (const SubRange& r : subs_) {
      if (p >= r.begin && p < r.begin + r.count) {
        return static_cast<std::uint16_t>(r.base + static_cast<std::size_t>(p - r.begin));
      }
    }
    std::fprintf(stderr, "commands: spec '%.*s' is not in the table\n",
                 static_cast<int>(s.name.size()), s.name.data());
    std::abort();
  }
  std::size_t count() const { return by_index_.size(); }
  const CommandSpec& at(std::uint16_t i) const { return *by_index_.at(i); }

 private:
  struct SubRange {
    const CommandSpec* begin;
    std::size_t count;
    std::size_t base;
  };
  static constexpr std::size_t kSlots = 512;  // under half full with every command
  static std::size_t hash(std::string_view s) {
    std::size_t h = 1469598103934665603ull;  // FNV-1a over the lower-cased bytes
    for (char c : s) h = (h ^ static_cast<unsigned char>(lower(c))) * 1099511628211ull;
    return h;
  }
  std::array<int, kSlots> slots_;
  std::vector<const CommandSpec*> by_index_;
  std::vector<SubRange> subs_;
};

const Catalog& catalog() {
  static const Catalog c;
  return c;
}

}  // namespace

const char* to_string(HueClass c) {
  switch (c) {
    case H::kFree: return "free";
    case H::kKeyRead: return "key-read";
    case H::kKeyWrite: return "key-write";
    case H::kKeyspaceRead: return "keyspace-read";
    case H::kKeyspaceCount: return "keyspace-count";
    case H::kKeyspaceWrite: return "keyspace-write";
    case H::kConfigRead: return "config-read";
    case H::kConfigWrite: return "config-write";
    case H::kTransaction: return "transaction";
    case H::kPubsubRead: return "pubsub-read";
    case H::kPubsubWrite: return "pubsub-write";
    case H::kAclRead: return "acl-read";
    case H::kAclWrite: return "acl-write";
    case H::kUndeclared: return "undeclared";
  }
  return "?";
}

std::span<const CommandSpec> all_commands() { return kCommands; }

const CommandSpec* find_command(std::string_view name) { return catalog().find(name); }

std::size_t command_count() { return catalog().count(); }
std::uint16_t index_of(const CommandSpec& spec) { return catalog().index_of(spec); }
const CommandSpec& spec_at(std::uint16_t index) { return catalog().at(index); }

Resolved resolve(std::span<const std::string_view> argv) {
  using F = Resolved::Failure;
  Resolved r;
  if (argv.empty()) {
    r.failure = F::kUnknownCommand;
    return r;
  }
  const CommandSpec* spec = catalog().find(argv[0]);
  if (spec == nullptr) {
    r.failure = F::kUnknownCommand;
    return r;
  }
  if (spec->is_container() && (argv.size() > 1 || !spec->arity_ok(1))) {
    if (argv.size() < 2) {
      r.failure = F::kArity;
      r.index = catalog().index_of(*spec);
      return r;
    }
    const CommandSpec* sub = find_subcommand(*spec, argv[1]);
    if (sub == nullptr) {
      r.failure = F::kUnknownSubcommand;
      return r;
    }
    spec = sub;
  }
  if (!spec->arity_ok(argv.size())) {
    r.failure = F::kArity;
    r.index = catalog().index_of(*spec);
    return r;
  }
  r.spec = spec;
  r.index = catalog().index_of(*spec);
  return r;
}

std::string Resolved::error(std::span<const std::string_view> argv) const {
  switch (failure) {
    case Failure::kNone:
      return std::string();
    case Failure::kUnknownCommand:
      return argv.empty() ? std::string("ERR unknown command ''") : unknown_command_error(argv);
    case Failure::kUnknownSubcommand:
      return unknown_subcommand_error(find_command(argv[0])->name, argv[1]);
    case Failure::kArity: {
      // The name Redis reports: the subcommand's when one was found, else the command's.
      const CommandSpec* top = find_command(argv[0]);
      const CommandSpec* sub = argv.size() > 1 && top->is_container() ? find_subcommand(*top, argv[1]) : nullptr;
      return wrong_arity_error((sub != nullptr ? sub : top)->name);
    }
  }
  return std::string();
}

const CommandSpec* find_subcommand(const CommandSpec& container, std::string_view name) {
  const std::size_t prefix = container.name.size() + 1;
  for (const CommandSpec& s : container.subcommands) {
    if (iequal(name, s.name.substr(prefix))) return &s;
  }
  return nullptr;
}

bool stream_keys(std::span<const std::string_view> argv, std::size_t& first, std::size_t& count) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::size_t more = argv.size() - i - 1;
    const std::string_view o = argv[i];
    if ((iequal(o, "block") || iequal(o, "count")) && more >= 1) {
      ++i;
    } else if (iequal(o, "group") && more >= 2) {
      i += 2;
    } else if (iequal(o, "noack")) {
    } else if (iequal(o, "streams") && more >= 1) {
      if (more % 2 != 0) return false;
      first = i + 1;
      count = more / 2;
      return true;
    } else {
      return false;
    }
  }
  return false;
}

bool keys_option_keys(const CommandSpec& spec, std::span<const std::string_view> argv,
                      std::size_t& first, std::size_t& count) {
  first = count = 0;
  const std::size_t key_at = static_cast<std::size_t>(spec.first_key);
  for (std::size_t i = static_cast<std::size_t>(-spec.arity); i < argv.size(); ++i) {
    if (iequal(argv[i], "keys")) {
      if (key_at >= argv.size() || !argv[key_at].empty()) return false;
      first = i + 1;
      count = argv.size() - first;
      return true;
    }
    if (iequal(argv[i], "auth")) i += 1;
    else if (iequal(argv[i], "auth2")) i += 2;
  }
  return true;
}

long declared_key_count(const CommandSpec& spec, std::span<const std::string_view> argv) {
  const std::size_t at = static_cast<std::size_t>(spec.first_key - 1);
  if (at >= argv.size()) return -1;
  long n = 0;
  const std::string_view s = argv[at];
  if (s.empty() || s.size() > 18) return -1;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  const long avail = static_cast<long>(argv.size()) - spec.first_key;
  return n < avail ? n : avail;
}

std::string unknown_command_error(std::span<const std::string_view> argv) {
  // Redis 7.0: the name cut at 128 bytes, then arguments quoted and each followed by a space,
  // while the argument text is under 128 bytes, each cut to what is left of those 128.
  std::string args;
  for (std::size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    const std::size_t room = 128 - args.size();
    args += '\'';
    args.append(argv[i].substr(0, room));
    args += "' ";
  }
  std::string e = "ERR unknown command '";
  e.append(argv[0].substr(0, 128));
  e += "', with args beginning with: ";
  e += args;
  for (char& c : e) {
    if (c == '\r' || c == '\n') c = ' ';  // an error reply is one line
  }
  return e;
}

std::string wrong_arity_error(std::string_view spec_name) {
  return "ERR wrong number of arguments for '" + std::string(spec_name) + "' command";
}

std::string unknown_subcommand_error(std::string_view container, std::string_view sub) {
  std::string upper(container);
  for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return "ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " + upper +
         " HELP.";
}

std::string_view hash_tag(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

std::uint64_t key_hash(std::string_view key) {
  const std::string_view tag = hash_tag(key);
  return XXH3_64bits(tag.data(), tag.size());
}

namespace {
// CRC16-CCITT (XMODEM), the polynomial Redis Cluster uses for slots.
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    t[i] = crc;
  }
  return t;
}
constexpr auto kCrc16 = make_crc16_table();
}  // namespace

std::uint16_t key_slot(std::string_view key) {
  const std::string_view tag = hash_tag(key);
  std::uint16_t crc = 0;
  for (char ch : tag) {
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     kCrc16[((crc >> 8) ^ static_cast<unsigned char>(ch)) & 0xff]);
  }
  return static_cast<std::uint16_t>(crc & 16383);
}

}  // namespace lfdb::commands
