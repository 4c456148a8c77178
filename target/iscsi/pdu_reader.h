// The receive-side framer of an iSCSI connection (RFC 7143 §11, §12.1):
// bytes in, PDUs out, no socket. It splits a byte stream into Basic Header
// Segment, AHS, header digest, data segment, padding and data digest, checks
// the digests (CRC32C, when negotiated) and the data segment limit, and stops
// at each step the caller must act on.
//
// The data segment is never buffered here: after kHeader the caller names
// where the segment goes (set_destination), so write data lands straight in
// a command's pooled buffer; payload_window() lets the caller read the socket
// directly into that buffer and report what arrived with payload_received(),
// without a copy. Nothing here allocates.
//
// Use: call feed() with the bytes at hand; it returns how many it consumed
// and why it stopped (it stops after every kHeader and kPdu so the caller can
// act and change settings between PDUs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "iscsi/pdu.h"

namespace sharedisk::iscsi {

class PduReader {
 public:
  struct Settings {
    bool login_phase = true;  // only Login Requests are acceptable
    bool header_digest = false;
    bool data_digest = false;
    uint32_t max_data_segment = 8192;  // MaxRecvDataSegmentLength we declared
  };
  enum class Event : uint8_t {
    kNeedMore,  // every byte given was consumed; feed more
    kHeader,    // header() and ahs() are in; call set_destination() next
    kPdu,       // the data segment, padding and digest are in
    kError,     // error() tells why; the stream cannot be trusted any more
  };
  // Each error ends the connection (ErrorRecoveryLevel 0): nothing after a
  // bad header, or a length the target never accepts, can be resynchronised.
  enum class Error : uint8_t {
    kNone,
    kNotLogin,        // a PDU other than a Login Request before login ended
    kSegmentTooLong,  // DataSegmentLength above max_data_segment
    kHeaderDigest,    // header digest mismatch
  };
  struct Step {
    size_t consumed = 0;
    Event event = Event::kNeedMore;
  };

  void configure(const Settings& settings) { settings_ = settings; }
  const Settings& settings() const { return settings_; }

  Step feed(std::span<const uint8_t> bytes);

  // After kHeader (until the next one).
  const Bhs& header() const { return bhs_; }
  std::span<const uint8_t> ahs() const { return {ahs_, bhs_.ahs_length()}; }
  // After kHeader, before feeding on: the data segment (header().data_length()
  // bytes) is stored at `dest`, or skipped when it is null.
  void set_destination(uint8_t* dest);

  // The rest of the current data segment when it goes to a destination: the
  // caller may receive into it directly and then report the bytes with
  // payload_received(). Empty otherwise.
  std::span<uint8_t> payload_window() const;
  void payload_received(size_t n);

  // After kPdu: false when a data digest was negotiated and did not match
  // (checked only for a segment that went to a destination).
  bool data_digest_ok() const { return data_digest_ok_; }
  Error error() const { return error_; }
  static const char* describe(Error error);

  // Forgets the PDU in progress and its destination (the connection closes).
  void reset();

 private:
  enum class State : uint8_t { kBhs, kAhs, kHeaderDigest, kData, kPad, kDataDigest, kFailed };
  bool header_done(Step* step);
  void data_done();

  Settings settings_;
  State state_ = State::kBhs;
  Bhs bhs_;
  uint8_t ahs_[255 * 4] = {};
  uint32_t have_ = 0;  // bytes of the current part (BHS, AHS, digest, pad) in
  uint8_t digest_[4] = {};
  uint8_t pad_[4] = {};
  uint32_t pad_length_ = 0;
  uint8_t* data_start_ = nullptr;
  uint8_t* dest_ = nullptr;
  uint32_t data_length_ = 0;
  uint32_t data_need_ = 0;
  bool data_digest_ok_ = true;
  Error error_ = Error::kNone;
};

}  // namespace sharedisk::iscsi
