// Everything printed from the schema table: the effective configuration
// (`show config`), the reference page (docs/config.md) and the
// `--check-config` summary.

#include <sstream>

#include "config/schema.hpp"

namespace haes {
namespace config_detail {
namespace {

std::vector<const KeyDef*> children_of(std::string_view prefix) {
  std::vector<const KeyDef*> out;
  for (const auto& k : schema()) {
    if (parent_of(k.path) == prefix) {
      out.push_back(&k);
    }
  }
  return out;
}

YAML::Node render_map(Ctx& ctx, std::string_view prefix);

YAML::Node render_value(Ctx& ctx, const KeyDef& k) {
  switch (k.type) {
    case Type::kSection: return render_map(ctx, k.path);
    case Type::kOptionalSection: return k.present(ctx) ? render_map(ctx, k.path) : YAML::Node();
    case Type::kList: {
      YAML::Node seq(YAML::NodeType::Sequence);
      const std::string item_prefix = std::string(k.path) + "[]";
      for (size_t i = 0; i < k.count(ctx); ++i) {
        k.select(ctx, i);
        seq.push_back(render_map(ctx, item_prefix));
      }
      return seq;
    }
    default: return k.get(ctx);
  }
}

YAML::Node render_map(Ctx& ctx, std::string_view prefix) {
  YAML::Node map(YAML::NodeType::Map);
  for (const KeyDef* k : children_of(prefix)) {
    YAML::Node v = render_value(ctx, *k);
    if (v.IsDefined() && !v.IsNull() && !(v.IsMap() && v.size() == 0)) {
      map[std::string(leaf_of(k->path))] = v;
    }
  }
  return map;
}

std::string default_text(const KeyDef& k) {
  if (k.required) {
    return "required";
  }
  if (!k.def.empty()) {
    std::string d(k.def);
    return "`" + d + "`";
  }
  if (k.type == Type::kSection || k.type == Type::kList) {
    return "";
  }
  if (k.type == Type::kOptionalSection) {
    return "absent (off)";
  }
  return "none";
}

std::string escape_cell(std::string s) {
  for (size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) {
    s.replace(i, 1, "\\|");
  }
  return s;
}

}  // namespace
}  // namespace config_detail

std::string render_effective_config(const Config& config) {
  using namespace config_detail;
  Config copy = config;
  Ctx ctx;
  ctx.cfg = &copy;
  YAML::Emitter out;
  out << render_map(ctx, "");
  return "# effective configuration of " + config.source +
         " (defaults included; secrets are never in the configuration, only where to read them)\n" + out.c_str() + "\n";
}

std::string config_reference_markdown() {
  using namespace config_detail;
  std::ostringstream md;
  md << "# Configuration reference\n\n"
     << "<!-- Generated from agent/config/schema.cpp by `haes-config-doc`; do not edit by hand. -->\n\n"
     << "`haes-agent --config FILE` reads YAML. Unknown keys and bad values are refused at\n"
     << "start with the file, the line, the key path, the bad value and what was expected;\n"
     << "`haes-agent --check-config FILE` validates a file without starting (exit 0 or 1).\n"
     << "Durations are written `500ms`, `1s`, `5m`, `2h`, `7d` or combined (`1h30m`).\n"
     << "`clusters[]` stands for every item of the `clusters` list.\n\n"
     << "Minimal file:\n\n"
     << "```yaml\n"
     << "spoe:\n  listen: 127.0.0.1:12345\n"
     << "clusters:\n  - name: dc1\n    nodes: [http://127.0.0.1:9200, http://127.0.0.1:9201]\n"
     << "  - name: dc2\n    nodes: [http://127.0.0.1:9300]\n"
     << "preferred: dc1        # the cluster that is active at first start\n"
     << "```\n\n"
     << "| key | type | default | description |\n|---|---|---|---|\n";
  for (const auto& k : schema()) {
    std::string type(type_name(k.type));
    if (!k.unit.empty()) {
      type += " (" + std::string(k.unit) + ")";
    }
    std::string help(k.help);
    if (!k.expected.empty() && k.type != Type::kString && k.type != Type::kPath) {
      help += " Expected: " + k.expected + ".";
    }
    md << "| `" << k.path << "` | " << type << " | " << default_text(k) << " | " << escape_cell(help) << " |\n";
  }
  return md.str();
}

std::string check_config_summary(const Config& c) {
  std::ostringstream s;
  s << c.source << ": OK\n";
  for (const auto& cl : c.clusters) {
    s << "  cluster " << cl.name << ": " << cl.nodes.size() << " node(s)";
    for (const auto& n : cl.nodes) {
      s << " " << n.name;
    }
    if (cl.name == c.preferred) {
      s << " (preferred)";
    }
    s << "\n";
  }
  s << "  spoe " << c.spoe.listen.to_string();
  if (c.health.listen) {
    s << ", health " << c.health.listen->to_string();
  }
  if (c.agent_check.listen) {
    s << ", agent-check " << c.agent_check.listen->to_string();
  }
  s << ", admin " << c.admin.socket << "\n";
  s << "  state " << to_string(c.state.store) << " " << c.state.path << "\n";
  s << "  failover: every " << format_duration(c.failover.interval) << ", after " << c.failover.fail_threshold
    << " bad rounds, hold-down " << format_duration(c.failover.hold_down)
    << (c.failover.automatic ? "" : ", automatic failover OFF") << "\n";
  s << "  sync: " << (c.sync ? "every " + format_duration(c.sync->interval) : std::string("off")) << "\n";
  return s.str();
}

}  // namespace haes
