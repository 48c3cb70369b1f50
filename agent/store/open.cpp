#include <filesystem>

#include "store/state_store.hpp"

namespace haes {

Result<OpenedStore> open_store(const StateConfig& config) {
  if (config.store != StoreKind::kLocal) {
    return Error{ErrorCode::kConfig, "state.store: " + std::string(to_string(config.store)) +
                                         " is not available in this version; use \"local\" (see docs/state-store.md)"};
  }
  std::error_code ec;
  auto dir = std::filesystem::path(config.path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Error{ErrorCode::kIoError,
                   "cannot create the directory of state.path " + dir.string() + ": " + ec.message()};
    }
  }
  auto opened = open_local_store(config.path, static_cast<size_t>(config.journal_size));
  if (!opened) {
    return Error{opened.error().code, "state store " + config.path + ": " + opened.error().message};
  }
  return opened;
}

}  // namespace haes
