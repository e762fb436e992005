#include "lf/mailbox.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "lf/detail/ring_queue.hpp"
#include "lf/spawn.hpp"

namespace {

using namespace std::chrono_literals;

struct Tick {
  int producer = 0;
  int seq = 0;
  using sendable_value = void;
};
struct Batch {
  int producer = 0;
  int seq = 0;
  std::vector<int> payload;
};
// A std::string message encodes "producer:seq".
using Box = lf::Mailbox<Tick, std::string, lf::Unique<Batch>>;

TEST(Mailbox, ThreeTypesFromManyProducersKeepEachProducersOrder) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 3000;
  auto box = std::make_shared<Box>();
  std::vector<lf::SpawnedThread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(lf::spawn(
        [](std::shared_ptr<Box> box, int p, int count) {
          for (int seq = 0; seq < count; ++seq) {
            bool sent = false;
            switch (seq % 3) {
              case 0:
                sent = box->send(Tick{p, seq});
                break;
              case 1:
                sent = box->send(std::to_string(p) + ":" + std::to_string(seq));
                break;
              default:
                sent = box->send(lf::make_unique_msg<Batch>(p, seq, std::vector<int>(8, seq)));
            }
            if (!sent) return;
          }
        },
        box, p, kPerProducer));
  }

  std::vector<int> next(kProducers, 0);
  std::map<std::string, int> by_type;
  bool in_order = true;
  auto expect = [&](int producer, int seq) {
    in_order = in_order && next[producer] == seq;
    next[producer] = seq + 1;
  };
  for (int received = 0; received < kProducers * kPerProducer; ++received) {
    bool got = box->receive_for(
        5s, lf::overloaded{
                [&](Tick t) {
                  ++by_type["tick"];
                  expect(t.producer, t.seq);
                },
                [&](std::string s) {
                  ++by_type["string"];
                  auto colon = s.find(':');
                  expect(std::stoi(s.substr(0, colon)), std::stoi(s.substr(colon + 1)));
                },
                [&](lf::Unique<Batch> b) {
                  ++by_type["batch"];
                  EXPECT_EQ(b->payload.size(), 8u);
                  expect(b->producer, b->seq);
                },
            });
    ASSERT_TRUE(got) << "no message within 5 s after " << received;
  }
  producers.clear();
  EXPECT_TRUE(in_order);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  EXPECT_EQ(by_type["tick"], kProducers * kPerProducer / 3);
  EXPECT_EQ(by_type["string"], kProducers * kPerProducer / 3);
  EXPECT_EQ(by_type["batch"], kProducers * kPerProducer / 3);
  EXPECT_EQ(box->size(), 0u);
}

TEST(Mailbox, SendingAUniqueLeavesTheSenderEmpty) {
  Box box;
  lf::Unique<Batch> batch = lf::make_unique_msg<Batch>(0, 0, std::vector<int>{1, 2, 3});
  auto where = reinterpret_cast<std::uintptr_t>(&*batch);
  ASSERT_TRUE(box.send(std::move(batch)));
  EXPECT_TRUE(batch.empty());
  std::uintptr_t received_at = 0;
  ASSERT_TRUE(box.try_receive(lf::overloaded{
      [](Tick) {},
      [](const std::string&) {},
      [&](lf::Unique<Batch> b) { received_at = reinterpret_cast<std::uintptr_t>(&*b); },
  }));
  // The receiver holds the very object the sender gave up: handed over, not copied.
  EXPECT_EQ(received_at, where);
}

TEST(Mailbox, UniqueTravelsToAnotherThread) {
  auto box = std::make_shared<lf::Mailbox<lf::Unique<Batch>>>();
  auto replies = std::make_shared<lf::Mailbox<int>>();
  auto worker = lf::spawn(
      [](std::shared_ptr<lf::Mailbox<lf::Unique<Batch>>> box,
         std::shared_ptr<lf::Mailbox<int>> replies) {
        while (box->receive([&](lf::Unique<Batch> b) {
          int sum = 0;
          for (int v : b->payload) sum += v;
          replies->send(sum);
        })) {
        }
      },
      box, replies);
  lf::Unique<Batch> batch = lf::make_unique_msg<Batch>(1, 1, std::vector<int>{4, 5, 6});
  ASSERT_TRUE(box->send(std::move(batch)));
  EXPECT_TRUE(batch.empty());
  int sum = 0;
  ASSERT_TRUE(replies->receive_for(5s, [&](int s) { sum = s; }));
  EXPECT_EQ(sum, 15);
  box->close();
}

TEST(Mailbox, ReceiveForReturnsFalseOnTimeout) {
  lf::Mailbox<int> box;
  bool called = false;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(box.receive_for(30ms, [&](int) { called = true; }));
  EXPECT_FALSE(called);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(box.receive_until(std::chrono::steady_clock::now(), [&](int) { called = true; }));
  EXPECT_FALSE(called);
}

TEST(Mailbox, CloseWakesABlockedReceiver) {
  auto box = std::make_shared<lf::Mailbox<int>>();
  auto result = std::make_shared<lf::Mailbox<bool>>();
  auto receiver = lf::spawn(
      [](std::shared_ptr<lf::Mailbox<int>> box, std::shared_ptr<lf::Mailbox<bool>> result) {
        result->send(box->receive([](int) {}));
      },
      box, result);
  // Give the receiver time to block; the test holds either way, this makes it test the wake-up.
  std::this_thread::sleep_for(50ms);
  box->close();
  bool received = true;
  ASSERT_TRUE(result->receive_for(5s, [&](bool r) { received = r; }));
  EXPECT_FALSE(received);
}

