// The connection commands' shared parsing and replies (both tiers use these).
#include "commands/connection.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace lfdb::commands;
using resp::Protocol;

std::string hello(std::vector<std::string_view> argv, HelloRequest& req,
                  Protocol current = Protocol::kResp2) {
  return parse_hello(argv, current, req);
}

TEST(Connection, HelloParsesEveryForm) {
  HelloRequest r;
  EXPECT_EQ(hello({"hello"}, r, Protocol::kResp3), "");
  EXPECT_EQ(r.protocol, Protocol::kResp3);  // no version: the connection's own
  EXPECT_EQ(hello({"hello", "3", "auth", "default", "pw", "setname", "me"}, r), "");
  EXPECT_EQ(r.protocol, Protocol::kResp3);
  EXPECT_TRUE(r.auth);
  EXPECT_EQ(r.user, "default");
  EXPECT_EQ(r.password, "pw");
  EXPECT_TRUE(r.setname);
  EXPECT_EQ(r.name, "me");
  EXPECT_EQ(hello({"hello", "x"}, r), "ERR Protocol version is not an integer or out of range");
  EXPECT_EQ(hello({"hello", "4"}, r), "NOPROTO unsupported protocol version");
  EXPECT_EQ(hello({"hello", "2", "auth", "default"}, r), "ERR Syntax error in HELLO option 'auth'");
  EXPECT_EQ(hello({"hello", "2", "setname", "a b"}, r), std::string(kErrBadClientName));
}

TEST(Connection, HelloReplyIsOneMap) {
  std::string out;
  resp::Writer w(out, Protocol::kResp2);
  write_hello(w, {Protocol::kResp3, 7, "master"});
  EXPECT_EQ(out.substr(0, 4), "%7\r\n");  // the reply is in the protocol it switches to
  EXPECT_NE(out.find(":3\r\n"), std::string::npos);
  EXPECT_NE(out.find("$2\r\nid\r\n:7\r\n"), std::string::npos);
  EXPECT_NE(out.find(kRedisCompat), std::string::npos);
}

TEST(Connection, DbIndexIsAStrictInteger) {
  std::int64_t i = -1;
  EXPECT_EQ(parse_db_index("9", i), "");
  EXPECT_EQ(i, 9);
  EXPECT_EQ(parse_db_index("09", i), "ERR value is not an integer or out of range");
  EXPECT_EQ(parse_db_index("x", i), "ERR value is not an integer or out of range");
}

}  // namespace
