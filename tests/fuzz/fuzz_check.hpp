#pragma once
// What every fuzz target checks with: a broken invariant prints where and
// what, then aborts, so libFuzzer saves the input as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, ...)                                                           \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      ::haes_fuzz::detail(__VA_ARGS__);                                                 \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace haes_fuzz {

inline void detail() {}
// Shows a value with its control bytes escaped.
inline void detail(std::string_view what) {
  std::string shown;
  for (unsigned char c : what.substr(0, 2000)) {
    if (c == '\n') {
      shown += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      shown += b;
    } else {
      shown += static_cast<char>(c);
    }
  }
  std::fprintf(stderr, "  value: \"%s\"%s\n", shown.c_str(), what.size() > 2000 ? " (cut)" : "");
}

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at
// most U+10FFFF): what JSON output and proto3 string fields require.
inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

inline bool one_line(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

}  // namespace haes_fuzz
