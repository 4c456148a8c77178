// cluster.conf reader. Follows ocfs2-tools' jconfig grammar line by line:
//   stanza line:    IDENT ':' [blanks]           (IDENT = [A-Za-z0-9_]+, column 0)
//   attribute line: blanks IDENT [blanks] '=' [blanks] VALUE   (VALUE keeps trailing blanks;
//                   a trailing '\' continues the value on the next line)
//   comment:        '#' in column 0 (does not end the stanza)
//   blank line:     ends the current stanza
// jconfig rejects the whole file on any syntax error, so those are errors here; stanzas and
// attributes it ignores are warnings.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sharedisk/ocfs2/cluster_conf.h"

namespace sharedisk::ocfs2 {
namespace {

struct RawAttribute {
  std::string key;
  std::string value;
  int line = 0;
};

struct RawStanza {
  std::string type;
  int line = 0;
  std::vector<RawAttribute> attributes;

  const RawAttribute* find(std::string_view key) const {
    for (const auto& a : attributes)
      if (a.key == key) return &a;
    return nullptr;
  }
};

bool is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  static const char* hex = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("\\x") + hex[u >> 4] + hex[u & 15];
}

class Parser {
 public:
  explicit Parser(std::string_view text) {
    std::size_t start = 0;
    while (start < text.size()) {
      const auto nl = text.find('\n', start);
      if (nl == std::string_view::npos) {
        lines_.push_back(text.substr(start));
        break;
      }
      lines_.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
  }

  void run() {
    for (std::size_t i = 0; i < lines_.size(); ++i) parse_line(i);
  }

  std::vector<RawStanza> stanzas;
  Diagnostics diagnostics;

 private:
  void error(int line, const char* code, std::string message) {
    diagnostics.push_back({line, Severity::error, code, std::move(message)});
  }
  void warning(int line, const char* code, std::string message) {
    diagnostics.push_back({line, Severity::warning, code, std::move(message)});
  }

  std::string_view line_at(std::size_t i) {
    std::string_view sv = lines_[i];
    if (!sv.empty() && sv.back() == '\r') {
      if (!crlf_reported_) {
        error(static_cast<int>(i + 1), "line-ending-crlf",
              "line ends with a carriage return (Windows line endings); ocfs2-tools rejects "
              "the file: convert it with dos2unix");
        crlf_reported_ = true;
      }
      sv.remove_suffix(1);
    }
    return sv;
  }

  void parse_line(std::size_t& i) {
    const int line_no = static_cast<int>(i + 1);
    const std::string_view sv = line_at(i);
    if (sv.empty()) {
      close_stanza();
      return;
    }
    const char c = sv[0];
    if (c == '#') return;
    if (is_blank(c)) {
      parse_indented(i, sv);
      return;
    }
    close_stanza();
    if (is_ident(c)) {
      parse_stanza_header(line_no, sv);
      return;
    }
    error(line_no, "line-invalid-start",
          "unexpected '" + printable(c) +
              "' at the start of the line: a line must be a stanza header such as 'node:', "
              "an indented 'key = value' attribute, a '#' comment or blank");
    broken_stanza_ = true;
  }

  void close_stanza() {
    current_ = -1;
    broken_stanza_ = false;
  }

  void parse_stanza_header(int line_no, std::string_view sv) {
    std::size_t p = 0;
    while (p < sv.size() && is_ident(sv[p])) ++p;
    const std::string name(sv.substr(0, p));
    const bool looks_like_attribute = sv.find('=') != std::string_view::npos;
    if (p == sv.size() || sv[p] != ':') {
      broken_stanza_ = true;
      if (looks_like_attribute) {
        error(line_no, "attribute-not-indented",
              "attribute '" + name +
                  "' must be indented: start the line with a tab, under its 'cluster:', "
                  "'node:' or 'heartbeat:' line");
      } else {
        error(line_no, "stanza-header-invalid",
              "stanza header '" + std::string(sv) + "' must be written '" + name +
                  ":' with the colon right after the name");
      }
      return;
    }
    for (std::size_t q = p + 1; q < sv.size(); ++q) {
      if (!is_blank(sv[q])) {
        broken_stanza_ = true;
        error(line_no, "stanza-header-trailing",
              "unexpected text after '" + name + ":'; attributes go on their own indented lines");
        return;
      }
    }
    stanzas.push_back({name, line_no, {}});
    current_ = static_cast<int>(stanzas.size()) - 1;
  }

  void parse_indented(std::size_t& i, std::string_view sv) {
    const int line_no = static_cast<int>(i + 1);
    std::size_t p = 0;
    while (p < sv.size() && is_blank(sv[p])) ++p;
    if (p == sv.size()) {  // whitespace-only line: ends the stanza like an empty one
      close_stanza();
      return;
    }
    if (sv[p] == '#') {
      error(line_no, "comment-indented",
            "a '#' comment must start in the first column; ocfs2-tools rejects an indented one");
      return;
    }
    if (!is_ident(sv[p])) {
      error(line_no, "attribute-name-invalid",
            "unexpected '" + printable(sv[p]) + "' where an attribute name should start");
      return;
    }
    const std::size_t key_start = p;
    while (p < sv.size() && is_ident(sv[p])) ++p;
    const std::string key(sv.substr(key_start, p - key_start));
    while (p < sv.size() && is_blank(sv[p])) ++p;
    if (p == sv.size() || sv[p] != '=') {
      error(line_no, "attribute-missing-equals",
            "attribute '" + key + "' needs '=' before its value (write '" + key + " = value')");
      return;
    }
    ++p;
    while (p < sv.size() && is_blank(sv[p])) ++p;
    std::string value(sv.substr(p));
    while (!value.empty() && value.back() == '\\' && i + 1 < lines_.size()) {
      value.back() = '\n';
      ++i;
      value += line_at(i);
    }
    if (current_ < 0) {
      if (!broken_stanza_) {
        error(line_no, "attribute-outside-stanza",
              "attribute '" + key +
                  "' is not inside a stanza: a blank line ends a stanza, so remove blank lines "
                  "between a 'cluster:', 'node:' or 'heartbeat:' line and its attributes");
      }
      return;
    }
    auto& st = stanzas[static_cast<std::size_t>(current_)];
    for (auto& a : st.attributes) {
      if (a.key == key) {
        warning(line_no, "attribute-duplicate",
                "'" + key + "' is already set on line " + std::to_string(a.line) +
                    "; ocfs2-tools keeps this later value");
        a.value = value;
        a.line = line_no;
        return;
      }
    }
    st.attributes.push_back({key, value, line_no});
  }

  std::vector<std::string_view> lines_;
  int current_ = -1;
  bool broken_stanza_ = false;
  bool crlf_reported_ = false;
};

struct Builder {
  Diagnostics& diags;
  ClusterConf& conf;

