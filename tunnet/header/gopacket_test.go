package header

// Cross-checks against gopacket, an independent implementation used here
// as an oracle (test-only dependency).

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// gpOptions turns o into gopacket options in a random order, with NOPs
// sprinkled in and an unknown option when there is room. It returns the
// options; their encoded length is at most 40 bytes.
func gpOptions(r *rand.Rand, o *Options) []layers.TCPOption {
	var opts []layers.TCPOption
	size := 0
	add := func(kind layers.TCPOptionKind, data []byte) {
		opts = append(opts, layers.TCPOption{OptionType: kind, OptionLength: uint8(2 + len(data)), OptionData: data})
		size += 2 + len(data)
	}
	if o.HasMSS {
		add(layers.TCPOptionKindMSS, binary.BigEndian.AppendUint16(nil, o.MSS))
	}
	if o.HasWScale {
		add(layers.TCPOptionKindWindowScale, []byte{o.WScale})
	}
	if o.SACKPermitted {
		add(layers.TCPOptionKindSACKPermitted, nil)
	}
	if o.HasTS {
		add(layers.TCPOptionKindTimestamps, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, o.TSVal), o.TSEcr))
	}
	if o.NumSACK > 0 {
		var d []byte
		for _, s := range o.SACK[:o.NumSACK] {
			d = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(d, s.Left), s.Right)
		}
		add(layers.TCPOptionKindSACK, d)
	}
	if size+4 <= TCPMaxOptionsLen && r.IntN(2) == 0 {
		add(layers.TCPOptionKind(30+r.IntN(200)), []byte{byte(r.Uint32()), byte(r.Uint32())}) // unknown kind
	}
	r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	for size < TCPMaxOptionsLen && r.IntN(3) == 0 {
		i := r.IntN(len(opts) + 1)
		opts = append(opts[:i], append([]layers.TCPOption{{OptionType: layers.TCPOptionKindNop}}, opts[i:]...)...)
		size++
	}
	return opts
}

// gpTrim drops SACK blocks until the packed size of o leaves room for
// gopacket's padding (gopacket packs options without alignment).
func gpTrim(o *Options) {
	for {
		n := 0
		if o.HasMSS {
			n += 4
		}
		if o.HasWScale {
			n += 3
		}
		if o.SACKPermitted {
			n += 2
		}
		if o.HasTS {
			n += 10
		}
		if o.NumSACK > 0 {
			n += 2 + 8*o.NumSACK
		}
		if n <= TCPMaxOptionsLen {
			return
		}
		o.NumSACK--
		o.SACK[o.NumSACK] = SACKBlock{}
	}
}

func gpTCP(p *Packet, opts []layers.TCPOption) *layers.TCP {
	h := &p.TCP
	return &layers.TCP{
		SrcPort: layers.TCPPort(h.SrcPort), DstPort: layers.TCPPort(h.DstPort), Seq: h.Seq, Ack: h.Ack,
		FIN: h.Flags&FlagFIN != 0, SYN: h.Flags&FlagSYN != 0, RST: h.Flags&FlagRST != 0, PSH: h.Flags&FlagPSH != 0,
		ACK: h.Flags&FlagACK != 0, URG: h.Flags&FlagURG != 0, ECE: h.Flags&FlagECE != 0, CWR: h.Flags&FlagCWR != 0,
		Window: h.Window, Urgent: h.Urgent, Options: opts,
	}
}

func gpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, x := range []struct {
		on  bool
		bit uint8
	}{{t.FIN, FlagFIN}, {t.SYN, FlagSYN}, {t.RST, FlagRST}, {t.PSH, FlagPSH}, {t.ACK, FlagACK}, {t.URG, FlagURG}, {t.ECE, FlagECE}, {t.CWR, FlagCWR}} {
		if x.on {
			f |= x.bit
		}
	}
	return f
}

