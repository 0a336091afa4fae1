// pktkit/wire/bytes.h — bounds-checked byte reader and writer, big-endian loads and stores.
//
// Every parser in pktkit reads packet bytes only through ByteReader, and every serializer
// writes only through ByteWriter. Both check `n <= size - pos` (which cannot overflow) and
// poison themselves on the first failure: after one failed call every later call fails too,
// so a parser that forgets to check one result still cannot read or write past the end.
// Loads and stores go through memcpy plus a byte swap, never a pointer cast, so unaligned
// packet bytes are fine.
//
//   pktkit::ByteReader r(frame, frame_len);
//   uint16_t ethertype = 0;
//   r.Skip(12);
//   if (!r.ReadU16(&ethertype)) return Error::kTruncated;
//
// Nothing here allocates, throws or makes a syscall. ByteSpan and readers do not copy: they
// point into the caller's buffer and are valid while it is.
#ifndef PKTKIT_WIRE_BYTES_H_
#define PKTKIT_WIRE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace pktkit {

// A read-only view of bytes owned by someone else.
struct ByteSpan {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr ByteSpan() = default;
  constexpr ByteSpan(const uint8_t* d, size_t n) : data(d), size(n) {}
  constexpr bool empty() const { return size == 0; }
  constexpr const uint8_t* begin() const { return data; }
  constexpr const uint8_t* end() const { return data + size; }
};

namespace internal {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
inline uint16_t ToBe16(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t ToBe32(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t ToBe64(uint64_t v) { return __builtin_bswap64(v); }
#else
inline uint16_t ToBe16(uint16_t v) { return v; }
inline uint32_t ToBe32(uint32_t v) { return v; }
inline uint64_t ToBe64(uint64_t v) { return v; }
#endif
}  // namespace internal

// Unaligned big-endian loads and stores. The caller guarantees the bytes exist; parsers use
// ByteReader instead, which checks.
inline uint16_t LoadBe16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return internal::ToBe16(v);
}
inline uint32_t LoadBe24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[2]};
}
inline uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return internal::ToBe32(v);
}
inline uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return internal::ToBe64(v);
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  v = internal::ToBe16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void StoreBe24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  v = internal::ToBe32(v);
  std::memcpy(p, &v, sizeof v);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  v = internal::ToBe64(v);
  std::memcpy(p, &v, sizeof v);
}

