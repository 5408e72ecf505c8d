package cc

import (
	"math"
	"time"
)

// CUBIC's constants (RFC 9438 4.1): C in segments per second cubed, the
// multiplicative decrease beta = 0.7 as a fraction, and the Reno-friendly
// region's additive increase alpha = 3 * (1 - beta) / (1 + beta).
const (
	cubicC       = 0.4
	cubicBetaNum = 7
	cubicBetaDen = 10
	cubicBeta    = float64(cubicBetaNum) / cubicBetaDen
	cubicAlpha   = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// cubicState is CUBIC's memory between ACKs, windows in segments.
type cubicState struct {
	epochStart time.Duration // start of the current congestion avoidance epoch; -1 before its first ACK
	wMax       float64       // W_max: the window before the last reduction
	wLastMax   float64       // W_max before that, for fast convergence (RFC 9438 4.7)
	k          float64       // K: seconds from the epoch's start until W_cubic reaches W_max
	wEst       float64       // W_est: the Reno-friendly estimate (RFC 9438 4.3)
	cwndPrior  float64       // cwnd when ssthresh was last set: alpha becomes 1 once W_est reaches it
	frac       float64       // bytes of growth not yet whole, carried to the next ACK
}

// lossEvent records a reduction from cwnd bytes (RFC 9438 4.6, 4.7): W_max
// is the window before it, lowered further by fast convergence when the
// window had not regained the previous W_max. The next ACK in congestion
// avoidance starts a new epoch.
func (s *cubicState) lossEvent(cwnd, smss uint32) {
	w := float64(cwnd) / float64(smss)
	if w < s.wLastMax {
		s.wLastMax = w
		s.wMax = w * (1 + cubicBeta) / 2
	} else {
		s.wLastMax = w
		s.wMax = w
	}
	s.cwndPrior = w
	s.epochStart = -1
}

// wCubic is W_cubic(t) = C*(t-K)^3 + W_max, t in seconds (RFC 9438 4.2).
func (s *cubicState) wCubic(t float64) float64 {
	d := t - s.k
	return cubicC*d*d*d + s.wMax
}

// cubicAvoidance is RFC 9438's congestion avoidance for one ACK of
// c.acked bytes: cwnd moves towards W_cubic(t+RTT), at most by half of
// itself per RTT, or to W_est where Reno would be faster (the
// Reno-friendly region).
func (c *Controller) cubicAvoidance() {
	s := &c.cubic
	smss := float64(c.smss)
	cwnd := float64(c.cwnd) / smss
	now := c.in.Now
	if s.epochStart < 0 {
		s.epochStart = now
		s.wEst = cwnd
		s.frac = 0
		if s.wMax > cwnd {
			s.k = math.Cbrt((s.wMax - cwnd) / cubicC)
		} else {
			s.k, s.wMax = 0, cwnd
		}
	}
	acked := float64(c.acked) / smss
	alpha := cubicAlpha
	if s.wEst >= s.cwndPrior {
		alpha = 1
	}
	s.wEst += alpha * acked / cwnd

	t := (now - s.epochStart).Seconds()
	rtt := c.in.SRTT.Seconds()
	var target float64
	if s.wCubic(t) < s.wEst {
		target = s.wEst // Reno-friendly: jump to W_est
	} else {
		target = min(max(s.wCubic(t+rtt), cwnd), 1.5*cwnd)
		target = cwnd + (target-cwnd)/cwnd*acked
	}
	grow := (target-cwnd)*smss + s.frac
	if grow <= 0 {
		return
	}
	whole := math.Floor(grow)
	s.frac = grow - whole
	c.grow(uint32(min(whole, maxWindow)))
}
