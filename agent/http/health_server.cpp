#include "http/health_server.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
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
      a.text = "unknown node " + std::string(cluster) + "/" + std::string(node) + " (nodes of " + c->name + ": " +
               known + ")";
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

struct HealthResponse {
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

std::string serialize(int status, const std::string& content_type, const std::string& extra, const std::string& body,
                      bool head, bool keep_alive, uint64_t epoch) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) +
                    "\r\nContent-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nCache-Control: no-store\r\nX-Haes-Epoch: " + std::to_string(epoch) + "\r\n" + extra +
                    (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
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

struct HealthServer::Shared {
  HealthServerOptions options;
  const VerdictView& view;
  HealthCounters& counters;
  HealthResponse route(const std::string& method, const std::string& target);
};

// One HTTP connection (keep-alive: several requests, one at a time).
class HealthServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, std::shared_ptr<Shared> shared)
      : socket_(std::move(socket)), deadline_(socket_.get_executor()), shared_(std::move(shared)) {}
  asio::any_io_executor executor() { return socket_.get_executor(); }
  void start() {
    auto self = shared_from_this();
    spoe::net::spawn(self, &Session::run);
    spoe::net::spawn_watchdog(self, deadline_);
  }
  void on_deadline() {
    // A request that never ends (slow-loris) or an answer nobody takes.
    spdlog::debug("health port: {} cut after {} ms without a whole request", peer(),
                  shared_->options.request_timeout.count());
    close();
  }
  void close() {
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    deadline_.stop();
  }

 private:
  std::string peer() {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    return ec ? std::string("a peer") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  awaitable<void> run() {
    std::string buf;
    char chunk[2048];
    boost::system::error_code ec;
    const auto timeout = shared_->options.request_timeout;
    for (;;) {
      http::ParseResult p = http::parse_request(buf);
      {
        // The whole request within the deadline: bytes dribbled one by one
        // do not extend it.
        auto armed = deadline_.arm_for(timeout);
        while (p.state == http::ParseState::kNeedMore) {
          size_t n = co_await socket_.async_read_some(asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
          if (ec) {
            break;
          }
          buf.append(chunk, n);
          p = http::parse_request(buf);
        }
      }
      if (ec) {
        break;
      }
      std::string out;
      uint64_t epoch = shared_->view.current()->epoch;
      bool keep_alive = false;
      if (p.state == http::ParseState::kError) {
        shared_->counters.httpchk.inc(HttpchkResult::kBadRequest);
        out = serialize(p.error_status, "text/plain; charset=utf-8", "", p.error + "\n", false, false, epoch);
      } else {
        HealthResponse r = shared_->route(p.request.method, p.request.target);
        keep_alive = p.request.keep_alive;
        out =
            serialize(r.status, r.content_type, r.extra_headers, r.body, p.request.method == "HEAD", keep_alive, epoch);
        buf.erase(0, p.request.length);
      }
      {
        auto armed = deadline_.arm_for(timeout);
        co_await asio::async_write(socket_, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
      }
      if (ec || !keep_alive) {
        break;
      }
    }
    close();
  }

  asio::ip::tcp::socket socket_;
  spoe::net::Deadline deadline_;
  std::shared_ptr<Shared> shared_;
};

HealthServer::HealthServer(asio::io_context& ctx, HealthServerOptions options, const VerdictView& view,
                           HealthCounters& counters)
    : ctx_(ctx), shared_(std::make_shared<Shared>(Shared{std::move(options), view, counters})), acceptor_(ctx) {}

HealthServer::~HealthServer() = default;

void HealthServer::start() {
  const Endpoint& listen = shared_->options.listen;
  asio::ip::tcp::endpoint ep(asio::ip::make_address(listen.host), listen.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(
      ctx_, [this] { return accept_loop(); }, asio::detached);
}

void HealthServer::stop() {
  asio::dispatch(ctx_, [this] {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    sessions_.close_all();
  });
}

awaitable<void> HealthServer::accept_loop() {
  spoe::net::LogLimiter accept_log;
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    asio::ip::tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) {
        co_return;
      }
      size_t suppressed = 0;
      if (accept_log.allow(suppressed)) {
        spdlog::warn("health port: accept failed: {}{}", ec.message(), spoe::net::LogLimiter::more(suppressed));
      }
      co_await spoe::net::accept_backoff(ec);
      continue;
    }
    if (sessions_.live() >= shared_->options.max_connections) {
      shared_->counters.connections_refused.inc(EdgePort::kHealth);
      size_t suppressed = 0;
      if (refused_log_.allow(suppressed)) {
        auto ep = socket.remote_endpoint(ec);
        spdlog::warn("health port: connection from {} refused: health.max_connections ({}) reached{}",
                     ec ? std::string("?") : ep.address().to_string(), shared_->options.max_connections,
                     spoe::net::LogLimiter::more(suppressed));
      }
      socket.close(ec);
      continue;
    }
    auto session = std::make_shared<Session>(std::move(socket), shared_);
    sessions_.add(session);
    session->start();
  }
}

