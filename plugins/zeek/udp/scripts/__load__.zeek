##! PktKit::UDP: the `pktkit_udp::` packet source. Loaded whenever the plugin is active.
##! Every option is a &redef constant read when the source opens; names follow the
##! zeek-packet-source-udp package (module PacketSource::UDP there), so its redefs carry over by
##! renaming the module.

module PktKit::UDP;

export {
	## The receiver: RECVMMSG (recvmmsg(2) batches) or IO_URING (multishot io_uring receive;
	## falls back to recvmmsg, with a warning, where io_uring is unavailable).
	const implementation: ReceiverImplementation = RECVMMSG &redef;

	## How long Zeek waits between polls when the source cannot wake it through a file
	## descriptor (IO_URING, or RECVMMSG with recvmmsg_use_selectable_fd = F).
	const poll_interval: interval = 100usec &redef;

	## Socket receive buffer in bytes (0: the kernel default). Read back after setting; a
	## warning names net.core.rmem_max when the kernel capped it (unprivileged runs).
	const udp_recv_buffer_size: count = 16 * 1024 * 1024 &redef;

	## SO_REUSEPORT, so several workers share one port (the kernel spreads datagrams by the
	## outer 4-tuple; senders put a symmetric flow hash in the outer source port).
	const reuse_port: bool = T &redef;

	## Kernel receive timestamps (SO_TIMESTAMPNS); without them packets get the time of reading.
	const kernel_timestamps: bool = T &redef;

	## RECVMMSG: let Zeek wake the source when the socket is readable instead of polling.
	const recvmmsg_use_selectable_fd: bool = T &redef;

	## RECVMMSG: datagrams per recvmmsg call.
	const recvmmsg_buffers: count = 1024 &redef;

	## Bytes per receive slot (both receivers); larger datagrams are counted as truncated.
	const recvmmsg_buffer_size: count = 9216 + 32 &redef;

	## IO_URING: provided buffers (a power of two).
	const io_uring_buffers: count = 1024 &redef;

	## GENEVE: accept packets with critical options other than AWS GWLB's (class 0x0108).
	## RFC 8926 §3.5 says to drop them; they are counted as unknown_critical_option.
	const geneve_accept_unknown_critical: bool = F &redef;
}
