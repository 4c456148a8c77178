#include "iscsi/pdu_reader.h"

#include <algorithm>
#include <cstring>

#include "util/crc32c.h"

namespace sharedisk::iscsi {

const char* PduReader::describe(Error error) {
  switch (error) {
    case Error::kNone:
      return "no error";
    case Error::kNotLogin:
      return "a PDU other than Login before login completed";
    case Error::kSegmentTooLong:
      return "data segment longer than MaxRecvDataSegmentLength";
    case Error::kHeaderDigest:
      return "header digest error";
  }
  return "unknown";
}

void PduReader::reset() {
  state_ = State::kBhs;
  have_ = 0;
  data_start_ = dest_ = nullptr;
  data_need_ = data_length_ = pad_length_ = 0;
  data_digest_ok_ = true;
  error_ = Error::kNone;
}

void PduReader::set_destination(uint8_t* dest) {
  data_start_ = dest_ = dest;
}

std::span<uint8_t> PduReader::payload_window() const {
  if (state_ != State::kData || dest_ == nullptr || data_need_ == 0) return {};
  return {dest_, data_need_};
}

void PduReader::payload_received(size_t n) {
  n = std::min<size_t>(n, data_need_);
  dest_ += n;
  data_need_ -= uint32_t(n);
}

// The BHS and AHS (and header digest) are in: checks the length and sets up
// the data segment. False with error_ set when the stream must end.
bool PduReader::header_done(Step* step) {
  uint32_t dsl = bhs_.data_length();
  // Before the length is trusted for anything: a longer segment than we
  // declared is never buffered or skipped (RFC 7143 §13.12 during login).
  if (dsl > settings_.max_data_segment) {
    error_ = Error::kSegmentTooLong;
    state_ = State::kFailed;
    step->event = Event::kError;
    return false;
  }
  data_length_ = data_need_ = dsl;
  pad_length_ = pad4(dsl);
  data_start_ = dest_ = nullptr;
  data_digest_ok_ = true;
  have_ = 0;
  state_ = State::kData;
  step->event = Event::kHeader;
  return true;
}

PduReader::Step PduReader::feed(std::span<const uint8_t> bytes) {
  Step step;
  size_t pos = 0;
  auto take = [&](uint8_t* into, uint32_t want) {
    size_t n = std::min<size_t>(bytes.size() - pos, want - have_);
    if (n != 0) std::memcpy(into + have_, bytes.data() + pos, n);
    pos += n;
    have_ += uint32_t(n);
    return have_ == want;
  };
  for (;;) {
    switch (state_) {
      case State::kFailed:
        step.event = Event::kError;
        step.consumed = pos;
        return step;
      case State::kBhs:
        if (!take(bhs_.b.data(), kBhsSize)) break;
        have_ = 0;
        // Before login only Login Requests make sense: stop at once instead
        // of waiting for an AHS or data this one may announce.
        if (settings_.login_phase && bhs_.opcode() != op::kLoginRequest) {
          error_ = Error::kNotLogin;
          state_ = State::kFailed;
          continue;
        }
        state_ = State::kAhs;
        continue;
      case State::kAhs:
        if (!take(ahs_, bhs_.ahs_length())) break;
        have_ = 0;
        if (settings_.header_digest) {
          state_ = State::kHeaderDigest;
          continue;
        }
        header_done(&step);
        step.consumed = pos;
        return step;
      case State::kHeaderDigest: {
        if (!take(digest_, 4)) break;
        uint32_t crc = util::crc32c(bhs_.b.data(), kBhsSize);
        crc = util::crc32c(ahs_, bhs_.ahs_length(), crc);
        if (crc != load_digest(digest_)) {
          // ERL 0: nothing in the header can be trusted, not even its length.
          error_ = Error::kHeaderDigest;
          state_ = State::kFailed;
          continue;
        }
        header_done(&step);
        step.consumed = pos;
        return step;
      }
      case State::kData: {
        if (data_need_ != 0) {
          size_t n = std::min<size_t>(bytes.size() - pos, data_need_);
          if (n == 0) break;
          if (dest_ != nullptr) {
            std::memcpy(dest_, bytes.data() + pos, n);
            dest_ += n;
          }
          pos += n;
          data_need_ -= uint32_t(n);
          if (data_need_ != 0) break;
        }
        have_ = 0;
        state_ = State::kPad;
        continue;
      }
      case State::kPad:
        if (!take(pad_, pad_length_)) break;
        have_ = 0;
        if (settings_.data_digest && data_length_ > 0) {
          state_ = State::kDataDigest;
          continue;
        }
        state_ = State::kBhs;
        step.event = Event::kPdu;
        step.consumed = pos;
        return step;
      case State::kDataDigest:
        if (!take(digest_, 4)) break;
        have_ = 0;
        if (data_start_ != nullptr) {
          uint32_t crc = util::crc32c(data_start_, data_length_);
          crc = util::crc32c(pad_, pad_length_, crc);
          data_digest_ok_ = crc == load_digest(digest_);
        }
        state_ = State::kBhs;
        step.event = Event::kPdu;
        step.consumed = pos;
        return step;
    }
    // Out of bytes in the middle of a part.
    step.consumed = pos;
    return step;
  }
}

}  // namespace sharedisk::iscsi
