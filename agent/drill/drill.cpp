#include "drill/drill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "es/cluster_client.hpp"
#include "sync/snapshot_sync.hpp"

namespace haes {
namespace asio = boost::asio;

namespace {

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return s;
}

// Writes `data` to `path` atomically (temp file, fsync, rename).
Result<void> write_file(const std::filesystem::path& path, const std::string& data) {
  const std::string tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Error{ErrorCode::kIoError, "cannot create " + tmp};
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      return Error{ErrorCode::kIoError, "cannot write " + tmp};
    }
    off += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Error{ErrorCode::kIoError, "cannot write " + path.string()};
  }
  return {};
}

}  // namespace

DrillRunner::DrillRunner(asio::io_context& io, const Config& config, DrillContext ctx)
    : io_(io), config_(config), ctx_(std::move(ctx)), path_(config.state.path + ".drills"), wake_(io) {
  for (const auto& c : config_.clusters) {
    clients_.push_back(std::make_unique<es::ClusterClient>(io_.get_executor(), c, Duration(30000), size_t{1} << 20));
  }
}

DrillRunner::~DrillRunner() { stop(); }

void DrillRunner::stop() {
  stopped_ = true;
  wake_.cancel();
  for (auto& c : clients_) {
    c->shutdown();
  }
}

void DrillRunner::start() {
  std::ifstream in(path_);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_array()) {
      for (const auto& e : j) {
        if (auto r = drill_report_from_json(e)) {
          reports_.push_back(std::move(*r));
        } else {
          spdlog::warn("drill reports {}: {} (skipped)", path_.string(), r.error().message);
        }
      }
    } else {
      spdlog::warn("drill reports {}: not a JSON array; starting a new list", path_.string());
    }
  }
  if (!reports_.empty() && reports_.back().running) {
    running_ = true;
    asio::co_spawn(io_, recover(reports_.back()), asio::detached);
  }
  if (config_.drill.interval.count() > 0) {
    asio::co_spawn(io_, schedule(), asio::detached);
  }
}

void DrillRunner::save() {
  while (reports_.size() > static_cast<size_t>(std::max<int64_t>(config_.drill.keep, 1))) {
    reports_.erase(reports_.begin());
  }
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : reports_) {
    arr.push_back(drill_report_json(r));
  }
  if (auto w = write_file(path_, arr.dump(1)); !w) {
    spdlog::warn("drill: {}", w.error().message);
  }
}

Result<DrillPlan> DrillRunner::plan(const std::string& to) const {
  std::vector<std::string> names;
  for (const auto& c : config_.clusters) {
    names.push_back(c.name);
  }
  return plan_drill(ctx_.pipeline.state(), names, to, config_.drill.documents, now_sys());
}

asio::awaitable<void> DrillRunner::journal(EventKind kind, std::string actor, std::string message) {
  Change c;
  c.events.push_back(Event{0, now_sys(), ctx_.pipeline.state().epoch, kind, std::move(actor), std::move(message)});
  (void)co_await ctx_.pipeline.apply(std::move(c));
}

asio::awaitable<Result<std::string>> DrillRunner::switch_to(std::string target, std::string actor, std::string reason) {
  // As the switchover command does: the controller validates, then the
  // sync's planned move (writes blocked, final sync, roles switched).
  Command c;
  c.kind = CommandKind::kSwitchover;
  c.target = target;
  c.actor = actor;
  c.reason = reason;
  Decision check = ctx_.controller.on_command(ctx_.pipeline.state(), c, ctx_.latest_round(), now_sys());
  if (!check.ok) {
    co_return Error{check.code, check.reply};
  }
  auto r = co_await ctx_.sync.planned_switch(target, Transition::kSwitchover, actor, reason, false);
  co_return r;
}

asio::awaitable<Result<std::string>> DrillRunner::scratch(std::string cluster, std::string method, std::string target,
                                                          std::string body) {
  es::ClusterClient* client = nullptr;
  for (size_t i = 0; i < config_.clusters.size(); ++i) {
    if (config_.clusters[i].name == cluster) {
      client = clients_[i].get();
    }
  }
  if (!client) {
    co_return Error{ErrorCode::kUsage, "no cluster " + cluster};
  }
  auto r = co_await client->request(method, target, body);
  if (!r) {
    co_return Error{r.error().code, method + " " + target + " on " + cluster + ": " + r.error().message};
  }
  if (!r->ok()) {
    co_return Error{ErrorCode::kEsError, method + " " + target + " on " + cluster + ": " + r->error_summary()};
  }
  co_return r->body;
}

asio::awaitable<void> DrillRunner::step(DrillReport& r, DrillStep s, Result<std::string> outcome,
                                        std::chrono::steady_clock::time_point began) {
  DrillStepResult sr;
  sr.step = s;
  sr.ok = outcome.ok();
  sr.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - began);
  sr.detail = one_line(outcome ? *outcome : outcome.error().message);
  if (sr.detail.size() > 300) {
    sr.detail = sr.detail.substr(0, 300) + "…";
  }
  spdlog::log(sr.ok ? spdlog::level::info : spdlog::level::warn, "drill {}: {} {} ({} ms): {}", r.id, to_string(s),
              sr.ok ? "ok" : "FAILED", sr.took.count(), sr.detail);
  r.steps.push_back(std::move(sr));
  reports_.back() = r;
  save();
  co_return;
}

