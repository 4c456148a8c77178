#include "raw_client.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "iscsi/text_keys.h"

namespace sharedisk::sectest {

using namespace iscsi;

namespace {
constexpr std::chrono::milliseconds kLoginWait{3000};
}  // namespace

bool RawConn::recv_pdu(Pdu* out, int timeout_ms, std::string* error) {
  test_support::Pdu p;
  if (receive(&p, std::chrono::milliseconds(timeout_ms), error) != Got::kPdu) return false;
  out->bhs.b = p.bhs;
  out->data = std::move(p.data);
  return true;
}

std::map<std::string, std::string> parse_keys(const std::string& data) {
  std::vector<KeyValue> kv;
  std::string error;
  parse_text(reinterpret_cast<const uint8_t*>(data.data()), data.size(), &kv, &error);
  std::map<std::string, std::string> out;
  for (auto& k : kv) out[k.key] = k.value;
  return out;
}

Bhs login_request(uint8_t csg, uint8_t nsg, bool transit, uint64_t isid, uint32_t itt,
                  uint32_t cmdsn) {
  Bhs h;
  h.b = test_support::login_request(
      {.csg = csg, .nsg = nsg, .transit = transit, .isid = isid, .itt = itt, .cmdsn = cmdsn});
  return h;
}

uint16_t login_status(const Pdu& response) {
  return uint16_t(response.bhs.b[36] << 8 | response.bhs.b[37]);
}

LoginResult login(RawConn& conn, const std::string& initiator, const std::string& target,
                  const test_support::TextKeys& operational) {
  LoginResult r;
  test_support::LoginHeader h{.csg = 0, .nsg = 1, .isid = kIsid};
  test_support::Pdu p;
  std::string d = text_keys({{"InitiatorName", initiator},
                             {"TargetName", target},
                             {"SessionType", "Normal"},
                             {"AuthMethod", "None"}});
  if (!test_support::login_stage(conn, &h, d, kLoginWait, 1, &p)) return r;
  r.answered = true;
  r.status = test_support::login_status(p);
  r.keys = parse_keys(p.data);
  if (r.status != 0) return r;
  h.csg = 1;
  h.nsg = 3;
  if (!test_support::login_stage(conn, &h, text_keys(operational), kLoginWait, 1, &p)) {
    r.answered = false;
    return r;
  }
  r.status = test_support::login_status(p);
  r.keys = parse_keys(p.data);
  r.statsn = p.u32(24);
  r.exp_cmdsn = p.u32(28);
  r.max_cmdsn = p.u32(32);
  if (r.status == 0) {
    conn.digests.header = r.keys["HeaderDigest"] == "CRC32C";
    conn.digests.data = r.keys["DataDigest"] == "CRC32C";
  }
  return r;
}

Bhs scsi_command(uint32_t itt, uint32_t cmdsn, const std::vector<uint8_t>& cdb, uint32_t edtl,
                 bool read, bool write, uint64_t lun) {
  Bhs h;
  h.b[0] = op::kScsiCommand;
  h.b[1] = uint8_t(flag::kFinal | (read ? flag::kRead : 0) | (write ? flag::kWrite : 0) | 1);
  h.set_lun(lun);
  h.set_itt(itt);
  h.set32(20, edtl);
  h.set32(24, cmdsn);
  std::memcpy(&h.b[32], cdb.data(), std::min<size_t>(cdb.size(), 16));
  return h;
}

}  // namespace sharedisk::sectest