HealthResponse HealthServer::Shared::route(const std::string& method, const std::string& target) {
  HealthResponse r;
  if (method != "GET" && method != "HEAD" && method != "OPTIONS") {
    r.status = 405;
    r.body = "method " + method + " not allowed\n";
    r.extra_headers = "Allow: GET, HEAD, OPTIONS\r\n";
    counters.httpchk.inc(HttpchkResult::kBadRequest);
    return r;
  }
  // Hold the snapshot for the whole answer: a verdict published meanwhile
  // frees the old one as soon as nothing else owns it.
  const std::shared_ptr<const Verdict> snapshot = view.current();
  const Verdict& v = *snapshot;
  auto parts = split_path(target);
  if (parts.empty()) {
    r.body =
        "haes health port: agent alive (epoch " + std::to_string(v.epoch) + "); ask /lb/<cluster>/<node> for a node\n";
    return r;
  }
  if (parts[0] == "metrics" && parts.size() == 1 && options.metrics) {
    counters.metrics_scrapes.inc();
    r.body = options.metrics();
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (parts[0] == "peer" && parts.size() == 1 && options.peer) {
    r.body = options.peer();
    r.content_type = "application/json";
    return r;
  }
  if (parts[0] == "lb" && parts.size() <= 3) {
    std::string cluster, node;
    if (parts.size() == 1) {
      if (options.local_node.empty()) {
        r.status = 404;
        r.body = "no local node configured (set health.node: cluster/node), or ask /lb/<cluster>/<node>\n";
        counters.httpchk.inc(HttpchkResult::kUnknown);
        return r;
      }
      size_t slash = options.local_node.find('/');
      cluster = options.local_node.substr(0, slash);
      node = options.local_node.substr(slash + 1);
    } else {
      cluster = std::string(parts[1]);
      node = parts.size() == 3 ? std::string(parts[2]) : std::string();
    }
    NodeAnswer a = answer_for(v, cluster, node);
    r.body = a.text + "\n";
    switch (a.kind) {
      case NodeAnswer::kUp:
        r.status = 200;
        counters.httpchk.inc(HttpchkResult::kUp);
        break;
      case NodeAnswer::kDown:
      case NodeAnswer::kFenced:
        r.status = 503;
        counters.httpchk.inc(HttpchkResult::kDown);
        break;
      case NodeAnswer::kUnknown:
        r.status = 404;
        counters.httpchk.inc(HttpchkResult::kUnknown);
        break;
    }
    return r;
  }
  r.status = 404;
  r.body = "no such path " + target + " (paths: /lb/<cluster>/<node>, /lb/<cluster>, /lb, /metrics)\n";
  counters.httpchk.inc(HttpchkResult::kBadRequest);
  return r;
}

}  // namespace haes
