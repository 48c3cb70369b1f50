#include "commands/commands.hpp"

#include <spdlog/spdlog.h>

#include "drill/drill.hpp"
#include "sync/snapshot_sync.hpp"

namespace haes {
namespace {

using admin::Args;
using admin::CommandSpec;
using admin::FlagSpec;
using admin::Peer;
using admin::Reply;

const FlagSpec kDryRun{"--dry-run", false, "say what would happen, change nothing"};
const FlagSpec kReason{"--reason", true, "why (journaled)"};
const FlagSpec kTo{"--to", true, "target cluster"};
const FlagSpec kForceReady{"--force", false, "go on even if the target is not ready (journaled)"};

Reply ok_reply(std::string text, nlohmann::json j) {
  Reply r;
  r.text = std::move(text);
  r.json = std::move(j);
  return r;
}

std::string store_failure(const Error& e) {
  return "state store write failed (" + std::string(to_string(e.code)) + "): " + e.message +
         "; nothing changed, verdicts unchanged";
}

std::string quoted(const std::string& w) {
  std::string q = "\"";
  for (char c : w) {
    if (c == '"' || c == '\\') {
      q += '\\';
    }
    q += c;
  }
  return q + "\"";
}

// The command line to run on the leader for a planned move.
std::string planned_line(CommandKind kind, const Command& c) {
  std::string line(to_string(kind));
  if (kind == CommandKind::kSwitchover) {
    line += " --to " + quoted(c.target);
  }
  if (!c.reason.empty()) {
    line += " --reason " + quoted(c.reason);
  }
  if (c.force) {
    line += " --force";
  }
  if (c.dry_run) {
    line += " --dry-run";
  }
  return line;
}

std::string command_line(CommandKind kind, const Command& c) {
  return std::string(to_string(kind)) + (c.target.empty() ? "" : " --to " + c.target) + (c.force ? " --force" : "") +
         (c.dry_run ? " --dry-run" : "");
}

// The typed command of an admin request; a bad --for is a usage error.
Result<Command> make_command(CommandKind kind, const Args& a, const Peer& peer) {
  Command c;
  c.kind = kind;
  c.target = a.get("--to");
  c.force = a.has("--force");
  c.dry_run = a.has("--dry-run");
  c.reason = a.get("--reason");
  c.actor = peer.actor();
  if (a.has("--for")) {
    auto d = parse_duration(a.get("--for"));
    if (!d || d->count() <= 0) {
      return Error{ErrorCode::kUsage, "--for: '" + a.get("--for") + "' is not a duration (e.g. 90s, 30m, 2h)"};
    }
    c.for_duration = *d;
  }
  return c;
}

class Handlers {
 public:
  explicit Handlers(CommandsContext ctx) : ctx_(std::move(ctx)) {}

  // A command the controller decides alone (no I/O): decide, then apply.
  boost::asio::awaitable<Reply> decide(CommandKind kind, Args a, Peer peer) const {
    auto c = make_command(kind, a, peer);
    if (!c) {
      co_return Reply::error(c.error().code, c.error().message);
    }
    if (kind == CommandKind::kSwitchover || kind == CommandKind::kFailback) {
      Command gated = *c;
      if (kind == CommandKind::kFailback) {
        gated.target = ctx_.config->preferred;
      }
      auto refused = co_await readiness_gate(kind, gated);
      if (refused) {
        co_return *refused;
      }
    }
    Decision d = ctx_.controller->on_command(ctx_.pipeline->state(), *c, ctx_.latest_round(), ctx_.now());
    auto r = co_await ctx_.pipeline->apply(d);
    if (!r && r.error().code == ErrorCode::kConflict) {
      // Another agent (or operator) changed the state first: decide again
      // on what it wrote, once, so this operator is told why (e.g. "dc2 is
      // already active") rather than "conflict".
      (void)co_await ctx_.pipeline->reload();
      d = ctx_.controller->on_command(ctx_.pipeline->state(), *c, ctx_.latest_round(), ctx_.now());
      r = co_await ctx_.pipeline->apply(d);
    }
    spdlog::info("admin: {} ran '{}': {}", c->actor, command_line(kind, *c), d.ok ? d.reply : "refused: " + d.reply);
    if (!r) {
      co_return Reply::error(ErrorCode::kStoreError, store_failure(r.error()));
    }
    if (!d.ok) {
      co_return Reply::error(d.code, d.reply);
    }
    const State& s = ctx_.pipeline->state();
    std::string text = d.reply;
    if (d.roles_changed()) {
      text += "\nepoch " + std::to_string(s.epoch) + ", active " + (s.active.empty() ? "none" : s.active);
    }
    co_return ok_reply(text, {{"ok", true},
                              {"reply", d.reply},
                              {"dry_run", c->dry_run},
                              {"changed", d.changed && !c->dry_run},
                              {"roles_changed", d.roles_changed()},
                              {"epoch", s.epoch},
                              {"active", s.active}});
  }

