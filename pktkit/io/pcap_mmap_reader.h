// pktkit/io/pcap_mmap_reader.h — pcap and pcapng files read without copying: the file is mapped
// and every PacketView points straight into the mapping (a PacketSource).
//
//   auto r = pktkit::PcapMmapReader::Open("trace.pcapng");
//   if (!r.ok()) return r.status();               // names the file and what is wrong
//   while (true) {
//     absl::StatusOr<pktkit::PacketBatch> b = (*r)->NextBatch(0);
//     if (absl::IsOutOfRange(b.status())) break;  // end of the file
//     if (!b.ok()) return b.status();             // DataLoss: damaged after N packets
//     for (const pktkit::PacketView& p : *b) Handle(p);
//     (*r)->ReleaseBatch();
//   }
//
// CaptureFileParser is the format parser alone (no I/O), over any byte buffer; the reader maps a
// regular file (MAP_PRIVATE, read only, MADV_SEQUENTIAL) and feeds it to the parser. Page tables
// are filled ahead of the reader in 8 MiB windows (MADV_POPULATE_READ, Linux >= 5.14): one
// syscall per window instead of a page fault per 64 KiB, which is what made a plain mapping
// slower than libpcap's read(2) for large packets (docs/bench/pcap-read.md). Pipes and
// stdin cannot be mapped: use PcapReader (pktkit/io/pcap.h, libpcap) for them. Views stay valid
// as long as the reader (or, for the parser, the buffer) lives — longer than PacketSource asks.
//
// What it reads, as libpcap does: pcap with either byte order, microsecond (0xa1b2c3d4) or
// nanosecond (0xa1b23c4d) timestamps, version 2.x; pcapng sections of either byte order with
// Interface Description (link type, snap length, if_tsresol, if_tsoffset), Enhanced, Simple and
// obsolete Packet blocks; other blocks are skipped. pcap records longer than the snap length are
// cut to it (wire length kept). Damage ends the file with DataLoss after the packets before it,
// with the count in the message: a pcap record over 256 KiB, a pcapng block over 16 MiB or
// holding more than its interface's snap length, a length that runs past the file, a packet
// naming an unknown interface. Two things libpcap
// refuses are read: pcapng interfaces with different link types (each view carries its own)
// and sections of different byte orders.
// References: pcap-savefile(5), draft-ietf-opsawg-pcapng (§4.1–4.6),
// draft-ietf-opsawg-pcaplinktype.
#ifndef PKTKIT_IO_PCAP_MMAP_READER_H_
#define PKTKIT_IO_PCAP_MMAP_READER_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "pktkit/io/packet.h"
#include "pktkit/io/source.h"
#include "pktkit/wire/bytes.h"
#include "pktkit/wire/link_type.h"

namespace pktkit {

inline constexpr uint32_t kPcapMaxRecordBytes = 262144;     // libpcap's MAXIMUM_SNAPLEN
inline constexpr uint32_t kPcapNgMaxBlockBytes = 16 << 20;  // libpcap's MAX_BLOCKSIZE

class CaptureFileParser {
 public:
  enum class Result : uint8_t { kPacket, kEnd, kError };

