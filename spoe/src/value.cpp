#include "spoe/value.hpp"

namespace spoe {

std::string_view to_string(DataType t) {
  switch (t) {
    case DataType::kNull: return "null";
    case DataType::kBool: return "bool";
    case DataType::kInt32: return "int32";
    case DataType::kUint32: return "uint32";
    case DataType::kInt64: return "int64";
    case DataType::kUint64: return "uint64";
    case DataType::kIpv4: return "ipv4";
    case DataType::kIpv6: return "ipv6";
    case DataType::kString: return "string";
    case DataType::kBinary: return "binary";
  }
  return "reserved";
}

bool operator==(const Value& a, const Value& b) {
  if (a.type != b.type) {
    return false;
  }
  switch (a.type) {
    case DataType::kNull: return true;
    case DataType::kBool: return a.boolean == b.boolean;
    case DataType::kInt32:
    case DataType::kUint32:
    case DataType::kInt64:
    case DataType::kUint64: return a.integer == b.integer;
    case DataType::kIpv4: return std::memcmp(a.ip.data(), b.ip.data(), 4) == 0;
    case DataType::kIpv6: return a.ip == b.ip;
    case DataType::kString:
    case DataType::kBinary: return a.bytes == b.bytes;
  }
  return false;
}

}  // namespace spoe
