// Data transfer accounting of one SCSI command (RFC 7143 §3.2.4, §11.7-11.8),
// socket-free: which write data the initiator may send unsolicited
// (immediate data, then Data-Out up to FirstBurstLength unless InitialR2T),
// which Data-Out PDU is next in sequence (DataSN, buffer offset, the burst it
// belongs to), which R2Ts to send (MaxBurstLength each, at most
// MaxOutstandingR2T at a time), and how read data is split into Data-In PDUs
// (MaxRecvDataSegmentLength each, F at every MaxBurstLength and at the end).
//
// No I/O, no allocation, no logging: the connection asks, builds the PDUs
// (pdu_builder.h) and points the receive at the buffer. Every call is O(1);
// they run for every command and every data PDU.
#pragma once

#include <algorithm>
#include <cstdint>

#include "iscsi/negotiation.h"
#include "iscsi/pdu_builder.h"

namespace sharedisk::iscsi {

// The write side of one command: data is taken only contiguously from offset
// 0 (DataPDUInOrder and DataSequenceInOrder are Yes), so one "received"
// counter is the whole state of the buffer.
class WriteTransfer {
 public:
  // A SCSI Command PDU arrived: `edtl` Expected Data Transfer Length,
  // `immediate` the length of its data segment, `final` its F bit (no
  // unsolicited Data-Out follows).
  void start(const SessionParams& p, bool write, uint32_t edtl, uint32_t immediate, bool final) {
    edtl_ = edtl;
    received_ = 0;
    r2tsn_ = 0;
    r2t_outstanding_ = 0;
    datasn_ = 0;
    if (write) {
      uint32_t unsolicited = p.initial_r2t ? immediate : std::min(edtl, p.first_burst_length);
      if (final) unsolicited = immediate;
      unsolicited_end_ = solicited_end_ = std::max(unsolicited, immediate);
    } else {
      unsolicited_end_ = solicited_end_ = 0;
    }
  }
  // A command refused before any data (more than can be buffered): nothing
  // is taken, nothing solicited.
  void refuse() {
    edtl_ = received_ = unsolicited_end_ = solicited_end_ = 0;
    r2tsn_ = r2t_outstanding_ = datasn_ = 0;
  }

  // Whether a Data-Out PDU is the next one in sequence: its DataSN is the
  // next of its sequence, its offset is where the data stops, and it stays
  // inside what was solicited (`solicited`: its TTT names an R2T) or may be
  // sent unsolicited (never with InitialR2T=Yes).
  bool accepts(bool solicited, uint32_t datasn, uint32_t offset, uint32_t length,
               bool initial_r2t) const {
    uint32_t end = solicited ? solicited_end_ : unsolicited_end_;
    return datasn == datasn_ && offset == received_ && offset <= end && length <= end - offset &&
           (solicited || !initial_r2t);
  }

  // A data segment ended (immediate data or a Data-Out, taken or discarded):
  // `length` more bytes count as received, never past the expected length.
  void segment_received(uint32_t length) { received_ = std::min(edtl_, received_ + length); }

  // A Data-Out PDU ended: the next DataSN, and with F the end of a sequence
  // (an R2T answered, or the unsolicited burst ended, perhaps early: what
  // it did not send is solicited).
  void data_out_ended(bool solicited, bool final) {
    datasn_++;
    if (!final) return;
    datasn_ = 0;
    if (solicited) {
      if (r2t_outstanding_ > 0) r2t_outstanding_--;
    } else if (received_ < unsolicited_end_) {
      unsolicited_end_ = solicited_end_ = received_;
    }
  }

  // Every expected byte is in.
  bool complete() const { return received_ >= edtl_; }
  // The unsolicited data is in: what is missing needs R2Ts.
  bool needs_r2t() const { return received_ >= unsolicited_end_; }