  // failback / switchover with a sync: the controller validates first (the
  // one place for target rules), then the sync blocks writes, takes a final
  // snapshot, restores it and asks the controller to switch.
  boost::asio::awaitable<Reply> planned(CommandKind kind, Args a, Peer peer) const {
    auto c = make_command(kind, a, peer);
    if (!c) {
      co_return Reply::error(c.error().code, c.error().message);
    }
    if (ctx_.on_leader) {
      const std::string line = planned_line(kind, *c);
      if (auto fwd = co_await ctx_.on_leader(line, peer)) {
        co_return *fwd;
      }
    }
    if (kind == CommandKind::kFailback) {
      c->target = ctx_.config->preferred;
    }
    Decision check = ctx_.controller->on_command(ctx_.pipeline->state(), *c, ctx_.latest_round(), ctx_.now());
    if (!check.ok) {
      spdlog::info("admin: {} ran '{}': refused: {}", c->actor, command_line(kind, *c), check.reply);
      (void)co_await ctx_.pipeline->apply(check);  // journals the refusal; the refusal stands either way
      co_return Reply::error(check.code, check.reply);
    }
    auto refused = co_await readiness_gate(kind, *c);
    if (refused) {
      co_return *refused;
    }
    spdlog::info("admin: {} ran '{}' (planned, with a final sync)", c->actor, command_line(kind, *c));
    const Transition t = kind == CommandKind::kFailback ? Transition::kFailback : Transition::kSwitchover;
    Result<std::string> r = std::string();
    if (ctx_.planned_move) {
      const Command cmd = *c;
      CommandsContext::SwitchRoles switch_roles = [this, cmd]() -> boost::asio::awaitable<Result<std::string>> {
        Decision d = ctx_.controller->on_command(ctx_.pipeline->state(), cmd, ctx_.latest_round(), ctx_.now());
        auto applied = co_await ctx_.pipeline->apply(d);
        if (!applied) {
          co_return applied.error();
        }
        if (!d.ok) {
          co_return Error{d.code, d.reply};
        }
        co_return d.reply;
      };
      r = co_await ctx_.planned_move(c->target, c->dry_run, std::move(switch_roles));
    } else {
      r = co_await ctx_.sync->planned_switch(c->target, t, c->actor, c->reason, c->dry_run);
    }
    if (!r) {
      co_return Reply::error(r.error().code, r.error().message);
    }
    const State& s = ctx_.pipeline->state();
    co_return ok_reply(
        *r, {{"ok", true}, {"reply", *r}, {"dry_run", c->dry_run}, {"epoch", s.epoch}, {"active", s.active}});
  }

  // Passive readiness before a planned move (docs/readiness.md): a refusal
  // when the target is judged not ready and --force is absent (journaled);
  // with --force the override is journaled and the move goes on.
  boost::asio::awaitable<std::optional<Reply>> readiness_gate(CommandKind kind, Command c) const {
    if (!ctx_.readiness) {
      co_return std::nullopt;
    }
    auto v = ctx_.readiness();
    if (!v || v->target != c.target) {
      co_return std::nullopt;
    }
    const auto reasons = refusing_planned_move(*v, ctx_.sync != nullptr);
    if (reasons.empty()) {
      co_return std::nullopt;
    }
    const std::string why = reasons.front().text;
    const std::string what = std::string(to_string(kind)) + " to " + c.target;
    Change note;
    if (c.force) {
      spdlog::warn("admin: {} forced {} although {} is not ready: {}", c.actor, what, c.target, why);
      note.events.push_back(Event{0, ctx_.now(), ctx_.pipeline->state().epoch, EventKind::kReadinessOverridden, c.actor,
                                  what + " forced although " + c.target + " is not ready: " + why});
    } else {
      spdlog::info("admin: {} ran '{}': refused: {} is not ready: {}", c.actor, command_line(kind, c), c.target, why);
      note.events.push_back(Event{0, ctx_.now(), ctx_.pipeline->state().epoch, EventKind::kRefused, c.actor,
                                  what + " refused: " + c.target + " is not ready: " + why});
    }
    if (!c.dry_run) {
      (void)co_await ctx_.pipeline->apply(std::move(note));
    }
    if (c.force) {
      co_return std::nullopt;
    }
    co_return Reply::error(ErrorCode::kNotReady, c.target + " is not ready to take over: " + why + "\nadd --force to " +
                                                     std::string(to_string(kind)) + " anyway (docs/readiness.md)");
  }

