// The `iscsi:` section: login negotiation offers, ranges from RFC 7143 section 13.
#include "config/sections.h"

namespace sharedisk::config::detail {
namespace {

constexpr uint64_t kMaxSegment = 16777215;  // 2^24 - 1
constexpr uint64_t kMaxTime = 3600;

}  // namespace

Iscsi read_iscsi(const Reader& r, const Field& f) {
  MapView m(
      r, f,
      {"queue_depth", "max_recv_data_segment_length", "max_burst_length", "first_burst_length",
       "initial_r2t", "immediate_data", "max_outstanding_r2t", "default_time2wait",
       "default_time2retain", "nop_interval", "nop_timeout", "login_timeout", "digests"});
  Iscsi s;
  auto u32 = [&](std::string_view key, uint32_t& out, uint64_t min, uint64_t max) {
    if (auto v = m.get(key)) out = static_cast<uint32_t>(r.number(*v, min, max));
  };
  auto boolean = [&](std::string_view key, bool& out) {
    if (auto v = m.get(key)) out = r.flag(*v);
  };
  u32("queue_depth", s.queue_depth, 1, kMaxQueueDepth);
  u32("max_recv_data_segment_length", s.max_recv_data_segment_length, 512, kMaxSegment);
  u32("max_burst_length", s.max_burst_length, 512, kMaxSegment);
  u32("first_burst_length", s.first_burst_length, 512, kMaxSegment);
  boolean("initial_r2t", s.initial_r2t);
  boolean("immediate_data", s.immediate_data);
  boolean("digests", s.digests);
  u32("max_outstanding_r2t", s.max_outstanding_r2t, 1, 65535);
  u32("default_time2wait", s.default_time2wait, 0, kMaxTime);
  u32("default_time2retain", s.default_time2retain, 0, kMaxTime);
  u32("nop_interval", s.nop_interval_s, 0, kMaxTime);
  u32("nop_timeout", s.nop_timeout_s, 1, kMaxTime);
  u32("login_timeout", s.login_timeout_s, 1, kMaxTime);
  if (s.first_burst_length > s.max_burst_length) {
    // RFC 7143 section 13.14: FirstBurstLength must not exceed MaxBurstLength.
    Field at =
        m.get("first_burst_length") ? *m.get("first_burst_length") : *m.get("max_burst_length");
    r.fail(at, "first_burst_length (" + std::to_string(s.first_burst_length) +
                   ") must not exceed max_burst_length (" + std::to_string(s.max_burst_length) +
                   ")");
  }
  return s;
}

}  // namespace sharedisk::config::detail
