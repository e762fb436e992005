#include "lf/outbox.hpp"

#include <utility>

namespace lf {

std::shared_ptr<Outbox> Outbox::open(SessionHost& host, OutboxLimits limits,
                                     std::shared_ptr<OutboxMeter> meter) {
  host.prepare_wake();
  return std::make_shared<Outbox>(host, limits, std::move(meter));
}

Outbox::Outbox(SessionHost& host, OutboxLimits limits, std::shared_ptr<OutboxMeter> meter)
    : meter_(std::move(meter)), host_(&host), limits_(limits) {}

Outbox::Posted Outbox::post(const Frame& frame) {
  OutboxLimits limits;
  {
    MutexLock lock(mu_);
    limits = limits_;
  }
  return post(frame, limits);
}

Outbox::Posted Outbox::post(const Frame& frame, const OutboxLimits& limits) {
  MutexLock lock(mu_);
  limits_ = limits;
  if (host_ == nullptr) return Posted::kClosed;
  const std::size_t size = frame->size();
  if (limits.hard_bytes != 0 && bytes_ + size > limits.hard_bytes) {
    overflow();
    return Posted::kOverflowed;
  }
  if (limits.soft_bytes != 0 && bytes_ + size > limits.soft_bytes) {
    const TimePoint now = Clock::now();
    if (soft_since_ == TimePoint{}) {
      soft_since_ = now;
    } else if (now - soft_since_ >= limits.soft_for) {
      overflow();
      return Posted::kOverflowed;
    }
  }
  frames_.push_back(frame);
  bytes_ += size;
  if (meter_) meter_->add(static_cast<std::int64_t>(size));
  // One wake per batch: the serving thread drains everything queued when it comes. The wake is
  // sent under the lock so close() (the session ending) cannot slip in between.
  if (!woken_) {
    woken_ = true;
    host_->wake();
  }
  return Posted::kQueued;
}

void Outbox::let_go() {
  std::deque<Frame>().swap(frames_);
  if (meter_ && bytes_ != 0) meter_->add(-static_cast<std::int64_t>(bytes_));
  bytes_ = 0;
}

void Outbox::overflow() {
  overflowed_ = true;
  let_go();  // the memory goes now, not when the connection closes
  SessionHost* host = host_;
  host_ = nullptr;
  host->request_close();
}

std::size_t Outbox::drain(std::string& out) {
  std::deque<Frame> frames;
  {
    MutexLock lock(mu_);
    woken_ = false;
    frames.swap(frames_);
    if (meter_ && bytes_ != 0) meter_->add(-static_cast<std::int64_t>(bytes_));
    bytes_ = 0;
    soft_since_ = TimePoint{};
  }
  for (const Frame& f : frames) out.append(*f);
  return frames.size();
}

void Outbox::close() {
  MutexLock lock(mu_);
  host_ = nullptr;
  let_go();
}

void Outbox::set_limits(OutboxLimits limits) {
  MutexLock lock(mu_);
  limits_ = limits;
}

std::size_t Outbox::queued_bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

std::size_t Outbox::queued_frames() const {
  MutexLock lock(mu_);
  return frames_.size();
}

bool Outbox::closed() const {
  MutexLock lock(mu_);
  return host_ == nullptr;
}

bool Outbox::overflowed() const {
  MutexLock lock(mu_);
  return overflowed_;
}

}  // namespace lf
