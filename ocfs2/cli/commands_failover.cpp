// Commands about the initiator-side timeouts of a gateway failover: check-failover and
// multipath-stanza.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "commands.h"
#include "sharedisk/ocfs2/failover_timing.h"

namespace sharedisk::ocfs2::cli {
namespace {

std::uint32_t seconds_option(const Options& opt, const std::string& name, std::uint32_t dflt) {
  auto v = opt.get(name);
  return v ? static_cast<std::uint32_t>(std::stoul(*v)) : dflt;  // checked by CLI11 (digits)
}

// Adds a parser's diagnostics to the report under `path`. A file named on the command line
// that does not exist, or any error in a file, makes the input bad (exit code 2).
void take(Report& r, const std::string& path, const Diagnostics& from, bool named,
          const char* missing_code, bool input = true) {
  for (const auto& d : from) {
    Diagnostic x = d;
    if (d.code == missing_code && named) {
      x.severity = Severity::error;
      x.message = path + " not found";
    }
    if (input && x.severity == Severity::error) r.bad_input = true;
    r.diagnostics.push_back(x);
    r.files.resize(r.diagnostics.size() - 1);
    r.files.push_back(d.line > 0 ? path : std::string());
  }
}

struct Inputs {
  O2cbTimeouts o2cb;
  IscsidTimeouts iscsid;
  MultipathConfResult multipath;
  std::string o2cb_path, iscsid_path, multipath_path;
};

Inputs read_inputs(Report& r, const Options& opt, bool want_multipath) {
  Inputs in;
  in.o2cb_path = opt.get("o2cb").value_or(kDefaultO2cbDefaultsPath);
  in.iscsid_path = opt.get("iscsid").value_or(kDefaultIscsidConfPath);
  in.multipath_path = opt.get("multipath").value_or(kDefaultMultipathConfPath);
  O2cbDefaultsResult o = load_o2cb_defaults(in.o2cb_path);
  take(r, in.o2cb_path, o.diagnostics, opt.get("o2cb").has_value(), "defaults-missing");
  in.o2cb = o.values.timeouts;
  IscsidConfResult i = load_iscsid_conf(in.iscsid_path);
  take(r, in.iscsid_path, i.diagnostics, opt.get("iscsid").has_value(), "iscsid-conf-missing");
  in.iscsid = i.values;
  if (want_multipath) {
    in.multipath = load_multipath_conf(in.multipath_path);
    take(r, in.multipath_path, in.multipath.diagnostics, opt.get("multipath").has_value(),
         "multipath-conf-missing");
    // multipathd also reads config_dir (by default /etc/multipath/conf.d/*.conf).
    std::error_code ec;
    if (!opt.get("multipath"))
      for (const auto& e : std::filesystem::directory_iterator(kDefaultMultipathConfDir, ec))
        if (e.path().extension() == ".conf") {
          take(r, "",
               {{0, Severity::warning, "multipath-conf-dir-not-read",
                 std::string(kDefaultMultipathConfDir) +
                     " holds .conf files that multipathd reads after " + in.multipath_path +
                     " and this check does not; merge them in or check with --multipath"}},
               false, "", false);
          break;
        }
  }
  return in;
}

std::string pad(std::string s, std::size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

std::string no_path_retry_text(const MultipathSettings& m) {
  switch (m.no_path_retry) {
    case NoPathRetry::fail:
      return "fail";
    case NoPathRetry::queue:
      return "queue";
    case NoPathRetry::count:
      return std::to_string(m.no_path_retry_count);
  }
  return "fail";
}

}  // namespace

Report cmd_check_failover(const Global&, const Options& opt) {
  Report r = new_report("check-failover");
  const bool use_multipath = !opt.flag("no-multipath");
  Inputs in = read_inputs(r, opt, use_multipath);
  if (r.bad_input) return r;

  FailoverInputs f;
  f.o2cb = in.o2cb;
  f.iscsid = in.iscsid;
  f.takeover_seconds = seconds_option(opt, "takeover-seconds", 10);
  f.margin_seconds = seconds_option(opt, "margin-seconds", 10);
  const std::string vendor = opt.get("vendor").value_or(kTargetVendor);
  const std::string product = opt.get("product").value_or(kTargetProduct);
  if (use_multipath) {
    Diagnostics d;
    f.multipath = resolve_multipath_settings(in.multipath.conf, vendor, product, d);
    take(r, in.multipath_path, d, false, "");
    if (r.bad_input) return r;
    if (in.multipath.found && !f.multipath->device_entry_found)
      take(r, in.multipath_path,
           {{0, Severity::info, "multipath-no-device-entry",
             in.multipath_path + " has no device entry for vendor " + vendor + ", product " +
                 product + "; defaults apply (sharedisk-ocfs2 multipath-stanza prints one)"}},
           false, "");
  }
  FailoverVerdict v = check_failover(f);
  take(r, "", v.diagnostics, false, "", false);

  const std::uint32_t threshold = in.o2cb.heartbeat_dead_threshold.value_or(31);
  r.text.push_back("o2cb heartbeat: O2CB_HEARTBEAT_THRESHOLD " + std::to_string(threshold) +
                   " -> o2hb declares the node dead after " +
                   std::to_string(v.heartbeat_dead_seconds) + " s  (" + in.o2cb_path + ")");
  r.text.push_back("iscsid: replacement_timeout " + std::to_string(in.iscsid.replacement_timeout) +
                   " s, NOP-Out every " + std::to_string(in.iscsid.noop_out_interval) +
                   " s with a " + std::to_string(in.iscsid.noop_out_timeout) + " s timeout  (" +
                   in.iscsid_path + ")");
  if (f.multipath) {
    const MultipathSettings& m = *f.multipath;
    r.text.push_back("multipath for " + vendor + " " + product + ": no_path_retry " +
                     no_path_retry_text(m) + " (" + m.no_path_retry_from.describe() +
                     "), polling_interval " + std::to_string(m.polling_interval) + " s  (" +
                     in.multipath_path + ")");
  } else {
    r.text.push_back("multipath: not used (--no-multipath)");
  }
  r.text.push_back("worst case until I/O completes again after a gateway dies silently:");
  for (const auto& t : v.terms)
    r.text.push_back("  " + pad(t.name, 13) + pad(std::to_string(t.seconds) + " s", 7) + t.what +
                     "  [" + t.source + "]");
  r.text.push_back("  " + pad("total", 13) + std::to_string(v.total_seconds) + " s");
  r.text.push_back("  " + pad("limit", 13) + std::to_string(v.limit_seconds) +
                   " s  (o2hb dead time " + std::to_string(v.heartbeat_dead_seconds) + " s - " +
                   std::to_string(f.margin_seconds) + " s margin)");
  if (v.queue_seconds)
    r.text.push_back("  " + pad("queueing", 13) + std::to_string(*v.queue_seconds) +
                     " s  when no path is usable (no_path_retry x polling_interval)");
  if (v.fits)
    r.text.push_back("verdict: fits - a gateway failover finishes " +
                     std::to_string(v.limit_seconds - v.total_seconds) +
                     " s inside the limit; no node reboots");
  else if (v.total_seconds > v.limit_seconds)
    r.text.push_back(
        "verdict: does not fit - the heartbeat declares the node dead before I/O "
        "resumes and it reboots (on every node at once)");
  else
    r.text.push_back("verdict: does not fit - see the errors below");

  r.extra = [v, f, in, vendor, product, use_multipath](Json& w) {
    w["fits"] = v.fits;
    w["verdict"] = v.fits ? "fits" : v.total_seconds > v.limit_seconds ? "reboots" : "problems";
    w["total_seconds"] = v.total_seconds;
    w["limit_seconds"] = v.limit_seconds;
    w["heartbeat_dead_seconds"] = v.heartbeat_dead_seconds;
    w["margin_seconds"] = f.margin_seconds;
    w["takeover_seconds"] = f.takeover_seconds;
    w["recovery_governed_by"] = v.recovery_governed_by;
    Json terms = Json::array();
    for (const auto& t : v.terms)
      terms.push_back(
          {{"name", t.name}, {"seconds", t.seconds}, {"what", t.what}, {"source", t.source}});
    w["terms"] = std::move(terms);
    w["queue_seconds"] = v.queue_seconds ? Json(*v.queue_seconds) : Json(nullptr);
    w["files"] = {{"o2cb", in.o2cb_path},
                  {"iscsid", in.iscsid_path},
                  {"multipath", use_multipath ? Json(in.multipath_path) : Json(nullptr)}};
    w["iscsid"] = {{"replacement_timeout", f.iscsid.replacement_timeout},
                   {"noop_out_interval", f.iscsid.noop_out_interval},
                   {"noop_out_timeout", f.iscsid.noop_out_timeout}};
    if (f.multipath) {
      const MultipathSettings& m = *f.multipath;
      w["multipath"] = {
          {"vendor", vendor},
          {"product", product},
          {"device_entry_line", m.device_entry_found ? Json(m.device_entry_line) : Json(nullptr)},
          {"no_path_retry", no_path_retry_text(m)},
          {"polling_interval", m.polling_interval},
          {"fast_io_fail_tmo", m.fast_io_fail == FastIoFail::seconds ? Json(m.fast_io_fail_tmo)
                               : m.fast_io_fail == FastIoFail::zero  ? Json(0)
                                                                     : Json("off")}};
    } else {
      w["multipath"] = nullptr;
    }
  };
  return r;
}

Report cmd_multipath_stanza(const Global&, const Options& opt) {
  Report r = new_report("multipath-stanza");
  const bool from_conf = opt.get("multipath").has_value();
  Inputs in = read_inputs(r, opt, from_conf);
  if (r.bad_input) return r;
  StanzaOptions s;
  s.vendor = opt.get("vendor").value_or(kTargetVendor);
  s.product = opt.get("product").value_or(kTargetProduct);
  s.o2cb = in.o2cb;
  s.iscsid = in.iscsid;
  s.takeover_seconds = seconds_option(opt, "takeover-seconds", 10);
  s.margin_seconds = seconds_option(opt, "margin-seconds", 10);
  s.fast_io_fail_tmo = seconds_option(opt, "fast-io-fail-tmo", 5);
  if (from_conf) {
    Diagnostics d;
    s.polling_interval =
        resolve_multipath_settings(in.multipath.conf, s.vendor, s.product, d).polling_interval;
  }
  StanzaResult st = multipath_stanza(s);
  take(r, "", st.diagnostics, false, "", false);
  std::istringstream lines(st.text);
  for (std::string line; std::getline(lines, line);) r.text.push_back(line);
  r.extra = [st](Json& w) {
    w["stanza"] = st.text;
    w["no_path_retry"] = st.no_path_retry;
  };
  return r;
}

}  // namespace sharedisk::ocfs2::cli
