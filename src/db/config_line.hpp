// Redis's rules for splitting one line of a config file (or a library's shebang line) into
// words: blanks separate; "..." takes the escapes \n \r \t (a backslash keeps any other
// character); '...' takes only \'.
#pragma once

#include <string>
#include <vector>

namespace lfdb::db {

// Splits a config line with Redis's rules (sdssplitargs); false on unbalanced quotes.
bool split_config_line(const std::string& line, std::vector<std::string>& out);

}  // namespace lfdb::db