  boost::asio::awaitable<Reply> drill(Args a, Peer peer) const {
    if (!ctx_.drill) {
      co_return Reply::error(ErrorCode::kSyncOff, "drills need the snapshot sync (no sync: section; docs/drills.md)");
    }
    const bool dry = a.has("--dry-run");
    const bool force = a.has("--force");
    const std::string to = a.get("--to");
    if (ctx_.on_leader) {
      std::string line = "drill";
      line += to.empty() ? "" : " --to " + quoted(to);
      line += force ? " --force" : "";
      line += dry ? " --dry-run" : "";
      if (auto fwd = co_await ctx_.on_leader(line, peer)) {
        co_return *fwd;
      }
    }
    if (dry) {
      auto p = ctx_.drill->plan(to);
      if (!p) {
        co_return Reply::error(p.error().code, p.error().message);
      }
      co_return ok_reply(render_plan(*p), {{"ok", true},
                                           {"dry_run", true},
                                           {"id", p->id},
                                           {"from", p->from},
                                           {"to", p->to},
                                           {"scratch_index", p->scratch_index},
                                           {"plan", render_plan(*p)}});
    }
    spdlog::info("admin: {} ran 'drill{}{}'", peer.actor(), to.empty() ? "" : " --to " + to, force ? " --force" : "");
    const std::string actor = peer.actor();
    auto r = co_await ctx_.drill->run(to, actor, force);
    if (!r) {
      co_return Reply::error(r.error().code, "drill not started: " + r.error().message);
    }
    if (!r->ok) {
      Reply e = Reply::error(ErrorCode::kVerifyFailed, render_drill_report(*r));
      e.json = drill_report_json(*r);
      co_return e;
    }
    co_return ok_reply(render_drill_report(*r), drill_report_json(*r));
  }

  boost::asio::awaitable<Reply> drill_report(Args a) const {
    if (!ctx_.drill) {
      co_return Reply::error(ErrorCode::kSyncOff, "drills need the snapshot sync (no sync: section; docs/drills.md)");
    }
    size_t n = 1;
    if (!a.positional.empty()) {
      const std::string& s = a.positional[0];
      if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos || std::stoul(s) == 0) {
        co_return Reply::error(ErrorCode::kUsage, "drill report: N must be a positive number, got '" + s + "'");
      }
      n = std::stoul(s);
    }
    // From the store: with several agents, whichever ran the drill.
    auto all = co_await ctx_.drill->fresh_reports();
    if (!all) {
      co_return Reply::error(all.error().code, all.error().message);
    }
    nlohmann::json arr = nlohmann::json::array();
    std::string text;
    for (size_t i = all->size() > n ? all->size() - n : 0; i < all->size(); ++i) {
      text += (text.empty() ? "" : "\n") + render_drill_report((*all)[i]);
      arr.push_back(drill_report_json((*all)[i]));
    }
    if (text.empty()) {
      text = "no drill yet (haesctl drill; reports kept in " + ctx_.drill->where() + ")";
    }
    co_return ok_reply(text, {{"ok", true}, {"reports", arr}});
  }

  boost::asio::awaitable<Reply> sync_now(Peer peer) const {
    if (!ctx_.sync) {
      co_return sync_off();
    }
    if (ctx_.on_leader) {
      const std::string line = "sync now";
      if (auto fwd = co_await ctx_.on_leader(line, peer)) {
        co_return *fwd;
      }
    }
    auto r = co_await ctx_.sync->sync_now(peer.actor());
    if (!r) {
      co_return Reply::error(r.error().code, "sync failed: " + r.error().message);
    }
    co_return ok_reply(*r, {{"ok", true}, {"reply", *r}});
  }

  boost::asio::awaitable<Reply> verify_restore(Peer peer) const {
    if (!ctx_.sync) {
      co_return sync_off();
    }
    if (ctx_.on_leader) {
      const std::string line = "verify-restore";
      if (auto fwd = co_await ctx_.on_leader(line, peer)) {
        co_return *fwd;
      }
    }
    auto r = co_await ctx_.sync->verify_restore(peer.actor());
    if (!r) {
      co_return Reply::error(r.error().code, r.error().message);
    }
    co_return ok_reply(*r, {{"ok", true}, {"reply", *r}});
  }

