#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (corpus/<target>/): valid and
typical inputs the fuzzers mutate from. Re-run after changing an input format."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def kv(*pairs):
    return b"".join(k.encode() + b"=" + v.encode() + b"\0" for k, v in pairs)


def bhs(opcode, flags=0, dsl=0, itt=1, lun=0, f20=0, f24=0, f28=0, rest=b""):
    b = bytearray(48)
    b[0] = opcode
    b[1] = flags
    b[5:8] = dsl.to_bytes(3, "big")
    b[8:16] = lun.to_bytes(8, "big")
    b[16:20] = itt.to_bytes(4, "big")
    b[20:24] = f20.to_bytes(4, "big")
    b[24:28] = f24.to_bytes(4, "big")
    b[28:32] = f28.to_bytes(4, "big")
    b[32:32 + len(rest)] = rest
    return bytes(b)


def write(target, name, data):
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data)


# PDU headers.
write("pdu", "login", bhs(0x43, 0x87, 100, f24=1) + bhs(0x43, 0x81, 50))
write("pdu", "scsi_read", bhs(0x01, 0xC1, 0, 5, 1 << 48, 4096, 7, 3,
                              bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0])))
write("pdu", "scsi_write_imm", bhs(0x01, 0xA1, 512, 6, 1 << 48, 4096, 8, 3,
                                   bytes([0x2A, 0, 0, 0, 0, 8, 0, 0, 8, 0])))
write("pdu", "data_out", bhs(0x05, 0x80, 8192, 6, 1 << 48, 0x1000, 0, 3))
write("pdu", "nop_text_logout", bhs(0x40, 0x80, 0, 0xFFFFFFFF) + bhs(0x44, 0x80, 16) +
      bhs(0x46, 0x80))
write("pdu", "tmf_snack", bhs(0x42, 0x81) + bhs(0x10, 0x80) + bhs(0x21, 0x80))

# Text: first byte = mode bits, then key=value data.
ops = kv(("HeaderDigest", "CRC32C,None"), ("DataDigest", "None"), ("MaxConnections", "1"),
         ("InitialR2T", "No"), ("ImmediateData", "Yes"), ("MaxRecvDataSegmentLength", "262144"),
         ("MaxBurstLength", "16776192"), ("FirstBurstLength", "262144"),
         ("DefaultTime2Wait", "2"), ("DefaultTime2Retain", "0"), ("MaxOutstandingR2T", "1"),
         ("DataPDUInOrder", "Yes"), ("DataSequenceInOrder", "Yes"),
         ("ErrorRecoveryLevel", "0"), ("IFMarker", "No"), ("OFMarker", "No"))
write("text", "operational", b"\x07" + ops)
write("text", "discovery", b"\x08" + kv(("SendTargets", "All"), ("MaxBurstLength", "0x1000")))
write("text", "chap", b"\x01" + kv(("CHAP_A", "5"), ("CHAP_C", "0x0102030405060708"),
                                   ("CHAP_R", "0bAAECAwQFBgcICQoLDA0ODw==")))


def login_pdu(flags, data, misc=0):
    return bytes([flags, misc]) + struct.pack("<H", len(data)) + data


first = kv(("InitiatorName", "iqn.2024-01.fuzz:host"), ("TargetName", "iqn.2024-01.fuzz:open"),
           ("AuthMethod", "None"))
write("login", "none", login_pdu(0x81, first) + login_pdu(0x87, ops))
chap_first = kv(("InitiatorName", "iqn.2024-01.fuzz:host"),
                ("TargetName", "iqn.2024-01.fuzz:chap"), ("AuthMethod", "CHAP,None"))
write("login", "chap", login_pdu(0x01, chap_first) + login_pdu(0x01, kv(("CHAP_A", "5"))) +
      login_pdu(0x81, b"CHAP_N=alice\0CHAP_R=@A\0") + login_pdu(0x87, ops))
mutual_first = kv(("InitiatorName", "iqn.2024-01.fuzz:host"),
                  ("TargetName", "iqn.2024-01.fuzz:mutual"), ("AuthMethod", "CHAP"))
write("login", "mutual", login_pdu(0x01, mutual_first) + login_pdu(0x01, kv(("CHAP_A", "5"))) +
      login_pdu(0x83, b"CHAP_N=alice\0CHAP_R=@A\0CHAP_I=9\0CHAP_C=0x0a0b0c0d0e0f1011\0"))
disc = kv(("InitiatorName", "iqn.2024-01.fuzz:host"), ("SessionType", "Discovery"),
          ("AuthMethod", "CHAP"))
