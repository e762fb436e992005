#include "db/acl/acl_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

namespace lfdb::db::acl {
namespace {

constexpr std::string_view kUnknown = "Unknown command or category name in ACL";

// The blanks Redis trims from each line and each rule of the file.
std::string_view trim(std::string_view s) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const std::size_t b = s.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kBlanks) - b + 1);
}

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (true) {
    const std::size_t sp = line.find(' ', start);
    words.push_back(line.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return words;
}

// Applies `rules` to `u`: "" or the reason, worded as the file's loader words it.
std::string apply_rules(User& u, std::span<const std::string_view> rules) {
  std::vector<std::string> merged;
  std::size_t bad = 0;
  if (!merge_selector_args(rules, merged, bad)) {
    return "Unmatched parenthesis in acl selector starting at '" + std::string(rules[bad]) + "'";
  }
  for (const std::string& r : merged) {
    const std::string rule(trim(r));
    if (std::string e = u.apply_rule(rule); !e.empty()) {
      if (e == kUnknown) return "Error in applying operation '" + rule + "': " + e;
      return e;
    }
  }
  return "";
}

}  // namespace

bool valid_user_name(std::string_view name) {
  for (char ch : name) {
    if (ch == ' ' || ch == '\0' || (ch >= '\t' && ch <= '\r')) return false;
  }
  return true;
}

std::string user_from_words(std::string_view name, std::span<const std::string_view> rules,
                            std::shared_ptr<User>& out) {
  if (!valid_user_name(name)) return "Usernames can't contain spaces or null characters";
  out = std::make_shared<User>(std::string(name));
  std::string e = apply_rules(*out, rules);
  if (!e.empty()) out.reset();
  return e;
}

std::string load_acl_file(const std::string& path, std::vector<std::shared_ptr<User>>& out) {
  out.clear();
  std::ifstream in(path);
  if (!in) {
    return "Error loading ACLs, opening file '" + path + "': " + std::strerror(errno);
  }
  std::string errors;
  std::set<std::string, std::less<>> seen;
  std::string raw;
  for (int lineno = 1; std::getline(in, raw); ++lineno) {
    const std::string_view line = trim(raw);
    if (line.empty()) continue;  // a `#` line is not a comment here: Redis refuses it too
    const std::vector<std::string_view> words = split_spaces(line);
    const std::string where = path + ":" + std::to_string(lineno);
    if (words.size() < 2 || words[0] != "user" || words[1].empty()) {
      errors += where + " should start with user keyword followed by the username. ";
      continue;
    }
    if (!valid_user_name(words[1])) {
      // Redis's text, its stray leading quote included.
      errors += "'" + where + ": username '" + std::string(words[1]) + "' contains invalid characters. ";
      continue;
    }
    std::shared_ptr<User> u;
    const std::span<const std::string_view> rules(words.data() + 2, words.size() - 2);
    if (std::string e = user_from_words(words[1], rules, u); !e.empty()) {
      errors += where + ": " + e + ". ";
      continue;
    }
    if (!seen.insert(std::string(words[1])).second) {
      errors += "WARNING: Duplicate user '" + std::string(words[1]) + "' found on line " +
                std::to_string(lineno) + ". ";
      continue;
    }
    out.push_back(std::move(u));
  }
  if (!errors.empty()) {
    out.clear();
    return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
  }
  return "";
}

std::string save_acl_file(const std::string& path, std::span<const std::shared_ptr<const User>> users) {
  std::string text;
  for (const auto& u : users) text += "user " + u->name + " " + u->describe() + "\n";
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "Opening temp ACL file for ACL SAVE: " + std::string(std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "Writing ACL file for ACL SAVE: " + why;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return "Syncing ACL file for ACL SAVE: " + why;
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "Renaming ACL file for ACL SAVE: " + why;
  }
  return "";
}

}  // namespace lfdb::db::acl
