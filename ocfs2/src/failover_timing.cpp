// The failover timing model: detection + I/O failover + target takeover against the o2hb
// dead time, and the multipath.conf device entry that fits under it.
#include "sharedisk/ocfs2/failover_timing.h"

#include <algorithm>

namespace sharedisk::ocfs2 {
namespace {

constexpr std::uint32_t kHeartbeatIterationMs = 2000;  // O2HB_REGION_TIMEOUT_MS
constexpr std::uint32_t kKernelDefaultThreshold = 31;  // O2HB_DEFAULT_DEAD_THRESHOLD
constexpr std::uint32_t kMinThreshold = 7;             // what the o2cb init script accepts
constexpr std::uint32_t kScsiCommandTimeout = 30;      // /sys/block/sdX/device/timeout

std::string s(std::uint32_t v) {
  return std::to_string(v) + " s";
}

std::string iscsid_source(const char* key, int line) {
  return line > 0 ? std::string(key) + ", iscsid.conf line " + std::to_string(line)
                  : std::string(key) + ", open-iscsi default";
}

// ERE-escapes text for a multipath.conf regular expression, and doubles quotes.
std::string regex_literal(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".[]()*+?{}|^$\\").find(c) != std::string_view::npos) out += '\\';
    if (c == '"') out += '"';
    out += c;
  }
  return out;
}

}  // namespace

std::uint32_t heartbeat_dead_seconds(const O2cbTimeouts& t) {
  const std::uint32_t threshold = t.heartbeat_dead_threshold.value_or(kKernelDefaultThreshold);
  if (threshold < 1) return 0;
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(threshold) - 1) *
                                    kHeartbeatIterationMs / 1000);
}

