// lf::Sendable<T>: the types that may cross from one thread to another, by message or as a
// spawned thread's argument. Four kinds, and nothing else:
//   values     copied (or moved) so each thread has its own: arithmetic types, enums,
//              std::string, std::chrono durations and time points, std::monostate, and
//              std::optional / vector / array / pair / tuple / variant of Sendables; plus user
//              types that opt in (below);
//   monitors   std::shared_ptr<M> where M is a monitor: lf::Monitor<T>, lf::Mailbox<...>, or a
//              user class whose every public member synchronizes (opted in, below);
//   immutable  lf::Immutable<T>, for any T;
//   unique     lf::Unique<T>, for any T.
// Everything else is rejected: raw pointers, references and std::reference_wrapper (std::ref),
// std::string_view and spans, std::shared_ptr to anything but a monitor, std::function and
// lambdas (their captures are unchecked), and any class that did not opt in.
//
// Opting in is a promise the compiler cannot check (C++20 has no reflection over members):
//   value:   specialize lf::is_value<T> as std::true_type, or declare
//            `using sendable_value = void;` in T. Promise: copying T leaves nothing shared, i.e.
//            T holds only Sendables. The nested tag is inherited, so a class derived from an
//            opted-in one is opted in too; derive only if that stays true, or use the trait.
//   monitor: specialize lf::is_monitor<M>, or declare `using sendable_monitor = void;` in M.
//            Promise: every public member of M locks, and none returns a pointer or reference
//            into the guarded state.
//
// Thread-safety: compile-time only.
#pragma once

#include <array>
#include <chrono>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "lf/immutable.hpp"
#include "lf/monitor.hpp"
#include "lf/unique.hpp"

namespace lf {

// Trait names follow the standard library's spelling (is_*), as users specialize them beside
// std's own traits.
template <class T>
struct is_value : std::false_type {};

template <class T>
struct is_monitor : std::bool_constant<requires { typename T::sendable_monitor; }> {};

namespace detail {

template <class T>
concept HasValueTag = requires { typename T::sendable_value; };

// Recursion goes through this class template, not the concept: a concept cannot name itself.
template <class T>
struct SendableImpl
    : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T> || is_value<T>::value ||
                         HasValueTag<T>> {};

template <class T>
inline constexpr bool kSendableMember =
    !std::is_reference_v<T> && SendableImpl<std::remove_cv_t<T>>::value;

template <class C, class Tr>
struct SendableImpl<std::basic_string<C, Tr, std::allocator<C>>> : std::true_type {};
template <class Rep, class Period>
struct SendableImpl<std::chrono::duration<Rep, Period>> : std::true_type {};
template <class Clock, class Dur>
struct SendableImpl<std::chrono::time_point<Clock, Dur>> : std::true_type {};
template <>
struct SendableImpl<std::monostate> : std::true_type {};

template <class T>
struct SendableImpl<std::optional<T>> : std::bool_constant<kSendableMember<T>> {};
template <class T>
struct SendableImpl<std::vector<T, std::allocator<T>>> : std::bool_constant<kSendableMember<T>> {};
template <class T, std::size_t N>
struct SendableImpl<std::array<T, N>> : std::bool_constant<kSendableMember<T>> {};
template <class A, class B>
struct SendableImpl<std::pair<A, B>>
    : std::bool_constant<kSendableMember<A> && kSendableMember<B>> {};
template <class... Ts>
struct SendableImpl<std::tuple<Ts...>> : std::bool_constant<(kSendableMember<Ts> && ...)> {};
template <class... Ts>
struct SendableImpl<std::variant<Ts...>> : std::bool_constant<(kSendableMember<Ts> && ...)> {};

template <class T>
struct SendableImpl<Immutable<T>> : std::true_type {};
template <class T>
struct SendableImpl<Unique<T>> : std::true_type {};
template <class M>
struct SendableImpl<std::shared_ptr<M>>
    : std::bool_constant<is_monitor<std::remove_cv_t<M>>::value> {};

}  // namespace detail

template <class T>
concept Sendable = detail::kSendableMember<T> && std::move_constructible<std::remove_cv_t<T>> &&
                   std::destructible<std::remove_cv_t<T>>;

}  // namespace lf
