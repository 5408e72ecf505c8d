package proptest

import (
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
	mss      uint16 // the MSS the cookie must give the connection
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

// checkCookies is invariant 43. It runs before the flow ghost is reset
// for a new connection and restores, for a cookie connection, what the
// SYNs of its cookie exchange said.
func (w *World) checkCookies(r *simnet.Record, g *flowGhost) {
	st := &w.side[r.Side]
	in := &r.In
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
			c := cookieSent{iss: out.Seq, irs: in.Seq, mss: cookieConnMSS(w.net.Config(r.Side), in.MSS), opt: optGhost{
				synIn: true, inOpts: in.Opts, inShift: in.WScale,
				synOut: true, outOpts: out.Opts, outShift: out.WScale,
				lastAck: out.Ack, lastValid: true,
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
				wantOpts.Has(machine.OptWScale) && (a.SndShift != min(c.opt.inShift, machine.MaxShift) || a.RcvShift != c.opt.outShift)) {
				w.fail(43, "%v's cookie connection has options %v, shifts %d/%d; its cookie SYN+ACK carried %v with shift %d to a SYN with shift %d",
					r.Side, a.Opts, a.SndShift, a.RcvShift, wantOpts, c.opt.outShift, c.opt.inShift)
				return
			}
			g.opt = c.opt // the options the cookie exchange negotiated
			g.opt.cookie = true
			g.opt.tsRecent, g.opt.tsValid = in.TSVal, in.Opts.Has(machine.OptTimestamps) && c.opt.on(machine.OptTimestamps)
		}
	}
}