  // Reads the file header of `file` (pcap or the first pcapng section header). Does not copy:
  // `file` must outlive the parser. InvalidArgument when it is neither format or is damaged.
  absl::Status Init(ByteSpan file) {
    *this = CaptureFileParser();
    file_ = file;
    ByteReader r(file);
    uint32_t magic = 0;
    if (!r.PeekU32(&magic)) return absl::InvalidArgumentError("shorter than a capture file header");
    if (magic == 0x0a0d0d0a) {
      ng_ = true;
      // Like libpcap, the file opens only once its first interface is known (its link type).
      const Result r0 = NextNg(nullptr);
      if (r0 == Result::kPacket) return absl::OkStatus();
      return absl::InvalidArgumentError(
          error_.empty() ? "no interface description block in the first section" : error_);
    }
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
      little_ = false;
    } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
      little_ = true;
    } else {
      return absl::InvalidArgumentError("not a pcap or pcapng file (unknown magic number)");
    }
    nano_ = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
    uint16_t major = 0, minor = 0;
    uint32_t snaplen = 0, linktype = 0;
    if (!r.Skip(4) || !r.ReadU16(&major) || !r.ReadU16(&minor) || !r.Skip(8) ||
        !r.ReadU32(&snaplen) || !r.ReadU32(&linktype)) {
      return absl::InvalidArgumentError("truncated pcap file header");
    }
    if (Fix16(major) != 2) return absl::InvalidArgumentError("unsupported pcap major version");
    Interface i;
    i.link_type = static_cast<LinkType>(Fix32(linktype) & 0xffff);  // upper bits: FCS info
    i.snaplen = EffectiveSnaplen(Fix32(snaplen));
    interfaces_.push_back(i);
    pos_ = r.position();
    return absl::OkStatus();
  }

  // The next packet into `v` (data points into the buffer), kEnd at a clean end, kError for
  // damage (error() says what; later calls return kError again).
  Result Next(PacketView* v) {
    if (!error_.empty()) return Result::kError;
    return ng_ ? NextNg(v) : NextPcap(v);
  }

  bool pcapng() const { return ng_; }
  // The first interface's link type (the pcap file's link type).
  LinkType link_type() const {
    return interfaces_.empty() ? LinkType::kEthernet : interfaces_[0].link_type;
  }
  uint32_t snaplen() const { return interfaces_.empty() ? 0 : interfaces_[0].snaplen; }
  const std::string& error() const { return error_; }
  size_t offset() const { return pos_; }  // of the next record, for error messages

 private:
  struct Interface {
    LinkType link_type = LinkType::kEthernet;
    uint32_t snaplen = kPcapMaxRecordBytes;
    bool resol_pow2 = false;  // if_tsresol: units are 2^-exp (else 10^-exp) seconds
    uint8_t resol_exp = 6;
    int64_t offset_s = 0;  // if_tsoffset
  };

  static uint32_t EffectiveSnaplen(uint32_t s) {
    return s == 0 || s > kPcapMaxRecordBytes ? kPcapMaxRecordBytes : s;
  }
  uint16_t Fix16(uint16_t be) const { return little_ ? __builtin_bswap16(be) : be; }
  uint32_t Fix32(uint32_t be) const { return little_ ? __builtin_bswap32(be) : be; }
  Result Fail(std::string why) {
    error_ = std::move(why);
    return Result::kError;
  }

  Result NextPcap(PacketView* v) {
    ByteReader r(file_);
    r.Seek(pos_);
    if (r.remaining() == 0) return Result::kEnd;
    uint32_t sec = 0, frac = 0, caplen = 0, len = 0;
    if (!r.ReadU32(&sec) || !r.ReadU32(&frac) || !r.ReadU32(&caplen) || !r.ReadU32(&len)) {
      return Fail(absl::StrCat("truncated record header at offset ", pos_));
    }
    caplen = Fix32(caplen);
    len = Fix32(len);
    if (caplen > kPcapMaxRecordBytes) {
      return Fail(absl::StrCat("record at offset ", pos_, " claims ", caplen, " bytes (over ",
                               kPcapMaxRecordBytes, ")"));
    }
    ByteSpan data;
    if (!r.ReadSpan(caplen, &data)) {
      return Fail(absl::StrCat("truncated record at offset ", pos_, ": ", caplen,
                               " bytes claimed, ", file_.size - pos_ - 16, " left"));
    }
    pos_ = r.position();
    const Interface& i = interfaces_[0];
    Fill(v, data, len, i);
    v->timestamp_ns = static_cast<int64_t>(Fix32(sec)) * 1000000000 +
                      static_cast<int64_t>(Fix32(frac)) * (nano_ ? 1 : 1000);
    return Result::kPacket;
  }

  static void Fill(PacketView* v, ByteSpan data, uint32_t len, const Interface& i) {
    *v = PacketView();
    v->data = data.data;
    v->caplen = static_cast<uint32_t>(data.size < i.snaplen ? data.size : i.snaplen);
    v->wire_len = len < v->caplen ? v->caplen : len;
    v->ts_source = TimestampSource::kFile;
    v->link_type = i.link_type;
  }

  static int64_t UnitsToNs(uint64_t t, const Interface& i) {
    __int128 ns;
    if (i.resol_pow2) {
      ns = (static_cast<__int128>(t) * 1000000000) >> i.resol_exp;
    } else if (i.resol_exp <= 9) {
      int64_t mul = 1;
      for (int k = i.resol_exp; k < 9; ++k) mul *= 10;
      ns = static_cast<__int128>(t) * mul;
    } else {
      __int128 div = 1;
      for (int k = 9; k < i.resol_exp && k < 40; ++k) div *= 10;
      ns = static_cast<__int128>(t) / div;
    }
    return static_cast<int64_t>(ns + static_cast<__int128>(i.offset_s) * 1000000000);
  }

  // Walks blocks until a packet (v != nullptr) or, for Init (v == nullptr), until the first
  // interface description has been read (a packet block before it is an error).
  Result NextNg(PacketView* v) {
    while (true) {
      ByteReader r(file_);
      r.Seek(pos_);
      if (r.remaining() == 0) return Result::kEnd;
      uint32_t type = 0, total = 0;
      if (!r.ReadU32(&type) || !r.PeekU32(&total) || r.remaining() < 8) {
        return Fail(absl::StrCat("truncated block header at offset ", pos_));
      }
      if (type == 0x0a0d0d0a) {  // Section Header: its byte-order magic sets the endianness
        uint32_t bom = 0;
        if (!r.Skip(4) || !r.ReadU32(&bom)) return Fail("truncated section header");
        if (bom == 0x1a2b3c4d) {
          little_ = false;
        } else if (bom == 0x4d3c2b1a) {
          little_ = true;
        } else {
          return Fail(absl::StrCat("bad byte-order magic in section header at offset ", pos_));
        }
        r.Seek(pos_ + 4);
      } else if (!section_seen_) {
        return Fail("pcapng file does not start with a section header");
      }
      type = Fix32(type);
      total = Fix32(total);
      if (total < 12 || total % 4 != 0 || total > kPcapNgMaxBlockBytes) {
        return Fail(absl::StrCat("bad block length ", total, " at offset ", pos_));
      }
      ByteReader block(file_);
      ByteSpan body;
      uint32_t trailer = 0;
      if (!block.Seek(pos_ + 8) || !block.ReadSpan(total - 12, &body) || !block.ReadU32(&trailer)) {
        return Fail(absl::StrCat("truncated block at offset ", pos_, ": ", total,
                                 " bytes claimed, ", file_.size - pos_, " left"));
      }
      if (Fix32(trailer) != total) {
        return Fail(absl::StrCat("block at offset ", pos_, ": trailing length differs"));
      }
      const size_t block_start = pos_;
      pos_ += total;
      if (v == nullptr && (type == 2 || type == 3 || type == 6)) {
        return Fail(absl::StrCat("packet block before any interface at offset ", block_start));
      }
      ByteReader b(body);
      switch (type) {
        case 0x0a0d0d0a: {  // SHB
          uint16_t major = 0;
          if (!b.Skip(4) || !b.ReadU16(&major) || Fix16(major) != 1) {
            return Fail(absl::StrCat("unsupported pcapng version at offset ", block_start));
          }
          interfaces_.clear();  // interface ids are per section
          section_seen_ = true;
          break;
        }
        case 1: {  // IDB
          Interface i;
          uint16_t lt = 0;
          uint32_t snap = 0;
          if (!b.ReadU16(&lt) || !b.Skip(2) || !b.ReadU32(&snap)) {
            return Fail(absl::StrCat("short interface block at offset ", block_start));
          }
          i.link_type = static_cast<LinkType>(Fix16(lt));
          i.snaplen = EffectiveSnaplen(Fix32(snap));
          if (!ReadIdbOptions(&b, &i)) {
            return Fail(absl::StrCat("bad interface options at offset ", block_start));
          }
          interfaces_.push_back(i);
          if (v == nullptr) return Result::kPacket;  // Init: the first interface is known
          break;
        }
        case 2:    // obsolete Packet Block: 16-bit interface id, 16-bit drops
        case 6: {  // EPB
          uint32_t ifid = 0, hi = 0, lo = 0, caplen = 0, len = 0;
          uint16_t ifid16 = 0;
          const bool ok = type == 6 ? b.ReadU32(&ifid) : (b.ReadU16(&ifid16) && b.Skip(2));
          if (!ok || !b.ReadU32(&hi) || !b.ReadU32(&lo) || !b.ReadU32(&caplen) ||
              !b.ReadU32(&len)) {
            return Fail(absl::StrCat("short packet block at offset ", block_start));
          }
          ifid = type == 6 ? Fix32(ifid) : Fix16(ifid16);
          caplen = Fix32(caplen);
          ByteSpan data;
          if (!b.ReadSpan(caplen, &data)) {
            return Fail(absl::StrCat("packet block at offset ", block_start, " claims ", caplen,
                                     " bytes, more than it holds"));
          }
          if (ifid >= interfaces_.size()) {
            return Fail(absl::StrCat("packet block at offset ", block_start,
                                     " names unknown interface ", ifid));
          }
          const Interface& i = interfaces_[ifid];
          if (caplen > i.snaplen) {  // libpcap refuses these too (pcap files get cut instead)
            return Fail(absl::StrCat("packet block at offset ", block_start, " holds ", caplen,
                                     " bytes, more than the interface's snap length ", i.snaplen));
          }
          Fill(v, data, Fix32(len), i);
          v->timestamp_ns = UnitsToNs((uint64_t{Fix32(hi)} << 32) | Fix32(lo), i);
          return Result::kPacket;
        }
        case 3: {  // SPB: interface 0, no timestamp
          uint32_t len = 0;
          if (!b.ReadU32(&len))
            return Fail(absl::StrCat("short simple packet block at ", block_start));
          if (interfaces_.empty()) {
            return Fail(
                absl::StrCat("simple packet block before any interface at offset ", block_start));
          }
          len = Fix32(len);
          const Interface& i = interfaces_[0];
          // The block must hold min(original length, snap length) bytes (pcapng §4.4).
          const uint32_t cap = len < i.snaplen ? len : i.snaplen;
          ByteSpan data;
          if (!b.ReadSpan(cap, &data)) {
            return Fail(absl::StrCat("simple packet block at offset ", block_start,
                                     " is shorter than its packet"));
          }
          Fill(v, data, len, i);
          return Result::kPacket;
        }
        default:
          break;  // statistics, name resolution, custom, ...: not packets
      }
    }
  }

  bool ReadIdbOptions(ByteReader* b, Interface* i) const {
    while (b->remaining() >= 4) {
      uint16_t code = 0, len = 0;
      b->ReadU16(&code);
      b->ReadU16(&len);
      code = Fix16(code);
      len = Fix16(len);
      if (code == 0) return true;  // opt_endofopt
      ByteSpan val;
      if (!b->ReadSpan(len, &val) || !b->Skip((4 - len % 4) % 4)) return false;
      if (code == 9 && len >= 1) {  // if_tsresol
        i->resol_pow2 = (val.data[0] & 0x80) != 0;
        i->resol_exp = val.data[0] & 0x7f;
        if (i->resol_pow2 ? i->resol_exp > 63 : i->resol_exp > 30) return false;
      } else if (code == 14 && len == 8) {  // if_tsoffset, seconds
        uint64_t off = 0;
        for (int k = 0; k < 8; ++k) {
          off |= uint64_t{val.data[little_ ? k : 7 - k]} << (8 * k);
        }
        i->offset_s = static_cast<int64_t>(off);
      }
    }
    return true;
  }

  ByteSpan file_;
  size_t pos_ = 0;
  bool ng_ = false;
  bool little_ = false;
  bool nano_ = false;
  bool section_seen_ = false;
  std::vector<Interface> interfaces_;
  std::string error_;
};

