// es::Response from an HTTP answer's status and body, and answer bytes shown
// as text: pure (no I/O), used by NodeClient, the monitor's judge and
// tests/fuzz/es_answer_fuzz.cpp.
#include "es/response.hpp"

#include "common/utf8.hpp"

namespace haes::es {

Response make_response(int status, std::string body) {
  Response out;
  out.status = status;
  out.body = std::move(body);
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  if (out.json.is_discarded()) {
    out.json = nullptr;
  }
  if (out.status >= 400 && out.json.is_object()) {
    const auto& e = out.json.contains("error") ? out.json["error"] : nlohmann::json();
    if (e.is_object()) {
      // ES sends "reason": null for some errors: never trust a field's type.
      out.es_type = e.contains("type") && e["type"].is_string() ? e["type"].get<std::string>() : "";
      out.es_reason = e.contains("reason") && e["reason"].is_string() ? e["reason"].get<std::string>() : "";
    } else if (e.is_string()) {
      out.es_reason = e.get<std::string>();
    }
  }
  return out;
}

std::string shown_text(std::string_view bytes, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t n = utf8_char_length(bytes.substr(i));
    if (i + (n == 0 ? 1 : n) > max) {
      out += "…";
      break;
    }
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD for a byte that is not UTF-8
      n = 1;
    } else if (bytes[i] == '\r' || bytes[i] == '\n') {
      out += ' ';
    } else {
      out.append(bytes.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string Response::error_summary() const {
  std::string s = "HTTP " + std::to_string(status);
  if (!es_type.empty()) {
    s += " " + shown_text(es_type, 200);
  }
  std::string_view r = es_reason.empty() && es_type.empty() ? std::string_view(body) : std::string_view(es_reason);
  // Only the first line: ES's reasons may carry a stack or a second message.
  r = r.substr(0, r.find_first_of("\r\n"));
  if (!r.empty()) {
    s += ": " + shown_text(r, 200);
  }
  return s;
}

}  // namespace haes::es
