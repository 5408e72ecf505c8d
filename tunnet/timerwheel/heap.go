package timerwheel

// The overflow heap: a binary min-heap of *Timer on expire, each Timer
// knowing its index so that Stop is O(log n).

func (w *Wheel) heapLess(i, j int) bool { return w.overflow[i].expire < w.overflow[j].expire }

func (w *Wheel) heapSwap(i, j int) {
	h := w.overflow
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = int32(i)
	h[j].heapIdx = int32(j)
}

func (w *Wheel) heapPush(t *Timer) {
	t.where = inHeap
	t.heapIdx = int32(len(w.overflow))
	w.overflow = append(w.overflow, t)
	w.heapUp(len(w.overflow) - 1)
}

func (w *Wheel) heapRemove(i int) {
	last := len(w.overflow) - 1
	t := w.overflow[i]
	if i != last {
		w.heapSwap(i, last)
	}
	w.overflow[last] = nil
	w.overflow = w.overflow[:last]
	if i != last {
		w.heapDown(i)
		w.heapUp(i)
	}
	t.heapIdx = -1
	t.where = idle
}

func (w *Wheel) heapUp(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !w.heapLess(i, p) {
			return
		}
		w.heapSwap(i, p)
		i = p
	}
}

func (w *Wheel) heapDown(i int) {
	n := len(w.overflow)
	for {
		l, m := 2*i+1, i
		if l < n && w.heapLess(l, m) {
			m = l
		}
		if r := l + 1; r < n && w.heapLess(r, m) {
			m = r
		}
		if m == i {
			return
		}
		w.heapSwap(i, m)
		i = m
	}
}
