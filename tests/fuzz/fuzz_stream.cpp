// libFuzzer: the receive framer (iscsi/pdu_reader.h) on whole byte streams,
// many PDUs split at arbitrary points, as a socket delivers them.
//
// Input: byte 0 = mode (bit 0 header digest and bit 1 data digest once login
// is over, bit 2 start in full feature phase, bits 3-4 the data segment
// limit), bytes 1-4 = seed of the split points, the rest = the stream.
//
// Two runs per input:
//  1. The stream as given, with the mode's settings: like the connection, the
//     reader starts in the login phase and switches to the negotiated digests
//     after a final Login Request (T=1, NSG=3). Data segments go to a buffer,
//     nowhere, or (for the larger ones) arrive through payload_window() as a
//     direct socket read would. Checked: nothing is consumed twice or lost, no
//     header exceeds the limit, no non-Login PDU passes the login phase, and
//     the data placed matches the stream.
//  2. The PDUs of the stream re-sent with correct CRC32C digests, split at
//     other points: the same PDUs, the same data, every digest accepted.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "iscsi/pdu_reader.h"
#include "util/crc32c.h"

using namespace sharedisk::iscsi;

namespace {

constexpr size_t kBufferSize = 65536;
constexpr uint32_t kLimits[4] = {8192, 65536, 262144, 16777215};

void check(bool ok) {
  if (!ok) std::abort();
}

struct Splitter {
  uint32_t state;
  size_t next(size_t left) {  // 1..left bytes, often small
    state = state * 1103515245u + 12345u;
    uint32_t r = state >> 8;
    size_t n = (r & 1) ? 1 + (r >> 1) % 64 : 1 + (r >> 1) % 9000;
    return std::min(n, left);
  }
};

struct Pdu {
  Bhs bhs;
  std::vector<uint8_t> ahs;
  std::vector<uint8_t> data;
  bool digest_ok = true;
  bool complete = false;  // its data segment (and digest) arrived too
};

// Feeds `stream` to `r` in split pieces; returns the complete PDUs seen.
// `switch_after_login`: the settings to take after a final Login Request.
std::vector<Pdu> run(PduReader& r, std::span<const uint8_t> stream, Splitter split,
                     const PduReader::Settings* switch_after_login) {
  std::vector<Pdu> pdus;
  static std::vector<uint8_t> buffer(kBufferSize);
  size_t pos = 0;
  size_t piece_end = 0;
  bool have_header = false;
  bool to_buffer = false;
  for (;;) {
    if (pos == piece_end) piece_end = pos + split.next(stream.size() - pos);
    // A large segment still to come: sometimes take it the way a direct
    // socket read does, straight into the window.
    std::span<uint8_t> window = r.payload_window();
    if (!window.empty() && (split.state & 4) && pos < piece_end) {
      size_t n = std::min(window.size(), piece_end - pos);
      std::memcpy(window.data(), stream.data() + pos, n);
      r.payload_received(n);
      pos += n;
      continue;
    }
    std::span<const uint8_t> piece = stream.subspan(pos, piece_end - pos);
    PduReader::Step s = r.feed(piece);
    check(s.consumed <= piece.size());
    pos += s.consumed;
    switch (s.event) {
      case PduReader::Event::kNeedMore:
        check(pos == piece_end);
        if (pos == stream.size()) return pdus;
        break;
      case PduReader::Event::kError:
        check(r.error() != PduReader::Error::kNone);
        check(r.feed(piece.subspan(s.consumed)).event == PduReader::Event::kError);
        return pdus;
      case PduReader::Event::kHeader: {
        const Bhs& h = r.header();
        check(!have_header);
        check(h.data_length() <= r.settings().max_data_segment);
        check(!r.settings().login_phase || h.opcode() == op::kLoginRequest);
        check(r.ahs().size() == h.ahs_length());
        have_header = true;
        to_buffer = h.data_length() <= kBufferSize && (h.itt() & 1) == 0;
        r.set_destination(to_buffer ? buffer.data() : nullptr);
        pdus.push_back({h, {r.ahs().begin(), r.ahs().end()}, {}, true, false});
        break;
      }
      case PduReader::Event::kPdu: {
        check(have_header);
        have_header = false;
        Pdu& p = pdus.back();
        if (to_buffer) p.data.assign(buffer.begin(), buffer.begin() + p.bhs.data_length());
        p.digest_ok = r.data_digest_ok();
        p.complete = true;
        const Bhs& h = p.bhs;
        if (switch_after_login != nullptr && r.settings().login_phase &&
            h.opcode() == op::kLoginRequest && h.transit() && h.nsg() == 3)
          r.configure(*switch_after_login);
        break;
      }
    }
  }
}

void append_digest(std::vector<uint8_t>& out, uint32_t crc) {
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(crc >> (8 * i)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  uint8_t mode = data[0];
  uint32_t seed;
  std::memcpy(&seed, data + 1, 4);
  std::span<const uint8_t> stream(data + 5, size - 5);

  // 1. As given.
  PduReader::Settings after{.login_phase = false,
                            .header_digest = (mode & 1) != 0,
                            .data_digest = (mode & 2) != 0,
                            .max_data_segment = kLimits[(mode >> 3) & 3]};
  PduReader first;
  if (mode & 4) first.configure(after);
  std::vector<Pdu> pdus = run(first, stream, Splitter{seed}, &after);
  // Data placed in the buffer is the stream's (checked without digests,
  // where a PDU's place in the stream follows from the lengths alone).
  if (!after.header_digest && !after.data_digest) {
    size_t at = 0;
    for (const Pdu& p : pdus) {
      if (!p.complete) break;
      at += kBhsSize + p.bhs.ahs_length();
      if (!p.data.empty())
        check(std::memcmp(stream.data() + at, p.data.data(), p.data.size()) == 0);
      at += p.bhs.data_length() + pad4(p.bhs.data_length());
      check(at <= stream.size());
    }
  }

  // 2. The complete PDUs with correct digests, read back with digests on.
  PduReader plain;
  plain.configure({.login_phase = false, .max_data_segment = kLimits[3]});
  std::vector<Pdu> sent = run(plain, stream, Splitter{seed ^ 0x9e3779b9u}, nullptr);
  if (!sent.empty() && !sent.back().complete) sent.pop_back();
  std::vector<uint8_t> wire;
  for (Pdu& p : sent) {
    if (p.data.size() != p.bhs.data_length()) p.data.assign(p.bhs.data_length(), 0x5a);
    size_t start = wire.size();
    wire.insert(wire.end(), p.bhs.b.begin(), p.bhs.b.end());
    wire.insert(wire.end(), p.ahs.begin(), p.ahs.end());
    append_digest(wire, sharedisk::util::crc32c(wire.data() + start, wire.size() - start));
    if (!p.data.empty()) {
      start = wire.size();
      wire.insert(wire.end(), p.data.begin(), p.data.end());
      wire.resize(wire.size() + pad4(uint32_t(p.data.size())), 0);
      append_digest(wire, sharedisk::util::crc32c(wire.data() + start, wire.size() - start));
    }
  }
  PduReader digests;
  digests.configure({.login_phase = false,
                     .header_digest = true,
                     .data_digest = true,
                     .max_data_segment = kLimits[3]});
  std::vector<Pdu> back = run(digests, wire, Splitter{~seed}, nullptr);
  check(back.size() == sent.size());
  for (size_t i = 0; i < back.size(); ++i) {
    check(back[i].bhs.b == sent[i].bhs.b);
    check(back[i].ahs == sent[i].ahs);
    check(back[i].digest_ok);
    if (!back[i].data.empty()) check(back[i].data == sent[i].data);
  }
  return 0;
}