FailoverVerdict check_failover(const FailoverInputs& in) {
  FailoverVerdict v;
  auto add = [&](Severity sev, const char* code, const std::string& message) {
    v.diagnostics.push_back({0, sev, code, message});
  };
  const std::uint32_t threshold =
      in.o2cb.heartbeat_dead_threshold.value_or(kKernelDefaultThreshold);
  if (threshold < kMinThreshold)
    add(Severity::error, "heartbeat-threshold-too-small",
        "O2CB_HEARTBEAT_THRESHOLD = " + std::to_string(threshold) +
            " is below the minimum of 7 the o2cb init script accepts");
  v.heartbeat_dead_seconds = heartbeat_dead_seconds(in.o2cb);
  v.limit_seconds = v.heartbeat_dead_seconds > in.margin_seconds
                        ? v.heartbeat_dead_seconds - in.margin_seconds
                        : 0;

  // 1. Detection: the kernel pings an idle connection every noop_out_interval and fails it
  // when no answer came within noop_out_timeout.
  const IscsidTimeouts& i = in.iscsid;
  if (i.noop_out_interval == 0 || i.noop_out_timeout == 0) {
    v.terms.push_back({"detection", kScsiCommandTimeout,
                       "a dead gateway noticed only when a SCSI command times out",
                       "NOP-Out disabled; SCSI command timeout (at least)"});
    add(Severity::error, "nop-out-disabled",
        "noop_out_interval or noop_out_timeout is 0: a gateway that dies without closing its "
        "connections is noticed only by the SCSI command timeout (30 s) and error handling; set "
        "both above 0 (5 and 5)");
  } else {
    v.terms.push_back({"detection", i.noop_out_interval + i.noop_out_timeout,
                       "a silently dead gateway is noticed (NOP-Out interval + NOP-Out timeout)",
                       iscsid_source("noop_out_interval", i.noop_out_interval_line) + " + " +
                           iscsid_source("noop_out_timeout", i.noop_out_timeout_line)});
  }

  // 2. The session's recovery timer: I/O on the dead path is failed when it runs out. With
  // dm-multipath, multipathd writes fast_io_fail_tmo into the session's recovery_tmo (it
  // cannot write off or 0 there), and the kernel keeps that over iscsid's
  // replacement_timeout; without multipath replacement_timeout decides.
  bool fast_io = false;
  if (in.multipath) {
    const MultipathSettings& m = *in.multipath;
    if (m.fast_io_fail == FastIoFail::seconds && m.fast_io_fail_tmo > 0) {
      fast_io = true;
      if (m.dev_loss_tmo && m.fast_io_fail_tmo >= *m.dev_loss_tmo) {
        fast_io = false;
        add(Severity::warning, "fast-io-fail-turned-off",
            "fast_io_fail_tmo (" + s(m.fast_io_fail_tmo) + ") is not below dev_loss_tmo (" +
                s(*m.dev_loss_tmo) +
                "), so multipathd turns it off and replacement_timeout decides");
      }
    } else {
      add(Severity::warning, "fast-io-fail-off",
          "fast_io_fail_tmo is off or 0 (" + m.fast_io_fail_from.describe() +
              "); multipathd cannot set that on an iSCSI session, so replacement_timeout decides");
    }
  }
  if (fast_io) {
    const MultipathSettings& m = *in.multipath;
    v.recovery_governed_by = "fast_io_fail_tmo";
    v.terms.push_back({"io-failover", m.fast_io_fail_tmo,
                       "I/O on the dead path is failed and dm-multipath retries it on another "
                       "path (session recovery_tmo)",
                       "fast_io_fail_tmo, " + m.fast_io_fail_from.describe() +
                           "; replaces replacement_timeout on multipath paths"});
    if (i.replacement_timeout > v.heartbeat_dead_seconds)
      add(Severity::info, "replacement-timeout-overridden",
          "replacement_timeout (" + s(i.replacement_timeout) +
              ") would not fit, but multipathd replaces it with fast_io_fail_tmo on multipath "
              "paths; it still applies to a path multipathd does not manage");
  } else {
    v.recovery_governed_by = "replacement_timeout";
    v.terms.push_back({"io-failover", i.replacement_timeout,
                       in.multipath ? "I/O on the dead path is failed and dm-multipath retries it "
                                      "on another path"
                                    : "I/O stays queued for the lost session, then fails",
                       iscsid_source("replacement_timeout", i.replacement_timeout_line)});
  }

  // 3. The target side: the surviving gateway takes the RBD exclusive lock (or, with one
  // gateway, the restarted target answers the initiator's next login).
  v.terms.push_back({"takeover", in.takeover_seconds,
                     in.multipath
                         ? "the surviving gateway takes over the logical unit"
                         : "the gateway comes back (restart) and the session logs in again",
                     "--takeover-seconds"});

  for (const auto& t : v.terms) v.total_seconds += t.seconds;

  // Queueing when no path is left (both gateways down, or the survivor refusing I/O during
  // the takeover).
  if (in.multipath) {
    const MultipathSettings& m = *in.multipath;
    const std::uint32_t detect_and_fail = v.total_seconds - in.takeover_seconds;
    switch (m.no_path_retry) {
      case NoPathRetry::fail:
        add(Severity::error, "no-queueing",
            "no_path_retry is fail (" + m.no_path_retry_from.describe() +
                "): when no path is usable for a moment during the takeover, I/O errors reach "
                "OCFS2, which aborts its journal and fences the node; set no_path_retry to a "
                "count (sharedisk-ocfs2 multipath-stanza)");
        break;
      case NoPathRetry::queue:
        add(Severity::warning, "queue-forever",
            "no_path_retry is queue (" + m.no_path_retry_from.describe() +
                "): with every gateway down I/O hangs (processes in D state) until o2hb's write "
                "timeout reboots the node anyway; prefer a count");
        break;
      case NoPathRetry::count: {
        const std::uint32_t q = m.no_path_retry_count * m.polling_interval;
        v.queue_seconds = q;
        if (q < in.takeover_seconds)
          add(Severity::warning, "queueing-shorter-than-takeover",
              "no_path_retry " + std::to_string(m.no_path_retry_count) + " x polling_interval " +
                  s(m.polling_interval) + " = " + s(q) + " of queueing does not cover the " +
                  s(in.takeover_seconds) + " takeover: I/O may fail to OCFS2 meanwhile");
        if (detect_and_fail + q > v.limit_seconds)
          add(Severity::warning, "queueing-outlasts-heartbeat",
              "with every gateway down I/O queues for " + s(detect_and_fail) + " + " + s(q) +
                  ", past the " + s(v.limit_seconds) +
                  " limit: the node reboots with I/O still queued");
        break;
      }
    }
  }

  if (v.total_seconds > v.limit_seconds)
    add(Severity::error, "failover-too-slow",
        "a gateway failover can take " + s(v.total_seconds) + ", more than the " +
            s(v.limit_seconds) + " limit (o2hb dead time " + s(v.heartbeat_dead_seconds) + " - " +
            s(in.margin_seconds) + " margin): the heartbeat declares the node dead and it reboots");
  v.fits = !has_errors(v.diagnostics);
  return v;
}