class PcapMmapReader : public PacketSource {
 public:
  static constexpr size_t kMaxBatch = 64;

  // Maps `path` (a regular file). Errors: the errno status of open/fstat/mmap naming the file;
  // FailedPrecondition for a pipe or other unmappable file; InvalidArgument from the parser.
  static absl::StatusOr<std::unique_ptr<PcapMmapReader>> Open(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open capture ", path));
    struct stat st;
    if (fstat(fd, &st) != 0) {
      const int e = errno;
      close(fd);
      return absl::ErrnoToStatus(e, absl::StrCat("fstat ", path));
    }
    if (!S_ISREG(st.st_mode)) {
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("capture ", path, " is not a regular file (cannot be mapped)"));
    }
    std::unique_ptr<PcapMmapReader> r(new PcapMmapReader(path));
    r->size_ = static_cast<size_t>(st.st_size);
    if (r->size_ > 0) {
      void* m = mmap(nullptr, r->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        const int e = errno;
        close(fd);
        return absl::ErrnoToStatus(e, absl::StrCat("mmap capture ", path));
      }
      r->map_ = static_cast<uint8_t*>(m);
      // Read ahead aggressively: the walk is strictly sequential.
      madvise(m, r->size_, MADV_SEQUENTIAL);
      madvise(m, r->size_, MADV_WILLNEED);
    }
    close(fd);  // the mapping keeps the file
    absl::Status s = r->parser_.Init(ByteSpan(r->map_, r->size_));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read capture ", path, ": ", s.message()));
    }
    return r;
  }

  ~PcapMmapReader() override {
    if (map_ != nullptr) munmap(map_, size_);
  }
  PcapMmapReader(const PcapMmapReader&) = delete;
  PcapMmapReader& operator=(const PcapMmapReader&) = delete;

  LinkType link_type() const { return parser_.link_type(); }
  uint32_t snaplen() const { return parser_.snaplen(); }
  bool pcapng() const { return parser_.pcapng(); }
  uint64_t packets_read() const { return packets_read_; }
  const std::string& path() const { return path_; }

  // Up to kMaxBatch views into the mapping (timeout_ms is ignored: files never wait).
  // OutOfRange at the end; DataLoss for a damaged file, after the packets before the damage.
  absl::StatusOr<PacketBatch> NextBatch(int /*timeout_ms*/) override {
    if (!pending_.ok()) return pending_;
    Prefault();
    size_t n = 0;
    while (n < kMaxBatch) {
      PrefetchAhead();
      const CaptureFileParser::Result res = parser_.Next(&views_[n]);
      if (res == CaptureFileParser::Result::kPacket) {
        ++n;
        continue;
      }
      pending_ =
          res == CaptureFileParser::Result::kEnd
              ? absl::OutOfRangeError(absl::StrCat("end of ", path_))
              : absl::DataLossError(absl::StrCat("capture ", path_, " is damaged after ",
                                                 packets_read_ + n, " packets: ", parser_.error()));
      break;
    }
    packets_read_ += n;
    if (n == 0) return pending_;
    return PacketBatch{views_, n};
  }

  // Nothing to hand back: views point into the mapping, valid while the reader lives.
  void ReleaseBatch() override {}

  // Starts again at the first packet on the same mapping (a replay loop), so pages already
  // touched stay mapped: reopening would map the file afresh, and a new mapping pays its first
  // touch per page again (on a paravirtualised guest about 10x a later pass, docs/bench/e2e.md).
  // Views handed out before stay valid. The file is not reread: later changes to it are not
  // seen. Errors: the parser's, as from Open (not expected: the file opened before).
  absl::Status Rewind() {
    absl::Status s = parser_.Init(ByteSpan(map_, size_));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read capture ", path_, ": ", s.message()));
    }
    pending_ = absl::OkStatus();
    packets_read_ = 0;
    prefetched_ = 0;
    return absl::OkStatus();
  }

 private:
  explicit PcapMmapReader(std::string path) : path_(std::move(path)) {}

  static constexpr size_t kWindow = 8 << 20;
  // Keeps the page tables filled at least one window ahead of the parser. Where the kernel lacks
  // MADV_POPULATE_READ (EINVAL), page faults do the same work, slower.
  void Prefault() {
    if (!populate_ || map_ == nullptr) return;
    const size_t want = parser_.offset() + kWindow;
    while (populated_ < size_ && populated_ < want) {
      const size_t n = size_ - populated_ < kWindow ? size_ - populated_ : kWindow;
      if (madvise(map_ + populated_, n, MADV_POPULATE_READ) != 0) {
        populate_ = false;
        return;
      }
      populated_ += n;
    }
  }

  // Records form a chain (each header gives the next one's offset), so the walk waits a full
  // memory latency per record unless the bytes ahead are already on their way: with 1400-byte
  // records the hardware prefetcher, which stops at page boundaries, left the header load of
  // every record a cache miss (about 15 % of pktkit-fwd's time, docs/bench/e2e.md). This keeps
  // software prefetches running kPrefetchAhead bytes in front of the parser; the lines it
  // brings in are also the ones the sender copies next.
  static constexpr size_t kPrefetchAhead = 8 << 10;
  static constexpr size_t kLine = 64;
  void PrefetchAhead() {
    size_t end = parser_.offset() + kPrefetchAhead;
    if (end > size_) end = size_;
    for (; prefetched_ < end; prefetched_ += kLine) __builtin_prefetch(map_ + prefetched_, 0, 3);
  }

  std::string path_;
  size_t prefetched_ = 0;  // prefetches issued for [0, prefetched_)
  uint8_t* map_ = nullptr;
  size_t size_ = 0;
  size_t populated_ = 0;  // page tables filled for [0, populated_); a multiple of the page size
  bool populate_ = true;
  CaptureFileParser parser_;
  PacketView views_[kMaxBatch];
  uint64_t packets_read_ = 0;
  absl::Status pending_;
};

}  // namespace pktkit

#endif  // PKTKIT_IO_PCAP_MMAP_READER_H_
