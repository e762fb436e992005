// lf::Mailbox<Msgs...>: a typed queue of messages for one or more receiving threads, each message
// one of Msgs (all lf::Sendable, checked at compile time). A receiver waits for any of several
// message types at once and handles each with the matching overload:
//
//   lf::Mailbox<Scan, Prune, Stop> box;
//   box.send(Scan{...});                                       // any thread
//   box.receive(lf::overloaded{[](Scan s) {...}, [](Prune p) {...}, [](Stop) {...}});
//
// Thread-safety: a monitor; every member may be called from any thread. Threads share a Mailbox
// through std::shared_ptr (it is Sendable as such), or by reference among threads whose lifetimes
// it outlives. Messages of one sender leave the queue in the order it sent them (with several
// receivers, their handlers may still run concurrently). A handler runs after its message has
// left the queue and without the mailbox's lock, so it may send to this same mailbox and take as
// long as it likes without holding up senders.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "lf/detail/ring_queue.hpp"
#include "lf/monitor.hpp"
#include "lf/sendable.hpp"

namespace lf {

// Builds one handler out of several lambdas, for Mailbox::receive. Lower-case despite liblf's
// CamelCase types, because it is the standard idiom's name and readers know it by that.
template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

namespace detail {

template <class T, class... Ts>
inline constexpr bool kOneOf = (std::is_same_v<T, Ts> || ...);

template <class... Ts>
struct Distinct : std::true_type {};
template <class T, class... Ts>
struct Distinct<T, Ts...> : std::bool_constant<!kOneOf<T, Ts...> && Distinct<Ts...>::value> {};

}  // namespace detail

template <class... Msgs>
class Mailbox final {
  static_assert(sizeof...(Msgs) > 0, "lf::Mailbox: name at least one message type");
  static_assert((Sendable<Msgs> && ...),
                "lf::Mailbox: a message type is not lf::Sendable (only values, Immutable<T>, "
                "Unique<T> and std::shared_ptr to a monitor may cross threads)");
  static_assert((std::is_same_v<Msgs, std::remove_cv_t<Msgs>> && ...),
                "lf::Mailbox: name message types without const or volatile");
  static_assert(detail::Distinct<Msgs...>::value,
                "lf::Mailbox: message types must be distinct, or send could not tell them apart");

 public:
  using Message = std::variant<Msgs...>;
  using sendable_monitor = void;

  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Queues msg, whose type must be exactly one of Msgs (no conversions: a string literal is a
  // pointer, so send std::string). Returns false, without consuming an rvalue msg, once the
  // mailbox is closed.
  template <class M>
  bool send(M&& msg) {
    using D = std::remove_cvref_t<M>;
    static_assert(Sendable<D>,
                  "lf::Mailbox::send: the message is not lf::Sendable (only values, "
                  "Immutable<T>, Unique<T> and std::shared_ptr to a monitor may cross threads)");
    static_assert(!Sendable<D> || detail::kOneOf<D, Msgs...>,
                  "lf::Mailbox::send: the message is not one of this mailbox's types");
    constexpr bool kKnown = Sendable<D> && detail::kOneOf<D, Msgs...>;
    static_assert(!kKnown || std::is_constructible_v<D, M&&>,
                  "lf::Mailbox::send: the message cannot be copied into the queue (move a "
                  "Unique in with std::move)");
    if constexpr (kKnown && std::is_constructible_v<D, M&&>) {
      return state_.with_notify_one([&](State& s) {
        if (s.closed) return false;
        s.queue.emplace_back(std::in_place_type<D>, std::forward<M>(msg));
        return true;
      });
    } else {
      return false;
    }
  }

  // Blocks until a message arrives and hands it to the overload of `handler` that takes its type
  // (as an rvalue, so a handler may take a Unique by value). Returns false, without calling
  // `handler`, only when the mailbox is closed and drained.
  template <class Handler>
  bool receive(Handler&& handler) {
    check_handler<Handler>();
    std::optional<Message> m =
        state_.wait_until([](const State& s) { return s.ready(); }, &State::take);
    return dispatch(std::forward<Handler>(handler), std::move(m));
  }

  // receive() that gives up at `deadline`, returning false.
  template <class Clock, class Dur, class Handler>
  bool receive_until(std::chrono::time_point<Clock, Dur> deadline, Handler&& handler) {
    check_handler<Handler>();
    std::optional<std::optional<Message>> m =
        state_.wait_until(deadline, [](const State& s) { return s.ready(); }, &State::take);
    if (!m) return false;
    return dispatch(std::forward<Handler>(handler), std::move(*m));
  }

  template <class Rep, class Period, class Handler>
  bool receive_for(std::chrono::duration<Rep, Period> timeout, Handler&& handler) {
    return receive_until(std::chrono::steady_clock::now() + timeout,
                         std::forward<Handler>(handler));
  }

  // Handles one message if one is waiting; never blocks.
  template <class Handler>
  bool try_receive(Handler&& handler) {
    check_handler<Handler>();
    return dispatch(std::forward<Handler>(handler), state_.with(&State::take));
  }

  // Refuses further sends and wakes every receiver; messages already queued are still delivered.
  void close() {
    state_.with_notify_all([](State& s) { s.closed = true; });
  }

  bool closed() const {
    return state_.with([](const State& s) { return s.closed; });
  }
  // A snapshot: other threads may change it before the caller looks.
  std::size_t size() const {
    return state_.with([](const State& s) { return s.queue.size(); });
  }

 private:
  struct State {
    detail::RingQueue<Message> queue;
    bool closed = false;

    bool ready() const { return closed || !queue.empty(); }
    std::optional<Message> take() {
      if (queue.empty()) return std::nullopt;
      return queue.pop_front();
    }
  };

  template <class Handler>
  static constexpr bool kHandles = (std::is_invocable_v<Handler&, Msgs&&> && ...);

  template <class Handler>
  static constexpr void check_handler() {
    static_assert(kHandles<Handler>,
                  "lf::Mailbox::receive: the handler has no overload for one of the message "
                  "types (each is passed as an rvalue)");
  }

  template <class Handler>
  static bool dispatch(Handler&& handler, std::optional<Message> m) {
    if constexpr (!kHandles<Handler>) {
      return false;  // check_handler() has reported it; spare the reader std::visit's errors
    } else {
      if (!m) return false;
      // Handlers may return different types; the results are dropped, as receive reports only
      // whether a message was handled.
      std::visit(
          [&handler](auto&& msg) { static_cast<void>(std::invoke(handler, std::move(msg))); },
          std::move(*m));
      return true;
    }
  }

  Monitor<State> state_;
};

}  // namespace lf