  boost::asio::awaitable<Reply> sync_hold(CommandKind kind, Args a, Peer peer) const {
    if (!ctx_.sync) {
      co_return sync_off();
    }
    auto c = make_command(kind, a, peer);
    if (!c) {
      co_return Reply::error(c.error().code, c.error().message);
    }
    Decision d = ctx_.controller->on_command(ctx_.pipeline->state(), *c, ctx_.latest_round(), ctx_.now());
    if (kind == CommandKind::kSyncHold && d.changed && ctx_.sync->status().running()) {
      d.reply +=
          "; the running " + std::string(to_string(ctx_.sync->status().operation)) + " stops before its next step";
    }
    spdlog::info("admin: {} ran '{}{}': {}", c->actor, kind == CommandKind::kSyncHold ? "sync hold" : "sync release",
                 c->dry_run ? " --dry-run" : "", d.reply);
    if (auto r = co_await ctx_.pipeline->apply(d); !r) {
      co_return Reply::error(ErrorCode::kStoreError, store_failure(r.error()));
    }
    co_return ok_reply(
        d.reply, {{"ok", true}, {"reply", d.reply}, {"dry_run", c->dry_run}, {"changed", d.changed && !c->dry_run}});
  }

  Reply status() const {
    StatusReport rep = ctx_.status();
    return ok_reply(render_status_text(rep), render_status_json(rep));
  }

  boost::asio::awaitable<Reply> events(Args a) const {
    size_t n = 20;
    if (!a.positional.empty()) {
      const std::string& s = a.positional[0];
      if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos || std::stoul(s) == 0) {
        co_return Reply::error(ErrorCode::kUsage, "events: N must be a positive number, got '" + s + "'");
      }
      n = std::stoul(s);
    }
    auto list = co_await ctx_.pipeline->store().events(n);
    if (!list) {
      co_return Reply::error(list.error().code, "reading the journal: " + list.error().message);
    }
    Reply r;
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : *list) {
      r.text += (r.text.empty() ? "" : "\n") + std::to_string(e.seq) + " " + format_time(e.at) + " epoch " +
                std::to_string(e.epoch) + " " + std::string(to_string(e.kind)) + " by " + e.actor + ": " + e.message;
      arr.push_back({{"seq", e.seq},
                     {"at", format_time(e.at)},
                     {"epoch", e.epoch},
                     {"kind", to_string(e.kind)},
                     {"actor", e.actor},
                     {"message", e.message}});
    }
    if (r.text.empty()) {
      r.text = "no events";
    }
    r.json = {{"events", arr}};
    co_return r;
  }

 private:
  static Reply sync_off() {
    return Reply::error(ErrorCode::kSyncOff, "snapshot sync is not configured (no sync: section; docs/sync.md)");
  }
  const CommandsContext ctx_;
};

}  // namespace