write("login", "discovery", login_pdu(0x01, disc) + login_pdu(0x01, kv(("CHAP_A", "5"))) +
      login_pdu(0x87, b"CHAP_N=bob\0CHAP_R=@B\0"))
write("login", "continued", login_pdu(0x41, first[:20]) + login_pdu(0x87, first[20:] + ops))
write("login", "reader", login_pdu(0x83, kv(("InitiatorName", "iqn.2024-01.fuzz:reader"),
                                              ("TargetName", "iqn.2024-01.fuzz:open"))))


def cdb(*b):
    return bytes(b) + bytes(16 - len(b))


def cdb_input(c, lun, flags, expected, data=b""):
    return c + bytes([lun, flags]) + expected.to_bytes(3, "big") + data


write("cdb", "inquiry", cdb_input(cdb(0x12, 0, 0, 0, 255), 0, 0, 255))
write("cdb", "inquiry_vpd83", cdb_input(cdb(0x12, 1, 0x83, 0, 255), 1, 0, 255))
write("cdb", "read10", cdb_input(cdb(0x28, 0, 0, 0, 0, 10, 0, 0, 8), 0, 0, 4096))
write("cdb", "write10", cdb_input(cdb(0x2A, 0, 0, 0, 0, 10, 0, 0, 1), 0, 1, 512, b"w" * 512))
write("cdb", "write16_ro", cdb_input(cdb(0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1), 1, 3,
                                     4096, b"r" * 4096))
write("cdb", "read_capacity16", cdb_input(cdb(0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32),
                                          0, 0, 32))
write("cdb", "mode_sense10", cdb_input(cdb(0x5A, 0, 0x3F, 0, 0, 0, 0, 0x10, 0), 0, 0, 4096))
write("cdb", "unmap", cdb_input(cdb(0x42, 0, 0, 0, 0, 0, 0, 0, 24), 1, 1, 24,
                                bytes([0, 22, 0, 16, 0, 0, 0, 0]) + bytes(8) +
                                (4).to_bytes(8, "big") + (2).to_bytes(4, "big") + bytes(4)))
write("cdb", "compare_write", cdb_input(cdb(0x89, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1), 0, 1,
                                        1024, bytes(1024)))
write("cdb", "report_luns", cdb_input(cdb(0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0), 2, 0, 256))
write("cdb", "pr_in", cdb_input(cdb(0x5E, 0, 0, 0, 0, 0, 0, 1, 0), 0, 0, 256))
write("cdb", "write_same16", cdb_input(cdb(0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16), 0, 1,
                                       512, bytes(512)))


# Streams (fuzz_stream): byte 0 = mode (bit 0/1 header/data digest after
# login, bit 2 start in full feature, bits 3-4 segment limit), bytes 1-4 =
# split seed, then whole PDUs back to back: BHS, data, padding.
def pdu(header, data=b""):
    return header + data + bytes((4 - len(data) % 4) % 4)


read10 = bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 8, 0])
write10 = bytes([0x2A, 0, 0, 0, 0, 8, 0, 0, 8, 0])
session = (
    pdu(bhs(0x43, 0x87, len(first + ops), itt=0x10), first + ops) +     # login, to full feature
    pdu(bhs(0x01, 0xC1, 0, 0x20, 1 << 48, 4096, 0, 1, read10)) +         # READ(10)
    pdu(bhs(0x01, 0xA1, 512, 0x21, 1 << 48, 4096, 1, 1, write10), b"w" * 512) +  # immediate
    pdu(bhs(0x05, 0x80, 3584, 0x21, 1 << 48, 0xFFFFFFFF, 0, 1,
            bytes(4) + (0).to_bytes(4, "big") + (512).to_bytes(4, "big")),  # DataSN, offset
        b"d" * 3584) +                                                     # Data-Out
    pdu(bhs(0x00, 0x80, 5, 0x22, 0, 0xFFFFFFFF, 2, 1), b"ping!") +        # NOP-Out, padded
    pdu(bhs(0x04, 0x80, 16, 0x23, 0, 0xFFFFFFFF, 3, 1), kv(("SendTargets", "All"))[:16]) +
    pdu(bhs(0x42, 0x85, 0, 0x24, 1 << 48, 0xFFFFFFFF, 4, 1)) +            # LUN RESET
    pdu(bhs(0x46, 0x80, 0, 0x25, 0, 0, 5, 1)))                            # Logout
