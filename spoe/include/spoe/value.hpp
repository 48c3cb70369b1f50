#pragma once
/// @file
/// SPOP typed data (SPOE.txt §3.1): a type in the low nibble of one byte,
/// flags in the high nibble (BOOL keeps its value there), then the body.

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace spoe {

/// Typed-data type ids.
enum class DataType : uint8_t {
  kNull = 0,
  kBool = 1,
  kInt32 = 2,
  kUint32 = 3,
  kInt64 = 4,
  kUint64 = 5,
  kIpv4 = 6,
  kIpv6 = 7,
  kString = 8,
  kBinary = 9,
};

std::string_view to_string(DataType t);

/// One typed value. Strings and binaries are views: into the decoded frame
/// when decoding, into the caller's memory when encoding.
struct Value {
  DataType type = DataType::kNull;
  bool boolean = false;
  uint64_t integer = 0;          ///< bit pattern for every integer type
  std::array<uint8_t, 16> ip{};  ///< network order; IPv4 uses the first 4 bytes
  std::string_view bytes;        ///< STRING and BINARY

  static Value null() { return {}; }
  static Value boolean_value(bool b) {
    Value v = of(DataType::kBool);
    v.boolean = b;
    return v;
  }
  static Value int32(int32_t i) { return of(DataType::kInt32, static_cast<uint64_t>(static_cast<int64_t>(i))); }
  static Value uint32(uint32_t u) { return of(DataType::kUint32, u); }
  static Value int64(int64_t i) { return of(DataType::kInt64, static_cast<uint64_t>(i)); }
  static Value uint64(uint64_t u) { return of(DataType::kUint64, u); }
  static Value string(std::string_view s) { return of(DataType::kString, 0, s); }
  static Value binary(std::string_view b) { return of(DataType::kBinary, 0, b); }
  static Value ipv4(const uint8_t (&addr)[4]) { return ip_of(DataType::kIpv4, addr, 4); }
  static Value ipv6(const uint8_t (&addr)[16]) { return ip_of(DataType::kIpv6, addr, 16); }

  /// Signed view of any integer type (INT32 and INT64 are sign-extended
  /// bit patterns already).
  int64_t as_int64() const { return static_cast<int64_t>(integer); }
  bool is_integer() const {
    return type == DataType::kInt32 || type == DataType::kUint32 || type == DataType::kInt64 ||
           type == DataType::kUint64;
  }
  bool is_text() const { return type == DataType::kString || type == DataType::kBinary; }

 private:
  static Value of(DataType t, uint64_t integer = 0, std::string_view bytes = {}) {
    Value v;
    v.type = t;
    v.integer = integer;
    v.bytes = bytes;
    return v;
  }
  static Value ip_of(DataType t, const uint8_t* addr, size_t n) {
    Value v = of(t);
    std::memcpy(v.ip.data(), addr, n);
    return v;
  }
};

bool operator==(const Value& a, const Value& b);

}  // namespace spoe
