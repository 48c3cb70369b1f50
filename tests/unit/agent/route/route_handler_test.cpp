// The haes-route handler behind the real SPOP server, driven over loopback
// by the SPOP test client (the same one the spoe/ tests use).
#include "route/route_handler.hpp"

#include <gtest/gtest.h>

#include <map>

#include "spop_client.hpp"

namespace haes {
namespace {

using spoe::test::SpopClient;

std::shared_ptr<Verdict> verdict(uint64_t epoch, const std::string& active, bool es2_up = true) {
  auto v = std::make_shared<Verdict>();
  v->epoch = epoch;
  for (std::string name : {"dc1", "dc2"}) {
    ClusterVerdict c;
    c.name = name;
    c.active = c.may_take_traffic = name == active;
    c.nodes = {{"es1", c.may_take_traffic, ""}, {"es2", c.may_take_traffic && es2_up, ""}};
    v->clusters.push_back(c);
  }
  v->cluster = active;
  v->allow = !active.empty();
  v->spoe_actions = encode_route_actions(*v);
  return v;
}

class RouteHandlerTest : public ::testing::Test {
 protected:
  RouteHandlerTest() {
    view_.publish(verdict(7, "dc1"));
    spoe::ServerOptions o;
    o.threads = 2;
    server_ = std::make_unique<spoe::Server>(o, RouteHandler(view_, counters_));
    server_->start();
    client_ = std::make_unique<SpopClient>(server_->port());
    client_->hello();
  }

  // Sends one haes-route message with the given string args (a value of
  // nullopt is sent as NULL, like a missing HAProxy sample) and returns the
  // ACK's variables.
  std::map<std::string, spoe::Value> ask(std::vector<std::pair<std::string, std::optional<std::string>>> args = {},
                                         std::string message = "haes-route") {
    spoe::Bytes b;
    spoe::FrameBuilder f(b, spoe::FrameType::kNotify, ++sid_, 1);
    f.message(message, static_cast<uint8_t>(args.size()));
    for (auto& [k, v] : args) {
      f.arg(k, v ? spoe::Value::string(*v) : spoe::Value::null());
    }
    f.finish();
    client_->send(b);
    auto ack = client_->recv_frame();
    EXPECT_TRUE(ack.has_value());
    std::map<std::string, spoe::Value> vars;
    if (!ack) {
      return vars;
    }
    EXPECT_EQ(ack->view.stream_id, sid_);
    ack_bytes_ = ack->bytes;
    spoe::DecodeResult r = spoe::decode_frame(ack_bytes_, UINT32_MAX);
    spoe::ActionReader actions(r.frame.payload);
    spoe::Action a;
    while (actions.next(a) == spoe::Next::kItem) {
      EXPECT_EQ(a.scope, spoe::Scope::kTxn);
      vars[std::string(a.name)] = a.type == spoe::ActionType::kSetVar ? a.value : spoe::Value::null();
    }
    return vars;
  }

  VerdictView view_;
  RouteCounters counters_;
  std::unique_ptr<spoe::Server> server_;
  std::unique_ptr<SpopClient> client_;
  uint64_t sid_ = 0;
  std::vector<uint8_t> ack_bytes_;
};

TEST_F(RouteHandlerTest, SetsClusterEpochAndAllow) {
  auto vars = ask();
  EXPECT_EQ(vars["cluster"], spoe::Value::string("dc1"));
  EXPECT_EQ(vars["epoch"], spoe::Value::int64(7));
  EXPECT_EQ(vars["allow"], spoe::Value::boolean_value(true));
  EXPECT_EQ(vars.count("node_active"), 0u);
  EXPECT_EQ(counters_.messages.value(), 1u);
}

TEST_F(RouteHandlerTest, NoClusterMeansUnsetClusterAndAllowFalse) {
  view_.publish(verdict(9, ""));
  auto vars = ask();
  ASSERT_EQ(vars.count("cluster"), 1u);
  EXPECT_EQ(vars["cluster"].type, spoe::DataType::kNull);  // unset-var
  EXPECT_EQ(vars["allow"], spoe::Value::boolean_value(false));
  EXPECT_EQ(vars["epoch"], spoe::Value::int64(9));
}

TEST_F(RouteHandlerTest, FollowsEachPublishedVerdict) {
  EXPECT_EQ(ask()["cluster"], spoe::Value::string("dc1"));
  view_.publish(verdict(8, "dc2"));
  auto vars = ask();
  EXPECT_EQ(vars["cluster"], spoe::Value::string("dc2"));
  EXPECT_EQ(vars["epoch"], spoe::Value::int64(8));
}

TEST_F(RouteHandlerTest, NodeActiveOnlyWhenAsked) {
  view_.publish(verdict(7, "dc1", /*es2_up=*/false));
  EXPECT_EQ(ask({{"cluster", "dc1"}})["node_active"], spoe::Value::boolean_value(true));
  EXPECT_EQ(ask({{"cluster", "dc2"}})["node_active"], spoe::Value::boolean_value(false));
  EXPECT_EQ(ask({{"cluster", "dc1"}, {"node", "es1"}})["node_active"], spoe::Value::boolean_value(true));
  EXPECT_EQ(ask({{"cluster", "dc1"}, {"node", "es2"}})["node_active"], spoe::Value::boolean_value(false));
  EXPECT_EQ(ask({{"node", "es1"}})["node_active"], spoe::Value::boolean_value(true));
  EXPECT_EQ(ask({{"cluster", "dc9"}})["node_active"], spoe::Value::boolean_value(false));
  // A NULL argument (missing sample) is absent: no node_active.
  EXPECT_EQ(ask({{"cluster", std::nullopt}}).count("node_active"), 0u);
  EXPECT_EQ(counters_.node_queries.value(), 6u);
}

TEST_F(RouteHandlerTest, UnknownMessagesAreAckedWithoutVariables) {
  auto vars = ask({}, "other-message");
  EXPECT_EQ(vars.count("cluster"), 0u);
  EXPECT_EQ(vars.count(std::string(spoe::kNoopVarName)), 1u);
  EXPECT_EQ(counters_.unknown_messages.value(), 1u);
}

}  // namespace
}  // namespace haes