StanzaResult multipath_stanza(const StanzaOptions& o) {
  StanzaResult r;
  const std::uint32_t dead = heartbeat_dead_seconds(o.o2cb);
  const std::uint32_t limit = dead > o.margin_seconds ? dead - o.margin_seconds : 0;
  const std::uint32_t detect = o.iscsid.noop_out_interval + o.iscsid.noop_out_timeout;
  const std::uint32_t fail = o.fast_io_fail_tmo;
  const std::uint32_t poll = std::max<std::uint32_t>(o.polling_interval, 1);
  if (o.iscsid.noop_out_interval == 0 || o.iscsid.noop_out_timeout == 0) {
    r.diagnostics.push_back({0, Severity::error, "nop-out-disabled",
                             "NOP-Out is disabled in iscsid.conf; set noop_out_interval and "
                             "noop_out_timeout above 0 first"});
    return r;
  }
  if (fail == 0) {
    r.diagnostics.push_back({0, Severity::error, "fast-io-fail-off",
                             "fast_io_fail_tmo must be above 0 for an iSCSI path"});
    return r;
  }
  if (detect + fail + o.takeover_seconds > limit) {
    r.diagnostics.push_back(
        {0, Severity::error, "failover-too-slow",
         "detection " + s(detect) + " + fast_io_fail_tmo " + s(fail) + " + takeover " +
             s(o.takeover_seconds) + " exceeds the " + s(limit) +
             " limit under the o2hb dead time; raise O2CB_HEARTBEAT_THRESHOLD or lower the "
             "NOP-Out timeouts"});
    return r;
  }
  // Queue long enough for the takeover plus one path check that reinstates the survivor,
  // and no longer than what is left under the limit.
  std::uint32_t n = (o.takeover_seconds + poll + poll - 1) / poll;
  const std::uint32_t room = (limit - detect - fail) / poll;
  if (n > room) n = room;
  if (n == 0 || n * poll < o.takeover_seconds) {
    r.diagnostics.push_back({0, Severity::error, "queueing-does-not-fit",
                             "no queueing time covers the " + s(o.takeover_seconds) +
                                 " takeover and stays under the " + s(limit) + " limit"});
    return r;
  }
  r.no_path_retry = n;
  const std::uint32_t dev_loss = std::max<std::uint32_t>(600, n * poll + poll);
  const std::string total = s(detect + fail + o.takeover_seconds);
  r.text = "# sharedisk-target logical units (INQUIRY vendor " + o.vendor + ", product " +
           o.product +
           ").\n"
           "# Written by sharedisk-ocfs2 multipath-stanza: a silently dead gateway is noticed in " +
           s(detect) + " (NOP-Out),\n# its I/O fails over after fast_io_fail_tmo " + s(fail) +
           " and the takeover takes " + s(o.takeover_seconds) + ": " + total +
           " in all, under the " + s(limit) + " limit\n# (o2hb dead time " + s(dead) + " - " +
           s(o.margin_seconds) + " margin). With no usable path I/O queues for no_path_retry " +
           std::to_string(n) + " x\n# polling_interval " + s(poll) + " = " + s(n * poll) +
           ". dev_loss_tmo is ignored on iSCSI; it stays above that queueing time.\n"
           "devices {\n"
           "\tdevice {\n"
           "\t\tvendor \"" +
           regex_literal(o.vendor) +
           "\"\n"
           "\t\tproduct \"" +
           regex_literal(o.product) +
           "\"\n"
           "\t\tpath_grouping_policy group_by_prio\n"
           "\t\tprio alua\n"
           "\t\thardware_handler \"1 alua\"\n"
           "\t\tpath_checker tur\n"
           "\t\tfailback manual\n"
           "\t\tno_path_retry " +
           std::to_string(n) +
           "\n"
           "\t\tfast_io_fail_tmo " +
           std::to_string(fail) +
           "\n"
           "\t\tdev_loss_tmo " +
           std::to_string(dev_loss) +
           "\n"
           "\t}\n"
           "}\n";
  return r;
}

}  // namespace sharedisk::ocfs2
