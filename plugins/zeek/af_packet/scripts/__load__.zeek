##! PktKit::AF_Packet: the `pktkit_af_packet::` packet source. Loaded whenever the plugin is
##! active. Every option is a &redef constant read when the source opens.
##!
##! The first ten are Zeek::AF_Packet's options under the same names, with the same defaults and
##! meaning, so `redef AF_Packet::fanout_id = 42;` becomes
##! `redef PktKit::AF_Packet::fanout_id = 42;`. The rest are pktkit's additions.

module PktKit::AF_Packet;

export {
	## Size of the ring buffer (bytes, all blocks together).
	const buffer_size: count = 128 * 1024 * 1024 &redef;
	## Size of an individual block; a multiple of the page size. See auto_block_size.
	const block_size: count = 4096 * 8 &redef;
	## Retire timeout for a partly filled block.
	const block_timeout: interval = 10msec &redef;
	## Hardware timestamps (SIOCSHWTSTAMP + PACKET_TIMESTAMP). See hw_timestamp_fallback.
	const enable_hw_timestamping: bool = F &redef;
	## Join a PACKET_FANOUT group (fanout_mode, fanout_id), so N workers share one interface.
	const enable_fanout: bool = T &redef;
	## PACKET_FANOUT_FLAG_DEFRAG: reassemble IP fragments before the fanout hash.
	const enable_defrag: bool = F &redef;
	## Fanout mode: FANOUT_HASH (symmetric flow hash), FANOUT_CPU, FANOUT_QM, FANOUT_CBPF
	## (fanout_cbpf_program), FANOUT_EBPF (fanout_ebpf_pinned_path), and pktkit's additions
	## FANOUT_LB (round robin), FANOUT_RND, FANOUT_ROLLOVER.
	const fanout_mode: FanoutMode = FANOUT_HASH &redef;
	## Fanout group id (per network namespace; 0..65535). A group id already used on another
	## interface, or with another mode, fails with a message saying so.
	const fanout_id: count = 23 &redef;
	## Link type handed to Zeek (DLT value; 1 = Ethernet).
	const link_type: count = 1 &redef;
	## CHECKSUM_ON: Zeek checks checksums; CHECKSUM_OFF: never; CHECKSUM_KERNEL: Zeek skips the
	## check when the kernel says the checksum is valid or not computed yet (offloaded).
	const checksum_validation_mode: ChecksumMode = CHECKSUM_ON &redef;

	## Grow block_size (never shrink it) so one block holds the largest frame the interface can
	## deliver (MTU plus tags, and 64 KiB GRO/LRO frames): the kernel then never cuts a frame
	## short. F keeps block_size as given and warns, naming this setting, when it is too small.
	const auto_block_size: bool = T &redef;
	## PACKET_FANOUT_FLAG_ROLLOVER: when a member's ring is full, the packet goes to another
	## member instead of being dropped (flows may then split between workers).
	const enable_fanout_rollover: bool = F &redef;
	## PACKET_IGNORE_OUTGOING: do not capture packets this host sends.
	const ignore_outgoing: bool = F &redef;
	## On a loopback interface, capture each packet once (the kernel delivers both the
	## outgoing and the incoming copy; Zeek::AF_Packet sees every packet twice there).
	const loopback_dedup: bool = T &redef;
	## Promiscuous mode (PACKET_MR_PROMISC).
	const promiscuous: bool = T &redef;
	## Compile Zeek's capture filter (zeek -f, capture_filters) into the kernel
	## (SO_ATTACH_FILTER): rejected packets never reach the ring and are counted in
	## `filtered`. F filters in user space, as Zeek::AF_Packet does.
	const kernel_filter: bool = T &redef;
	## When enable_hw_timestamping is set and the NIC cannot timestamp in hardware: T captures
	## with kernel timestamps and says so once; F fails the source (Zeek::AF_Packet's behaviour).
	const hw_timestamp_fallback: bool = T &redef;
	## FANOUT_CBPF: the classic BPF program choosing the member, in `tcpdump -ddd` form
	## ("N,code jt jf k,code jt jf k,..."; commas or newlines between instructions).
	const fanout_cbpf_program: string = "" &redef;
	## FANOUT_EBPF: path of a pinned BPF_PROG_TYPE_SOCKET_FILTER program (bpffs).
	const fanout_ebpf_pinned_path: string = "" &redef;
	## After the interface went down or away: first and longest wait between re-open attempts.
	const link_retry_initial: interval = 100msec &redef;
	const link_retry_max: interval = 2sec &redef;
}
