// An upper-casing echo server under liblf's Leader/Followers model, and one client of it: the
// smallest whole use of an installed liblf (a Service, its Sessions, the model, a Connector).
// Prints "uppercase_echo: ok" and exits 0 when the reply is right.
#include <lf/concurrency_model.hpp>
#include <lf/net.hpp>

#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

namespace {

class UppercaseSession final : public lf::Session {
 public:
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    for (char c : in.view()) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    in.consume(in.size());
    return lf::SessionAction::kContinue;
  }
};

class UppercaseService final : public lf::Service {
 public:
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<UppercaseSession>();
  }
};

int fail(const char* what, const lf::Status& st) {
  std::fprintf(stderr, "uppercase_echo: %s: %s\n", what, st.message().c_str());
  return 1;
}

}  // namespace

int main() {
  UppercaseService service;
  lf::ModelOptions options;  // 127.0.0.1, any free port
  options.threads = 2;
  auto model = lf::ConcurrencyModel::create(lf::ModelKind::kLeaderFollowers, options, service);
  if (!model.ok()) return fail("create", model.status());
  if (lf::Status st = (*model)->start(); !st.ok()) return fail("start", st);

  auto addr = lf::InetAddr::resolve("127.0.0.1", (*model)->port());
  if (!addr.ok()) return fail("resolve", addr.status());
  auto stream = lf::Connector::connect(*addr);
  if (!stream.ok()) return fail("connect", stream.status());
  const std::string hello = "hello, leader/followers\n";
  if (lf::Status st = stream->send_all(hello); !st.ok()) return fail("send", st);
  std::string reply(hello.size(), '\0');
  if (lf::Status st = stream->recv_exact(reply.data(), reply.size()); !st.ok()) return fail("recv", st);
  (*model)->stop();

  if (reply != "HELLO, LEADER/FOLLOWERS\n") {
    std::fprintf(stderr, "uppercase_echo: unexpected reply '%s'\n", reply.c_str());
    return 1;
  }
  std::puts("uppercase_echo: ok");
  return 0;
}
