#include "daemon/import_tgt.h"

#include <glob.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "config/config.h"
#include "util/ascii.h"

namespace sharedisk::daemon {

namespace {

struct Directive {
  std::string key;    // lower-case for tags: "<target", "</target", ...
  std::string value;  // rest of the line, single-spaced
  std::string where;  // file:line
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw std::runtime_error(where + ": " + msg);
}

void read_directives(const std::string& text, const std::string& source, int depth,
                     std::vector<Directive>& out);

void include_files(const std::string& pattern, const std::string& where, int depth,
                   std::vector<Directive>& out) {
  if (depth > 8) fail(where, "includes nested too deep");
  glob_t g{};
  int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string path = g.gl_pathv[i];
      std::ifstream in(path);
      if (!in) fail(where, "cannot read included " + path);
      std::stringstream ss;
      ss << in.rdbuf();
      read_directives(ss.str(), path, depth + 1, out);
    }
  }
  globfree(&g);
}

void read_directives(const std::string& text, const std::string& source, int depth,
                     std::vector<Directive>& out) {
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    std::string where = source + ":" + std::to_string(line);
    if (size_t hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
    // Tags may share a line with directives: split them out.
    std::string rest = raw;
    while (!trim(rest).empty()) {
      std::string s = trim(rest);
      std::string piece;
      if (s[0] == '<') {
        size_t close = s.find('>');
        if (close == std::string::npos) fail(where, "unterminated tag '" + s + "'");
        piece = s.substr(0, close + 1);
        rest = s.substr(close + 1);
      } else {
        size_t open = s.find('<');
        piece = s.substr(0, open);
        rest = open == std::string::npos ? "" : s.substr(open);
      }
      piece = trim(piece);
      Directive d;
      d.where = where;
      if (piece[0] == '<') {
        std::string inner = trim(piece.substr(1, piece.size() - 2));
        size_t sp = inner.find_first_of(" \t");
        d.key = "<" + util::to_lower(inner.substr(0, sp));
        if (sp != std::string::npos) d.value = trim(inner.substr(sp));
      } else {
        std::istringstream words(piece);
        std::string w;
        words >> d.key;
        d.key = util::to_lower(d.key);
        while (words >> w) d.value += (d.value.empty() ? "" : " ") + w;
      }
      if (d.key == "include") {
        // A relative pattern is relative to the including file, as tgt-admin resolves it.
        std::string dir = source.substr(0, source.find_last_of('/') + 1);
        include_files(d.value[0] == '/' ? d.value : dir + d.value, where, depth, out);
        continue;
      }
      out.push_back(std::move(d));
    }
  }
}

struct LunDraft {
  std::string path;
  bool direct = false;  // direct-store (SCSI pass-through in tgt)
  std::optional<uint64_t> number;
  std::optional<bool> write_cache, read_only;
  std::optional<uint32_t> block_size;
  std::string serial, product;
  std::string where;
};

struct TargetDraft {
  std::string iqn;
  std::vector<LunDraft> luns;
  std::vector<std::string> initiators, networks;
  bool open_to_all = false;
  std::optional<uint64_t> target_lun;
  std::optional<bool> write_cache, read_only;
  std::optional<uint32_t> block_size;
  std::string serial, product;
  std::vector<std::string> notes;
  std::string where;
};

std::optional<bool> parse_bool(const std::string& v) {
  std::string l = util::to_lower(v);
  if (l == "on" || l == "yes" || l == "1" || l == "true") return true;
  if (l == "off" || l == "no" || l == "0" || l == "false") return false;
  return std::nullopt;
}

uint64_t parse_number(const std::string& v, const std::string& where, const char* key) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 9)
    fail(where, std::string(key) + ": '" + v + "' is not a number");
  return std::stoull(v);
}

