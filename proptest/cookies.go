package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges SYN cookies (invariant 43): a SYN answered with a
// cookie leaves no TCB, and only the ACK of a cookie this side sent makes
// a connection, with the MSS and options that cookie stood for.

// cookieMSS is the MSS table of RFC 4987 3.6 cookies as docs/runtime.md
// gives it (machine/cookie.go), ascending.
var cookieMSS = [8]uint16{216, 536, 1200, 1300, 1360, 1400, 1440, 1460}

// maxCookies is how many cookie SYN+ACKs a side remembers.
const maxCookies = 4

// cookieSent is one cookie SYN+ACK, and the SYN it answered.
type cookieSent struct {
	iss, irs uint32
	at       time.Duration // when it was sent: valid for at least one cookie period after
	mss      uint16        // the MSS the cookie must give the connection
	wnd      uint16        // the window its SYN+ACK offered (a SYN's: unscaled)
	tsval    uint32        // the SYN+ACK's timestamp, with the options in its low bits
	opt      optGhost
}

// cookieConnMSS is the send MSS of a connection made from a cookie that
// answered a SYN with MSS option peer, at a side with Config cfg: the
// largest table entry not above what that SYN would have given (the first
// entry if none is), taken as a peer's MSS.
func cookieConnMSS(cfg *machine.Config, peer uint16) uint16 {
	limit := learnedMSS(cfg, peer)
	entry := cookieMSS[0]
	for _, m := range cookieMSS {
		if m <= limit {
			entry = m
		}
	}
	return learnedMSS(cfg, entry)
}

// cookieRules are the rules that make a connection from a cookie.
func cookieRule(rule machine.Rule) bool {
	return rule == machine.RuleListenRcvCookieAck || rule == machine.RuleListenRcvCookieFin
}

// cookiePeriod is the cookie counter's tick (RFC 4987 3.6 as
// docs/runtime.md gives it): a cookie stays valid for at least one period
// after it was sent.
const cookiePeriod = 64 * time.Second