// Reads a buffer front to back. Read* advance, Peek* do not; all return false (and poison the
// reader) when fewer bytes remain than asked for.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  explicit ByteReader(ByteSpan span) : data_(span.data), size_(span.size) {}

  bool ok() const { return ok_; }
  size_t size() const { return size_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  // The unread bytes (empty once poisoned).
  ByteSpan Rest() const { return ok_ ? ByteSpan(data_ + pos_, size_ - pos_) : ByteSpan(); }
  // The whole buffer this reader walks.
  ByteSpan Whole() const { return ByteSpan(data_, size_); }

  bool CanRead(size_t n) const { return ok_ && n <= size_ - pos_; }

  bool Skip(size_t n) {
    if (!Check(n)) return false;
    pos_ += n;
    return true;
  }
  // Moves to absolute offset `pos` (<= size()).
  bool Seek(size_t pos) {
    if (!ok_ || pos > size_) return Fail();
    pos_ = pos;
    return true;
  }

  bool ReadU8(uint8_t* out) { return ReadScalar(out, 1, [](const uint8_t* p) { return *p; }); }
  bool ReadU16(uint16_t* out) { return ReadScalar(out, 2, LoadBe16); }
  bool ReadU24(uint32_t* out) { return ReadScalar(out, 3, LoadBe24); }
  bool ReadU32(uint32_t* out) { return ReadScalar(out, 4, LoadBe32); }
  bool ReadU64(uint64_t* out) { return ReadScalar(out, 8, LoadBe64); }

  bool PeekU8(uint8_t* out) const { return PeekScalar(out, 1, [](const uint8_t* p) { return *p; }); }
  bool PeekU16(uint16_t* out) const { return PeekScalar(out, 2, LoadBe16); }
  bool PeekU32(uint32_t* out) const { return PeekScalar(out, 4, LoadBe32); }

  // Hands out a view of the next `n` bytes (no copy) and advances past them.
  bool ReadSpan(size_t n, ByteSpan* out) {
    if (!Check(n)) return false;
    *out = ByteSpan(data_ + pos_, n);
    pos_ += n;
    return true;
  }
  // Copies the next `n` bytes into `dst`.
  bool ReadBytes(void* dst, size_t n) {
    if (!Check(n)) return false;
    if (n != 0) std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
    return true;
  }
  // A reader over the next `n` bytes; this reader advances past them.
  bool ReadSubReader(size_t n, ByteReader* out) {
    ByteSpan span;
    if (!ReadSpan(n, &span)) return false;
    *out = ByteReader(span);
    return true;
  }

  // Marks the reader failed; every later call fails.
  bool Fail() {
    ok_ = false;
    return false;
  }

 private:
  bool Check(size_t n) {
    if (!ok_ || n > size_ - pos_) return Fail();
    return true;
  }
  template <typename T, typename Load>
  bool ReadScalar(T* out, size_t n, Load load) {
    if (!Check(n)) return false;
    *out = static_cast<T>(load(data_ + pos_));
    pos_ += n;
    return true;
  }
  template <typename T, typename Load>
  bool PeekScalar(T* out, size_t n, Load load) const {
    if (!ok_ || n > size_ - pos_) return false;
    *out = static_cast<T>(load(data_ + pos_));
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Writes a caller-owned buffer front to back; every call fails (and poisons the writer) when
// the capacity would be exceeded. Callers size first, then write (STYLE.md habit 9).
class ByteWriter {
 public:
  ByteWriter(uint8_t* buf, size_t capacity) : buf_(buf), cap_(capacity) {}

  bool ok() const { return ok_; }
  size_t capacity() const { return cap_; }
  // Bytes written so far.
  size_t size() const { return pos_; }
  size_t remaining() const { return cap_ - pos_; }
  uint8_t* data() const { return buf_; }

  bool WriteU8(uint8_t v) { return WriteWith(1, [v](uint8_t* p) { *p = v; }); }
  bool WriteU16(uint16_t v) { return WriteWith(2, [v](uint8_t* p) { StoreBe16(p, v); }); }
  bool WriteU24(uint32_t v) { return WriteWith(3, [v](uint8_t* p) { StoreBe24(p, v); }); }
  bool WriteU32(uint32_t v) { return WriteWith(4, [v](uint8_t* p) { StoreBe32(p, v); }); }
  bool WriteU64(uint64_t v) { return WriteWith(8, [v](uint8_t* p) { StoreBe64(p, v); }); }
  bool WriteBytes(const void* src, size_t n) {
    return WriteWith(n, [src, n](uint8_t* p) {
      if (n != 0) std::memmove(p, src, n);
    });
  }
  bool WriteSpan(ByteSpan s) { return WriteBytes(s.data, s.size); }
  bool WriteZeros(size_t n) {
    return WriteWith(n, [n](uint8_t* p) {
      if (n != 0) std::memset(p, 0, n);
    });
  }
  // Reserves `n` bytes to be filled later (for example a checksum or a length) and hands
  // out where they are.
  bool Reserve(size_t n, uint8_t** out) {
    if (!Check(n)) return false;
    *out = buf_ + pos_;
    pos_ += n;
    return true;
  }

  bool Fail() {
    ok_ = false;
    return false;
  }

 private:
  bool Check(size_t n) {
    if (!ok_ || n > cap_ - pos_) return Fail();
    return true;
  }
  template <typename F>
  bool WriteWith(size_t n, F f) {
    if (!Check(n)) return false;
    f(buf_ + pos_);
    pos_ += n;
    return true;
  }

  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace pktkit

#endif  // PKTKIT_WIRE_BYTES_H_
