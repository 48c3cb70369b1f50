// haesctl: sends one command to haes-agent's admin socket and prints the
// reply (docs/admin.md).
//
//   haesctl [--socket PATH | --config FILE] [--timeout SECONDS] COMMAND [ARGS...]
//   haesctl --url https://HOST:PORT [--ca FILE] [--cert FILE --key FILE]
//           [--token-file FILE] [--timeout SECONDS] COMMAND [ARGS...]
//
// With --url, the command goes to the agent's admin port over TLS (the
// token: --token-file, else $HAES_ADMIN_TOKEN).
//
// The socket: --socket, else $HAES_ADMIN_SOCKET, else admin.socket from
// --config FILE, else /run/haes/admin.sock.
// Exit codes: 0 done; 1 the agent refused or failed the command; 2 bad
// usage (of haesctl or of the command); 3 the agent cannot be reached;
// 4 the reply was cut off or malformed.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "config/schema.hpp"
#include "es/client.hpp"

#ifndef HAES_VERSION
#define HAES_VERSION "dev"
#endif

namespace {

constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3, kBadReply = 4;

constexpr const char* kUsageText =
    "usage: haesctl [--socket PATH | --config FILE] [--timeout SECONDS] COMMAND [ARGS...]\n"
    "  --timeout: how long to wait for the reply (default 15 s; 1 h for sync, switchover,\n"
    "             failback, verify-restore and drill, which wait on snapshots and restores)\n"
    "  try: haesctl status | haesctl help\n"
    "  socket: --socket, else $HAES_ADMIN_SOCKET, else admin.socket of --config, else /run/haes/admin.sock\n"
    "  remote: --url https://HOST:PORT [--ca FILE] [--cert FILE --key FILE] [--token-file FILE]\n"
    "          (the agent's admin port; the token: --token-file, else $HAES_ADMIN_TOKEN)\n"
    "  exit: 0 done, 1 refused, 2 bad usage, 3 agent unreachable, 4 bad reply\n";

std::string quote(const std::string& w) {
  if (!w.empty() && w.find_first_of(" \t\"\\") == std::string::npos) {
    return w;
  }
  std::string q = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') {
      q += '\\';
    }
    q += c;
  }
  return q + "\"";
}