asio::awaitable<Result<DrillReport>> DrillRunner::run(std::string to, std::string actor, bool force) {
  if (running_) {
    co_return Error{ErrorCode::kBusy, "a drill is running (haesctl drill report)"};
  }
  auto p = plan(to);
  if (!p) {
    co_return p.error();
  }
  const ReadinessVerdict ready = ctx_.readiness();
  const auto refusing = ready.target == p->to ? refusing_planned_move(ready, true) : std::vector<ReadinessReason>{};
  if (!refusing.empty() && !force) {
    const std::string why =
        "drill " + p->from + " -> " + p->to + " refused: " + p->to + " is not ready: " + refusing.front().text;
    co_await journal(EventKind::kRefused, actor, why);
    co_return Error{ErrorCode::kNotReady, p->to + " is not ready to take over: " + refusing.front().text +
                                              " (docs/readiness.md; --force drills anyway)"};
  }
  running_ = true;
  DrillReport r;
  r.id = p->id;
  r.from = p->from;
  r.to = p->to;
  r.actor = actor;
  r.started_at = now_sys();
  r.readiness_before = readiness_line(ready);
  const SyncPoint& sp = ctx_.pipeline.state().last_sync;
  if (!sp.snapshot.empty() && sp.target == p->to) {
    r.rpo_seconds = std::chrono::duration_cast<std::chrono::seconds>(r.started_at - sp.started_at).count();
  }
  reports_.push_back(r);
  save();
  const std::string started =
      "drill " + r.id + " started: " + r.from + " -> " + r.to + " -> " + r.from +
      (force && !refusing.empty() ? "; forced past readiness: " + refusing.front().text : std::string());
  co_await journal(EventKind::kDrill, actor, started);
  const std::string put_method = "PUT";
  const std::string get_method = "GET";
  const std::string delete_method = "DELETE";
  const std::string no_body;
  const std::string reason = "drill " + r.id;
  const std::string index = "/" + p->scratch_index;
  auto t0 = std::chrono::steady_clock::now();
  Result<std::string> out = "readiness of " + r.to + ": " + r.readiness_before +
                            (r.rpo_seconds ? ", RPO " + std::to_string(*r.rpo_seconds) + "s" : "");
  co_await step(r, DrillStep::kReadinessBefore, out, t0);

  std::optional<DrillStep> failed;
  t0 = std::chrono::steady_clock::now();
  out = co_await switch_to(r.to, actor, reason);
  if (out) {
    r.write_block_to = ctx_.sync.status().last_write_block;
  }
  co_await step(r, DrillStep::kSwitchover, out, t0);
  if (!out) {
    failed = DrillStep::kSwitchover;
  }
  if (!failed && !stopped_) {
    t0 = std::chrono::steady_clock::now();
    const std::string create = R"({"settings":{"number_of_shards":1,"number_of_replicas":0}})";
    out = co_await scratch(r.to, put_method, index, create);
    for (int64_t i = 0; out && i < p->documents; ++i) {
      const std::string doc_target =
          index + "/_doc/" + std::to_string(i) + (i + 1 == p->documents ? "?refresh=true" : "");
      const std::string doc = R"({"drill":")" + r.id + R"(","n":)" + std::to_string(i) + "}";
      out = co_await scratch(r.to, put_method, doc_target, doc);
      if (out) {
        ++r.documents_written;
      }
    }
    if (out) {
      out = std::to_string(r.documents_written) + " documents written to " + p->scratch_index + " on " + r.to;
    }
    co_await step(r, DrillStep::kWrite, out, t0);
    if (!out) {
      failed = DrillStep::kWrite;
    }
  }
  if (!failed && !stopped_) {
    t0 = std::chrono::steady_clock::now();
    const std::string count_target = index + "/_count";
    out = co_await scratch(r.to, get_method, count_target, no_body);
    if (out) {
      auto j = nlohmann::json::parse(*out, nullptr, false);
      r.documents_read =
          j.is_object() && j.contains("count") && j["count"].is_number_integer() ? j["count"].get<int64_t>() : -1;
      Result<std::string> counted = std::to_string(r.documents_read) + " documents read back";
      if (r.documents_read != r.documents_written) {
        counted = Error{ErrorCode::kVerifyFailed, "read back " + std::to_string(r.documents_read) + " documents of " +
                                                      std::to_string(r.documents_written) + " written"};
      }
      out = counted;
    }
    co_await step(r, DrillStep::kRead, out, t0);
    if (!out) {
      failed = DrillStep::kRead;
    }
  }
  std::vector<DrillStep> rest =
      failed ? recovery_steps(*failed) : std::vector<DrillStep>{DrillStep::kCleanup, DrillStep::kSwitchBack};
  bool back_failed = false;
  for (DrillStep s : rest) {
    if (stopped_) {
      break;
    }
    t0 = std::chrono::steady_clock::now();
    if (s == DrillStep::kCleanup) {
      out = co_await scratch(r.to, delete_method, index, no_body);
      if (out) {
        out = p->scratch_index + " deleted";
      }
      co_await step(r, s, out, t0);
      if (!out && !failed) {
        failed = s;  // the switch back still runs
      }
    } else if (s == DrillStep::kSwitchBack) {
      const std::string back_reason = reason + (failed ? " (rollback)" : "");
      out = co_await switch_to(r.from, actor, back_reason);
      if (out) {
        r.write_block_back = ctx_.sync.status().last_write_block;
        r.rolled_back = failed.has_value();
      }
      co_await step(r, s, out, t0);
      back_failed = !out;
      if (!out && !failed) {
        failed = s;
      }
    }
  }
  if (!failed && !stopped_) {
    t0 = std::chrono::steady_clock::now();
    r.readiness_after = readiness_line(ctx_.readiness());
    out = r.readiness_after;
    co_await step(r, DrillStep::kReadinessAfter, out, t0);
  }
  if (stopped_) {
    co_return Error{ErrorCode::kCancelled, "the agent is stopping; the drill is undone at the next start"};
  }
  r.running = false;
  r.finished_at = now_sys();
  r.ok = !failed;
  if (failed) {
    for (const auto& s : r.steps) {
      if (!s.ok) {
        r.reason = std::string(to_string(s.step)) + ": " + s.detail;
        break;
      }
    }
    if (back_failed) {
      r.reason += "; the switch back failed: " + r.to + " is still active (haesctl switchover --to " + r.from + ")";
    }
  }
  reports_.back() = r;
  save();
  running_ = false;
  stats_.runs.inc(r.ok ? DrillResult::kPassed : DrillResult::kFailed);
  const std::string ended =
      "drill " + r.id + (r.ok ? " passed" : " failed: " + r.reason) + "; write unavailable " +
      (r.write_block_to ? std::to_string(r.write_block_to->count()) + " ms" : std::string("?")) + " / " +
      (r.write_block_back ? std::to_string(r.write_block_back->count()) + " ms" : std::string("?"));
  co_await journal(r.ok ? EventKind::kDrill : EventKind::kDrillFailed, actor, ended);
  co_return r;
}

