#!/bin/bash
# pktkit-gen output through tshark with every checksum check on: no malformed packets, no
# checksum errors, fragments reassemble; two runs with one seed give identical files.
set -euo pipefail
GEN="$1"
T="${TEST_TMPDIR:-$(mktemp -d)}"
"$GEN" -w "$T/a.pcap" --flows 300 --seed 9 --ipv6_share 0.4 --vlan_share 0.3 --qinq_share 0.2
"$GEN" -w "$T/b.pcap" --flows 300 --seed 9 --ipv6_share 0.4 --vlan_share 0.3 --qinq_share 0.2
cmp "$T/a.pcap" "$T/b.pcap" || { echo "FAIL: same seed, different files"; exit 1; }
# Random UDP payloads can trip heuristic dissectors (ISO CLTP): those are not ours to check.
PREFS=(--disable-protocol cotp -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE
       -o ipv6.defragment:TRUE -o ip.defragment:TRUE)
n=$(tshark -r "$T/a.pcap" "${PREFS[@]}" 2>/dev/null | wc -l)
[ "$n" -gt 1000 ] || { echo "FAIL: only $n packets"; exit 1; }
bad=$(tshark -r "$T/a.pcap" "${PREFS[@]}" -Y '_ws.malformed or _ws.expert.severity >= warning or tcp.checksum.status == 0 or udp.checksum.status == 0 or ip.checksum.status == 0 or icmp.checksum.status == 0 or icmpv6.checksum.status == 0' 2>/dev/null | wc -l)
if [ "$bad" -ne 0 ]; then
  echo "FAIL: $bad packets with warnings/bad checksums:"
  tshark -r "$T/a.pcap" "${PREFS[@]}" -Y '_ws.malformed or _ws.expert.severity >= warning or tcp.checksum.status == 0 or udp.checksum.status == 0' 2>/dev/null | head
  exit 1
fi
good=$(tshark -r "$T/a.pcap" "${PREFS[@]}" -Y 'tcp.checksum.status == 1 or udp.checksum.status == 1' 2>/dev/null | wc -l)
[ "$good" -gt 500 ] || { echo "FAIL: only $good checksums verified good"; exit 1; }
reasm=$(tshark -r "$T/a.pcap" "${PREFS[@]}" -Y 'ip.fragments or ipv6.fragments' 2>/dev/null | wc -l)
[ "$reasm" -gt 0 ] || { echo "FAIL: no reassembled fragments"; exit 1; }
for q in dns http icmp icmpv6 vlan ipv6; do
  c=$(tshark -r "$T/a.pcap" -Y "$q" 2>/dev/null | wc -l)
  [ "$c" -gt 0 ] || { echo "FAIL: no $q packets"; exit 1; }
done
echo "PASS: $n packets, $good good checksums, $reasm fragments reassembled"
