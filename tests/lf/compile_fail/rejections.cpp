// Programs the message-passing discipline must refuse, one per LF_CASE_* macro; with no macro
// defined this is the control, which sends every admitted kind through the same two doors
// (Mailbox::send and lf::spawn) and must compile. See CMakeLists.txt beside it.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lf/mailbox.hpp"
#include "lf/monitor.hpp"
#include "lf/spawn.hpp"

namespace {

// Mutable state that never opted in as a value.
struct Counter {
  int hits = 0;
};
struct Point {
  int x = 0;
  int y = 0;
  using sendable_value = void;
};
using Box = lf::Mailbox<int, std::string, Point, lf::Unique<Counter>, lf::Immutable<Counter>,
                        std::shared_ptr<lf::Monitor<Counter>>>;

void take_all(int, std::string, Point, lf::Unique<Counter>, lf::Immutable<Counter>,
              std::shared_ptr<lf::Monitor<Counter>>, std::shared_ptr<Box>) {}

}  // namespace

int main() {
  Box box;
  int local = 0;
  Counter counter;
  auto monitor = lf::make_monitor<Counter>();

  box.send(local);
  box.send(std::string("text"));
  box.send(Point{1, 2});
  box.send(lf::make_unique_msg<Counter>());
  box.send(lf::make_immutable<Counter>());
  box.send(monitor);
  lf::SpawnedThread by_pointer =
      lf::spawn(&take_all, local, std::string("text"), Point{}, lf::make_unique_msg<Counter>(),
                lf::make_immutable<Counter>(), monitor, std::make_shared<Box>());
  lf::SpawnedThread by_lambda = lf::spawn([](std::stop_token, int n) { return n; }, local);
  counter.hits = monitor->with([](Counter& c) { return c.hits; });

#if defined(LF_CASE_SEND_RAW_POINTER)
  box.send(&local);
#elif defined(LF_CASE_SEND_STD_REF)
  box.send(std::ref(local));
#elif defined(LF_CASE_SEND_SHARED_PTR_INT)
  box.send(std::make_shared<int>(1));
#elif defined(LF_CASE_SEND_MUTABLE_CLASS)
  box.send(counter);
#elif defined(LF_CASE_SEND_STRING_VIEW)
  box.send(std::string_view("aliases its source"));
#elif defined(LF_CASE_SEND_OTHER_TYPE)
  box.send(2.5);
#elif defined(LF_CASE_MAILBOX_OF_POINTERS)
  lf::Mailbox<int, int*> pointers;
#elif defined(LF_CASE_SPAWN_RAW_POINTER)
  lf::SpawnedThread bad = lf::spawn([](int* p) { ++*p; }, &local);
#elif defined(LF_CASE_SPAWN_STD_REF)
  lf::SpawnedThread bad = lf::spawn([](int& r) { ++r; }, std::ref(local));
#elif defined(LF_CASE_SPAWN_SHARED_PTR_INT)
  lf::SpawnedThread bad = lf::spawn([](std::shared_ptr<int> p) { ++*p; }, std::make_shared<int>(1));
#elif defined(LF_CASE_SPAWN_MUTABLE_CLASS)
  lf::SpawnedThread bad = lf::spawn([](Counter c) { ++c.hits; }, counter);
#elif defined(LF_CASE_SPAWN_CAPTURING_LAMBDA)
  lf::SpawnedThread bad = lf::spawn([&local] { ++local; });
#elif defined(LF_CASE_SPAWN_REFERENCE_PARAMETER)
  lf::SpawnedThread bad = lf::spawn([](int& r) { ++r; }, local);
#elif defined(LF_CASE_SEND_UNIQUE_LVALUE)
  lf::Unique<Counter> owned = lf::make_unique_msg<Counter>();
  box.send(owned);
#elif defined(LF_CASE_SPAWN_UNIQUE_LVALUE)
  lf::Unique<Counter> owned = lf::make_unique_msg<Counter>();
  lf::SpawnedThread bad = lf::spawn([](lf::Unique<Counter> c) { ++c->hits; }, owned);
#elif defined(LF_CASE_MONITOR_LEAKS_REFERENCE)
  Counter& escaped = monitor->with([](Counter& c) -> Counter& { return c; });
  ++escaped.hits;
#endif
  return counter.hits;
}
