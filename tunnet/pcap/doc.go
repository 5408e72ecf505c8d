// Package pcap writes the packets crossing tunnet's TUN device to a classic
// pcap file that tcpdump, tshark and Wireshark read.
//
// Records use LINKTYPE_RAW (101): each packet starts at its IP header and the
// version nibble tells IPv4 from IPv6, so both mix in one file. Timestamps
// have nanosecond resolution (magic 0xa1b23c4d).
//
// The format is a 24-byte file header and a 16-byte header per record, so
// the writer is written here by hand rather than taken from gopacket's
// pcapgo: it needs no gopacket types on the runtime's path, allocates nothing
// per packet, and is safe for concurrent use, which pcapgo.Writer is not. Its
// lock covers two copies into a 64 KiB bufio.Writer, plus the write(2) each
// time that buffer fills. The tests read the files back with pcapgo and tshark.
package pcap
