package machine

// SACK (RFC 2018) and D-SACK (RFC 2883): the blocks the receive side
// reports, and the send side's scoreboard of what the peer reported. The
// scoreboard is kept here for loss recovery (the congestion machine's
// work); nothing here changes what is sent.

// sackRecent is how many recently received out-of-order segments the
// receive side remembers, to report their blocks first (RFC 2018 4).
const sackRecent = MaxSACKBlocks

// maxSACKed bounds the scoreboard's ranges: as many as segments of the
// send buffer, at least 16. A peer cannot make it grow past that.
func (c *Conn) maxSACKed() int { return max(16, c.cfg.sndBuf()/int(max(c.effMSS(), 1))) }

// noteReceived records that an out-of-order segment starting at seq was
// just held: its block is reported first from now on.
func (c *Conn) noteReceived(seq uint32) {
	t := &c.t
	copy(t.recent[1:], t.recent[:sackRecent-1])
	t.recent[0] = seq
	if t.nRecent < sackRecent {
		t.nRecent++
	}
	c.sackOwed = t.opts.Has(OptSACKPermitted)
}

// noteDuplicate records [start, end), text received again, as the D-SACK
// block of the next ACK (RFC 2883 4).
func (c *Conn) noteDuplicate(start, end uint32) {
	t := &c.t
	if t.opts.Has(OptSACKPermitted) && SeqLT(start, end) {
		t.dsack, t.dsackValid = seqRange{start, end}, true
		c.sackOwed = true
	}
}

// sackBlocks fills dst with at most room blocks: a pending D-SACK block
// first, then the held ranges holding the most recently received
// segments, most recent first, then any other held ranges in sequence
// order. It returns the number of blocks and clears the D-SACK block.
func (c *Conn) sackBlocks(dst *[MaxSACKBlocks]SACKBlock, room int) int {
	t := &c.t
	n := 0
	if t.dsackValid {
		dst[0] = SACKBlock{t.dsack.start, t.dsack.end}
		n, t.dsackValid = 1, false
	}
	add := func(r seqRange) {
		for _, b := range dst[:n] {
			if b.Left == r.start && b.Right == r.end {
				return
			}
		}
		if n < room {
			dst[n] = SACKBlock{r.start, r.end}
			n++
		}
	}
	for _, seq := range t.recent[:t.nRecent] {
		if i := c.heldAt(seq); i >= 0 {
			add(t.ooo.r[i])
		}
	}
	for i := 0; i < t.ooo.n && n < room; i++ {
		add(t.ooo.r[i])
	}
	return n
}

// heldAt is the index of the held range containing seq, or -1.
func (c *Conn) heldAt(seq uint32) int {
	t := &c.t
	for i := 0; i < t.ooo.n; i++ {
		if r := t.ooo.r[i]; SeqLEQ(r.start, seq) && SeqLT(seq, r.end) {
			return i
		}
	}
	return -1
}

// takeSACK updates the scoreboard from the SACK blocks of an acceptable
// ACK. Blocks are attacker-controlled: only those within
// (SND.UNA, SND.NXT] and non-empty are kept (a D-SACK block below SND.UNA
// reports a duplicate and changes nothing).
func (c *Conn) takeSACK(s *Segment) {
	t := &c.t
	if !t.opts.Has(OptSACKPermitted) {
		return
	}
	for _, b := range s.SACK[:min(int(s.NumSACK), MaxSACKBlocks)] {
		if SeqLT(b.Left, b.Right) && SeqLT(t.sndUna, b.Left) && SeqLEQ(b.Right, t.sndNxt) {
			t.sacked.add(seqRange{b.Left, b.Right}, c.maxSACKed())
		}
	}
	t.sacked.ackedTo(t.sndUna)
}

// SACKed returns the i-th range [start, end) of the send side's scoreboard,
// in sequence order, for 0 <= i < Vars().SACKedRanges.
func (c *Conn) SACKed(i int) (start, end uint32) {
	r := c.t.sacked.r[i]
	return r.start, r.end
}
