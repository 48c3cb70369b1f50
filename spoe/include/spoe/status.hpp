#pragma once
/// @file
/// SPOP status codes. The values ARE the DISCONNECT status codes of the
/// protocol (SPOE.txt §3.5), so every decoding failure maps to the code the
/// server sends, and the server never invents one.

#include <cstdint>
#include <string_view>
#include <system_error>

namespace spoe {

/// DISCONNECT status codes (SPOE.txt §3.5).
enum class Status : uint32_t {
  kNormal = 0,                      ///< normal (no error occurred)
  kIo = 1,                          ///< I/O error
  kTimeout = 2,                     ///< a timeout occurred
  kTooBig = 3,                      ///< frame is too big
  kInvalid = 4,                     ///< invalid frame received
  kNoVersion = 5,                   ///< version value not found
  kNoFrameSize = 6,                 ///< max-frame-size value not found
  kNoCapabilities = 7,              ///< capabilities value not found
  kBadVersion = 8,                  ///< unsupported version
  kBadFrameSize = 9,                ///< max-frame-size too big or too small
  kFragmentationNotSupported = 10,  ///< payload fragmentation is not supported
  kInterlacedFrames = 11,           ///< invalid interlaced frames
  kFrameIdNotFound = 12,            ///< frame-id not found (it does not match any referenced frame)
  kResourceAllocation = 13,         ///< resource allocation error
  kUnknown = 99,                    ///< an unknown error occurred
};

/// The protocol's own wording of each status ("frame is too big").
std::string_view to_string(Status s);

/// True for the codes defined by the protocol (0-13, 99).
bool is_known_status(uint32_t code);

const std::error_category& spoe_category();
std::error_code make_error_code(Status s);

}  // namespace spoe

template <>
struct std::is_error_code_enum<spoe::Status> : std::true_type {};