// The command over the admin port (HTTPS). Exit codes as for the socket.
int run_remote(const std::string& url_text, const haes::TlsConfig& tls, const std::string& token_file, double timeout_s,
               const std::string& line, bool json) {
  haes::NodeUrl url;
  std::string why;
  if (!haes::config_detail::parse_node_url(url_text, url, why) || !url.https) {
    std::cerr << "haesctl: --url: '" << url_text << "' is not an https://HOST:PORT URL" << why << "\n";
    return kUsage;
  }
  std::string token;
  if (!token_file.empty() || std::getenv("HAES_ADMIN_TOKEN")) {
    auto t = haes::es::read_secret(token_file, token_file.empty() ? "HAES_ADMIN_TOKEN" : "", "the admin token");
    if (!t) {
      std::cerr << "haesctl: " << t.error().message << "\n";
      return kUsage;
    }
    token = *t;
  }
  auto ctx = haes::es::make_tls_context(tls);
  if (!ctx) {
    std::cerr << "haesctl: " << ctx.error().message << "\n";
    return kUsage;
  }
  boost::asio::io_context io;
  haes::es::NodeClientOptions o;
  o.url = url;
  o.tls = *ctx;
  o.authorization = token.empty() ? "" : "Bearer " + token;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  o.max_body_bytes = size_t{64} * 1024 * 1024;
  haes::es::NodeClient client(io.get_executor(), o);
  std::optional<haes::Result<haes::es::Response>> answer;
  const std::string body = nlohmann::json{{"command", line}, {"json", json}}.dump();
  auto call = [&]() -> boost::asio::awaitable<void> {
    answer.emplace(co_await client.request("POST", "/v1/command", body));
  };
  boost::asio::co_spawn(io, call(), [](const std::exception_ptr&) {});
  io.run();
  if (!answer || !*answer) {
    std::cerr << "haesctl: cannot reach haes-agent at " << url_text << ": "
              << (answer ? (*answer).error().message : std::string("no answer")) << "\n";
    return kUnreachable;
  }
  const auto& r = **answer;
  std::string reply = r.body;
  if (reply.size() >= 2 && reply.compare(reply.size() - 2, 2, "\n\n") == 0) {
    reply.pop_back();
  }
  std::cout << reply;
  switch (r.status) {
    case 200: return kOk;
    case 400: return kUsage;
    case 401:
      std::cerr << "haesctl: the agent refused the credentials (client certificate or token)\n";
      return kRefused;
    case 409:
    case 500: return kRefused;
    default: return kBadReply;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  std::string config_path;
  std::string url;
  std::string token_file;
  haes::TlsConfig tls;
  double timeout_s = -1;  // default: 15 s, or 1 h for commands that wait on a sync
  std::vector<std::string> words;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--url" || a == "--ca" || a == "--cert" || a == "--key" || a == "--token-file") {
      if (i + 1 >= argc) {
        std::cerr << "haesctl: " << a << " needs a value\n" << kUsageText;
        return kUsage;
      }
      std::string v = argv[++i];
      (a == "--url"    ? url
       : a == "--ca"   ? tls.ca_file
       : a == "--cert" ? tls.cert_file
       : a == "--key"  ? tls.key_file
                       : token_file) = v;
    } else if (a == "--socket" || a == "--config" || a == "--timeout") {
      if (i + 1 >= argc) {
        std::cerr << "haesctl: " << a << " needs a value\n" << kUsageText;
        return kUsage;
      }
      std::string v = argv[++i];
      if (a == "--socket") {
        socket_path = v;
      } else if (a == "--config") {
        config_path = v;
      } else {
        char* end = nullptr;
        timeout_s = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0' || timeout_s <= 0) {
          std::cerr << "haesctl: --timeout: '" << v << "' is not a positive number of seconds\n";
          return kUsage;
        }
      }
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsageText;
      return kOk;
    } else if (a == "--version") {
      std::cout << "haesctl " << HAES_VERSION << "\n";
      return kOk;
    } else {
      break;
    }
  }
  for (; i < argc; ++i) {
    words.emplace_back(argv[i]);
  }
  if (words.empty()) {
    std::cerr << "haesctl: no command\n" << kUsageText;
    return kUsage;
  }
  if (timeout_s < 0) {
    const std::string& w = words[0];
    timeout_s =
        (w == "sync" || w == "ccr" || w == "switchover" || w == "failback" || w == "verify-restore" || w == "drill")
            ? 3600
            : 15;
  }
  if (!url.empty()) {
    std::string remote_line;
    bool json = false;
    for (const auto& w : words) {
      if (w == "--json") {
        json = true;
        continue;
      }
      remote_line += (remote_line.empty() ? "" : " ") + quote(w);
    }
    if (remote_line.find('\n') != std::string::npos) {
      std::cerr << "haesctl: arguments must not contain newlines\n";
      return kUsage;
    }
    return run_remote(url, tls, token_file, timeout_s, remote_line, json);
  }
  if (socket_path.empty()) {
    if (const char* env = std::getenv("HAES_ADMIN_SOCKET"); env && *env) {
      socket_path = env;
    } else if (!config_path.empty()) {
      auto cfg = haes::load_config(config_path);
      if (!cfg) {
        std::cerr << "haesctl: cannot read the socket path from " << config_path << ":\n"
                  << cfg.error().message << "\n";
        return kUsage;
      }
      socket_path = cfg->admin.socket;
    } else {
      socket_path = "/run/haes/admin.sock";
    }
  }
  std::string line;
  for (const auto& w : words) {
    line += (line.empty() ? "" : " ") + quote(w);
  }
  if (line.find('\n') != std::string::npos) {
    std::cerr << "haesctl: arguments must not contain newlines\n";
    return kUsage;
  }
  line += '\n';

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    std::cerr << "haesctl: socket path too long: " << socket_path << "\n";
    return kUsage;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    std::cerr << "haesctl: cannot reach haes-agent at " << socket_path << ": " << std::strerror(e)
              << (e == ENOENT   ? " (is the agent running? is this the right --socket/--config?)"
                  : e == EACCES ? " (permission denied: the socket is mode admin.mode; run as its owner)"
                                : "")
              << "\n";
    return kUnreachable;
  }
  size_t sent = 0;
  int send_errno = 0;  // the agent closed first (it refused the peer): its reply may still be there to read
  while (sent < line.size()) {
    ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      send_errno = errno;
      if (send_errno == EPIPE || send_errno == ECONNRESET) {
        break;
      }
      std::cerr << "haesctl: sending to " << socket_path << ": " << std::strerror(send_errno) << "\n";
      return kUnreachable;
    }
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  char buf[8192];
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      std::cerr << "haesctl: no complete reply from " << socket_path << " within " << timeout_s << "s\n";
      return kBadReply;
    }
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr <= 0) {
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (send_errno != 0 && reply.empty()) {
        std::cerr << "haesctl: sending to " << socket_path << ": " << std::strerror(send_errno) << "\n";
        return kUnreachable;
      }
      std::cerr << reply << "haesctl: the agent closed the connection before the end of its reply\n";
      return kBadReply;
    }
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  reply.pop_back();  // the terminating empty line
  std::cout << reply;
  bool json = false;
  for (const auto& w : words) {
    json = json || w == "--json";
  }
  if (json) {
    // The top-level "ok" decides (nested objects may have their own "ok").
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (!j.is_object()) {
      return kBadReply;
    }
    if (j.value("ok", true) == false) {
      return j.value("code", std::string()) == "usage" ? kUsage : kRefused;
    }
    return kOk;
  }
  if (reply.rfind("error: bad command:", 0) == 0) {
    return kUsage;
  }
  if (reply.rfind("error:", 0) == 0) {
    return kRefused;
  }
  return kOk;
}
