// load_file()/load_string(): lun.yaml schema and every cross-field rule.
//
// Nothing here touches the filesystem except reading the YAML file itself:
// whether a backing path exists, is a block device or may be created is the
// daemon's business once the whole configuration is known to be valid.
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "config/config.h"
#include "config/config_internal.h"
#include "config/yaml_view.h"

namespace sharedisk::config {
namespace {

using detail::Field;
using detail::MapView;
using detail::Reader;

constexpr uint64_t kMaxLunNumber = 16383;  // flat addressing, SAM-5 single level
constexpr uint64_t kMaxQueueDepth = 4096;
constexpr uint64_t kMaxSegment = 16777215;  // 2^24 - 1, RFC 7143 section 13
constexpr uint64_t kMaxTime = 3600;
constexpr size_t kMaxSerial = 32;
constexpr size_t kMaxProduct = 16;
constexpr size_t kMaxAlias = 255;
constexpr size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool printable_ascii(const std::string& s, char lowest) {
  for (unsigned char c : s)
    if (c < static_cast<unsigned char>(lowest) || c > 0x7e) return false;
  return true;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n + 1;
  }
  return true;
}

// Remembers where each unique value was first seen.
class Uniques {
 public:
  // `value` is the comparison key; `shown` (default: value) goes into the message.
  void add(const Reader& r, const Field& f, const std::string& value, const char* what,
           const std::string& shown = {}) {
    auto [it, inserted] = seen_.emplace(value, f.path);
    if (!inserted)
      r.fail(f, std::string(what) + " '" + (shown.empty() ? value : shown) +
                    "' is already used by " + it->second);
  }

 private:
  std::map<std::string, std::string> seen_;
};

class Loader {
 public:
  explicit Loader(const Reader& r) : r_(r) {}

