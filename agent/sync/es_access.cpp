#include "sync/es_access.hpp"

#include <spdlog/spdlog.h>

namespace haes::sync {

namespace asio = boost::asio;

namespace {

const char* method_name(Method m) {
  switch (m) {
    case Method::kPut: return "PUT";
    case Method::kPost: return "POST";
    case Method::kDelete: return "DELETE";
  }
  return "PUT";
}

Error no_such_cluster(const std::string& cluster) {
  return Error{ErrorCode::kInternal, "no configured cluster named " + cluster};
}

}  // namespace

Answer answer_of(const Result<es::Response>& r) {
  Answer a;
  if (!r) {
    a.transport = r.error();
    return a;
  }
  a.status = r->status;
  a.body = r->json;
  a.es_type = r->es_type;
  a.summary = r->error_summary();
  return a;
}

SyncEs::SyncEs(asio::any_io_executor executor, const Config& config, Duration timeout) {
  for (const auto& c : config.clusters) {
    clients_[c.name] = std::make_unique<es::ClusterClient>(executor, c, timeout, 16 * 1024 * 1024);
  }
}

void SyncEs::shutdown() {
  shut_ = true;
  for (auto& [name, client] : clients_) {
    client->shutdown();
  }
}

asio::awaitable<Answer> SyncEs::read(std::string cluster, std::string path, std::optional<Duration> timeout) {
  auto it = clients_.find(cluster);
  if (it == clients_.end()) {
    Answer a;
    a.transport = no_such_cluster(cluster);
    co_return a;
  }
  auto r = co_await it->second->request("GET", path, {}, timeout);
  co_return answer_of(r);
}

asio::awaitable<Answer> SyncEs::send(Method method, std::string cluster, std::string path, std::string body,
                                     std::optional<Duration> timeout) {
  auto it = clients_.find(cluster);
  if (it == clients_.end()) {
    Answer a;
    a.transport = no_such_cluster(cluster);
    co_return a;
  }
  auto r = co_await it->second->request(method_name(method), path, body, timeout);
  co_return answer_of(r);
}

WriteGuard::WriteGuard(SyncEs& es, const TransitionPipeline& pipeline, SyncStats& stats, Plan plan, MayRunNow may_run)
    : es_(es), pipeline_(pipeline), stats_(stats), plan_(std::move(plan)), may_run_(std::move(may_run)) {}

std::optional<Error> WriteGuard::check(const WriteIntent& w) const {
  return guard_check(plan_, pipeline_.state(), w, sent_, context());
}

asio::awaitable<Answer> WriteGuard::read(Read r) {
  if (auto refused = read_check(plan_, pipeline_.state(), r.cluster, r.what, sent_, context())) {
    spdlog::debug("sync: GET {} on {} not sent: {}", r.path, r.cluster, refused->message);
    Answer a;
    a.transport = std::move(*refused);
    co_return a;
  }
  auto a = co_await es_.read(std::move(r.cluster), std::move(r.path), r.timeout);
  co_return a;
}

asio::awaitable<Result<Answer>> WriteGuard::write(Write w) {
  if (auto refused = check(w.intent)) {
    stats_.guard_refusals.inc();
    spdlog::warn("sync: {} {} on {} not sent: {}", method_name(w.method), w.path, w.intent.cluster, refused->message);
    co_return *refused;
  }
  spdlog::debug("sync: {} {} on {} ({})", method_name(w.method), w.path, w.intent.cluster, w.intent.what);
  sent_.push_back(w.intent);
  auto a = co_await es_.send(w.method, w.intent.cluster, w.path, w.body, w.timeout);
  co_return a;
}

}  // namespace haes::sync
