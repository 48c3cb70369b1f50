#include "http/agent_check_server.hpp"

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace haes {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// A reason as one agent-check word list: no newline, no '#'.
std::string clean(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '#') {
      c = ' ';
    }
  }
  return s;
}

}  // namespace

bool ReadyLedger::ready(const std::string& key, bool maint, Clock::time_point now) {
  if (entries_.size() >= 4096) {
    std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.last_seen > std::chrono::hours(1); });
  }
  Entry& e = entries_[key];
  e.last_seen = now;
  if (maint) {
    e.owed = true;
    e.first_ready.reset();
    return false;
  }
  if (!e.owed) {
    return false;
  }
  if (!e.first_ready) {
    e.first_ready = now;
  }
  if (now - *e.first_ready > grace_) {
    e.owed = false;
    return false;
  }
  return true;
}

AgentCheckReply agent_check_reply(const Verdict& v, std::string_view request, std::string_view local_node, bool ready,
                                  HealthCounters* counters) {
  while (!request.empty() && (request.back() == '\n' || request.back() == '\r' || request.back() == ' ')) {
    request.remove_suffix(1);
  }
  while (!request.empty() && request.front() == ' ') {
    request.remove_prefix(1);
  }
  std::string_view who = request.empty() ? local_node : request;
  AgentCheckReply r;
  if (who.empty()) {
    r.known = false;
    r.line = "down #no node named: set agent-send \"cluster/node\\n\" on the server line\n";
    return r;
  }
  // "cluster/node [anything]" or "cluster node [anything]".
  size_t sep = who.find_first_of("/ ");
  std::string_view cluster = who.substr(0, sep);
  std::string_view node = sep == std::string_view::npos ? std::string_view() : who.substr(sep + 1);
  node = node.substr(0, node.find(' '));
  NodeAnswer a = answer_for(v, cluster, node);
  const char* rd = ready ? " ready" : "";
  switch (a.kind) {
    case NodeAnswer::kUp:
      if (counters) counters->agentcheck.inc(AgentCheckResult::kUp);
      r.line = std::string("up") + rd + "\n";
      return r;
    case NodeAnswer::kFenced:
      if (counters) counters->agentcheck.inc(AgentCheckResult::kMaint);
      r.maint = true;
      r.line = "maint #" + clean(a.text) + "\n";
      return r;
    case NodeAnswer::kDown:
      if (counters) counters->agentcheck.inc(AgentCheckResult::kDown);
      r.line = std::string("down") + rd + " #" + clean(a.text) + "\n";
      return r;
    case NodeAnswer::kUnknown:
      if (counters) counters->agentcheck.inc(AgentCheckResult::kDown);
      r.known = false;
      r.line = "down #" + clean(a.text) + "\n";
      return r;
  }
  r.line = "down\n";
  return r;
}

struct AgentCheckServer::Shared {
  AgentCheckOptions options;
  const VerdictView& view;
  HealthCounters& counters;
  ReadyLedger ledger;  // the server's executor only
  Shared(AgentCheckOptions o, const VerdictView& v, HealthCounters& c)
      : options(std::move(o)), view(v), counters(c), ledger(options.ready_grace) {}
};

// One agent check: read the agent-send string (if any), answer one line, close.
class AgentCheckServer::Session : public std::enable_shared_from_this<Session> {
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
    boost::system::error_code ec;
    if (reading_) {
      waited_out_ = true;  // no (whole) agent-send string: answer for health.node
      socket_.cancel(ec);
    } else {
      close();  // the answer was not taken in time
    }
  }
  void close() {
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    deadline_.stop();
  }

 private:
  awaitable<void> run() {
    const AgentCheckOptions& o = shared_->options;
    std::string line;
    char chunk[512];
    boost::system::error_code ec;
    reading_ = true;
    {
      auto armed = deadline_.arm_for(o.send_wait);
      while (line.find('\n') == std::string::npos && line.size() <= o.max_line) {
        size_t n = co_await socket_.async_read_some(asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
        if (ec) {
          break;
        }
        line.append(chunk, n);
      }
    }
    reading_ = false;
    if (ec && !waited_out_) {
      close();  // the peer went away (or stop())
      co_return;
    }
    const size_t nl = line.find('\n');
    std::string reply;
    if (nl == std::string::npos && line.size() > o.max_line) {
      shared_->counters.agentcheck.inc(AgentCheckResult::kDown);
      reply =
          "down #agent-send string longer than " + std::to_string(o.max_line) + " bytes: send \"cluster/node\\n\"\n";
    } else {
      const std::string request = line.substr(0, nl);
      const auto snapshot = shared_->view.current();
      // Dry run for the kind of answer, then the ledger decides on "ready".
      AgentCheckReply probe = agent_check_reply(*snapshot, request, o.local_node, false);
      bool ready = false;
      if (probe.known) {
        boost::system::error_code pec;
        auto ep = socket_.remote_endpoint(pec);
        std::string key = (pec ? std::string("?") : ep.address().to_string()) + "\n" + request;
        ready = shared_->ledger.ready(key, probe.maint, std::chrono::steady_clock::now());
      }
      reply = agent_check_reply(*snapshot, request, o.local_node, ready, &shared_->counters).line;
    }
    {
      auto armed = deadline_.arm_for(o.write_timeout);
      co_await asio::async_write(socket_, asio::buffer(reply), asio::redirect_error(use_awaitable, ec));
    }
    close();
  }

  asio::ip::tcp::socket socket_;
  spoe::net::Deadline deadline_;
  std::shared_ptr<Shared> shared_;
  bool reading_ = false;
  bool waited_out_ = false;
};

AgentCheckServer::AgentCheckServer(asio::io_context& ctx, AgentCheckOptions options, const VerdictView& view,
                                   HealthCounters& counters)
    : ctx_(ctx), shared_(std::make_shared<Shared>(std::move(options), view, counters)), acceptor_(ctx) {}

AgentCheckServer::~AgentCheckServer() = default;

void AgentCheckServer::start() {
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

void AgentCheckServer::stop() {
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

awaitable<void> AgentCheckServer::accept_loop() {
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
        spdlog::warn("agent-check port: accept failed: {}{}", ec.message(), spoe::net::LogLimiter::more(suppressed));
      }
      co_await spoe::net::accept_backoff(ec);
      continue;
    }
    if (sessions_.live() >= shared_->options.max_connections) {
      shared_->counters.connections_refused.inc(EdgePort::kAgentCheck);
      size_t suppressed = 0;
      if (refused_log_.allow(suppressed)) {
        auto ep = socket.remote_endpoint(ec);
        spdlog::warn("agent-check port: connection from {} refused: agent_check.max_connections ({}) reached{}",
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

}  // namespace haes