  struct R2tRequest {
    uint32_t r2tsn;
    uint32_t offset;
    uint32_t length;
  };
  // The next R2T to send, if any: up to MaxOutstandingR2T unanswered, each
  // for the next MaxBurstLength bytes not yet solicited. Counts it sent.
  bool next_r2t(const SessionParams& p, R2tRequest* r2t) {
    if (r2t_outstanding_ >= p.max_outstanding_r2t || solicited_end_ >= edtl_) return false;
    uint32_t length = std::min(p.max_burst_length, edtl_ - solicited_end_);
    *r2t = {r2tsn_++, solicited_end_, length};
    solicited_end_ += length;
    r2t_outstanding_++;
    return true;
  }

  uint32_t edtl() const { return edtl_; }
  uint32_t received() const { return received_; }
  uint32_t unsolicited_end() const { return unsolicited_end_; }
  uint32_t solicited_end() const { return solicited_end_; }
  uint32_t expected_datasn() const { return datasn_; }
  uint32_t r2t_outstanding() const { return r2t_outstanding_; }

 private:
  uint32_t edtl_ = 0;
  uint32_t received_ = 0;         // contiguous from offset 0
  uint32_t unsolicited_end_ = 0;  // data the initiator sends without R2T
  uint32_t solicited_end_ = 0;    // data asked for so far (unsolicited + R2Ts)
  uint32_t r2tsn_ = 0;
  uint32_t r2t_outstanding_ = 0;
  uint32_t datasn_ = 0;  // next expected Data-Out DataSN in the current sequence
};

// Read data split into Data-In PDUs: each at most the initiator's
// MaxRecvDataSegmentLength, no burst (sequence) longer than MaxBurstLength;
// the last PDU of each burst has F. DataSN counts from 0.
class DataInSplitter {
 public:
  struct Segment {
    uint32_t offset;
    uint32_t length;
    uint32_t datasn;
    bool final;  // F: ends a burst
    bool last;   // the last PDU of the command's data (may carry the status)
  };
  DataInSplitter(uint32_t length, uint32_t max_segment, uint32_t max_burst)
      : length_(length), max_segment_(max_segment), max_burst_(max_burst) {}

  bool next(Segment* s) {
    if (offset_ >= length_) return false;
    uint32_t n = std::min({max_segment_, length_ - offset_, max_burst_ - burst_});
    burst_ += n;
    bool last = offset_ + n == length_;
    bool final = last || burst_ == max_burst_;
    if (burst_ == max_burst_) burst_ = 0;
    *s = {offset_, n, datasn_++, final, last};
    offset_ += n;
    return true;
  }
  // PDUs produced so far: the ExpDataSN of a SCSI Response that follows them.
  uint32_t pdus() const { return datasn_; }

 private:
  uint32_t length_, max_segment_, max_burst_;
  uint32_t offset_ = 0, burst_ = 0, datasn_ = 0;
};

// The command's status as its Data-In PDUs carry it: in the last one (S bit,
// StatSN advanced) when `in_last_pdu`, i.e. GOOD without sense; otherwise a
// SCSI Response follows the data.
struct DataInStatus {
  bool in_last_pdu = false;
  uint8_t status = 0;
  uint8_t residual_flags = 0;  // flag::kOverflow or flag::kUnderflow
  uint32_t residual = 0;
};

// The Data-In header of one segment; the caller fills in `sn` (StatSN
// advanced only when status_present).
inline out::DataIn data_in_header(const DataInSplitter::Segment& s, uint32_t itt,
                                  const DataInStatus& st) {
  bool with_status = s.last && st.in_last_pdu;
  return out::DataIn{.final = s.final,
                     .status_present = with_status,
                     .residual_flags = st.residual_flags,
                     .status = st.status,
                     .data_length = s.length,
                     .lun = 0,
                     .itt = itt,
                     .ttt = kReservedTag,
                     .sn = {},
                     .datasn = s.datasn,
                     .buffer_offset = s.offset,
                     .residual = st.residual};
}

}  // namespace sharedisk::iscsi
