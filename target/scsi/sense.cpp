#include "scsi/sense.h"

#include <cstring>

#include "scsi/task.h"

namespace sharedisk::scsi {

namespace {

struct SenseFields {
  uint8_t key = 0;
  uint16_t asc = 0;
  bool info_valid = false;
  uint64_t info = 0;
  bool sks_valid = false;
  uint8_t sks[3] = {};
};

unsigned encode(uint8_t* out, unsigned cap, bool descriptor, const SenseFields& f) {
  uint8_t buf[32] = {};
  unsigned len;
  if (!descriptor) {
    buf[0] = 0x70 | (f.info_valid ? 0x80 : 0);
    buf[2] = f.key & 0x0F;
    // Fixed format holds only 32 bits of INFORMATION.
    uint32_t info = static_cast<uint32_t>(f.info);
    buf[3] = info >> 24;
    buf[4] = info >> 16;
    buf[5] = info >> 8;
    buf[6] = info;
    buf[7] = 10;  // additional sense length: bytes 8..17
    buf[12] = f.asc >> 8;
    buf[13] = f.asc & 0xFF;
    if (f.sks_valid) std::memcpy(buf + 15, f.sks, 3);
    len = 18;
  } else {
    buf[0] = 0x72;
    buf[1] = f.key & 0x0F;
    buf[2] = f.asc >> 8;
    buf[3] = f.asc & 0xFF;
    unsigned p = 8;
    if (f.info_valid) {  // information descriptor (type 00h)
      buf[p] = 0x00;
      buf[p + 1] = 0x0A;
      buf[p + 2] = 0x80;
      for (int i = 0; i < 8; ++i) buf[p + 4 + i] = f.info >> (56 - 8 * i);
      p += 12;
    }
    if (f.sks_valid) {  // sense key specific descriptor (type 02h)
      buf[p] = 0x02;
      buf[p + 1] = 0x06;
      std::memcpy(buf + p + 4, f.sks, 3);
      p += 8;
    }
    buf[7] = p - 8;
    len = p;
  }
  if (len > cap) len = cap;
  std::memcpy(out, buf, len);
  return len;
}

void apply(Task& task, bool descriptor, const SenseFields& f) {
  task.status = status::kCheckCondition;
  task.sense_length = encode(task.sense, Task::kMaxSense, descriptor, f);
}

}  // namespace

void set_sense(Task& task, bool descriptor, uint8_t key, uint16_t asc_ascq) {
  SenseFields f;
  f.key = key;
  f.asc = asc_ascq;
  apply(task, descriptor, f);
}

void set_sense_info(Task& task, bool descriptor, uint8_t key, uint16_t asc_ascq,
                    uint64_t information) {
  SenseFields f;
  f.key = key;
  f.asc = asc_ascq;
  f.info_valid = true;
  f.info = information;
  apply(task, descriptor, f);
}

void set_invalid_field(Task& task, bool descriptor, bool in_cdb, uint16_t byte, int bit) {
  SenseFields f;
  f.key = sense_key::kIllegalRequest;
  f.asc = in_cdb ? asc::kInvalidFieldInCdb : asc::kInvalidFieldInParameterList;
  f.sks_valid = true;
  // SKSV, C/D, BPV and BIT POINTER, then the 16-bit FIELD POINTER.
  f.sks[0] = 0x80 | (in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0);
  f.sks[1] = byte >> 8;
  f.sks[2] = byte & 0xFF;
  apply(task, descriptor, f);
}

unsigned build_sense(uint8_t* out, unsigned capacity, bool descriptor, uint8_t key,
                     uint16_t asc_ascq) {
  SenseFields f;
  f.key = key;
  f.asc = asc_ascq;
  return encode(out, capacity, descriptor, f);
}

}  // namespace sharedisk::scsi
