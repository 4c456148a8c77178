#include "attack_cases.h"

#include <cstdio>
#include <random>

#include "raw_client.h"

namespace sharedisk::sectest {

using namespace iscsi;

namespace {

constexpr int kWaitMs = 1500;
constexpr int kSilenceMs = 400;

std::string hex(unsigned v, int width) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%0*x", width, v);
  return b;
}

std::string describe_answer(const Pdu& p) {
  switch (p.bhs.opcode()) {
    case op::kReject:
      return "reject " + hex(p.bhs.b[2], 2);
    case op::kLoginResponse:
      return "login " + hex(login_status(p), 4);
    case op::kScsiResponse: {
      std::string s = "scsi " + hex(p.bhs.b[3], 2);
      if (p.data.size() >= 2 + 14) {
        const auto* d = reinterpret_cast<const uint8_t*>(p.data.data()) + 2;
        char b[32];
        std::snprintf(b, sizeof b, " %x/%02x/%02x", d[2] & 0x0f, d[12], d[13]);
        s += b;
      }
      return s;
    }
    case op::kTaskMgmtResponse:
      return "tmf " + std::to_string(p.bhs.b[2]);
    case op::kNopIn:
      return "nop-in";
    case op::kR2T:
      return "r2t";
    case op::kTextResponse:
      return "text";
    case op::kDataIn:
      return "data-in";
    default:
      return "opcode " + hex(p.bhs.opcode(), 2);
  }
}

// The first answer, or whether the target closed / stayed silent.
std::string answer(RawConn& c, int wait_ms = kWaitMs, Pdu* out = nullptr) {
  Pdu p;
  std::string error;
  if (c.recv_pdu(&p, wait_ms, &error)) {
    if (out) *out = p;
    return describe_answer(p);
  }
  if (!error.empty()) return error;
  if (c.wait_closed(50)) return "closed";
  return "silence";
}

// Sends one login PDU with `text` and answers.
std::string login_once(int port, Bhs h, const std::string& text) {
  RawConn c;
  if (!c.connect(port)) return "connect failed";
  h.set_data_length(uint32_t(text.size()));
  c.send_pdu(h, text);
  return answer(c);
}

std::string first_keys(const std::string& initiator, const std::string& target,
                       const std::string& auth = "None") {
  return text_keys({{"InitiatorName", initiator}, {"TargetName", target}, {"AuthMethod", auth}});
}

// Logs in to the open target and runs `bad` in full feature phase.
std::string in_session(int port, const Targets& t,
                       const std::function<std::string(RawConn&, const LoginResult&)>& bad) {
  RawConn c;
  if (!c.connect(port)) return "connect failed";
  LoginResult r = login(c, t.initiator, t.open);
  if (!r.answered || r.status != 0) return "login failed " + hex(r.status, 4);
  // A new nexus first reports POWER ON, RESET OR BUS DEVICE RESET (06/29/00): take it with TUR.
  c.send_pdu(scsi_command(0x99, r.exp_cmdsn, std::vector<uint8_t>(16, 0), 0, false, false), "");
  Pdu p;
  if (!c.recv_pdu(&p, kWaitMs)) return "no answer to TEST UNIT READY";
  r.exp_cmdsn = p.bhs.field32(28);
  r.max_cmdsn = p.bhs.field32(32);
  return bad(c, r);
}

// CHAP up to the target's challenge; returns identifier and challenge.
bool chap_challenge(RawConn& c, const std::string& initiator, const std::string& target, int* id,
                    std::string* challenge) {
  Bhs h = login_request(0, 1, false);
  std::string d = first_keys(initiator, target, "CHAP");
  h.set_data_length(uint32_t(d.size()));
  Pdu p;
  if (!c.send_pdu(h, d) || !c.recv_pdu(&p, kWaitMs) || login_status(p) != 0) return false;
  d = text_keys({{"CHAP_A", "5"}});
  h.set_data_length(uint32_t(d.size()));
  if (!c.send_pdu(h, d) || !c.recv_pdu(&p, kWaitMs) || login_status(p) != 0) return false;
  auto k = parse_keys(p.data);
  *id = std::stoi(k["CHAP_I"]);
  *challenge = k["CHAP_C"];
  return true;
}

// CHAP up to the target's challenge, then one Login Request to the next stage
// with the text `reply(identifier, challenge)` builds; the target's answer.
std::string chap_reply(int port, const std::string& initiator, const std::string& target,
                       const std::function<std::string(int, const std::string&)>& reply) {
  RawConn c;
  if (!c.connect(port)) return "connect failed";
  int id = 0;
  std::string challenge;
  if (!chap_challenge(c, initiator, target, &id, &challenge)) return "no challenge";
  Bhs h = login_request(0, 1, true);
  std::string d = reply(id, challenge);
  h.set_data_length(uint32_t(d.size()));
  c.send_pdu(h, d);
  return answer(c);
}

std::vector<uint8_t> cdb10(uint8_t opcode, uint32_t lba, uint16_t blocks) {
  std::vector<uint8_t> c(16, 0);
  c[0] = opcode;
  put_be32(&c[2], lba);
  put_be16(&c[7], blocks);
  return c;
}

Bhs plain(uint8_t opcode, uint32_t itt, uint32_t cmdsn, bool immediate = true) {
  Bhs h;
  h.b[0] = uint8_t(opcode | (immediate ? flag::kImmediate : 0));
  h.b[1] = flag::kFinal;
  h.set_itt(itt);
  h.set32(20, kReservedTag);
  h.set32(24, cmdsn);
  return h;
}

}  // namespace

