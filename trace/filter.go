package trace

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseFilter parses a connection filter: comma-separated terms, each a
// port ("80"), an address ("10.0.0.1", "fe80::1") or both ("10.0.0.1:80",
// "[fe80::1]:80"). A connection passes when either of its ends matches a
// term.
func ParseFilter(s string) (func(a, b netip.AddrPort) bool, error) {
	type term struct {
		addr    netip.Addr
		port    uint16
		hasPort bool
	}
	var terms []term
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty term in %q", s)
		}
		if p, err := strconv.ParseUint(f, 10, 16); err == nil {
			terms = append(terms, term{port: uint16(p), hasPort: true})
			continue
		}
		if ap, err := netip.ParseAddrPort(f); err == nil {
			terms = append(terms, term{addr: ap.Addr().Unmap(), port: ap.Port(), hasPort: true})
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a port, an address or address:port", f)
		}
		terms = append(terms, term{addr: a.Unmap()})
	}
	match := func(t term, e netip.AddrPort) bool {
		return (!t.addr.IsValid() || t.addr == e.Addr().Unmap()) && (!t.hasPort || t.port == e.Port())
	}
	return func(a, b netip.AddrPort) bool {
		for _, t := range terms {
			if match(t, a) || match(t, b) {
				return true
			}
		}
		return false
	}, nil
}