bool lun_option(const Directive& d, LunDraft* lun, TargetDraft* t,
                std::vector<std::string>& notes) {
  auto set_bool = [&](std::optional<bool>& dst) {
    auto b = parse_bool(d.value);
    if (!b) fail(d.where, d.key + ": expected on/off or 1/0, got '" + d.value + "'");
    dst = *b;
  };
  if (d.key == "write-cache") {
    set_bool(lun ? lun->write_cache : t->write_cache);
  } else if (d.key == "readonly") {
    set_bool(lun ? lun->read_only : t->read_only);
  } else if (d.key == "block-size") {
    uint32_t bs = uint32_t(parse_number(d.value, d.where, "block-size"));
    (lun ? lun->block_size : t->block_size) = bs;
  } else if (d.key == "scsi_sn") {
    (lun ? lun->serial : t->serial) = d.value;
  } else if (d.key == "product_id") {
    (lun ? lun->product : t->product) = d.value;
  } else if (d.key == "vendor_id" || d.key == "scsi_id" || d.key == "product_rev") {
    notes.push_back(d.where + ": " + d.key + " '" + d.value +
                    "' not carried over (the INQUIRY vendor and the NAA identifier are "
                    "sharedisk's; set `naa:` to keep a WWN initiators already know)");
  } else if (d.key == "bs-type") {
    std::string v = util::to_lower(d.value);
    if (v != "rdwr" && v != "aio" && v != "sg" && v != "mmap")
      fail(d.where, "bs-type " + d.value + " has no sharedisk equivalent");
  } else if (d.key == "device-type") {
    if (util::to_lower(d.value) != "disk")
      fail(d.where, "device-type " + d.value + ": only disks are served");
  } else if (d.key == "mode_page" || d.key == "params" || d.key == "bsopts" ||
             d.key == "bsoflags" || d.key == "sense_format" || d.key == "removable" ||
             d.key == "online" || d.key == "path" || d.key == "allow-in-use") {
    notes.push_back(d.where + ": " + d.key + " ignored (no equivalent needed or available)");
  } else {
    return false;
  }
  return true;
}

std::string yaml_scalar(const std::string& s) {
  bool plain = !s.empty() && s.find_first_not_of(
                                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                 "WXYZ0123456789_./:-") == std::string::npos;
  std::string l = util::to_lower(s);
  if (l == "yes" || l == "no" || l == "on" || l == "off" || l == "true" || l == "false" ||
      l == "null" || s.front() == '-' || s.front() == ':')
    plain = false;
  if (plain) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string render(const std::vector<TargetDraft>& targets, const std::vector<std::string>& notes,
                   const std::string& source, const ImportOptions& options) {
  std::string y;
  y += "# lun.yaml converted from the tgt configuration " + source +
       " by `sharedisk-target import-tgt`.\n";
  y += "# tgtd listened on every address (0.0.0.0:3260) unless its command line said otherwise;\n";
  y += "# narrow `portals` to the storage network address.\n";
  if (!notes.empty()) {
    y += "#\n# Notes:\n";
    for (const std::string& n : notes) y += "#   " + n + "\n";
  }
  y += "portals:\n";
  for (const std::string& p : options.portals) y += "  - " + yaml_scalar(p) + "\n";
  y += targets.empty() ? "targets: []\n" : "targets:\n";
  for (const TargetDraft& t : targets) {
    y += "  - iqn: " + yaml_scalar(t.iqn) + "\n";
    y += t.luns.empty() ? "    luns: []\n" : "    luns:\n";
    for (const LunDraft& l : t.luns) {
      y += "      - number: " + std::to_string(*l.number) + "\n";
      y += "        path: " + yaml_scalar(l.path) + "\n";
      if (l.path.rfind("/dev/", 0) == 0 && l.path.rfind("/dev/shm/", 0) == 0)
        y += "        type: file\n";
      if (auto bs = l.block_size ? l.block_size : t.block_size)
        y += "        block_size: " + std::to_string(*bs) + "\n";
      if (auto ro = l.read_only ? l.read_only : t.read_only; ro && *ro)
        y += "        read_only: true\n";
      if (auto wc = l.write_cache ? l.write_cache : t.write_cache; wc && !*wc)
        y += "        write_cache: false   # tgt: write-cache off\n";
      if (const std::string& sn = l.serial.empty() ? t.serial : l.serial; !sn.empty())
        y += "        serial: " + yaml_scalar(sn) + "\n";
      if (const std::string& p = l.product.empty() ? t.product : l.product; !p.empty())
        y += "        product: " + yaml_scalar(p) + "\n";
    }
    if (!t.open_to_all && (!t.initiators.empty() || !t.networks.empty())) {
      y += "    access:\n";
      if (!t.initiators.empty()) {
        y += "      initiators:\n";
        for (const auto& i : t.initiators) y += "        - " + yaml_scalar(i) + "\n";
      }
      if (!t.networks.empty()) {
        y += "      networks:\n";
        for (const auto& n : t.networks) y += "        - " + yaml_scalar(n) + "\n";
      }
    }
  }
  return y;
}

}  // namespace

