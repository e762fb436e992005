// The access rules both tiers share (commands/access.hpp): what the password check accepts and
// who counts as a local client. (That the check takes the same time whatever the guess is a
// property of the code, not something a test could time reliably here.)
#include "commands/access.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace {

using namespace lfdb::commands;

TEST(Access, PasswordMatchesOnlyTheWholePassword) {
  EXPECT_TRUE(password_matches("s3cret", "s3cret"));
  EXPECT_FALSE(password_matches("s3cre", "s3cret"));      // a prefix
  EXPECT_FALSE(password_matches("s3cretX", "s3cret"));    // longer
  EXPECT_FALSE(password_matches("s3cret" "s3cret", "s3cret"));  // the password twice
  EXPECT_FALSE(password_matches("S3cret", "s3cret"));     // case matters
  EXPECT_FALSE(password_matches("s3creT", "s3cret"));     // the last byte too
  EXPECT_FALSE(password_matches("", "s3cret"));
  EXPECT_TRUE(password_matches(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(password_matches(std::string("a\0c", 3), std::string("a\0b", 3)));
}

TEST(Access, TheDefaultUserWithoutAPasswordTakesAnyPassword) {
  EXPECT_TRUE(credentials_match("default", "anything", ""));
  EXPECT_TRUE(credentials_match("default", "s3cret", "s3cret"));
  EXPECT_FALSE(credentials_match("default", "wrong", "s3cret"));
  EXPECT_FALSE(credentials_match("alice", "s3cret", "s3cret"));  // lfdb has no other user
  EXPECT_FALSE(credentials_match("alice", "anything", ""));
}

lf::InetAddr peer(const char* ip) {
  auto a = lf::InetAddr::resolve(ip, 0);
  EXPECT_TRUE(a.ok()) << ip;
  return a.ok() ? a.value() : lf::InetAddr{};
}

TEST(Access, OnlyTheLoopbackAddressIsLocal) {
  EXPECT_TRUE(is_local_client(peer("127.0.0.1")));
  EXPECT_FALSE(is_local_client(peer("127.0.0.2")));  // loopback network, but not Redis's "local"
  EXPECT_FALSE(is_local_client(peer("192.0.2.2")));
  EXPECT_FALSE(is_local_client(peer("0.0.0.0")));
  EXPECT_TRUE(is_local_client(peer("::1")));  // protected mode lets IPv6 loopback in too
  EXPECT_FALSE(is_local_client(peer("::")));
}

TEST(Access, TheRefusalIsOneErrorLine) {
  EXPECT_TRUE(kProtectedModeDenied.starts_with("-DENIED Redis is running in protected mode"));
  EXPECT_TRUE(kProtectedModeDenied.ends_with("accepting connections from the outside.\r\n"));
  EXPECT_EQ(kProtectedModeDenied.find('\r'), kProtectedModeDenied.size() - 2);
}

}  // namespace