  void error(int line, const char* code, std::string message) {
    diags.push_back({line, Severity::error, code, std::move(message)});
  }

  static SourceLines lines_of(const RawStanza& st) {
    SourceLines l;
    l.stanza = st.line;
    for (const auto& a : st.attributes) l.attributes.emplace(a.key, a.line);
    return l;
  }

  // Required text attribute; reports when missing or empty.
  std::string text(const RawStanza& st, const char* key, const char* what) {
    const RawAttribute* a = st.find(key);
    if (!a || a->value.empty()) {
      error(a ? a->line : st.line, a ? "attribute-empty" : "attribute-missing",
            std::string(what) + " has no " + key + " (add '\t" + key + " = ...')");
      return {};
    }
    return a->value;
  }

  // Required unsigned number, parsed as strictly as ocfs2-tools' strtoul check does.
  std::optional<std::uint32_t> number(const RawStanza& st, const char* key, const char* what) {
    const RawAttribute* a = st.find(key);
    if (!a || a->value.empty()) {
      error(a ? a->line : st.line, a ? "attribute-empty" : "attribute-missing",
            std::string(what) + " has no " + key + " (add '\t" + key + " = ...')");
      return std::nullopt;
    }
    std::uint64_t v = 0;
    for (char c : a->value) {
      if (c < '0' || c > '9') {
        const bool trailing_blank = a->value.find_first_not_of(" \t") != std::string::npos &&
                                    (a->value.back() == ' ' || a->value.back() == '\t');
        error(a->line, "attribute-not-a-number",
              std::string(key) + " '" + a->value + "' is not a whole number" +
                  (trailing_blank ? " (remove the blanks after the value)" : ""));
        return std::nullopt;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
      if (v > 0xffffffffu) {
        error(a->line, "attribute-out-of-range",
              std::string(key) + " '" + a->value + "' is far too large");
        return std::nullopt;
      }
    }
    return static_cast<std::uint32_t>(v);
  }

  void unknown_attributes(const RawStanza& st, std::initializer_list<std::string_view> known) {
    for (const auto& a : st.attributes) {
      bool ok = false;
      for (auto k : known) ok = ok || a.key == k;
      if (!ok) {
        diags.push_back({a.line, Severity::warning, "attribute-unknown",
                         "unknown attribute '" + a.key + "' in a " + st.type +
                             " stanza; ocfs2-tools ignores it and drops it when it rewrites "
                             "the file"});
      }
    }
  }

  void build(const std::vector<RawStanza>& stanzas) {
    for (const auto& st : stanzas) {
      if (st.type == "cluster") {
        Cluster c;
        c.lines = lines_of(st);
        c.name = text(st, "name", "cluster stanza");
        if (const RawAttribute* m = st.find("heartbeat_mode")) c.heartbeat_mode = m->value;
        c.node_count = number(st, "node_count", "cluster stanza");
        unknown_attributes(st, {"name", "heartbeat_mode", "node_count"});
        conf.clusters.push_back(std::move(c));
      } else if (st.type == "node") {
        Node n;
        n.lines = lines_of(st);
        n.name = text(st, "name", "node stanza");
        n.number = number(st, "number", "node stanza");
        n.ip_address = text(st, "ip_address", "node stanza");
        n.ip_port = number(st, "ip_port", "node stanza");
        n.cluster = text(st, "cluster", "node stanza");
        unknown_attributes(st, {"name", "number", "ip_address", "ip_port", "cluster"});
        conf.nodes.push_back(std::move(n));
      } else if (st.type == "heartbeat") {
        HeartbeatRegion h;
        h.lines = lines_of(st);
        h.region = text(st, "region", "heartbeat stanza");
        h.cluster = text(st, "cluster", "heartbeat stanza");
        unknown_attributes(st, {"region", "cluster"});
        conf.heartbeats.push_back(std::move(h));
      } else {
        diags.push_back({st.line, Severity::warning, "stanza-unknown",
                         "unknown stanza '" + st.type +
                             ":'; ocfs2-tools ignores it and drops it when it rewrites the "
                             "file (known: cluster, node, heartbeat)"});
      }
    }
  }
};

}  // namespace

ParseResult parse_cluster_conf(std::string_view text) {
  ParseResult result;
  Parser parser(text);
  parser.run();
  result.diagnostics = std::move(parser.diagnostics);
  Builder{result.diagnostics, result.conf}.build(parser.stanzas);
  sort_by_line(result.diagnostics);
  return result;
}

}  // namespace sharedisk::ocfs2
