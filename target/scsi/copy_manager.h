// The EXTENDED COPY (LID1) copy manager's limits and the copy results it
// holds per I_T nexus for RECEIVE COPY RESULTS (SPC-4 6.4, 6.18).
//
// Limits are shared by EXTENDED COPY (which enforces them), RECEIVE COPY
// RESULTS OPERATING PARAMETERS and the third-party copy VPD page 8Fh (which
// report them), so the three cannot disagree.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace sharedisk::scsi::xcopy {

constexpr uint16_t kMaxTargetDescriptors = 8;
constexpr uint16_t kMaxSegmentDescriptors = 16;
constexpr uint32_t kMaxDescriptorListLength = 1024;  // target + segment descriptor lists
constexpr uint32_t kMaxSegmentBytes = 256u << 20;    // 65535 blocks of 4 KiB fit
constexpr uint32_t kMaxInlineData = 0;
constexpr uint16_t kTotalConcurrentCopies = 64;
constexpr uint8_t kMaxConcurrentCopies = 16;  // identified (held) copies per nexus
constexpr uint32_t kChunkBytes = 1u << 20;    // one read then one write of this size at a time

// Descriptor type codes we implement.
constexpr uint8_t kSegmentBlockToBlock = 0x02;
constexpr uint8_t kTargetIdentification = 0xE4;

// COPY MANAGER STATUS values of RECEIVE COPY RESULTS / COPY STATUS.
constexpr uint8_t kStatusInProgress = 0x00;
constexpr uint8_t kStatusDone = 0x01;
constexpr uint8_t kStatusFailed = 0x02;

struct CopyStatus {
  uint8_t status = kStatusInProgress;
  uint16_t segments_processed = 0;
  uint64_t bytes = 0;
};

// Copy operations of one I_T nexus by LIST IDENTIFIER: the ones in progress
// (so a duplicate list identifier is refused) and the finished ones whose
// LIST ID USAGE asked for their status to be held. Dropped with the nexus.
class CopyResults {
 public:
  // False when `list_id` is already in progress on this nexus.
  bool begin(uint8_t list_id, bool hold);
  void finish(uint8_t list_id, const CopyStatus& s);
  bool lookup(uint8_t list_id, CopyStatus* out) const;

 private:
  struct Entry {
    CopyStatus status;
    bool hold = false;
    uint64_t order = 0;
  };
  mutable std::mutex mutex_;
  std::map<uint8_t, Entry> entries_;
  uint64_t next_order_ = 0;
};

}  // namespace sharedisk::scsi::xcopy