TEST(Mailbox, CloseDeliversWhatWasQueuedThenRefuses) {
  lf::Mailbox<int, lf::Unique<int>> box;
  EXPECT_TRUE(box.send(1));
  EXPECT_TRUE(box.send(2));
  box.close();
  EXPECT_TRUE(box.closed());
  EXPECT_FALSE(box.send(3));
  lf::Unique<int> kept = lf::make_unique_msg<int>(4);
  EXPECT_FALSE(box.send(std::move(kept)));
  EXPECT_FALSE(kept.empty()) << "a refused send must not consume the message";

  std::vector<int> got;
  auto handler = lf::overloaded{[&](int v) { got.push_back(v); },
                                [&](lf::Unique<int> u) { got.push_back(*u); }};
  EXPECT_TRUE(box.receive(handler));
  EXPECT_TRUE(box.receive_for(5s, handler));
  EXPECT_FALSE(box.receive(handler));
  EXPECT_FALSE(box.try_receive(handler));
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

TEST(Mailbox, TryReceiveDoesNotBlock) {
  lf::Mailbox<std::string> box;
  std::string got;
  EXPECT_FALSE(box.try_receive([&](std::string s) { got = std::move(s); }));
  box.send(std::string("x"));
  EXPECT_TRUE(box.try_receive([&](std::string s) { got = std::move(s); }));
  EXPECT_EQ(got, "x");
}

TEST(Mailbox, HandlerMaySendToItsOwnMailbox) {
  lf::Mailbox<int> box;
  box.send(3);
  int handled = 0;
  // Each handler sends the next countdown step; were the lock held, this would deadlock.
  while (box.try_receive([&](int n) {
    ++handled;
    if (n > 0) box.send(n - 1);
  })) {
  }
  EXPECT_EQ(handled, 4);
}

TEST(Mailbox, EachMessageGoesToExactlyOneOfSeveralReceivers) {
  constexpr int kReceivers = 3;
  constexpr int kMessages = 6000;
  auto box = std::make_shared<lf::Mailbox<int>>();
  auto totals = std::make_shared<lf::Mailbox<std::pair<long, int>>>();
  std::vector<lf::SpawnedThread> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    receivers.push_back(lf::spawn(
        [](std::shared_ptr<lf::Mailbox<int>> box,
           std::shared_ptr<lf::Mailbox<std::pair<long, int>>> totals) {
          long sum = 0;
          int count = 0;
          while (box->receive([&](int v) {
            sum += v;
            ++count;
          })) {
          }
          totals->send(std::pair(sum, count));
        },
        box, totals));
  }
  for (int i = 1; i <= kMessages; ++i) ASSERT_TRUE(box->send(i));
  box->close();
  long sum = 0;
  int count = 0;
  for (int r = 0; r < kReceivers; ++r) {
    ASSERT_TRUE(totals->receive_for(5s, [&](std::pair<long, int> t) {
      sum += t.first;
      count += t.second;
    }));
  }
  EXPECT_EQ(count, kMessages);
  EXPECT_EQ(sum, long{kMessages} * (kMessages + 1) / 2);
}

TEST(RingQueue, KeepsFifoOrderAcrossWrapAndGrowth) {
  lf::detail::RingQueue<std::string> q;
  int next_in = 0;
  int next_out = 0;
  // Interleave so the head wraps around several times before and after each growth.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < round + 3; ++i) q.emplace_back(std::to_string(next_in++));
    for (int i = 0; i < round + 1; ++i) ASSERT_EQ(q.pop_front(), std::to_string(next_out++));
  }
  while (!q.empty()) ASSERT_EQ(q.pop_front(), std::to_string(next_out++));
  EXPECT_EQ(next_out, next_in);
  q.emplace_back("steady");
  q.pop_front();
  std::size_t cap = q.capacity();
  for (int i = 0; i < 1000; ++i) {
    q.emplace_back("steady");
    q.pop_front();
  }
  EXPECT_EQ(q.capacity(), cap) << "a steady flow must not grow the ring";
  q.emplace_back("left for the destructor");
}

TEST(RingQueue, ABurstsStorageIsGivenBackOnceDrained) {
  lf::detail::RingQueue<std::string> q;
  for (int i = 0; i < 40; ++i) q.emplace_back("small");
  const std::size_t small = q.capacity();
  while (!q.empty()) q.pop_front();
  EXPECT_EQ(q.capacity(), small) << "a backlog of up to 64 keeps its slots";
  for (int i = 0; i < 5000; ++i) q.emplace_back("burst");
  EXPECT_GE(q.capacity(), 5000u);
  for (int i = 0; i < 4999; ++i) q.pop_front();
  EXPECT_GE(q.capacity(), 5000u) << "given back only once empty";
  q.pop_front();
  EXPECT_EQ(q.capacity(), 0u);
  q.emplace_back("after");  // grows again from the start
  EXPECT_EQ(q.pop_front(), "after");
}

}  // namespace