// gpBuild serializes p with gopacket (fixed lengths, computed checksums).
func gpBuild(t *testing.T, p *Packet, opts []layers.TCPOption) []byte {
	t.Helper()
	tcp := gpTCP(p, opts)
	var ip gopacket.SerializableLayer
	if p.Src.Is4() {
		var flags layers.IPv4Flag
		if p.DontFragment {
			flags = layers.IPv4DontFragment
		}
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TOS: p.TOS, Id: p.ID, Flags: flags, TTL: p.TTL,
			Protocol: layers.IPProtocolTCP, SrcIP: net.IP(p.Src.AsSlice()), DstIP: net.IP(p.Dst.AsSlice())}
		if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
			t.Fatal(err)
		}
		ip = ip4
	} else {
		ip6 := &layers.IPv6{Version: 6, TrafficClass: p.TOS, FlowLabel: p.FlowLabel, NextHeader: layers.IPProtocolTCP,
			HopLimit: p.TTL, SrcIP: net.IP(p.Src.AsSlice()), DstIP: net.IP(p.Dst.AsSlice())}
		if err := tcp.SetNetworkLayerForChecksum(ip6); err != nil {
			t.Fatal(err)
		}
		ip = ip6
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, tcp, gopacket.Payload(p.Payload))
	if err != nil {
		t.Fatalf("gopacket serialize: %v", err)
	}
	return buf.Bytes()
}

func TestGopacketBuiltDecodes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 2000 {
		v6 := i%2 == 1
		want := randPacket(r, v6)
		gpTrim(&want.TCP.Opts)
		pkt := gpBuild(t, want, gpOptions(r, &want.TCP.Opts))
		var got Packet
		if err := Decode(pkt, &got); err != nil {
			t.Fatalf("case %d: Decode of gopacket-built packet % x: %v", i, pkt, err)
		}
		if d := diffPacket(want, &got, false); d != "" {
			t.Fatalf("case %d: %s\npacket % x", i, d, pkt)
		}
	}
}

// gpParse decodes pkt with gopacket and returns its layers, failing the
// test when gopacket reports an error or a bad checksum.
func gpParse(t *testing.T, pkt []byte, v6 bool) (gopacket.NetworkLayer, *layers.TCP) {
	t.Helper()
	first := layers.LayerTypeIPv4
	if v6 {
		first = layers.LayerTypeIPv6
	}
	gp := gopacket.NewPacket(pkt, first, gopacket.Default)
	if el := gp.ErrorLayer(); el != nil {
		t.Fatalf("gopacket rejects % x: %v", pkt, el.Error())
	}
	tcp, ok := gp.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("gopacket finds no TCP layer in % x", pkt)
	}
	nl := gp.NetworkLayer()
	if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
		t.Fatal(err)
	}
	if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
		t.Fatalf("gopacket: TCP checksum invalid (err %v, %+v) in % x", err, res, pkt)
	}
	if ip4, ok := nl.(*layers.IPv4); ok {
		if err, res := ip4.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("gopacket: IPv4 checksum invalid (err %v, %+v)", err, res)
		}
	}
	return nl, tcp
}

// optionsFromGopacket interprets gopacket's option list with the same
// semantics as ParseOptions.
func optionsFromGopacket(t *testing.T, opts []layers.TCPOption) Options {
	var o Options
	for _, x := range opts {
		d := x.OptionData
		switch x.OptionType {
		case layers.TCPOptionKindMSS:
			o.MSS, o.HasMSS = binary.BigEndian.Uint16(d), true
		case layers.TCPOptionKindWindowScale:
			o.WScale, o.HasWScale = d[0], true
		case layers.TCPOptionKindSACKPermitted:
			o.SACKPermitted = true
		case layers.TCPOptionKindTimestamps:
			o.TSVal, o.TSEcr, o.HasTS = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:]), true
		case layers.TCPOptionKindSACK:
			for ; len(d) >= 8 && o.NumSACK < MaxSACKBlocks; d = d[8:] {
				o.SACK[o.NumSACK] = SACKBlock{binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])}
				o.NumSACK++
			}
		case layers.TCPOptionKindNop, layers.TCPOptionKindEndList:
		default:
			t.Errorf("gopacket sees unexpected option %v", x)
		}
	}
	return o
}

func TestEncodedAcceptedByGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	buf := make([]byte, 2000)
	for i := range 2000 {
		v6 := i%2 == 1
		p := randPacket(r, v6)
		n, err := Encode(buf, p)
		if err != nil {
			t.Fatal(err)
		}
		nl, tcp := gpParse(t, buf[:n], v6)
		switch ip := nl.(type) {
		case *layers.IPv4:
			if ip.TTL != p.TTL || ip.TOS != p.TOS || ip.Id != p.ID || (ip.Flags&layers.IPv4DontFragment != 0) != p.DontFragment ||
				ip.Length != uint16(n) || ip.IHL != 5 || ip.Protocol != layers.IPProtocolTCP {
				t.Fatalf("case %d: gopacket IPv4 %+v, ours %+v", i, ip, p)
			}
		case *layers.IPv6:
			if ip.HopLimit != p.TTL || ip.TrafficClass != p.TOS || ip.FlowLabel != p.FlowLabel || ip.Length != uint16(n-40) ||
				ip.NextHeader != layers.IPProtocolTCP {
				t.Fatalf("case %d: gopacket IPv6 %+v, ours %+v", i, ip, p)
			}
		}
		src, _ := netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
		if src != p.Src || dst != p.Dst {
			t.Fatalf("case %d: gopacket addresses %v -> %v, ours %v -> %v", i, src, dst, p.Src, p.Dst)
		}
		h := &p.TCP
		if uint16(tcp.SrcPort) != h.SrcPort || uint16(tcp.DstPort) != h.DstPort || tcp.Seq != h.Seq || tcp.Ack != h.Ack ||
			gpFlags(tcp) != h.Flags || tcp.Window != h.Window || tcp.Urgent != h.Urgent ||
			int(tcp.DataOffset) != 5+OptionsLen(&h.Opts)/4 {
			t.Fatalf("case %d: gopacket TCP %+v, ours %+v", i, tcp, h)
		}
		if o := optionsFromGopacket(t, tcp.Options); o != h.Opts {
			t.Fatalf("case %d: gopacket options %+v, ours %+v", i, o, h.Opts)
		}
		if !bytes.Equal(tcp.Payload, p.Payload) {
			t.Fatalf("case %d: gopacket payload differs", i)
		}
	}
}

func TestGopacketAgreesOnLinuxSYN(t *testing.T) {
	// A Linux-style SYN, a SYN-ACK, data, FIN and RST, each built by both
	// sides: the bytes must be identical (same layout, same checksums).
	for _, c := range fuzzSeeds() {
		var p Packet
		if err := Decode(c, &p); err != nil {
			t.Fatalf("seed % x: %v", c, err)
		}
		mine := mustEncode(t, &p)
		opts := gpAlignedOptions(&p.TCP.Opts)
		theirs := gpBuild(t, &p, opts)
		if !bytes.Equal(mine, theirs) {
			t.Fatalf("encodings differ\n ours     % x\n gopacket % x", mine, theirs)
		}
	}
}

// gpAlignedOptions spells our aligned layout as a gopacket option list.
func gpAlignedOptions(o *Options) []layers.TCPOption {
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop}
	var opts []layers.TCPOption
	add := func(kind layers.TCPOptionKind, data []byte) {
		opts = append(opts, layers.TCPOption{OptionType: kind, OptionLength: uint8(2 + len(data)), OptionData: data})
	}
	if o.HasMSS {
		add(layers.TCPOptionKindMSS, binary.BigEndian.AppendUint16(nil, o.MSS))
	}
	switch {
	case o.HasTS && o.SACKPermitted:
		add(layers.TCPOptionKindSACKPermitted, nil)
	case o.HasTS:
		opts = append(opts, nop, nop)
	case o.SACKPermitted:
		opts = append(opts, nop, nop)
		add(layers.TCPOptionKindSACKPermitted, nil)
	}
	if o.HasTS {
		add(layers.TCPOptionKindTimestamps, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, o.TSVal), o.TSEcr))
	}
	if o.HasWScale {
		opts = append(opts, nop)
		add(layers.TCPOptionKindWindowScale, []byte{o.WScale})
	}
	if o.NumSACK > 0 {
		opts = append(opts, nop, nop)
		var d []byte
		for _, s := range o.SACK[:o.NumSACK] {
			d = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(d, s.Left), s.Right)
		}
		add(layers.TCPOptionKindSACK, d)
	}
	return opts
}
