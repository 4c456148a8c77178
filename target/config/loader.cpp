// load_file()/load_string(): lun.yaml schema and every cross-field rule.
//
// Nothing here touches the filesystem except reading the YAML file itself:
// whether a backing path exists, is a block device or may be created is the
// daemon's business once the whole configuration is known to be valid.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config.h"
#include "config/config_internal.h"
#include "config/sections.h"

namespace sharedisk::config {
namespace {

using detail::Field;
using detail::MapView;
using detail::Reader;

constexpr size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

class Loader {
 public:
  explicit Loader(const Reader& r) : r_(r) {}

  Config load(const YAML::Node& root) {
    Config c;
    c.source = r_.file();
    MapView m(r_, Field{"", root, std::max(1, detail::line_of(root))},
              {"threads", "log_level", "admin_socket", "state_dir", "metrics", "portals", "iscsi",
               "targets", "auth", "limits", "gateway"});
    if (auto f = m.get("threads")) c.threads = threads(*f);
    if (auto f = m.get("log_level")) c.log_level = log_level(*f);
    if (auto f = m.get("admin_socket")) c.admin_socket = admin_socket(*f);
    if (auto f = m.get("state_dir")) {
      c.state_dir = r_.text(*f);
      if (c.state_dir.empty() || c.state_dir[0] != '/')
        r_.fail(*f, "must be an absolute directory path");
    }
    c.portals = portals(m.require("portals"));
    if (auto f = m.get("metrics")) metrics(*f, c);
    if (auto f = m.get("iscsi")) c.iscsi = detail::read_iscsi(r_, *f);
    if (auto f = m.get("auth")) c.auth = detail::read_auth(r_, *f);
    if (auto f = m.get("limits")) c.limits = detail::read_limits(r_, *f);
    if (auto f = m.get("gateway")) c.gateway = detail::read_gateway(r_, *f);
    if (auto f = m.get("targets")) {
      detail::FileWideUniques unique;
      bool secrets = !c.auth.secrets_file.empty();
      for (const Field& t : r_.list(*f))
        c.targets.push_back(detail::read_target(r_, t, unique, secrets));
    }
    return c;
  }

 private:
  uint32_t threads(const Field& f) {
    if (r_.text(f) == "auto") return 0;
    return static_cast<uint32_t>(r_.number(f, 0, 1024));
  }

  std::string log_level(const Field& f) {
    static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
    std::string v = r_.text(f);
    if (!kLevels.count(v))
      r_.fail(f, "must be one of trace, debug, info, warn, error, critical, off (got '" + v + "')");
    return v;
  }

  std::string admin_socket(const Field& f) {
    std::string v = r_.text(f);
    if (v.empty()) r_.fail(f, "must not be empty");
    if (v.size() > kMaxUnixPath)
      r_.fail(f, "Unix socket paths are at most 107 bytes (got " + std::to_string(v.size()) + ")");
    return v;
  }

  Endpoint endpoint(const Field& f, uint16_t default_port) {
    Endpoint e;
    if (auto err = parse_endpoint(r_.text(f), default_port, e); !err.empty()) r_.fail(f, err);
    return e;
  }

  std::vector<Endpoint> portals(const Field& f) {
    std::vector<Field> items = r_.list(f);
    if (items.empty()) r_.fail(f, "needs at least one portal, e.g. [0.0.0.0:3260]");
    std::vector<Endpoint> out;
    for (const Field& item : items) {
      Endpoint e = endpoint(item, 3260);
      for (size_t i = 0; i < out.size(); ++i) {
        const Endpoint& o = out[i];
        std::string other = f.path + "[" + std::to_string(i) + "]";
        if (o.address == e.address && o.port == e.port)
          r_.fail(item, e.to_string() + " is already listed as " + other);
        // A wildcard and a specific address of the same family on one port
        // cannot both be bound.
        bool wild = e.address == "0.0.0.0" || e.address == "::";
        bool other_wild = o.address == "0.0.0.0" || o.address == "::";
        if (o.port == e.port && o.v6() == e.v6() && (wild || other_wild))
          r_.fail(item, e.to_string() + " overlaps " + other + " (" + o.to_string() +
                            "): a wildcard address already listens on every address of its family");
      }
      out.push_back(e);
    }
    return out;
  }

  void metrics(const Field& f, Config& c) {
    MapView m(r_, f, {"listen"});
    if (auto l = m.get("listen")) {
      Endpoint e = endpoint(*l, 0);
      for (size_t i = 0; i < c.portals.size(); ++i)
        if (c.portals[i].address == e.address && c.portals[i].port == e.port)
          r_.fail(*l, e.to_string() + " is also portals[" + std::to_string(i) + "]");
      c.metrics.listen = e;
    }
  }

  const Reader& r_;
};

Config parse(const std::string& text, const std::string& source) {
  Reader r(source);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    r.fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML syntax error: " + e.msg);
  }
  if (docs.empty() || docs[0].IsNull()) r.fail(0, "", "the configuration is empty");
  if (docs.size() > 1)
    r.fail(detail::line_of(docs[1]), "", "only one YAML document is allowed (found '---')");
  try {
    return Loader(r).load(docs[0]);
  } catch (const YAML::Exception& e) {
    // Shapes yaml-cpp itself refuses (e.g. aliases to odd nodes) end up here.
    r.fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", e.msg);
  }
}

}  // namespace

Config load_string(const std::string& yaml_text, const std::string& source_name) {
  return parse(yaml_text, source_name);
}

Config load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "", std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw ConfigError(path, 0, "", std::string("cannot read: ") + std::strerror(errno));
  return parse(buf.str(), path);
}

}  // namespace sharedisk::config
