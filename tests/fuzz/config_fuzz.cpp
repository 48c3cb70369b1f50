// libFuzzer target: the YAML configuration (agent/config: parse_config on
// arbitrary text, then the renderings of what it accepted).
// Input: the text of a configuration file.
//
// Invariants:
//  - parse_config never throws (yaml-cpp's exceptions stay inside);
//  - a refusal is ErrorCode::kConfig and every line of its message names
//    the file, then a line:column or a key path (or says the file is empty);
//  - an accepted file renders (`show config`, --check-config's summary)
//    without throwing, and the rendering parses again to the same rendering.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

namespace {

constexpr std::string_view kSource = "fuzz.yaml";

// "fuzz.yaml:12:3: clusters[0].name: ..." or "fuzz.yaml: preferred: ...".
bool names_its_place(std::string_view line) {
  if (line.substr(0, kSource.size()) != kSource) {
    return false;
  }
  line.remove_prefix(kSource.size());
  if (line.substr(0, 2) == ": ") {
    line.remove_prefix(2);
    // Without a position, a key path must follow ("path: message"), unless
    // the whole file was empty.
    const size_t colon = line.find(": ");
    return (colon != std::string_view::npos && colon > 0 &&
            line.substr(0, colon).find(' ') == std::string_view::npos) ||
           line.rfind("the file is empty", 0) == 0;
  }
  if (line.empty() || line[0] != ':') {
    return false;
  }
  // ":<line>:<column>: "
  size_t i = 1, digits = 0;
  for (int part = 0; part < 2; ++part) {
    digits = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
      ++i;
      ++digits;
    }
    if (digits == 0 || i >= line.size() || line[i] != ':') {
      return false;
    }
    ++i;
  }
  return line.substr(i, 1) == " ";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = haes::parse_config(text, kSource);
  if (!cfg) {
    const haes::Error& e = cfg.error();
    FUZZ_CHECK(e.code == haes::ErrorCode::kConfig, e.message);
    FUZZ_CHECK(!e.message.empty());
    size_t start = 0;
    while (start <= e.message.size()) {
      size_t end = e.message.find('\n', start);
      if (end == std::string::npos) {
        end = e.message.size();
      }
      const std::string_view line(e.message.data() + start, end - start);
      FUZZ_CHECK(names_its_place(line), e.message);
      start = end + 1;
    }
    return 0;
  }
  const std::string summary = haes::check_config_summary(*cfg);
  FUZZ_CHECK(!summary.empty());
  const std::string shown = haes::render_effective_config(*cfg);
  auto again = haes::parse_config(shown, kSource);
  FUZZ_CHECK(again.ok(), shown + "\n---\n" + (again.ok() ? "" : again.error().message));
  const std::string shown_again = haes::render_effective_config(*again);
  FUZZ_CHECK(shown_again == shown, shown + "\n---\n" + shown_again);
  return 0;
}