std::vector<Attack> attack_cases() {
  std::vector<Attack> a;
  auto add = [&](std::string name, std::string expected,
                 std::function<std::string(int, const Targets&)> run) {
    a.push_back({std::move(name), std::move(expected), std::move(run)});
  };

  // ---- before and during login
  add("48 bytes of 0xff (target opcode) instead of a Login", "closed", [](int port, auto&) {
    RawConn c;
    c.connect(port);
    std::string junk(48, '\xff');
    c.send_all(junk.data(), junk.size());
    return answer(c);
  });
  add("4 KiB of random bytes", "closed", [](int port, auto&) {
    RawConn c;
    c.connect(port);
    std::mt19937 rng(7);
    std::string junk(4096, '\0');
    for (char& ch : junk) ch = char(rng());
    junk[0] = '\x3f';  // never a Login opcode
    c.send_all(junk.data(), junk.size());
    return answer(c);
  });
  add("SCSI Command before login", "closed", [](int port, auto&) {
    RawConn c;
    c.connect(port);
    c.send_pdu(scsi_command(1, 1, cdb10(0x28, 0, 1), 512, true, false), "");
    return answer(c);
  });
  add("half a BHS, then hang up", "client closed", [](int port, auto&) {
    RawConn c;
    c.connect(port);
    std::string half(20, '\x03');
    c.send_all(half.data(), half.size());
    return std::string("client closed");
  });
  add("Login with Version-min 5", "login 0x0205", [](int port, const Targets& t) {
    Bhs h = login_request(0, 1, true);
    h.b[3] = 5;
    return login_once(port, h, first_keys(t.initiator, t.open));
  });
  add("Login DataSegmentLength 16 MiB - 1", "closed", [](int port, auto&) {
    RawConn c;
    c.connect(port);
    Bhs h = login_request(0, 1, true);
    h.set_data_length(0xffffff);
    c.send_all(h.b.data(), kBhsSize);
    return answer(c);
  });
  add("Login data 9000 bytes (over 8192 during login)", "closed", [](int port, const Targets& t) {
    return login_once(
        port, login_request(0, 1, true),
        first_keys(t.initiator, t.open) + text_keys({{"X-pad", std::string(8800, 'x')}}));
  });
  add("Login text pair without '='", "login 0x0200", [](int port, auto&) {
    return login_once(port, login_request(0, 1, true), std::string("InitiatorName\0", 14));
  });
  add("Login with a repeated key", "login 0x0200", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true),
                      first_keys(t.initiator, t.open) + text_keys({{"TargetName", t.open}}));
  });
  add("Login key name of 64 characters", "login 0x0200", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true),
                      first_keys(t.initiator, t.open) + text_keys({{std::string(64, 'K'), "1"}}));
  });
  add("Login with CSG=FullFeature", "login 0x020b", [](int port, const Targets& t) {
    Bhs h = login_request(3, 3, true);
    return login_once(port, h, first_keys(t.initiator, t.open));
  });
  add("Login transit backwards (CSG 1 -> NSG 0)", "login 0x020b", [](int port, const Targets& t) {
    return login_once(port, login_request(1, 0, true), first_keys(t.initiator, t.open));
  });
  add("Login without InitiatorName", "login 0x0207", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true), text_keys({{"TargetName", t.open}}));
  });
  add("Login to an unknown target", "login 0x0203", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true),
                      first_keys(t.initiator, "iqn.2024-01.test.sec:nothere"));
  });
  add("Login SessionType=Bogus", "login 0x0209", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true),
                      text_keys({{"InitiatorName", t.initiator}, {"SessionType", "Bogus"}}));
  });
  add("Login HeaderDigest=MD5 only", "login 0x0200", [](int port, const Targets& t) {
    RawConn c;
    c.connect(port);
    LoginResult r = login(c, t.initiator, t.open, {{"HeaderDigest", "MD5"}});
    return r.answered ? "login " + hex(r.status, 4) : answer(c);
  });
  add("Login ISID changed between PDUs", "login 0x020b", [](int port, const Targets& t) {
    RawConn c;
    c.connect(port);
    Bhs h = login_request(0, 1, false);
    std::string d = first_keys(t.initiator, t.open);
    h.set_data_length(uint32_t(d.size()));
    c.send_pdu(h, d);
    Pdu p;
    c.recv_pdu(&p, kWaitMs);
    Bhs h2 = login_request(0, 1, true, 0x99);
    c.send_pdu(h2, "");
    return answer(c);
  });
  add("continued login text over limits.max_login_text", "login 0x0302",
      [](int port, const Targets& t) {
        RawConn c;
        c.connect(port);
        Bhs h = login_request(0, 1, false);
        h.b[1] |= flag::kContinue;
        std::string chunk = first_keys(t.initiator, t.open) + std::string(8000, 'a');
        chunk.resize(8000);
        std::string last;
        for (int i = 0; i < 4; ++i) {
          h.set_data_length(uint32_t(chunk.size()));
          c.send_pdu(h, chunk);
          last = answer(c);
          if (last != "login 0x0000") break;
        }
        return last;
      });
  add("CHAP target: AuthMethod=None", "login 0x0201", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true), first_keys(t.initiator, t.chap));
  });
  add("CHAP target: skip the security stage", "login 0x0201", [](int port, const Targets& t) {
    return login_once(port, login_request(1, 3, true),
                      text_keys({{"InitiatorName", t.initiator}, {"TargetName", t.chap}}));
  });
  add("CHAP: CHAP_A=6,7 (no MD5)", "login 0x0201", [](int port, const Targets& t) {
    RawConn c;
    c.connect(port);
    Bhs h = login_request(0, 1, false);
    std::string d = first_keys(t.initiator, t.chap, "CHAP");
    h.set_data_length(uint32_t(d.size()));
    c.send_pdu(h, d);
    Pdu p;
    c.recv_pdu(&p, kWaitMs);
    d = text_keys({{"CHAP_A", "6,7"}});
    h.set_data_length(uint32_t(d.size()));
    c.send_pdu(h, d);
    return answer(c);
  });
  add("CHAP: wrong response", "login 0x0201", [](int port, const Targets& t) {
    return chap_reply(port, t.initiator, t.chap, [](int, const std::string&) {
      return text_keys({{"CHAP_N", "alice"}, {"CHAP_R", "0x00112233445566778899aabbccddeeff"}});
    });
  });
  add("CHAP: unknown user with a well-formed response", "login 0x0201",
      [](int port, const Targets& t) {
        return chap_reply(port, t.initiator, t.chap, [](int, const std::string&) {
          return text_keys({{"CHAP_N", "root"}, {"CHAP_R", "0bAAAAAAAAAAAAAAAAAAAAAA=="}});
        });
      });
  add("CHAP: reflection of the target's challenge (mutual)", "login 0x0201",
      [](int port, const Targets& t) {
        return chap_reply(port, t.initiator, t.mutual, [](int id, const std::string& challenge) {
          return text_keys({{"CHAP_N", "bob"},
                            {"CHAP_R", "0x00112233445566778899aabbccddeeff"},
                            {"CHAP_I", std::to_string(id)},
                            {"CHAP_C", challenge}});
        });
      });
  add("CHAP: CHAP_R of 4 KiB (login PDU over 8192 bytes)", "closed",
      [](int port, const Targets& t) {
        // 8 KiB of hex text is over the 8192-byte login PDU limit: dropped.
        return chap_reply(port, t.initiator, t.chap, [](int, const std::string&) {
          return text_keys({{"CHAP_N", "alice"}, {"CHAP_R", "0x" + std::string(8192, 'a')}});
        });
      });
  add("ACL: initiator not in access.initiators", "login 0x0202", [](int port, const Targets& t) {
    return login_once(port, login_request(0, 1, true), first_keys(t.initiator, t.priv));
  });

  // ---- in a logged-in session
  add("vendor opcode 0x1c", "reject 0x05", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(plain(0x1c, 5, r.exp_cmdsn), "");
      return answer(c);
    });
  });
  add("target opcode 0x21 sent by the initiator", "reject 0x04", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(plain(0x21, 5, r.exp_cmdsn), "");
      return answer(c);
    });
  });
  add("SNACK at ErrorRecoveryLevel 0", "reject 0x03", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(plain(op::kSnackRequest, 5, r.exp_cmdsn, false), "");
      return answer(c);
    });
  });
  add("Login Request in full feature phase", "reject 0x04", [](int port, const Targets& t) {
    return in_session(port, t, [&](RawConn& c, const LoginResult&) {
      std::string d = first_keys(t.initiator, t.open);
      Bhs h = login_request(0, 1, true);
      h.set_data_length(uint32_t(d.size()));
      c.send_pdu(h, d);
      return answer(c);
    });
  });
  add("Data-Out for a task that does not exist", "silence", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult&) {
      Bhs h = plain(op::kDataOut, 0x777, 0, false);
      std::string d(512, 'd');
      h.set_data_length(512);
      c.send_pdu(h, d);
      return answer(c, kSilenceMs);
    });
  });
  add("data segment of 1 MiB (over MaxRecvDataSegmentLength)", "closed",
      [](int port, const Targets& t) {
        return in_session(port, t, [](RawConn& c, const LoginResult& r) {
          Bhs h = plain(op::kNopOut, 9, r.exp_cmdsn);
          h.set_data_length(1 << 20);
          c.send_all(h.b.data(), kBhsSize);
          return answer(c);
        });
      });
  add("READ(10) with ExpectedDataTransferLength 4 GiB - 1", "scsi 0x02 5/24/00",
      [](int port, const Targets& t) {
        return in_session(port, t, [](RawConn& c, const LoginResult& r) {
          c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb10(0x28, 0, 1), 0xffffffff, true, false), "");
          return answer(c);
        });
      });
  add("WRITE with more immediate data than EDTL", "reject 0x04", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = scsi_command(1, r.exp_cmdsn, cdb10(0x2a, 100000, 1), 512, false, true);
      std::string d(1024, 'w');
      h.set_data_length(1024);
      c.send_pdu(h, d);
      return answer(c);
    });
  });
  add("READ and WRITE bits together (bidirectional)", "reject 0x05",
      [](int port, const Targets& t) {
        return in_session(port, t, [](RawConn& c, const LoginResult& r) {
          c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb10(0x28, 0, 1), 512, true, true), "");
          return answer(c);
        });
      });
  add("SCSI Command with an AHS (extended CDB)", "reject 0x05", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = scsi_command(1, r.exp_cmdsn, cdb10(0x28, 0, 1), 512, true, false);
      h.b[4] = 2;  // 8 bytes of AHS
      std::string wire(reinterpret_cast<const char*>(h.b.data()), kBhsSize);
      wire += std::string("\x00\x05\x01\x00\x00\x00\x00\x00", 8);
      c.send_all(wire.data(), wire.size());
      return answer(c);
    });
  });
  add("READ(10) past the end of the LUN", "scsi 0x02 5/21/00", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb10(0x28, 0xfffffff0, 32), 16384, true, false), "");
      return answer(c);
    });
  });
  add("READ(16) at LBA 2^64-1 of 2^32-1 blocks", "scsi 0x02 5/21/00",
      [](int port, const Targets& t) {
        return in_session(port, t, [](RawConn& c, const LoginResult& r) {
          std::vector<uint8_t> cdb(16, 0);
          cdb[0] = 0x88;
          put_be64(&cdb[2], ~0ull);
          put_be32(&cdb[10], 0xffffffff);
          c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb, 4096, true, false), "");
          return answer(c);
        });
      });
  add("unsupported SCSI opcode 0xff", "scsi 0x02 5/20/00", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb10(0xff, 0, 0), 0, false, false), "");
      return answer(c);
    });
  });
  add("LUN 5000 (not configured)", "scsi 0x02 5/25/00", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.exp_cmdsn, cdb10(0x28, 0, 1), 512, true, false,
                              0x4000000000000000ull | (5000ull << 48)),
                 "");
      return answer(c);
    });
  });
  add("CmdSN far beyond MaxCmdSN", "silence", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.max_cmdsn + 1000, cdb10(0x28, 0, 1), 512, true, false), "");
      return answer(c, kSilenceMs);
    });
  });
  add("CmdSN just past MaxCmdSN", "silence", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.max_cmdsn + 1, cdb10(0x28, 0, 1), 512, true, false), "");
      return answer(c, kSilenceMs);
    });
  });
  add("CmdSN behind ExpCmdSN (replay)", "silence", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(1, r.exp_cmdsn - 5, cdb10(0x28, 0, 1), 512, true, false), "");
      return answer(c, kSilenceMs);
    });
  });
  add("Task management function 99", "tmf 5", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = plain(op::kTaskMgmtRequest, 3, r.exp_cmdsn);
      h.b[1] = 0x80 | 99;
      h.set_lun(0x0001000000000000ull);
      c.send_pdu(h, "");
      return answer(c);
    });
  });
  add("ABORT TASK of an unknown task", "tmf 1", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = plain(op::kTaskMgmtRequest, 3, r.exp_cmdsn);
      h.b[1] = 0x80 | 1;
      h.set_lun(0x0001000000000000ull);
      h.set32(20, 0x12345);
      c.send_pdu(h, "");
      return answer(c);
    });
  });
  add("Text Request with the C bit", "reject 0x04", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = plain(op::kTextRequest, 4, r.exp_cmdsn);
      h.b[1] = flag::kContinue;
      std::string d = text_keys({{"SendTargets", "All"}});
      h.set_data_length(uint32_t(d.size()));
      c.send_pdu(h, d);
      return answer(c);
    });
  });
  add("Text value of 9000 bytes", "reject 0x04", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      Bhs h = plain(op::kTextRequest, 4, r.exp_cmdsn);
      std::string d = text_keys({{"X-big", std::string(9000, 'v')}});
      h.set_data_length(uint32_t(d.size()));
      c.send_pdu(h, d);
      return answer(c);
    });
  });
  add("Data-Out at offset 1 GiB after an R2T", "scsi 0x02 b/4b/00", [](int port, const Targets& t) {
    return in_session(port, t, [](RawConn& c, const LoginResult& r) {
      c.send_pdu(scsi_command(7, r.exp_cmdsn, cdb10(0x2a, 120000, 8), 4096, false, true), "");
      Pdu r2t;
      std::string first = answer(c, kWaitMs, &r2t);
      if (first != "r2t") return "first answer " + first;
      Bhs h = plain(op::kDataOut, 7, 0, false);
      h.set32(20, r2t.bhs.field32(20));  // TTT
      h.set32(40, 1u << 30);             // BufferOffset
      h.set_data_length(4096);
      c.send_pdu(h, std::string(4096, 'x'));
      return answer(c);
    });
  });
  return a;
}

}  // namespace sharedisk::sectest
