// Package pcap writes the packets crossing tunnet's TUN device to a classic
// pcap file that tcpdump, tshark and Wireshark read.
//
// Records use LINKTYPE_RAW (101): each packet starts at its IP header and the
// version nibble tells IPv4 from IPv6, so both mix in one file. Timestamps
// have nanosecond resolution (magic 0xa1b23c4d).
//
// The records are written by gopacket's pcapgo (the same library tcpfsm
// trace reads them with); this package adds what the runtime needs around
// it: safety for concurrent use, which pcapgo.Writer lacks, a snap length,
// batches, and no allocation per packet. Its lock covers two copies into a
// 64 KiB bufio.Writer, plus the write(2) each time that buffer fills. The
// tests read the files back with pcapgo and tshark.
package pcap
