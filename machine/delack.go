package machine

import "time"

// ACK policy: delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2) and Nagle's
// algorithm (RFC 9293 3.7.4). Only in-order text that fills no gap may
// wait for its ACK; out-of-order text, text filling a gap, a FIN, a
// duplicate, a window update and everything the spec's rows answer are
// ACKed at once.

// delayACK decides the ACK of in-order text just taken: it may
// wait for more text or for data to ride on, for at most DelayedACK, until
// two full-sized segments' worth is unacknowledged, and not during the
// quick-ACK phase of the first QuickACKs segments (as Linux starts a
// connection). It reports whether the ACK waits, arming the delayed-ACK
// timer if so.
func (c *Conn) delayACK() bool {
	t := &c.t
	d := c.cfg.delayedACK()
	if t.dataSegs < ^uint32(0) {
		t.dataSegs++
	}
	if d <= 0 || t.dataSegs <= uint32(c.cfg.quickACKs()) || t.rcvNxt-t.lastAckSent >= 2*c.rcvEffMSS() {
		return false
	}
	if !t.isArmed(timerDelACK) {
		t.arm(timerDelACK, c.now+d)
	}
	return true
}

// rcvEffMSS is the most text a full-sized segment from the peer carries:
// our MSS less the timestamps option when it is on.
func (c *Conn) rcvEffMSS() uint32 { return c.lessOptions(uint32(c.cfg.mss())) }

// ackSent records that a segment acknowledging ack goes out: a pending
// or delayed ACK is satisfied.
func (c *Conn) ackSent(ack uint32) {
	c.t.lastAckSent = ack
	c.ackPending = false
	c.t.disarm(timerDelACK)
}

// nagle reports whether Nagle's algorithm holds small segments back: on
// unless Config.NoDelay or SetNoDelay(true).
func (c *Conn) nagle() bool { return !c.noDelay }

// SetNoDelay turns Nagle's algorithm off (true) or on (false) for this
// connection, as net.TCPConn's SetNoDelay; Config.NoDelay is the initial
// value. Text held back by it goes out at the next event.
func (c *Conn) SetNoDelay(noDelay bool) { c.noDelay = noDelay }

// Defaults of the ACK policy.
const (
	// DefaultDelayedACK is Linux's minimum delayed-ACK timeout
	// (TCP_DELACK_MIN); RFC 9293 3.8.6.3 allows up to 500 ms.
	DefaultDelayedACK = 40 * time.Millisecond
	// MaxDelayedACK is RFC 9293 3.8.6.3's bound (MUST-40).
	MaxDelayedACK = 500 * time.Millisecond
	// DefaultQuickACKs is how many data segments at the start of a
	// connection are ACKed at once (Linux's TCP_MAX_QUICKACKS).
	DefaultQuickACKs = 16
)

func (c *Config) delayedACK() time.Duration {
	switch {
	case c.DelayedACK < 0:
		return 0
	case c.DelayedACK == 0:
		return DefaultDelayedACK
	}
	return min(c.DelayedACK, MaxDelayedACK)
}

func (c *Config) quickACKs() int {
	switch {
	case c.QuickACKs < 0:
		return 0
	case c.QuickACKs == 0:
		return DefaultQuickACKs
	}
	return c.QuickACKs
}
