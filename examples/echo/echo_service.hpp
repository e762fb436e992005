// The echo example's service: every byte a client sends comes back unchanged.
#pragma once

#include "lf/concurrency_model.hpp"

namespace echo {

class EchoSession final : public lf::Session {
 public:
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    out.append(in.view());
    in.consume(in.size());
    return lf::SessionAction::kContinue;
  }
};

class EchoService final : public lf::Service {
 public:
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<EchoSession>();
  }
};

}  // namespace echo
