#include "http/health_server.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "http/request.hpp"

namespace haes {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

NodeAnswer answer_for(const Verdict& v, std::string_view cluster, std::string_view node) {
  NodeAnswer a;
  const ClusterVerdict* c = v.find_cluster(cluster);
  if (c == nullptr) {
    std::string known;
    for (const auto& k : v.clusters) {
      known += (known.empty() ? "" : ", ") + k.name;
    }
    a.text = "unknown cluster " + std::string(cluster) + " (clusters: " + known + ")";
    return a;
  }
  bool may = c->may_take_traffic;
  std::string reason = c->reason;
  if (!node.empty()) {
    const NodeVerdict* n = c->find_node(node);
    if (n == nullptr) {
      std::string known;
      for (const auto& k : c->nodes) {
        known += (known.empty() ? "" : ", ") + k.name;
      }
      a.text = "unknown node " + std::string(cluster) + "/" + std::string(node) + " (nodes of " +
               c->name + ": " + known + ")";
      return a;
    }
    may = n->may_take_traffic;
    reason = n->reason;
  }
  std::string who = std::string(cluster) + (node.empty() ? "" : "/" + std::string(node));
  if (may) {
    a.kind = NodeAnswer::kUp;
    a.text = "OK " + who + " may take traffic: " + reason;
  } else {
    a.kind = c->fenced ? NodeAnswer::kFenced : NodeAnswer::kDown;
    a.text = who + " may not take traffic: " + reason;
  }
  return a;
}

struct HealthServer::Response {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::string extra_headers;
};

namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Error";
}

std::string serialize(int status, const std::string& content_type, const std::string& extra,
                      const std::string& body, bool head, bool keep_alive, uint64_t epoch) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) +
                    "\r\nContent-Type: " + content_type +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nCache-Control: no-store\r\nX-Haes-Epoch: " + std::to_string(epoch) +
                    "\r\n" + extra + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
  if (!head) {
    out += body;
  }
  return out;
}

std::vector<std::string_view> split_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string_view> parts;
  while (!target.empty()) {
    target.remove_prefix(1);  // '/'
    size_t slash = target.find('/');
    std::string_view part = target.substr(0, slash);
    if (!part.empty()) {
      parts.push_back(part);
    }
    target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
  }
  return parts;
}

}  // namespace

HealthServer::HealthServer(asio::io_context& ctx, HealthServerOptions options,
                           const VerdictView& view, HealthCounters& counters)
    : ctx_(ctx),
      options_(std::move(options)),
      view_(view),
      counters_(counters),
      acceptor_(ctx),
      connections_(std::make_shared<std::atomic<size_t>>(0)) {}

HealthServer::~HealthServer() = default;

void HealthServer::start() {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(options_.listen.host), options_.listen.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ctx_, accept_loop(), asio::detached);
}

void HealthServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> HealthServer::accept_loop() {
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    asio::ip::tcp::socket socket = co_await acceptor_.async_accept(
        asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) {
        co_return;
      }
      continue;
    }
    if (connections_->load() >= options_.max_connections) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(ctx_, serve(std::move(socket)), asio::detached);
  }
}

HealthServer::Response HealthServer::route(const std::string& method, const std::string& target) {
  Response r;
  if (method != "GET" && method != "HEAD" && method != "OPTIONS") {
    r.status = 405;
    r.body = "method " + method + " not allowed\n";
    r.extra_headers = "Allow: GET, HEAD, OPTIONS\r\n";
    counters_.bad_requests++;
    return r;
  }
  // Hold the snapshot for the whole answer: a verdict published meanwhile
  // frees the old one as soon as nothing else owns it.
  const std::shared_ptr<const Verdict> snapshot = view_.current();
  const Verdict& v = *snapshot;
  auto parts = split_path(target);
  if (parts.empty()) {
    r.body = "haes health port: agent alive (epoch " + std::to_string(v.epoch) +
             "); ask /lb/<cluster>/<node> for a node\n";
    return r;
  }
  if (parts[0] == "metrics" && parts.size() == 1 && options_.metrics) {
    counters_.metrics_scrapes++;
    r.body = options_.metrics();
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (parts[0] == "lb" && parts.size() <= 3) {
    std::string cluster, node;
    if (parts.size() == 1) {
      if (options_.local_node.empty()) {
        r.status = 404;
        r.body = "no local node configured (set health.node: cluster/node), or ask /lb/<cluster>/<node>\n";
        counters_.httpchk_unknown++;
        return r;
      }
      size_t slash = options_.local_node.find('/');
      cluster = options_.local_node.substr(0, slash);
      node = options_.local_node.substr(slash + 1);
    } else {
      cluster = std::string(parts[1]);
      node = parts.size() == 3 ? std::string(parts[2]) : std::string();
    }
    NodeAnswer a = answer_for(v, cluster, node);
    r.body = a.text + "\n";
    switch (a.kind) {
      case NodeAnswer::kUp: r.status = 200; counters_.httpchk_up++; break;
      case NodeAnswer::kDown:
      case NodeAnswer::kFenced: r.status = 503; counters_.httpchk_down++; break;
      case NodeAnswer::kUnknown: r.status = 404; counters_.httpchk_unknown++; break;
    }
    return r;
  }
  r.status = 404;
  r.body = "no such path " + target + " (paths: /lb/<cluster>/<node>, /lb/<cluster>, /lb, /metrics)\n";
  counters_.bad_requests++;
  return r;
}

awaitable<void> HealthServer::serve(asio::ip::tcp::socket socket) {
  auto count = connections_;
  count->fetch_add(1);
  asio::steady_timer deadline(socket.get_executor());
  auto closed = std::make_shared<bool>(false);
  // Watchdog: closes the socket when the current deadline passes.
  asio::co_spawn(socket.get_executor(),
                 [&socket, &deadline, closed]() -> awaitable<void> {
                   boost::system::error_code ec;
                   while (!*closed) {
                     co_await deadline.async_wait(asio::redirect_error(use_awaitable, ec));
                     if (!*closed && deadline.expiry() <= asio::steady_timer::clock_type::now()) {
                       socket.close(ec);
                       co_return;
                     }
                   }
                 },
                 asio::detached);
  std::string buf;
  char chunk[2048];
  boost::system::error_code ec;
  for (;;) {
    deadline.expires_after(options_.request_timeout);
    http::ParseResult p = http::parse_request(buf);
    while (p.state == http::ParseState::kNeedMore) {
      size_t n = co_await socket.async_read_some(asio::buffer(chunk),
                                                 asio::redirect_error(use_awaitable, ec));
      if (ec) {
        break;
      }
      buf.append(chunk, n);
      p = http::parse_request(buf);
    }
    if (ec) {
      break;
    }
    std::string out;
    uint64_t epoch = view_.current()->epoch;
    bool keep_alive = false;
    if (p.state == http::ParseState::kError) {
      counters_.bad_requests++;
      out = serialize(p.error_status, "text/plain; charset=utf-8", "", p.error + "\n", false, false,
                      epoch);
    } else {
      Response r = route(p.request.method, p.request.target);
      keep_alive = p.request.keep_alive;
      out = serialize(r.status, r.content_type, r.extra_headers, r.body,
                      p.request.method == "HEAD", keep_alive, epoch);
      buf.erase(0, p.request.length);
    }
    co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    if (ec || !keep_alive) {
      break;
    }
  }
  *closed = true;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket.close(ec);
  deadline.cancel();
  count->fetch_sub(1);
}

}  // namespace haes
