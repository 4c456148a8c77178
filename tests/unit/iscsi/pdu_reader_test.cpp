// PduReader, the socket-free framer: PDUs built byte by byte (BHS, AHS,
// header digest, data, padding, data digest) fed whole, one byte at a time
// and at every split point; digests computed here with the CRC32C of RFC
// 7143 B.4; data received through payload_window() as the connection does
// for large writes; and each framing error the connection closes on.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "iscsi/pdu_reader.h"
#include "util/crc32c.h"

namespace sharedisk::iscsi {
namespace {

using Bytes = std::vector<uint8_t>;

void append_digest(Bytes& out, uint32_t crc) {
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(crc >> (8 * i)));  // LSB first
}

struct Wire {
  bool header_digest = false;
  bool data_digest = false;
};

// One PDU on the wire: opcode, ITT, AHS words and data as given.
Bytes pdu(uint8_t opcode, uint32_t itt, const Bytes& data, Wire w = {}, const Bytes& ahs = {},
          bool corrupt_header_digest = false, bool corrupt_data_digest = false) {
  Bhs h;
  h.set_opcode(opcode);
  h.set_flags(flag::kFinal);
  h.b[4] = uint8_t(ahs.size() / 4);  // TotalAHSLength in words (RFC 7143 §11.2.1.1)
  h.set_data_length(uint32_t(data.size()));
  h.set_itt(itt);
  Bytes out(h.b.begin(), h.b.end());
  out.insert(out.end(), ahs.begin(), ahs.end());
  if (w.header_digest) {
    uint32_t crc = util::crc32c(out.data(), out.size());
    append_digest(out, corrupt_header_digest ? crc ^ 1 : crc);
  }
  size_t data_at = out.size();
  out.insert(out.end(), data.begin(), data.end());
  out.resize(out.size() + pad4(uint32_t(data.size())), 0);
  if (w.data_digest && !data.empty()) {
    uint32_t crc = util::crc32c(out.data() + data_at, out.size() - data_at);
    append_digest(out, corrupt_data_digest ? crc ^ 0x100 : crc);
  }
  return out;
}

Bytes payload(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 7);
  return b;
}

struct Received {
  uint8_t opcode;
  uint32_t itt;
  Bytes ahs;
  Bytes data;
  bool digest_ok;
};

// Feeds `stream` in pieces of `chunk` bytes (0: all at once), storing each
// data segment in its own buffer. Stops at the first error.
std::vector<Received> run(PduReader& r, const Bytes& stream, size_t chunk,
                          PduReader::Error* error = nullptr) {
  std::vector<Received> got;
  std::vector<uint8_t> buffer;
  size_t pos = 0;
  if (chunk == 0) chunk = stream.size();
  while (pos <= stream.size()) {
    size_t end = std::min(stream.size(), pos + chunk);
    std::span<const uint8_t> piece(stream.data() + pos, end - pos);
    PduReader::Step s = r.feed(piece);
    EXPECT_LE(s.consumed, piece.size());
    pos += s.consumed;
    switch (s.event) {
      case PduReader::Event::kHeader:
        got.push_back({r.header().opcode(),
                       r.header().itt(),
                       Bytes(r.ahs().begin(), r.ahs().end()),
                       {},
                       false});
        buffer.assign(r.header().data_length(), 0xee);
        r.set_destination(buffer.data());
        break;
      case PduReader::Event::kPdu:
        got.back().data = buffer;
        got.back().digest_ok = r.data_digest_ok();
        break;
      case PduReader::Event::kError:
        if (error != nullptr) *error = r.error();
        return got;
      case PduReader::Event::kNeedMore:
        EXPECT_EQ(s.consumed, piece.size());
        if (end == stream.size()) return got;
        break;
    }
  }
  return got;
}

PduReader full_feature(Wire w, uint32_t limit = 262144) {
  PduReader r;
  r.configure({.login_phase = false,
               .header_digest = w.header_digest,
               .data_digest = w.data_digest,
               .max_data_segment = limit});
  return r;
}

TEST(PduReader, SplitsAStreamAtEverySplitPoint) {
  for (Wire w : {Wire{false, false}, Wire{true, false}, Wire{false, true}, Wire{true, true}}) {
    Bytes stream = pdu(op::kNopOut, 1, payload(5, 1), w);  // 3 bytes of padding
    Bytes second = pdu(op::kScsiCommand, 2, {}, w, payload(20, 9));
    Bytes third = pdu(op::kDataOut, 3, payload(4096, 3), w);
    stream.insert(stream.end(), second.begin(), second.end());
    stream.insert(stream.end(), third.begin(), third.end());
    for (size_t chunk : {size_t(0), size_t(1), size_t(3), size_t(47), size_t(49), size_t(4099)}) {
      PduReader r = full_feature(w);
      std::vector<Received> got = run(r, stream, chunk);
      ASSERT_EQ(got.size(), 3u) << "chunk " << chunk;
      EXPECT_EQ(got[0].opcode, op::kNopOut);
      EXPECT_EQ(got[0].data, payload(5, 1));
      EXPECT_TRUE(got[0].digest_ok);
      EXPECT_EQ(got[1].itt, 2u);
      EXPECT_EQ(got[1].ahs, payload(20, 9));
      EXPECT_TRUE(got[1].data.empty());
      EXPECT_EQ(got[2].data, payload(4096, 3));
      EXPECT_TRUE(got[2].digest_ok);
    }
  }
}

