#pragma once
// One name table per enum (STYLE.md §2, §14). An enum that crosses a module
// boundary, or reaches a log line, a reply, the journal or a metric label, is
// declared with HAES_ENUM from an X-list of (identifier, "snake_name") pairs:
// the enum and its table come from the same list, so they cannot drift.
// to_string(), parsing (enum_from_name) and iteration over every value (for
// metric label sets: a label can never be missing or misspelt) all read it.
//
//   #define HAES_HEALTH_LIST(X) X(kGreen, "green") X(kRed, "red")
//   HAES_ENUM(Health, uint8_t, "state", HAES_HEALTH_LIST)
//
// The third argument is the metric label key used when the enum labels a
// counter ("state", "reason", "result", ...). Values are contiguous from 0.
// The macro must be used in namespace haes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json_fwd.hpp>

namespace haes {

template <class E>
struct EnumNames;  // specialised by HAES_ENUM

template <class E>
concept NamedEnum = requires {
  EnumNames<E>::kNames;
  EnumNames<E>::kLabel;
};

template <NamedEnum E>
constexpr size_t enum_count() {
  return EnumNames<E>::kNames.size();
}

template <NamedEnum E>
constexpr size_t enum_index(E e) {
  return static_cast<size_t>(e);
}

template <NamedEnum E>
constexpr std::string_view name_of(E e) {
  const size_t i = enum_index(e);
  return i < enum_count<E>() ? EnumNames<E>::kNames[i] : std::string_view("invalid");
}

template <NamedEnum E>
constexpr std::optional<E> enum_from_name(std::string_view name) {
  for (size_t i = 0; i < enum_count<E>(); ++i) {
    if (EnumNames<E>::kNames[i] == name) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

template <NamedEnum E>
constexpr std::array<E, enum_count<E>()> enum_values() {
  std::array<E, enum_count<E>()> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<E>(i);
  }
  return out;
}

template <NamedEnum E>
constexpr std::string_view label_of() {
  return EnumNames<E>::kLabel;
}

}  // namespace haes

// nlohmann::json writes a named enum as its name, never as a number (its
// default for enums), and reads it back by name.
template <haes::NamedEnum E>
struct nlohmann::adl_serializer<E, void> {
  template <class BasicJson>
  static void to_json(BasicJson& j, E e) {
    j = std::string(haes::name_of(e));
  }
  template <class BasicJson>
  static void from_json(const BasicJson& j, E& e) {
    auto v = haes::enum_from_name<E>(j.template get<std::string>());
    e = v ? *v : E{};
  }
};

#define HAES_ENUM_VALUE_(id, name) id,
#define HAES_ENUM_NAME_(id, name) std::string_view(name),

#define HAES_ENUM(Type, Underlying, label, LIST)               \
  enum class Type : Underlying { LIST(HAES_ENUM_VALUE_) };     \
  template <>                                                  \
  struct EnumNames<Type> {                                     \
    static constexpr std::string_view kLabel = label;          \
    static constexpr std::array kNames{LIST(HAES_ENUM_NAME_)}; \
  };                                                           \
  constexpr std::string_view to_string(Type v) { return name_of(v); }
