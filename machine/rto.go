package machine

import "time"

// rtoState is the retransmission timer's estimator of RFC 6298: SRTT and
// RTTVAR from RTT samples (Karn's algorithm: only segments sent once are
// timed), and the exponential backoff of 5.5.
type rtoState struct {
	srtt, rttvar time.Duration
	base         time.Duration // RTO before backoff; 0: Config.InitialRTO
	backoff      uint8         // timeouts since the last valid sample
	hasSample    bool
	samples      uint32        // valid samples taken (observers and tests)
	last         time.Duration // the latest sample
}

// rfc6298K is K of RFC 6298 2.
const rfc6298K = 4

// maxBackoff bounds the backoff shift; MaxRTO caps the RTO long before.
const maxBackoff = 30

// sample folds in the measurement m (RFC 6298 2.2, 2.3) and clears the
// backoff (Karn: a valid sample from a segment sent once ends it). n is
// how many samples a round trip is expected to give (RFC 7323 Appendix
// G): the gains alpha and beta are divided by it, so that a sample per
// ACK weighs, per round trip, what one sample per round trip would.
func (r *rtoState) sample(m time.Duration, n uint32, cfg *Config) {
	n = max(n, 1)
	m = max(m, 0)
	r.samples++
	r.last = m
	if !r.hasSample {
		r.srtt = m
		r.rttvar = m / 2
		r.hasSample = true
	} else {
		d := r.srtt - m
		if d < 0 {
			d = -d
		}
		k := time.Duration(n)
		r.rttvar = r.rttvar - r.rttvar/(4*k) + d/(4*k)
		r.srtt = r.srtt - r.srtt/(8*k) + m/(8*k)
	}
	r.base = r.srtt + max(cfg.granularity(), rfc6298K*r.rttvar)
	r.base = min(max(r.base, cfg.minRTO()), cfg.maxRTO())
	r.backoff = 0
}

// current is the RTO to arm the timer with: the base doubled per backoff
// (RFC 6298 5.5), at most MaxRTO.
func (r *rtoState) current(cfg *Config) time.Duration {
	d := r.base
	if d <= 0 {
		d = cfg.initialRTO()
	}
	maxRTO := cfg.maxRTO()
	for i := uint8(0); i < r.backoff && d < maxRTO; i++ {
		d *= 2
	}
	return min(d, maxRTO)
}

// backOff records a retransmission timeout.
func (r *rtoState) backOff() {
	if r.backoff < maxBackoff {
		r.backoff++
	}
}

// synTimedOut applies RFC 6298 5.7: when the SYN (or SYN+ACK) had to be
// retransmitted and no RTT sample exists, data transmission starts with an
// RTO of at least 3 s.
func (r *rtoState) synTimedOut(cfg *Config) {
	if r.hasSample {
		return
	}
	r.base = min(max(cfg.initialRTO(), 3*time.Second), cfg.maxRTO())
	r.backoff = 0
}

// Timers: one deadline per kind.
type timerKind uint8

const (
	timerRexmt     timerKind = iota // retransmission and zero-window probe
	timer2MSL                       // TIME-WAIT
	timerUser                       // data unacknowledged too long
	timerFinWait2                   // FIN-WAIT-2 abandoned
	timerDelACK                     // a delayed ACK is due
	timerKeepalive                  // an idle connection's keepalive probe is due
	numTimers
)

// timerEvents maps a timer to the event it fires.
var timerEvents = [numTimers]Event{
	timerRexmt:     EventTimeoutRexmt,
	timer2MSL:      EventTimeout2msl,
	timerUser:      EventTimeoutUser,
	timerFinWait2:  EventTimeoutUser,
	timerDelACK:    EventTimeoutDelack,
	timerKeepalive: EventTimeoutKeepalive,
}

func (t *tcb) arm(k timerKind, at time.Duration) {
	t.deadline[k] = at
	t.armed |= 1 << k
}

func (t *tcb) disarm(k timerKind) {
	t.deadline[k] = 0
	t.armed &^= 1 << k
}

func (t *tcb) isArmed(k timerKind) bool { return t.armed&(1<<k) != 0 }

// next returns the armed timer with the earliest deadline (ties: lowest kind).
func (t *tcb) next() (timerKind, time.Duration, bool) {
	best, at, ok := timerKind(0), time.Duration(0), false
	for k := timerKind(0); k < numTimers; k++ {
		if t.isArmed(k) && (!ok || t.deadline[k] < at) {
			best, at, ok = k, t.deadline[k], true
		}
	}
	return best, at, ok
}
