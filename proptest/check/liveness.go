package check

// livenessViolation returns the first (shallowest) state from which no
// path of non-giving-up moves reaches a goal or an incomplete state, or -1.
func (c *checker) livenessViolation() int32 {
	n := c.states.len()
	// Reverse adjacency in CSR form, from the successor records (the
	// state, how many, their numbers).
	start := make([]int32, n+1)
	edges := 0
	for e := 0; e < c.succ.len(); {
		k := int(*c.succ.at(e + 1))
		for to := range c.succ.span(e+2, k) {
			start[to+1]++
		}
		e += 2 + k
		edges += k
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	fill := append([]int32(nil), start[:n]...)
	pred := make([]int32, edges)
	for e := 0; e < c.succ.len(); {
		from, k := *c.succ.at(e), int(*c.succ.at(e + 1))
		for to := range c.succ.span(e+2, k) {
			pred[fill[to]] = from
			fill[to]++
		}
		e += 2 + k
	}
	fill = nil
	c.succ = chunked[int32]{} // no longer needed: let it go before the search
	ok := make([]bool, n)
	queue := make([]int32, 0, 1024)
	for i := 0; i < n; i++ {
		if c.states.at(i).flags&(flagGoal|flagIncomplete) != 0 {
			ok[i] = true
			queue = append(queue, int32(i))
		}
	}
	for len(queue) > 0 {
		s := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, p := range pred[start[s]:start[s+1]] {
			if !ok[p] {
				ok[p] = true
				queue = append(queue, p)
			}
		}
	}
	// Prefer a deadlock (a state with no move at all): it is the clearest
	// counterexample. Otherwise the shallowest state that cannot get out.
	first := int32(-1)
	for i := range ok {
		if ok[i] {
			continue
		}
		if c.states.at(i).flags&flagMoves == 0 {
			return int32(i)
		}
		if first < 0 {
			first = int32(i)
		}
	}
	return first
}
