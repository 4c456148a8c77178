// Sense data (SPC-4 4.5): the fixed (70h) and descriptor (72h) formats, with
// the INFORMATION field and the sense-key-specific field pointer.
//
// Every helper here writes Task::sense/sense_length and sets CHECK CONDITION;
// none completes the task. `descriptor` selects the 72h format (the control
// mode page's D_SENSE bit of the logical unit, or REQUEST SENSE's DESC bit).
#pragma once

#include <cstdint>

namespace sharedisk::scsi {

class Task;

namespace sense_key {
constexpr uint8_t kNoSense = 0x0;
constexpr uint8_t kRecoveredError = 0x1;
constexpr uint8_t kNotReady = 0x2;
constexpr uint8_t kMediumError = 0x3;
constexpr uint8_t kHardwareError = 0x4;
constexpr uint8_t kIllegalRequest = 0x5;
constexpr uint8_t kUnitAttention = 0x6;
constexpr uint8_t kDataProtect = 0x7;
constexpr uint8_t kAbortedCommand = 0xB;
constexpr uint8_t kMiscompare = 0xE;
}  // namespace sense_key

// Additional sense code and qualifier as one value: ASC << 8 | ASCQ.
namespace asc {
constexpr uint16_t kNoAdditionalSense = 0x0000;
constexpr uint16_t kNotReadyCauseNotReportable = 0x0400;
constexpr uint16_t kLogicalUnitBecomingReady = 0x0401;
constexpr uint16_t kNotReadyManualInterventionRequired = 0x0403;
constexpr uint16_t kTargetPortInStandbyState = 0x040B;
constexpr uint16_t kWriteError = 0x0C00;
constexpr uint16_t kUnrecoveredReadError = 0x1100;
constexpr uint16_t kParameterListLengthError = 0x1A00;
constexpr uint16_t kMiscompareDuringVerify = 0x1D00;
constexpr uint16_t kInvalidOpcode = 0x2000;
constexpr uint16_t kLbaOutOfRange = 0x2100;
constexpr uint16_t kInvalidFieldInCdb = 0x2400;
constexpr uint16_t kLunNotSupported = 0x2500;
constexpr uint16_t kInvalidFieldInParameterList = 0x2600;
constexpr uint16_t kInvalidReleaseOfPersistentReservation = 0x2604;
constexpr uint16_t kWriteProtected = 0x2700;
constexpr uint16_t kSpaceAllocationFailedWriteProtect = 0x2707;
constexpr uint16_t kPowerOnResetOrBusDeviceReset = 0x2900;
constexpr uint16_t kPowerOnOccurred = 0x2901;
constexpr uint16_t kScsiBusResetOccurred = 0x2902;
constexpr uint16_t kBusDeviceResetFunctionOccurred = 0x2903;
constexpr uint16_t kItNexusLossOccurred = 0x2907;
constexpr uint16_t kModeParametersChanged = 0x2A01;
constexpr uint16_t kReservationsPreempted = 0x2A03;
constexpr uint16_t kReservationsReleased = 0x2A04;
constexpr uint16_t kRegistrationsPreempted = 0x2A05;
constexpr uint16_t kAsymmetricAccessStateChanged = 0x2A06;
constexpr uint16_t kCapacityDataHasChanged = 0x2A09;
constexpr uint16_t kReportedLunsDataHasChanged = 0x3F0E;
constexpr uint16_t kCommandsClearedByAnotherInitiator = 0x2F00;
constexpr uint16_t kSavingParametersNotSupported = 0x3900;
constexpr uint16_t kMediumRemovalPrevented = 0x5302;
constexpr uint16_t kInsufficientRegistrationResources = 0x5504;
constexpr uint16_t kInternalTargetFailure = 0x4400;
constexpr uint16_t kTimeoutOnLogicalUnit = 0x3E02;
constexpr uint16_t kInvalidFieldInInformationUnit = 0x0E03;
constexpr uint16_t kProtocolServiceCrcError = 0x4705;
constexpr uint16_t kDataPhaseError = 0x4B00;
}  // namespace asc

// CHECK CONDITION with the given key/ASC/ASCQ.
void set_sense(Task& task, bool descriptor, uint8_t key, uint16_t asc_ascq);

// As set_sense, with the INFORMATION field (VALID=1): the LBA or byte offset.
void set_sense_info(Task& task, bool descriptor, uint8_t key, uint16_t asc_ascq,
                    uint64_t information);

// ILLEGAL REQUEST INVALID FIELD IN CDB (in_cdb) or IN PARAMETER LIST, with the
// sense-key-specific field pointer at `byte`, and `bit` (0-7) or -1 for none.
void set_invalid_field(Task& task, bool descriptor, bool in_cdb, uint16_t byte, int bit = -1);

// Writes sense bytes without touching the status (REQUEST SENSE parameter
// data); returns the length written (at most `capacity`).
unsigned build_sense(uint8_t* out, unsigned capacity, bool descriptor, uint8_t key,
                     uint16_t asc_ascq);

}  // namespace sharedisk::scsi