asio::awaitable<void> DrillRunner::recover(DrillReport r) {
  // Wait for a health round: the switch back needs the controller's view.
  boost::system::error_code ec;
  while (!stopped_ && !ctx_.latest_round()) {
    wake_.expires_after(std::chrono::milliseconds(200));
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (stopped_) {
    co_return;
  }
  const std::string actor = "agent (recovering drill " + r.id + ")";
  spdlog::warn("drill {}: the agent stopped during it; undoing it ({} active now, {} before the drill)", r.id,
               ctx_.pipeline.state().active, r.from);
  const std::string index = "/haes-drill-" + r.id;
  auto t0 = std::chrono::steady_clock::now();
  const std::string delete_method = "DELETE";
  const std::string no_body;
  auto out = co_await scratch(r.to, delete_method, index, no_body);
  if (!out && out.error().message.find("index_not_found") != std::string::npos) {
    out = std::string("no scratch index left");
  }
  co_await step(r, DrillStep::kCleanup, out, t0);
  bool back = ctx_.pipeline.state().active == r.from;
  if (!back && ctx_.pipeline.state().active == r.to) {
    t0 = std::chrono::steady_clock::now();
    const std::string why = "drill " + r.id + " (rollback after a restart)";
    out = co_await switch_to(r.from, actor, why);
    back = out.ok();
    co_await step(r, DrillStep::kSwitchBack, out, t0);
    // The final sync of the switch back may have carried the scratch index.
    (void)co_await scratch(r.from, delete_method, index, no_body);
  }
  r.running = false;
  r.ok = false;
  r.rolled_back = back;
  r.finished_at = now_sys();
  r.reason = "interrupted: the agent stopped during the drill" +
             std::string(back ? "; " + r.from + " is active again" : "; " + r.from + " could NOT be made active again");
  reports_.back() = r;
  save();
  running_ = false;
  stats_.runs.inc(DrillResult::kFailed);
  const std::string ended = "drill " + r.id + " failed: " + r.reason;
  co_await journal(EventKind::kDrillFailed, actor, ended);
}

asio::awaitable<void> DrillRunner::schedule() {
  boost::system::error_code ec;
  while (!stopped_) {
    wake_.expires_after(config_.drill.interval);
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) {
      co_return;
    }
    if (running_ || (ctx_.may_run_automatic && !ctx_.may_run_automatic())) {
      continue;
    }
    const std::string any_target;
    const std::string actor = "drill schedule";
    auto r = co_await run(any_target, actor, false);
    if (!r) {
      spdlog::warn("scheduled drill not run: {}", r.error().message);
    }
  }
}

}  // namespace haes
