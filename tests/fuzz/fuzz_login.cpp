// libFuzzer: the login state machine, Login::handle, with CHAP required on
// one target (mutual on another, CHAP for discovery) and an ACL on a third.
// The input is a sequence of Login Requests:
//   [flags (BHS byte 1)] [misc] [length lo] [length hi] [data ...]
// misc bit 0 changes the ISID, bit 1 sets Version-min 1, bit 2 changes the CID.
// The challenge is fixed, and "CHAP_R=@A" / "CHAP_R=@B" in the data are
// replaced by the right answers for users alice / bob, so the fuzzer can get
// past authentication and explore what follows.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "iscsi/login.h"
#include "scsi/device.h"

using namespace sharedisk;
using namespace sharedisk::iscsi;

namespace {

constexpr uint8_t kId = 7;
const std::vector<uint8_t> kChallenge = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

class Admit : public SessionAdmission {
 public:
  uint16_t admit(const Login&, uint16_t*) override { return 1; }
};

struct World {
  TargetRegistry registry;
  TargetLimits limits;
  std::shared_ptr<const SecurityPolicy> policy;
  World() {
    for (const char* iqn : {"iqn.2024-01.fuzz:open", "iqn.2024-01.fuzz:chap",
                            "iqn.2024-01.fuzz:mutual", "iqn.2024-01.fuzz:acl"}) {
      auto node = std::make_unique<TargetNode>();
      node->iqn = iqn;
      node->device = scsi::make_device(iqn);
      if (std::strstr(iqn, "acl")) node->set_access({"iqn.2024-01.fuzz:owner"}, {});
      registry.add(std::move(node));
    }
    limits.digests = true;
    config::Config c;
    c.auth.discovery = config::AuthMode::kChap;
    for (const char* iqn : {"iqn.2024-01.fuzz:open", "iqn.2024-01.fuzz:chap",
                            "iqn.2024-01.fuzz:mutual", "iqn.2024-01.fuzz:acl"}) {
      config::Target t;
      t.iqn = iqn;
      if (std::strstr(iqn, "chap")) t.auth = config::AuthMode::kChap;
      if (std::strstr(iqn, "mutual")) t.auth = config::AuthMode::kMutual;
      t.read_only_initiators = {"iqn.2024-01.fuzz:reader"};
      c.targets.push_back(t);
    }
    policy = build_security_policy(c, parse_chap_secrets("* in alice alice-secret-123\n"
                                                         "* out target target-secret-89\n"
                                                         "discovery in bob bob-secret-4567\n",
                                                         "fuzz"));
  }
};

std::string with_answers(std::string text) {
  for (auto [token, secret] :
       {std::pair{"CHAP_R=@A", "alice-secret-123"}, std::pair{"CHAP_R=@B", "bob-secret-4567"}}) {
    size_t at = text.find(token);
    if (at == std::string::npos) continue;
    auto r = chap::response(kId, secret, kChallenge.data(), kChallenge.size());
    text.replace(at, std::strlen(token), "CHAP_R=" + chap::encode_hex(r.data(), r.size()));
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  Admit admit;
  Login login(world.registry, world.limits, "192.0.2.1", admit);
  login.set_security(world.policy, 16384);
  login.set_fixed_chap_challenge(kId, kChallenge);
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string sent;  // every PDU's text so far: a key may span continued PDUs
  size_t pos = 0;
  for (int pdu = 0; pdu < 16 && pos + 4 <= size; ++pdu) {
    uint8_t flags = data[pos], misc = data[pos + 1];
    size_t length = size_t(data[pos + 2]) | size_t(data[pos + 3]) << 8;
    pos += 4;
    length = std::min({length, size - pos, size_t(8192)});
    std::string text = with_answers(std::string(reinterpret_cast<const char*>(data + pos), length));
    pos += length;
    sent += text;
    Bhs h;
    h.b[0] = 0x40 | op::kLoginRequest;
    h.b[1] = flags;
    h.b[3] = (misc & 2) ? 1 : 0;
    put_be64(&h.b[8], uint64_t((misc & 1) ? 0x99 : 0x23d0001234ull) << 16);
    h.set_itt(uint32_t(pdu));
    put_be16(&h.b[20], (misc & 4) ? 2 : 1);
    h.set_data_length(uint32_t(text.size()));
    Login::Reply r = login.handle(h, reinterpret_cast<const uint8_t*>(text.data()), text.size());
    if (r.bhs.opcode() != op::kLoginResponse) std::abort();
    if (r.bhs.data_length() != r.data.size()) std::abort();
    uint16_t status = uint16_t(r.bhs.b[36] << 8 | r.bhs.b[37]);
    if ((status != 0) != r.close) std::abort();
    if (r.complete && r.close) std::abort();
    // Never a session on a CHAP target without a successful CHAP exchange.
    if (r.complete && login.target() != nullptr &&
        std::strstr(login.target()->iqn.c_str(), "chap") &&
        text.find("CHAP_R=0x") == std::string::npos && pdu == 0)
      std::abort();
    // A configured secret never leaves the target, unless the initiator sent it
    // (unknown keys are echoed as NotUnderstood), possibly split across continued
    // PDUs (C bit), which the target joins.
    for (const char* secret : {"alice-secret-123", "bob-secret-4567", "target-secret-89"})
      if (r.data.find(secret) != std::string::npos && input.find(secret) == std::string::npos &&
          sent.find(secret) == std::string::npos)
        std::abort();
    if (r.close || r.complete) break;
  }
  return 0;
}