ImportResult import_tgt_text(const std::string& text, const std::string& source,
                             const ImportOptions& options) {
  std::vector<Directive> ds;
  read_directives(text, source, 0, ds);
  std::vector<TargetDraft> targets;
  std::vector<std::string> notes;
  TargetDraft* t = nullptr;
  LunDraft* block = nullptr;  // inside <backing-store X> ... </backing-store>
  std::string block_tag;
  for (const Directive& d : ds) {
    if (d.key == "<target") {
      if (t) fail(d.where, "<target> inside <target " + t->iqn + ">");
      if (d.value.empty()) fail(d.where, "<target> without a name");
      std::string iqn = util::to_lower(d.value);
      if (std::string e = config::check_iscsi_name(iqn); !e.empty()) fail(d.where, e);
      for (const auto& other : targets)
        if (other.iqn == iqn) fail(d.where, "target " + iqn + " defined twice");
      targets.push_back({});
      t = &targets.back();
      t->iqn = iqn;
      t->where = d.where;
    } else if (d.key == "</target") {
      if (!t || block) fail(d.where, "unexpected </target>");
      t = nullptr;
    } else if (d.key == "<backing-store" || d.key == "<direct-store") {
      if (!t || block) fail(d.where, "unexpected " + d.key + ">");
      t->luns.push_back({d.value, d.key == "<direct-store", {}, {}, {}, {}, {}, {}, d.where});
      block = &t->luns.back();
      block_tag = "</" + d.key.substr(1);
    } else if (!block_tag.empty() && d.key == block_tag) {
      block = nullptr;
      block_tag.clear();
    } else if (d.key[0] == '<') {
      fail(d.where, "unknown tag " + d.key + ">");
    } else if (!t) {
      // Global directives.
      if (d.key == "default-driver" || d.key == "driver") {
        if (util::to_lower(d.value) != "iscsi")
          fail(d.where, "driver " + d.value + ": only iSCSI is served");
      } else if (d.key == "ignore-errors" || d.key == "control-port" ||
                 d.key.rfind("isns", 0) == 0) {
        notes.push_back(d.where + ": " + d.key + " ignored (tgtd-specific)");
      } else {
        fail(d.where, "'" + d.key + "' outside <target>");
      }
    } else if (block) {
      if (d.key == "lun") {
        block->number = parse_number(d.value, d.where, "lun");
      } else if (!lun_option(d, block, nullptr, notes)) {
        fail(d.where, "'" + d.key + "' is not a backing-store option");
      }
    } else if (d.key == "backing-store" || d.key == "direct-store") {
      if (d.value.empty()) fail(d.where, d.key + " without a path");
      t->luns.push_back({d.value, d.key == "direct-store", {}, {}, {}, {}, {}, {}, d.where});
    } else if (d.key == "lun") {
      t->target_lun = parse_number(d.value, d.where, "lun");
    } else if (d.key == "initiator-address") {
      if (util::to_lower(d.value) == "all") {
        t->open_to_all = true;
      } else {
        config::Network n;
        if (std::string e = config::parse_network(d.value, n); !e.empty())
          fail(d.where, "initiator-address " + d.value + ": " + e);
        t->networks.push_back(d.value);
      }
    } else if (d.key == "initiator-name") {
      config::Network n;
      if (d.value.find('/') != std::string::npos && config::parse_network(d.value, n).empty()) {
        // tgt-admin --dump prints a CIDR initiator-address as initiator-name.
        notes.push_back(d.where + ": initiator-name " + d.value + " read as a network");
        t->networks.push_back(d.value);
      } else {
        t->initiators.push_back(util::to_lower(d.value));
      }
    } else if (d.key == "incominguser" || d.key == "outgoinguser") {
      std::string user = d.value.substr(0, d.value.find(' '));
      notes.push_back(d.where + ": " + d.key + " " + user + " of " + t->iqn +
                      ": CHAP is configured in sharedisk's secrets file (see "
                      "docs/configuration.md); the password is not copied");
    } else if (d.key == "driver") {
      if (util::to_lower(d.value) != "iscsi")
        fail(d.where, "driver " + d.value + ": only iSCSI is served");
    } else if (d.key == "controller_tid" || d.key == "allow-in-use") {
      notes.push_back(d.where + ": " + d.key + " ignored (tgtd-specific)");
    } else if (d.key == "maxrecvdatasegmentlength" || d.key == "maxxmitdatasegmentlength" ||
               d.key == "headerdigest" || d.key == "datadigest" || d.key == "initialr2t" ||
               d.key == "maxoutstandingr2t" || d.key == "immediatedata" ||
               d.key == "firstburstlength" || d.key == "maxburstlength" ||
               d.key == "datapduinorder" || d.key == "datasequenceinorder" ||
               d.key == "errorrecoverylevel" || d.key == "ifmarker" || d.key == "ofmarker" ||
               d.key == "defaulttime2wait" || d.key == "defaulttime2retain" ||
               d.key == "ofmarkint" || d.key == "ifmarkint" || d.key == "maxconnections") {
      notes.push_back(d.where + ": " + d.key + " " + d.value +
                      " not copied: iSCSI limits are set once for all targets in the `iscsi:` "
                      "section");
    } else if (!lun_option(d, nullptr, t, notes)) {
      fail(d.where, "unknown tgt directive '" + d.key + "'");
    }
  }
  if (t) fail(source, "<target " + t->iqn + "> is not closed");
  if (block) fail(source, "backing-store block is not closed");

  for (TargetDraft& td : targets) {
    // tgt numbers explicitly numbered stores first, then backing-stores and
    // then direct-stores from 1 upwards, skipping used numbers.
    if (td.target_lun) {
      if (td.luns.size() != 1)
        fail(td.where, "a target-level `lun` needs exactly one backing-store");
      if (!td.luns[0].number) td.luns[0].number = td.target_lun;
    }
    std::set<uint64_t> used;
    for (const LunDraft& l : td.luns) {
      if (!l.number) continue;
      if (*l.number == 0) fail(l.where, "lun 0 is tgt's controller LUN and cannot hold a store");
      if (!used.insert(*l.number).second)
        fail(l.where, "lun " + std::to_string(*l.number) + " used twice");
    }
    for (bool direct : {false, true}) {
      for (LunDraft& l : td.luns) {
        if (l.number || l.direct != direct) continue;
        uint64_t n = 1;
        while (used.count(n)) ++n;
        l.number = n;
        used.insert(n);
      }
    }
    for (const LunDraft& l : td.luns)
      if (l.direct)
        notes.push_back(l.where + ": direct-store " + l.path +
                        " is served as an emulated disk (tgt passed SCSI commands through)");
    std::stable_sort(td.luns.begin(), td.luns.end(),
                     [](const LunDraft& a, const LunDraft& b) { return *a.number < *b.number; });
  }
  if (!targets.empty())
    notes.push_back(
        "tgt also showed a LUN 0 controller device on each target; sharedisk "
        "serves only the configured LUNs");

  ImportResult r;
  r.notes = notes;
  r.yaml = render(targets, notes, source, options);
  try {
    config::load_string(r.yaml, "<converted " + source + ">");
  } catch (const config::ConfigError& e) {
    throw std::runtime_error(std::string("the converted configuration does not load: ") + e.what());
  }
  return r;
}

ImportResult import_tgt_file(const std::string& path, const ImportOptions& options) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return import_tgt_text(ss.str(), path, options);
}

}  // namespace sharedisk::daemon