void register_commands(admin::CommandTable& table, const CommandsContext& context) {
  // Every handler shares one copy of the context, kept alive by the table.
  auto h = std::make_shared<const Handlers>(context);
  const bool with_sync = context.sync != nullptr || context.planned_move != nullptr;
  auto sync_note = [&](const std::string& help) {
    return with_sync ? help + " — with sync: blocks writes, final snapshot and restore first (no loss)" : help;
  };
  // Commands that write the state run as coroutines: the store may be
  // remote (etcd).
  auto controller_command = [&](CommandSpec spec, CommandKind kind) {
    spec.async_handler = [h, kind](Args a, Peer p) { return h->decide(kind, std::move(a), std::move(p)); };
    return spec;
  };
  auto planned = [&](CommandSpec spec, CommandKind kind) {
    if (!with_sync) {
      return controller_command(std::move(spec), kind);
    }
    spec.async_handler = [h, kind](Args a, Peer p) { return h->planned(kind, std::move(a), std::move(p)); };
    return spec;
  };
  auto async = [](CommandSpec spec, std::function<boost::asio::awaitable<Reply>(Args, Peer)> f) {
    spec.async_handler = std::move(f);
    return spec;
  };

  table.add(CommandSpec{{"status"},
                        "status",
                        "roles, epoch, health of every node, what blocks the robot",
                        {},
                        0,
                        false,
                        [h](const Args&, const Peer&) { return h->status(); }});
  table.add(
      async(CommandSpec{{"events"}, "events [N]", "the last N journal events (default 20)", {}, 1, false, nullptr},
            [h](Args a, const Peer&) { return h->events(std::move(a)); }));
  table.add(planned(CommandSpec{{"failback"},
                                "failback [--reason TEXT] [--force] [--dry-run]",
                                sync_note("make the preferred cluster active again (it must be green or yellow, "
                                          "and ready: --force)"),
                                {kReason, kForceReady, kDryRun},
                                0,
                                true,
                                nullptr},
                    CommandKind::kFailback));
  table.add(planned(CommandSpec{{"switchover"},
                                "switchover --to CLUSTER [--reason TEXT] [--force] [--dry-run]",
                                sync_note("planned move of the active role (CLUSTER must be green or yellow, and "
                                          "ready: --force)"),
                                {kTo, kReason, kForceReady, kDryRun},
                                0,
                                true,
                                nullptr},
                    CommandKind::kSwitchover));
  table.add(controller_command(CommandSpec{{"failover"},
                                           "failover --to CLUSTER [--force] [--reason TEXT] [--dry-run]",
                                           "emergency move; --force skips the health check of CLUSTER",
                                           {kTo, {"--force", false, "skip the health check"}, kReason, kDryRun},
                                           0,
                                           true,
                                           nullptr},
                               CommandKind::kFailover));
  table.add(controller_command(CommandSpec{{"pause"},
                                           "pause [--reason TEXT] [--for DURATION] [--dry-run]",
                                           "no automatic failover until resumed (or for DURATION, e.g. 30m)",
                                           {kReason, {"--for", true, "duration"}, kDryRun},
                                           0,
                                           true,
                                           nullptr},
                               CommandKind::kPause));
  table.add(controller_command(
      CommandSpec{{"resume"}, "resume [--dry-run]", "automatic failover allowed again", {kDryRun}, 0, true, nullptr},
      CommandKind::kResume));
  table.add(controller_command(
      CommandSpec{
          {"ack"}, "ack [--dry-run]", "end the hold-down after a transition early", {kDryRun}, 0, true, nullptr},
      CommandKind::kAck));
  CommandSpec sync_now{{"sync", "now"}, "sync now", "run one snapshot sync now and wait for it", {}, 0, true, nullptr};
  sync_now.async_handler = [h](const Args&, Peer p) { return h->sync_now(std::move(p)); };
  table.add(std::move(sync_now));
  table.add(async(CommandSpec{{"sync", "hold"},
                              "sync hold [--reason TEXT] [--dry-run]",
                              "no snapshot and no restore until released (stored; survives a restart)",
                              {kReason, kDryRun},
                              0,
                              true,
                              nullptr},
                  [h](Args a, Peer p) { return h->sync_hold(CommandKind::kSyncHold, std::move(a), std::move(p)); }));
  table.add(async(
      CommandSpec{{"sync", "release"}, "sync release [--dry-run]", "end a sync hold", {kDryRun}, 0, true, nullptr},
      [h](Args a, Peer p) { return h->sync_hold(CommandKind::kSyncRelease, std::move(a), std::move(p)); }));
  CommandSpec verify{{"verify-restore"},
                     "verify-restore",
                     "restore the last synced snapshot under scratch names on the passive cluster and compare counts",
                     {},
                     0,
                     true,
                     nullptr};
  verify.async_handler = [h](const Args&, Peer p) { return h->verify_restore(std::move(p)); };
  table.add(std::move(verify));
  table.add(async(CommandSpec{{"drill"},
                              "drill [--to CLUSTER] [--force] [--dry-run]",
                              "DR drill: switchover to the passive cluster, write and read there, switch back; "
                              "--dry-run prints the plan",
                              {kTo, kForceReady, kDryRun},
                              0,
                              true,
                              nullptr},
                  [h](Args a, Peer p) { return h->drill(std::move(a), std::move(p)); }));
  table.add(async(
      CommandSpec{
          {"drill", "report"}, "drill report [N]", "the last N drill reports (default 1)", {}, 1, false, nullptr},
      [h](Args a, const Peer&) { return h->drill_report(std::move(a)); }));
  const Config* config = context.config;
  table.add(CommandSpec{{"show", "config"},
                        "show config",
                        "the effective configuration (holds no secret)",
                        {},
                        0,
                        false,
                        [config](const Args&, const Peer&) {
                          std::string text = render_effective_config(*config);
                          return ok_reply(text, {{"config", text}});
                        }});
  const admin::CommandTable* t = &table;
  table.add(CommandSpec{{"help"}, "help", "this list", {}, 0, false, [t](const Args&, const Peer&) {
                          nlohmann::json list = nlohmann::json::array();
                          for (const auto& c : t->commands()) {
                            list.push_back({{"usage", c.usage}, {"help", c.help}, {"mutates", c.mutates}});
                          }
                          return ok_reply(t->help_text(), {{"commands", list}});
                        }});
}

}  // namespace haes