TEST(PduReader, EveryTwoPieceSplitOfTwoPdus) {
  Wire w{true, true};
  Bytes stream = pdu(op::kTextRequest, 7, payload(13, 2), w);
  Bytes b = pdu(op::kNopOut, 8, payload(2, 4), w);
  stream.insert(stream.end(), b.begin(), b.end());
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    PduReader r = full_feature(w);
    std::vector<Received> got;
    Bytes buffer;
    size_t pos = 0;
    for (auto [from, to] : {std::pair{size_t(0), cut}, std::pair{cut, stream.size()}}) {
      pos = from;
      for (;;) {
        PduReader::Step s = r.feed({stream.data() + pos, to - pos});
        pos += s.consumed;
        if (s.event == PduReader::Event::kNeedMore) break;
        ASSERT_NE(s.event, PduReader::Event::kError) << "cut " << cut;
        if (s.event == PduReader::Event::kHeader) {
          got.push_back({r.header().opcode(), r.header().itt(), {}, {}, false});
          buffer.assign(r.header().data_length(), 0);
          r.set_destination(buffer.data());
        } else {
          got.back().data = buffer;
          got.back().digest_ok = r.data_digest_ok();
        }
      }
    }
    ASSERT_EQ(got.size(), 2u) << "cut " << cut;
    EXPECT_EQ(got[0].data, payload(13, 2));
    EXPECT_EQ(got[1].data, payload(2, 4));
    EXPECT_TRUE(got[0].digest_ok && got[1].digest_ok);
  }
}

TEST(PduReader, PayloadWindowReceivesWithoutACopy) {
  // The connection reads a large Data-Out segment from the socket straight
  // into the command's buffer: the reader only counts what arrived there.
  Wire w{false, true};
  Bytes data = payload(65536, 5);
  Bytes stream = pdu(op::kDataOut, 9, data, w);
  PduReader r = full_feature(w);
  PduReader::Step s = r.feed({stream.data(), 100});  // BHS and 52 bytes of data
  ASSERT_EQ(s.event, PduReader::Event::kHeader);
  EXPECT_EQ(s.consumed, kBhsSize);
  Bytes buffer(data.size());
  r.set_destination(buffer.data());
  size_t pos = s.consumed;
  s = r.feed({stream.data() + pos, 100 - pos});
  EXPECT_EQ(s.event, PduReader::Event::kNeedMore);
  pos += s.consumed;
  std::span<uint8_t> window = r.payload_window();
  ASSERT_EQ(window.size(), data.size() - 52);
  EXPECT_EQ(window.data(), buffer.data() + 52);
  // "Receive" 60000 bytes into the window, as async_read_some would.
  std::memcpy(window.data(), stream.data() + pos, 60000);
  r.payload_received(60000);
  pos += 60000;
  EXPECT_EQ(r.payload_window().size(), data.size() - 52 - 60000);
  s = r.feed({stream.data() + pos, stream.size() - pos});
  EXPECT_EQ(s.event, PduReader::Event::kPdu);
  EXPECT_EQ(pos + s.consumed, stream.size());
  EXPECT_TRUE(r.data_digest_ok());
  EXPECT_EQ(buffer, data);
  EXPECT_TRUE(r.payload_window().empty());
}

TEST(PduReader, SkippedSegmentLeavesNoTrace) {
  Bytes stream = pdu(op::kDataOut, 1, payload(1001, 1));
  Bytes b = pdu(op::kNopOut, 2, {});
  stream.insert(stream.end(), b.begin(), b.end());
  PduReader r = full_feature({});
  PduReader::Step s = r.feed(stream);
  ASSERT_EQ(s.event, PduReader::Event::kHeader);
  r.set_destination(nullptr);  // dropped data: nowhere
  EXPECT_TRUE(r.payload_window().empty());
  size_t pos = s.consumed;
  s = r.feed({stream.data() + pos, stream.size() - pos});
  EXPECT_EQ(s.event, PduReader::Event::kPdu);
  pos += s.consumed;
  EXPECT_EQ(pos, 48u + 1001u + 3u);
  s = r.feed({stream.data() + pos, stream.size() - pos});
  EXPECT_EQ(s.event, PduReader::Event::kHeader);
  EXPECT_EQ(r.header().itt(), 2u);
}