  Config load(const YAML::Node& root) {
    Config c;
    c.source = r_.file();
    MapView m(r_, Field{"", root, std::max(1, detail::line_of(root))},
              {"threads", "log_level", "admin_socket", "metrics", "portals", "iscsi", "targets"});
    if (auto f = m.get("threads")) c.threads = threads(*f);
    if (auto f = m.get("log_level")) c.log_level = log_level(*f);
    if (auto f = m.get("admin_socket")) c.admin_socket = admin_socket(*f);
    c.portals = portals(m.require("portals"));
    if (auto f = m.get("metrics")) metrics(*f, c);
    if (auto f = m.get("iscsi")) c.iscsi = iscsi(*f);
    if (auto f = m.get("targets")) {
      Uniques iqns;
      for (const Field& t : r_.list(*f)) c.targets.push_back(target(t, iqns));
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

  Iscsi iscsi(const Field& f) {
    MapView m(
        r_, f,
        {"queue_depth", "max_recv_data_segment_length", "max_burst_length", "first_burst_length",
         "initial_r2t", "immediate_data", "max_outstanding_r2t", "default_time2wait",
         "default_time2retain", "nop_interval", "nop_timeout", "login_timeout"});
    Iscsi s;
    auto u32 = [&](std::string_view key, uint32_t& out, uint64_t min, uint64_t max) {
      if (auto v = m.get(key)) out = static_cast<uint32_t>(r_.number(*v, min, max));
    };
    auto boolean = [&](std::string_view key, bool& out) {
      if (auto v = m.get(key)) out = r_.flag(*v);
    };
    u32("queue_depth", s.queue_depth, 1, kMaxQueueDepth);
    u32("max_recv_data_segment_length", s.max_recv_data_segment_length, 512, kMaxSegment);
    u32("max_burst_length", s.max_burst_length, 512, kMaxSegment);
    u32("first_burst_length", s.first_burst_length, 512, kMaxSegment);
    boolean("initial_r2t", s.initial_r2t);
    boolean("immediate_data", s.immediate_data);
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
      r_.fail(at, "first_burst_length (" + std::to_string(s.first_burst_length) +
                      ") must not exceed max_burst_length (" + std::to_string(s.max_burst_length) +
                      ")");
    }
    return s;
  }

  Target target(const Field& f, Uniques& iqns) {
    MapView m(r_, f, {"iqn", "alias", "queue_depth", "luns", "access"});
    Target t;
    t.line = f.line;
    Field iqn = m.require("iqn");
    t.iqn = r_.text(iqn);
    if (auto err = check_iscsi_name(t.iqn); !err.empty()) r_.fail(iqn, err);
    iqns.add(r_, iqn, lower(t.iqn), "target name");
    if (auto a = m.get("alias")) {
      t.alias = r_.text(*a);
      if (t.alias.empty() || t.alias.size() > kMaxAlias) r_.fail(*a, "must be 1 to 255 bytes long");
      for (unsigned char c : t.alias)
        if (c < 0x20 || c == 0x7f) r_.fail(*a, "must not contain control characters");
      if (!valid_utf8(t.alias)) r_.fail(*a, "must be valid UTF-8");
    }
    if (auto q = m.get("queue_depth"))
      t.queue_depth = static_cast<uint32_t>(r_.number(*q, 1, kMaxQueueDepth));
    if (auto a = m.get("access")) access(*a, t);
    Uniques numbers;
    for (const Field& l : r_.list(m.require("luns"))) t.luns.push_back(lun(l, t.iqn, numbers));
    return t;
  }

  void access(const Field& f, Target& t) {
    MapView m(r_, f, {"initiators", "networks"});
    if (auto list = m.get("initiators")) {
      Uniques seen;
      for (const Field& item : r_.list(*list)) {
        std::string name = r_.text(item);
        if (auto err = check_iscsi_name(name); !err.empty()) r_.fail(item, err);
        seen.add(r_, item, lower(name), "initiator");
        t.allowed_initiators.push_back(name);
      }
    }
    if (auto list = m.get("networks")) {
      Uniques seen;
      for (const Field& item : r_.list(*list)) {
        Network n;
        if (auto err = parse_network(r_.text(item), n); !err.empty()) r_.fail(item, err);
        std::string key(reinterpret_cast<const char*>(n.addr), sizeof n.addr);
        key += static_cast<char>(n.prefix);
        key += n.v6 ? '6' : '4';
        seen.add(r_, item, key, "network", n.text);
        t.allowed_networks.push_back(n);
      }
    }
  }

  Lun lun(const Field& f, const std::string& iqn, Uniques& numbers) {
    MapView m(r_, f,
              {"number", "type", "path", "size", "block_size", "read_only", "write_cache", "direct",
               "thin", "serial", "naa", "product"});
    Lun l;
    l.line = f.line;
    Field number = m.require("number");
    l.number = r_.number(number, 0, kMaxLunNumber);
    numbers.add(r_, number, std::to_string(l.number), "LUN");

    auto path = m.get("path");
    if (path) {
      l.path = r_.text(*path);
      if (l.path.empty()) r_.fail(*path, "must not be empty");
      if (l.path.size() >= PATH_MAX) r_.fail(*path, "is longer than PATH_MAX");
    }
    if (auto t = m.get("type")) {
      std::string v = r_.text(*t);
      if (v == "file")
        l.type = BackingType::kFile;
      else if (v == "block")
        l.type = BackingType::kBlock;
      else if (v == "memory")
        l.type = BackingType::kMemory;
      else
        r_.fail(*t, "must be file, block or memory (got '" + v + "')");
    } else if (l.path.rfind("/dev/", 0) == 0) {
      l.type = BackingType::kBlock;
    }
    if (l.type == BackingType::kMemory && path) r_.fail(*path, "a memory LUN has no backing path");
    if (l.type != BackingType::kMemory && !path)
      r_.fail(f.line, join(f, "path"),
              std::string("is required for a ") + to_string(l.type) + " LUN");
    if (path && l.type != BackingType::kMemory) {
      backing_paths_.add(r_, *path, l.path, "backing path");
    }

    if (auto b = m.get("block_size")) {
      uint64_t v = r_.number(*b, 0, UINT32_MAX);
      if (v != 512 && v != 4096) r_.fail(*b, "must be 512 or 4096 (got " + r_.text(*b) + ")");
      l.block_size = static_cast<uint32_t>(v);
    }
    if (auto s = m.get("size")) {
      if (l.type == BackingType::kBlock)
        r_.fail(*s, "a block device's size comes from the device; remove size");
      uint64_t v = r_.size(*s);
      if (v == 0) r_.fail(*s, "must be greater than 0");
      if (v % l.block_size != 0)
        r_.fail(*s, "must be a multiple of block_size " + std::to_string(l.block_size) + " (got " +
                        std::to_string(v) + ")");
      l.size = v;
    } else if (l.type == BackingType::kMemory) {
      r_.fail(f.line, join(f, "size"), "is required for a memory LUN");
    }

    if (auto v = m.get("read_only")) l.read_only = r_.flag(*v);
    if (auto v = m.get("write_cache")) l.write_cache = r_.flag(*v);
    if (auto v = m.get("direct")) l.direct = r_.flag(*v);
    if (auto v = m.get("thin")) {
      std::string t = r_.text(*v);
      bool on = false;
      if (t == "auto")
        l.thin = Thin::kAuto;
      else if (detail::parse_bool(t, on).empty())
        l.thin = on ? Thin::kOn : Thin::kOff;
      else
        r_.fail(*v, "must be auto, on or off (got '" + t + "')");
    }

    if (auto s = m.get("serial")) {
      l.serial = r_.text(*s);
      if (l.serial.empty() || l.serial.size() > kMaxSerial || !printable_ascii(l.serial, 0x21))
        r_.fail(*s, "must be 1 to 32 printable ASCII characters without spaces (got '" + l.serial +
                        "')");
      serials_.add(r_, *s, l.serial, "serial");
    } else {
      l.serial = detail::default_serial(iqn, l.number);
      serials_.add(r_, number, l.serial, "derived serial");
    }
    if (auto n = m.get("naa")) {
      if (auto err = detail::check_naa(r_.text(*n), l.naa); !err.empty()) r_.fail(*n, err);
      naas_.add(r_, *n, l.naa, "naa");
    } else {
      l.naa = detail::default_naa(iqn, l.number);
      naas_.add(r_, number, l.naa, "derived naa");
    }
    if (auto p = m.get("product")) {
      l.product = r_.text(*p);
      if (l.product.empty() || l.product.size() > kMaxProduct || !printable_ascii(l.product, 0x20))
        r_.fail(*p, "must be 1 to 16 printable ASCII characters (got '" + l.product + "')");
    }
    return l;
  }

  static std::string join(const Field& f, std::string_view key) {
    return detail::join_path(f.path, key);
  }

  const Reader& r_;
  Uniques backing_paths_;
  Uniques serials_;
  Uniques naas_;
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