// checkCookies is invariant 43. It runs before the flow ghost is reset
// for a new connection and restores, for a cookie connection, what the
// SYNs of its cookie exchange said.
func (w *World) checkCookies(r *simnet.Record, g *flowGhost) {
	st := &w.side[r.Side]
	in := &r.In
	// The ACK of a cookie this listener sent less than a period ago makes
	// the connection, if it echoes that SYN+ACK's timestamp (the options
	// ride in it) or neither carries one.
	if r.Kind == simnet.Input && r.From == machine.StateListen && !w.abstractTime && w.net.Config(r.Side).SYNCookies &&
		in.Flags.Has(machine.ACK) && !in.Flags.Has(machine.SYN) && !in.Flags.Has(machine.RST) && len(r.Steps) > 0 && !cookieRule(r.Steps[0].Rule) {
		for _, c := range st.cookies[:st.nCookies] {
			ts := c.opt.outOpts.Has(machine.OptTimestamps)
			echoes := ts == in.Opts.Has(machine.OptTimestamps) && (!ts || in.TSEcr == c.tsval)
			if c.iss+1 == in.Ack && c.irs+1 == in.Seq && r.Now-c.at < cookiePeriod && echoes {
				w.fail(43, "%v refused %s (%v), the ACK of the cookie it sent %v ago to the SYN with ISN %d: a cookie is valid for two periods of %v",
					r.Side, simnet.FormatSegment(in), r.Steps[0].Rule, r.Now-c.at, c.irs, cookiePeriod)
				return
			}
		}
	}
	for i := range r.Steps {
		switch rule := r.Steps[i].Rule; {
		case rule == machine.RuleListenRcvSynCookie:
			if r.To != machine.StateListen || r.HasTimer || r.After != r.Before || len(r.Out) != 1 ||
				r.Out[0].Flags != machine.SYN|machine.ACK || r.Out[0].Ack != in.Seq+1 {
				w.fail(43, "%v answered a SYN with a cookie but kept state: %v, timer %v, variables changed %v, sent %v",
					r.Side, r.To, r.HasTimer, r.After != r.Before, formatSegs(r.Out))
				return
			}
			out := &r.Out[0]
			c := cookieSent{iss: out.Seq, irs: in.Seq, at: r.Now, wnd: out.Window, tsval: out.TSVal, mss: cookieConnMSS(w.net.Config(r.Side), in.MSS), opt: optGhost{
				synIn: true, inOpts: in.Opts, inShift: in.WScale,
				synOut: true, outOpts: out.Opts, outShift: out.WScale,
				lastAck: out.Ack, lastValid: true,
				tsOutValid: out.Opts.Has(machine.OptTimestamps), tsOut: out.TSVal, tsOutAt: r.Now,
			}}
			copy(st.cookies[1:], st.cookies[:maxCookies-1])
			st.cookies[0] = c
			st.nCookies = min(st.nCookies+1, maxCookies)
		case cookieRule(rule):
			var c *cookieSent
			for k := range st.cookies[:st.nCookies] {
				if x := &st.cookies[k]; x.iss+1 == in.Ack && x.irs+1 == in.Seq {
					c = x
				}
			}
			if c == nil {
				w.fail(43, "%v made a connection from %s by %v, but sent no cookie it acknowledges", r.Side, simnet.FormatSegment(in), rule)
				return
			}
			want := withTimestamps(uint32(c.mss), c.opt.on(machine.OptTimestamps))
			if uint32(r.After.MSS) != want && hasSendSeq(r.To) {
				w.fail(43, "%v's cookie connection has MSS %d; the cookie encoded %d (effective %d)", r.Side, r.After.MSS, c.mss, want)
				return
			}
			// The options ride in the timestamp: what the cookie SYN+ACK
			// carried is what the connection has.
			wantOpts := c.opt.outOpts
			if a := &r.After; hasSendSeq(r.To) && (a.Opts != wantOpts ||
				wantOpts.Has(machine.OptWScale) && (a.SndShift != min(c.opt.inShift, rfcMaxShift) || a.RcvShift != c.opt.outShift)) {
				w.fail(43, "%v's cookie connection has options %v, shifts %d/%d; its cookie SYN+ACK carried %v with shift %d to a SYN with shift %d",
					r.Side, a.Opts, a.SndShift, a.RcvShift, wantOpts, c.opt.outShift, c.opt.inShift)
				return
			}
			// Text and a FIN on the cookie's ACK are taken as on any
			// segment, within the window its SYN+ACK offered.
			if a := &r.After; isSync(r.To) {
				n := min(uint32(len(in.Payload)), uint32(c.wnd))
				want := in.Seq + n
				if in.Flags.Has(machine.FIN) && n == uint32(len(in.Payload)) && n < uint32(c.wnd) {
					want++
				}
				if a.RcvNxt != want || a.RcvQueued != int(n) && w.side[r.Side].read == 0 {
					w.fail(43, "%v made a connection from %s (%d bytes of text, FIN %v, window %d) but RCV.NXT is %d with %d bytes readable; want %d and %d",
						r.Side, simnet.FormatSegment(in), len(in.Payload), in.Flags.Has(machine.FIN), c.wnd, a.RcvNxt, a.RcvQueued, want, n)
					return
				}
				if want != in.Seq+n && !hasAck(r.Out, want) { // a FIN taken is ACKed at once
					w.fail(43, "%v took the FIN on %s, its cookie's ACK, but sent no ACK of %d: %v", r.Side, simnet.FormatSegment(in), want, formatSegs(r.Out))
					return
				}
			}
			g.opt = c.opt                                      // the options the cookie exchange negotiated
			g.advValid, g.advEdge = true, in.Seq+uint32(c.wnd) // the edge its SYN+ACK advertised
			g.opt.cookie = true
			g.opt.tsRecent, g.opt.tsRecentAt, g.opt.tsValid = in.TSVal, r.Now, in.Opts.Has(machine.OptTimestamps) && c.opt.on(machine.OptTimestamps)
		}
	}
}
