#include "spoe/status.hpp"

#include <string>

namespace spoe {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::kNormal: return "normal";
    case Status::kIo: return "I/O error";
    case Status::kTimeout: return "a timeout occurred";
    case Status::kTooBig: return "frame is too big";
    case Status::kInvalid: return "invalid frame received";
    case Status::kNoVersion: return "version value not found";
    case Status::kNoFrameSize: return "max-frame-size value not found";
    case Status::kNoCapabilities: return "capabilities value not found";
    case Status::kBadVersion: return "unsupported version";
    case Status::kBadFrameSize: return "max-frame-size too big or too small";
    case Status::kFragmentationNotSupported: return "payload fragmentation is not supported";
    case Status::kInterlacedFrames: return "invalid interlaced frames";
    case Status::kFrameIdNotFound: return "frame-id not found";
    case Status::kResourceAllocation: return "resource allocation error";
    case Status::kUnknown: return "an unknown error occurred";
  }
  return "unknown status code";
}

bool is_known_status(uint32_t code) { return code <= 13 || code == 99; }

namespace {
class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "spop"; }
  std::string message(int code) const override { return std::string(to_string(static_cast<Status>(code))); }
};
}  // namespace

const std::error_category& spoe_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Status s) { return {static_cast<int>(s), spoe_category()}; }

}  // namespace spoe
