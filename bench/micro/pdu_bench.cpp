// The per-PDU work of the iSCSI codec: header checks and field reads of a
// SCSI Command, building a Data-In header, and parsing a login key list.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "iscsi/pdu.h"
#include "iscsi/text_keys.h"

namespace {

using namespace sharedisk::iscsi;

Bhs read10_command() {
  Bhs b;
  b.set_opcode(op::kScsiCommand);
  b.set_flags(flag::kFinal | flag::kRead | 1);
  b.set_itt(0x1234);
  b.set32(20, 4096);
  b.set32(24, 77);
  b.b[32] = 0x28;
  return b;
}

void BM_DecodeScsiCommand(benchmark::State& state) {
  const Bhs cmd = read10_command();
  uint8_t wire[kBhsSize];
  std::memcpy(wire, cmd.b.data(), kBhsSize);
  for (auto _ : state) {
    Bhs b;
    std::memcpy(b.b.data(), wire, kBhsSize);
    benchmark::DoNotOptimize(check_received(b, true, 262144));
    benchmark::DoNotOptimize(b.itt() ^ b.cmdsn() ^ b.expected_length() ^ b.data_length());
    benchmark::DoNotOptimize(b.lun());
  }
}

void BM_BuildDataIn(benchmark::State& state) {
  uint32_t sn = 0;
  for (auto _ : state) {
    Bhs b;
    b.set_opcode(op::kDataIn);
    b.set_flags(flag::kFinal | flag::kStatus);
    b.set_itt(0x1234);
    b.set32(20, kReservedTag);
    b.set32(24, sn++);
    b.set32(28, sn + 1);
    b.set32(32, sn + 128);
    b.set32(36, 0);
    b.set32(40, 0);
    b.set_data_length(4096);
    benchmark::DoNotOptimize(b.b.data());
  }
}

void BM_ParseLoginKeys(benchmark::State& state) {
  std::string text;
  append_key(text, "InitiatorName", "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test");
  append_key(text, "TargetName", "iqn.2019-02.lb2:odcfs2");
  append_key(text, "SessionType", "Normal");
  append_key(text, "HeaderDigest", "None");
  append_key(text, "DataDigest", "None");
  append_key(text, "InitialR2T", "No");
  append_key(text, "ImmediateData", "Yes");
  append_key(text, "MaxBurstLength", "262144");
  append_key(text, "FirstBurstLength", "262144");
  append_key(text, "MaxRecvDataSegmentLength", "262144");
  for (auto _ : state) {
    std::vector<KeyValue> keys;
    std::string error;
    benchmark::DoNotOptimize(
        parse_text(reinterpret_cast<const uint8_t*>(text.data()), text.size(), &keys, &error));
    benchmark::DoNotOptimize(keys.data());
  }
}

BENCHMARK(BM_DecodeScsiCommand);
BENCHMARK(BM_BuildDataIn);
BENCHMARK(BM_ParseLoginKeys);

}  // namespace

BENCHMARK_MAIN();
