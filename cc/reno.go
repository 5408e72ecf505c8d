package cc

// renoAvoidance is Reno's congestion avoidance with appropriate byte
// counting (RFC 3465 2.1, RFC 5681 3.1): bytes_acked counts the bytes ACKed
// and, each time it reaches cwnd, cwnd grows by one SMSS: one SMSS per
// round trip, however the receiver spaces its ACKs.
func (c *Controller) renoAvoidance() {
	c.bytesAcked += c.acked
	if c.bytesAcked >= c.cwnd {
		c.bytesAcked -= c.cwnd
		c.grow(c.smss)
	}
}