write("stream", "session", bytes([0x00]) + (1).to_bytes(4, "little") + session)
write("stream", "session_digests", bytes([0x03 | 0x10]) + (7).to_bytes(4, "little") + session)
write("stream", "full_feature", bytes([0x04 | 0x18]) + (99).to_bytes(4, "little") +
      session[48 + len(first + ops) + (4 - len(first + ops) % 4) % 4:])

# The whole engine (fuzz_engine): byte 0 = mode (bit 0 a valid login first,
# bit 1 a second session, bit 2 the stream's login reinstates it, bits 4-7
# seconds per tick), bytes 1-4 = split seed, then the stream (from CmdSN 0).
os.makedirs(os.path.join(HERE, "corpus", "engine"), exist_ok=True)
after_login = session[48 + len(first + ops) + (4 - len(first + ops) % 4) % 4:]
tmfs = (
    pdu(bhs(0x01, 0xA1, 512, 0x30, 0, 4096, 0, 1, write10), b"a" * 512) +  # WRITE, half sent
    pdu(bhs(0x42, 0x81, 0, 0x31, 0, 0x30, 1, 1, bytes(0))) +              # ABORT TASK of it
    pdu(bhs(0x01, 0xC1, 0, 0x32, 0, 4096, 2, 1, read10)) +                # READ
    pdu(bhs(0x42, 0x82, 0, 0x33, 0, 0xFFFFFFFF, 3, 1)) +                  # ABORT TASK SET
    pdu(bhs(0x42, 0x85, 0, 0x34, 0, 0xFFFFFFFF, 3, 1)) +                  # LU RESET
    pdu(bhs(0x42, 0x81, 0, 0x35, 0, 0x99, 3, 1, bytes(4) + (3).to_bytes(4, "big"))) +
    pdu(bhs(0x01, 0x81, 0, 0x36, 0, 0, 4, 1)) +                           # TEST UNIT READY
    pdu(bhs(0x46, 0x80, 0, 0x37, 0, 0, 5, 1)))                            # Logout
write("engine", "session", bytes([0x11]) + (1).to_bytes(4, "little") + after_login)
write("engine", "tmfs", bytes([0x13]) + (5).to_bytes(4, "little") + tmfs)
write("engine", "reinstate", bytes([0x37]) + (9).to_bytes(4, "little") + tmfs)
write("engine", "idle", bytes([0xF1]) + (3).to_bytes(4, "little") +
      pdu(bhs(0x00, 0x80, 5, 0x22, 0, 0xFFFFFFFF, 0, 1), b"ping!") * 20)

# Command window, transfers and task management (fuzz_window): byte 0 = mode
# (bit 0: the transfer checks instead; bits 1-4 queue depth - 1; bit 7 start
# ExpCmdSN near 2^32), byte 1 the top byte of ExpCmdSN, then operations
# (opcode byte % 10 and its argument bytes, see fuzz_window.cpp).
os.makedirs(os.path.join(HERE, "corpus", "window"), exist_ok=True)
window_ops = bytes([
    0, 4, 0x02,              # command at ExpCmdSN, SIMPLE
    0, 6, 0x02,              # command at ExpCmdSN + 2: waits
    0, 7, 0x04,              # ORDERED at ExpCmdSN + 3: waits
    1, 3,                    # a NOP-Out takes ExpCmdSN + 1: both accepted
    0, 0, 0x11,              # immediate command on LUN 1
    4, 0, 1, 0, 0, 0, 3, 1,  # ABORT TASK (immediate) of a command, TAS
    2, 0, 2, 1, 2, 2,        # the SCSI layer returns commands
    4, 4, 0, 0, 0, 2, 0, 1, 1,  # LOGICAL UNIT RESET, another session draining
    6, 1,                    # another nexus resets LUN 1
    5,                       # the other session has drained
    3, 0, 3, 1, 3, 2,        # answers written
])
write("window", "commands", bytes([0x0E, 0x10]) + window_ops)
write("window", "wrap", bytes([0x86, 0xFF]) + window_ops)
write("window", "transfers", bytes([0x01, 0x00, 0x3F, 0x00, 0xFF, 0x01, 0x02, 0x0F, 0x00,
                                    0x00, 0x10, 0x40, 0x00, 0x00]) + bytes(range(2, 200, 3)))
write("window", "transfers_initial_r2t", bytes([0x01, 0x01, 0x7F, 0x00, 0x1F, 0x00, 0x00,
                                                0x3F, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00]) +
      bytes(range(5, 250, 7)))
