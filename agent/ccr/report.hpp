#pragma once
// The CCR section of `haesctl status` (text and --json) and its /metrics
// gauges, rendered from ccr::CcrStatus (status/render.cpp and
// status/metrics.cpp call these). Pure.
#include <string>

#include <nlohmann/json.hpp>

#include "ccr/rules.hpp"
#include "metrics/metrics.hpp"

namespace haes::ccr {

std::string status_text(const CcrStatus& s, SysTime now);
nlohmann::json status_json(const CcrStatus& s, SysTime now);
void export_metrics(MetricsText& m, const CcrStatus& s);

}  // namespace haes::ccr
