package machine

import "time"

// Keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6): off unless Config or
// SetKeepAlive turns it on. After Idle with nothing heard from the peer
// and nothing outstanding, the connection sends a probe (an ACK with
// SEG.SEQ = SND.NXT-1, which the peer must answer); then one every
// Interval while unanswered; after Count unanswered probes it is given up
// as timed out (spec rules keepalive_probe, keepalive_dead). Any
// acceptable segment from the peer counts as an answer.

// KeepAlive configures keepalive probes, like net.KeepAliveConfig. Zero
// fields take the defaults in parentheses.
type KeepAlive struct {
	Enable   bool
	Idle     time.Duration // silence before the first probe (2 h: RFC 1122's minimum default)
	Interval time.Duration // between unanswered probes (75 s, as Linux)
	Count    int           // unanswered probes before giving up (9, as Linux)
}

// Defaults of KeepAlive's zero fields.
const (
	DefaultKeepAliveIdle     = 2 * time.Hour
	DefaultKeepAliveInterval = 75 * time.Second
	DefaultKeepAliveCount    = 9
)

func (k KeepAlive) withDefaults() KeepAlive {
	k.Idle = orDur(k.Idle, DefaultKeepAliveIdle)
	k.Interval = orDur(k.Interval, DefaultKeepAliveInterval)
	if k.Count <= 0 {
		k.Count = DefaultKeepAliveCount
	}
	return k
}

// SetKeepAlive sets this connection's keepalive at time now
// (Config.KeepAlive is the initial value): an idle connection's next probe
// is due Idle after the peer was last heard from (or at once, if that has
// passed).
func (c *Conn) SetKeepAlive(now time.Duration, k KeepAlive) {
	c.ka = k.withDefaults()
	c.advance(now)
	c.t.disarm(timerKeepalive)
	if c.state != StateClosed {
		c.armKeepalive()
	}
}

// keepaliveHeard records a segment from the peer: the connection is
// alive; the idle time starts again.
func (c *Conn) keepaliveHeard() {
	t := &c.t
	t.kaHeard, t.kaProbes = c.now, 0
	t.disarm(timerKeepalive)
}

// armKeepalive runs when an event ends: with keepalive on, an idle
// connection (nothing outstanding or unsent) in ESTABLISHED or CLOSE-WAIT
// has its timer running; one with text in flight leaves liveness to the
// retransmission timer.
func (c *Conn) armKeepalive() {
	t := &c.t
	idle := (c.state == StateEstablished || c.state == StateCloseWait) && t.sndUna == t.sndNxt && !c.unsent()
	switch {
	case !c.ka.Enable || !idle:
		t.disarm(timerKeepalive)
	case !t.isArmed(timerKeepalive):
		at := t.kaHeard + c.ka.Idle
		if t.kaProbes > 0 {
			at = t.kaProbeAt + c.ka.Interval
		}
		t.arm(timerKeepalive, max(at, c.now+1))
	}
}

// KeepaliveExhausted is guard keepalive_exhausted: Count probes went
// unanswered.
func (c *Conn) KeepaliveExhausted() bool { return c.t.kaProbes >= c.ka.Count }

// SendKeepalive is action send_keepalive: the probe <SEQ=SND.NXT-1>
// <ACK=RCV.NXT>, which lies before the peer's window, so the peer answers
// with an ACK (RFC 1122 4.2.3.6); the next comes after Interval.
func (c *Conn) SendKeepalive() {
	t := &c.t
	c.emit(t.sndNxt-1, t.rcvNxt, ACK, nil)
	t.kaProbes++
	t.kaProbeAt = c.now
	t.arm(timerKeepalive, c.now+c.ka.Interval)
}

// KeepAlive returns the connection's keepalive setting, defaults filled in.
func (c *Conn) KeepAlive() KeepAlive { return c.ka }
