// The function libraries in snapshots: what Server saves with the keyspace and puts back when a
// snapshot (a file, a log's preamble, a replica's full resync) is loaded.
#include <utility>

#include "db/functions/library_loader.hpp"
#include "db/server.hpp"

namespace lfdb::db {

std::vector<std::string> Server::library_codes() const {
  std::vector<std::string> codes;
  for (functions::Library& lib : functions_.snapshot()) codes.push_back(std::move(lib.code));
  return codes;
}

lf::Status Server::restore_libraries(const std::vector<std::string>& codes) {
  std::vector<functions::Library> libs;
  for (const std::string& code : codes) {
    functions::Library lib;
    std::string err;
    // A snapshot's library loaded once already; one that no longer does is damage.
    if (!functions::check_library(code, lib, err)) {
      return lf::Status::error("a function library in the snapshot does not load: " + err);
    }
    libs.push_back(std::move(lib));
  }
  functions_.assign(std::move(libs));
  return lf::Status();
}

}  // namespace lfdb::db
