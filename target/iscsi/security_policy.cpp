#include "iscsi/security_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "util/ascii.h"

namespace sharedisk::iscsi {

namespace {

constexpr size_t kMinSecret = 12;  // 96 bits, RFC 7143 §9.2.1 / Windows' minimum
constexpr size_t kMaxField = 255;
constexpr size_t kMaxFileSize = 1 << 20;

[[noreturn]] void fail(const std::string& name, int line, const std::string& message) {
  throw std::runtime_error(name + ":" + std::to_string(line) + ": " + message);
}

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

// Collects the credentials of one scope, falling back to "*".
AuthPolicy policy_for(AuthMode mode, const std::string& scope,
                      const std::vector<ChapSecretLine>& secrets, const std::string& what) {
  AuthPolicy p;
  p.mode = mode;
  for (const std::string& s : {scope, std::string("*")}) {
    for (const ChapSecretLine& line : secrets) {
      if (line.scope != s) continue;
      if (line.outgoing)
        p.outgoing = line.credential;
      else
        p.incoming.push_back(line.credential);
    }
    if (!p.incoming.empty() || p.outgoing) break;
    if (scope == "discovery") break;  // discovery never falls back to "*"
  }
  if (mode == AuthMode::kNone) return p;  // kept: an initiator may still choose CHAP
  if (p.incoming.empty())
    throw std::runtime_error(what + " requires CHAP but the secrets file has no 'in' line for " +
                             scope);
  if (mode == AuthMode::kMutual && !p.outgoing)
    throw std::runtime_error(what + " requires mutual CHAP but the secrets file has no 'out' " +
                             "line for " + scope);
  return p;
}

}  // namespace

std::vector<ChapSecretLine> parse_chap_secrets(const std::string& text, const std::string& name) {
  std::vector<ChapSecretLine> out;
  std::istringstream in(text);
  std::string raw;
  int number = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (size_t hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
    std::istringstream fields(raw);
    std::vector<std::string> f;
    std::string word;
    while (fields >> word) f.push_back(word);
    if (f.empty()) continue;
    if (f.size() != 4)
      fail(name, number,
           "expected '<scope> <in|out> <user> <secret>' (" + std::to_string(f.size()) + " fields)");
    ChapSecretLine line;
    line.scope = util::to_lower(f[0]);
    if (line.scope != "discovery" && line.scope != "*") {
      if (auto err = config::check_iscsi_name(f[0]); !err.empty())
        fail(name, number, "scope '" + f[0] + "': " + err);
    }
    if (f[1] != "in" && f[1] != "out")
      fail(name, number, "direction must be 'in' or 'out' (got '" + f[1] + "')");
    line.outgoing = f[1] == "out";
    line.credential.user = f[2];
    line.credential.secret = f[3];
    if (f[2].size() > kMaxField || !printable(f[2]))
      fail(name, number, "user name must be 1 to 255 printable ASCII characters");
    if (f[3].size() < kMinSecret || f[3].size() > kMaxField)
      fail(name, number,
           "secret must be 12 to 255 bytes long (got " + std::to_string(f[3].size()) + ")");
    for (const ChapSecretLine& o : out) {
      if (o.scope != line.scope || o.outgoing != line.outgoing) continue;
      if (line.outgoing) fail(name, number, "a second 'out' line for " + f[0]);
      if (o.credential.user == line.credential.user)
        fail(name, number, "user '" + f[2] + "' is listed twice for " + f[0]);
    }
    out.push_back(std::move(line));
  }
  // An initiator must never be able to make the target answer a challenge
  // with a secret that also authenticates initiators (reflection).
  for (const ChapSecretLine& o : out) {
    if (!o.outgoing) continue;
    for (const ChapSecretLine& i : out)
      if (!i.outgoing && i.credential.secret == o.credential.secret)
        throw std::runtime_error(name + ": the 'out' secret of " + o.scope +
                                 " is also an 'in' secret (of user '" + i.credential.user +
                                 "'); target and initiator secrets must differ");
  }
  return out;
}

std::vector<ChapSecretLine> load_chap_secrets(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  std::string text;
  try {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw std::runtime_error(path + ": not a regular file");
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
      throw std::runtime_error(path + ": mode " + mode +
                               " lets other users read the CHAP secrets; chmod 600 it");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
      throw std::runtime_error(path + ": owned by uid " + std::to_string(st.st_uid) +
                               ", neither root nor the daemon's user");
    if (st.st_size > off_t(kMaxFileSize)) throw std::runtime_error(path + ": larger than 1 MiB");
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxFileSize)
      text.append(buf, size_t(n));
    if (n < 0) throw std::runtime_error(path + ": read: " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  std::vector<ChapSecretLine> lines = parse_chap_secrets(text, path);
  std::fill(text.begin(), text.end(), '\0');
  return lines;
}

bool TargetSecurity::read_only_for(const std::string& initiator) const {
  std::string name = util::to_lower(initiator);
  return std::any_of(read_only_initiators.begin(), read_only_initiators.end(),
                     [&](const std::string& n) { return util::to_lower(n) == name; });
}

const TargetSecurity* SecurityPolicy::find(const std::string& iqn) const {
  auto it = targets.find(util::to_lower(iqn));
  return it == targets.end() ? nullptr : &it->second;
}

std::shared_ptr<const SecurityPolicy> build_security_policy(
    const config::Config& config, const std::vector<ChapSecretLine>& secrets) {
  auto policy = std::make_shared<SecurityPolicy>();
  policy->discovery = policy_for(config.auth.discovery, "discovery", secrets, "discovery");
  for (const config::Target& t : config.targets) {
    TargetSecurity& s = policy->targets[util::to_lower(t.iqn)];
    s.auth = policy_for(t.auth, util::to_lower(t.iqn), secrets, "target " + t.iqn);
    s.read_only_initiators = t.read_only_initiators;
  }
  return policy;
}

std::shared_ptr<const SecurityPolicy> build_security_policy(const config::Config& config) {
  std::vector<ChapSecretLine> secrets;
  if (!config.auth.secrets_file.empty()) secrets = load_chap_secrets(config.auth.secrets_file);
  return build_security_policy(config, secrets);
}

}  // namespace sharedisk::iscsi