TEST(PduReader, DataDigestMismatchIsReportedAndFramingGoesOn) {
  Wire w{false, true};
  Bytes stream = pdu(op::kNopOut, 1, payload(6, 1), w, {}, false, true);
  Bytes b = pdu(op::kNopOut, 2, payload(6, 1), w);
  stream.insert(stream.end(), b.begin(), b.end());
  PduReader r = full_feature(w);
  std::vector<Received> got = run(r, stream, 5);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].digest_ok);
  EXPECT_TRUE(got[1].digest_ok);
}

TEST(PduReader, HeaderDigestMismatchEndsTheStream) {
  Wire w{true, false};
  Bytes stream = pdu(op::kNopOut, 1, {}, w, {}, true);
  PduReader r = full_feature(w);
  PduReader::Error error = PduReader::Error::kNone;
  std::vector<Received> got = run(r, stream, 7, &error);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(error, PduReader::Error::kHeaderDigest);
  // It stays failed: nothing after a bad header is trusted.
  EXPECT_EQ(r.feed(stream).event, PduReader::Event::kError);
  EXPECT_EQ(r.feed(stream).consumed, 0u);
}

TEST(PduReader, SegmentOverTheLimitEndsTheStreamBeforeItsData) {
  PduReader r = full_feature({}, 8192);
  Bytes ok = pdu(op::kDataOut, 1, payload(8192, 1));
  EXPECT_EQ(run(r, ok, 1000).size(), 1u);
  Bytes big = pdu(op::kDataOut, 2, payload(8196, 1));
  PduReader::Step s = r.feed(big);
  EXPECT_EQ(s.event, PduReader::Event::kError);
  EXPECT_EQ(s.consumed, kBhsSize);
  EXPECT_EQ(r.error(), PduReader::Error::kSegmentTooLong);
}

TEST(PduReader, LoginPhaseTakesOnlyLoginRequests) {
  PduReader r;  // login phase, 8192 bytes (RFC 7143 §13.12)
  Bytes login = pdu(op::kLoginRequest, 1, payload(300, 1));
  std::vector<Received> got = run(r, login, 64);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, payload(300, 1));
  // Anything else is refused at its BHS, before any AHS it announces.
  Bytes scsi = pdu(op::kScsiCommand, 2, {}, {}, payload(1020, 1));
  PduReader::Step s = r.feed(scsi);
  EXPECT_EQ(s.event, PduReader::Event::kError);
  EXPECT_EQ(s.consumed, kBhsSize);
  EXPECT_EQ(r.error(), PduReader::Error::kNotLogin);
  EXPECT_STRNE(PduReader::describe(r.error()), "unknown");
}

TEST(PduReader, DigestsSwitchOnBetweenPdus) {
  // The last Login Request has no digests; the next PDU has them.
  PduReader r;
  Bytes stream = pdu(op::kLoginRequest, 1, payload(10, 1));
  Wire w{true, true};
  Bytes next = pdu(op::kNopOut, 2, payload(10, 2), w);
  stream.insert(stream.end(), next.begin(), next.end());
  PduReader::Step s = r.feed(stream);
  ASSERT_EQ(s.event, PduReader::Event::kHeader);
  size_t pos = s.consumed;
  Bytes buffer(10);
  r.set_destination(buffer.data());
  s = r.feed({stream.data() + pos, stream.size() - pos});
  ASSERT_EQ(s.event, PduReader::Event::kPdu);
  pos += s.consumed;
  r.configure({.login_phase = false,
               .header_digest = true,
               .data_digest = true,
               .max_data_segment = 262144});
  std::vector<Received> got = run(r, Bytes(stream.begin() + long(pos), stream.end()), 3);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, payload(10, 2));
  EXPECT_TRUE(got[0].digest_ok);
}

TEST(PduReader, ResetForgetsTheDestination) {
  Bytes stream = pdu(op::kDataOut, 1, payload(100, 1));
  PduReader r = full_feature({});
  PduReader::Step s = r.feed({stream.data(), 60});
  ASSERT_EQ(s.event, PduReader::Event::kHeader);
  Bytes buffer(100, 0);
  r.set_destination(buffer.data());
  EXPECT_FALSE(r.payload_window().empty());
  r.reset();
  EXPECT_TRUE(r.payload_window().empty());
  EXPECT_EQ(r.feed({stream.data() + 48, 12}).event, PduReader::Event::kNeedMore);
  EXPECT_EQ(buffer, Bytes(100, 0));  // nothing written after the reset
}

}  // namespace
}  // namespace sharedisk::iscsi
